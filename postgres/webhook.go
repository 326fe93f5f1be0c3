package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookd/hookd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// WebhookService stores webhooks.
type WebhookService struct {
	db *DB
}

var _ hookd.WebhookService = (*WebhookService)(nil)

// NewWebhookService returns the webhook service on db.
func NewWebhookService(db *DB) *WebhookService {
	return &WebhookService{db: db}
}

const webhookColumns = `id, tenant_id, name, events, url, config, secret, previous_secret,
	previous_secret_expires_at, status, disabled_reason, failing_since, last_sent_at, created_at, updated_at`

// scanWebhook reads a webhook, opening its secrets with box.
func scanWebhook(row rowScanner, box *hookd.SecretBox) (*hookd.Webhook, error) {
	var w hookd.Webhook
	var config []byte
	var prevExpires, failing, lastSent pgtype.Timestamptz
	if err := row.Scan(&w.ID, &w.TenantID, &w.Name, &w.Events, &w.URL, &config, &w.Secret, &w.PreviousSecret,
		&prevExpires, &w.Status, &w.DisabledReason, &failing, &lastSent, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(config, &w.Config); err != nil {
		return nil, fmt.Errorf("webhook %s config: %w", w.ID, err)
	}
	var err error
	if w.Secret, err = box.Open(w.Secret); err != nil {
		return nil, fmt.Errorf("webhook %s: %w", w.ID, err)
	}
	if w.PreviousSecret, err = box.Open(w.PreviousSecret); err != nil {
		return nil, fmt.Errorf("webhook %s: %w", w.ID, err)
	}
	w.PreviousSecretExpiresAt = fromNullTS(prevExpires)
	w.FailingSince, w.LastSentAt = fromNullTS(failing), fromNullTS(lastSent)
	w.CreatedAt, w.UpdatedAt = fromTS(w.CreatedAt), fromTS(w.UpdatedAt)
	return &w, nil
}

// querier is what the pool and a transaction share, for reads that run in
// either.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func findWebhook(ctx context.Context, q querier, box *hookd.SecretBox, tenantID, id string, forUpdate bool) (*hookd.Webhook, error) {
	query := `SELECT ` + webhookColumns + ` FROM webhooks WHERE id = $1 AND tenant_id = $2`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	w, err := scanWebhook(q.QueryRow(ctx, query, id, tenantID), box)
	if err != nil {
		return nil, interpretError(err)
	}
	return w, nil
}

// FindWebhookByID returns the tenant's webhook with that ID.
func (s *WebhookService) FindWebhookByID(ctx context.Context, tenantID, id string) (*hookd.Webhook, error) {
	w, err := findWebhook(ctx, s.db.pool, s.db.Secrets, tenantID, id, false)
	if err != nil {
		return nil, fmt.Errorf("find webhook %s: %w", id, err)
	}
	return w, nil
}

// FindWebhooks returns one page of the tenant's webhooks.
func (s *WebhookService) FindWebhooks(ctx context.Context, filter hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
	q := pageQuery{selectFrom: `SELECT ` + webhookColumns + ` FROM webhooks`}
	q.add("tenant_id = ?", filter.TenantID)
	switch filter.Ordering {
	case hookd.OrderID:
		q.byID = true
	case hookd.OrderCreatedAt:
	case hookd.OrderCreatedAtDesc, "":
		q.desc = true
	default:
		return nil, false, hookd.FieldError("ordering", fmt.Sprintf("%q is not a valid choice.", filter.Ordering))
	}
	if filter.CreatedFrom != nil {
		q.add("created_at >= ?", ts(*filter.CreatedFrom))
	}
	if filter.CreatedTo != nil {
		q.add("created_at <= ?", ts(*filter.CreatedTo))
	}
	query, args, limit := q.build(filter.Page)
	rows, err := s.db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find webhooks: %w", err)
	}
	ws, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookd.Webhook, error) {
		return scanWebhook(row, s.db.Secrets)
	})
	if err != nil {
		return nil, false, fmt.Errorf("find webhooks: %w", err)
	}
	ws, more := trimPage(ws, limit, filter.Page)
	return ws, more, nil
}

// CreateWebhook stores w. Returns ECONFLICT if a webhook with its ID exists.
func (s *WebhookService) CreateWebhook(ctx context.Context, w *hookd.Webhook) error {
	config, err := json.Marshal(w.Config)
	if err != nil {
		return fmt.Errorf("create webhook: marshal config: %w", err)
	}
	events := w.Events
	if events == nil {
		events = []string{} // the column is NOT NULL
	}
	_, err = s.db.pool.Exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		w.ID, w.TenantID, w.Name, events, w.URL, string(config), s.db.Secrets.Seal(w.Secret), s.db.Secrets.Seal(w.PreviousSecret),
		nullTS(w.PreviousSecretExpiresAt), w.Status, w.DisabledReason, nullTS(w.FailingSince),
		nullTS(w.LastSentAt), ts(w.CreatedAt), ts(w.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create webhook: %w", interpretError(err))
	}
	return nil
}

// UpdateWebhook applies upd to the tenant's webhook at now, holding the
// webhook's row lock from read to write.
func (s *WebhookService) UpdateWebhook(ctx context.Context, tenantID, id string, upd hookd.WebhookUpdate, now time.Time) (*hookd.Webhook, error) {
	var w *hookd.Webhook
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		old, err := findWebhook(ctx, tx, s.db.Secrets, tenantID, id, true)
		if err != nil {
			return err
		}
		if w, err = upd.Apply(old, ts(now)); err != nil {
			return err
		}
		config, err := json.Marshal(w.Config)
		if err != nil {
			return fmt.Errorf("marshal config: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE webhooks SET name = $1, events = $2, url = $3, config = $4, secret = $5,
			previous_secret = $6, previous_secret_expires_at = $7, status = $8, disabled_reason = $9,
			failing_since = $10, updated_at = $11 WHERE id = $12`,
			w.Name, w.Events, w.URL, string(config), s.db.Secrets.Seal(w.Secret), s.db.Secrets.Seal(w.PreviousSecret),
			nullTS(w.PreviousSecretExpiresAt),
			w.Status, w.DisabledReason, nullTS(w.FailingSince), ts(w.UpdatedAt), w.ID)
		return interpretError(err)
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return w, nil
}

// DeleteWebhook deletes the tenant's webhook; its deliveries and their
// attempts go with it (ON DELETE CASCADE), and so do its deliveries' queue
// rows, deleted after the webhook so that the statement sees those of any
// publish the webhook's deletion waited for.
func (s *WebhookService) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	var tag pgconn.CommandTag
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if tag, err = tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1 AND tenant_id = $2`, id, tenantID); err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM delivery_queue WHERE tenant_id = $1 AND webhook_id = $2`, tenantID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete webhook %s: %w", id, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
	}
	return nil
}
