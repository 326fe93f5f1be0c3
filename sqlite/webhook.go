package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hookd/hookd"
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

// scanWebhook reads one row of webhookColumns, opening sealed secrets with box.
func scanWebhook(row interface{ Scan(...any) error }, box *hookd.SecretBox) (*hookd.Webhook, error) {
	var w hookd.Webhook
	var events, config string
	var prevExpires, failing, lastSent sql.NullInt64
	var created, updated int64
	if err := row.Scan(&w.ID, &w.TenantID, &w.Name, &events, &w.URL, &config, &w.Secret, &w.PreviousSecret,
		&prevExpires, &w.Status, &w.DisabledReason, &failing, &lastSent, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s events: %w", w.ID, err)
	}
	if err := json.Unmarshal([]byte(config), &w.Config); err != nil {
		return nil, fmt.Errorf("webhook %s config: %w", w.ID, err)
	}
	var err error
	if w.Secret, err = box.Open(w.Secret); err != nil {
		return nil, fmt.Errorf("webhook %s secret: %w", w.ID, err)
	}
	if w.PreviousSecret, err = box.Open(w.PreviousSecret); err != nil {
		return nil, fmt.Errorf("webhook %s previous secret: %w", w.ID, err)
	}
	w.PreviousSecretExpiresAt = fromNullMicros(prevExpires)
	w.FailingSince, w.LastSentAt = fromNullMicros(failing), fromNullMicros(lastSent)
	w.CreatedAt, w.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &w, nil
}

func findWebhook(ctx context.Context, q queryer, box *hookd.SecretBox, tenantID, id string) (*hookd.Webhook, error) {
	w, err := scanWebhook(q.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ? AND tenant_id = ?`, id, tenantID), box)
	if err != nil {
		return nil, interpretError(err)
	}
	return w, nil
}

// FindWebhookByID returns the tenant's webhook with that ID.
func (s *WebhookService) FindWebhookByID(ctx context.Context, tenantID, id string) (*hookd.Webhook, error) {
	w, err := findWebhook(ctx, s.db.reader, s.db.Secrets, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("find webhook %s: %w", id, err)
	}
	return w, nil
}

// FindWebhooks returns one page of the tenant's webhooks.
func (s *WebhookService) FindWebhooks(ctx context.Context, filter hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
	q := pageQuery{
		selectFrom: `SELECT ` + webhookColumns + ` FROM webhooks`,
		where:      []string{"tenant_id = ?"},
		args:       []any{filter.TenantID},
	}
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
		q.where, q.args = append(q.where, "created_at >= ?"), append(q.args, micros(*filter.CreatedFrom))
	}
	if filter.CreatedTo != nil {
		q.where, q.args = append(q.where, "created_at <= ?"), append(q.args, micros(*filter.CreatedTo))
	}
	query, args, limit := q.build(filter.Page)
	rows, err := s.db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find webhooks: %w", err)
	}
	defer rows.Close()
	var ws []*hookd.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows, s.db.Secrets)
		if err != nil {
			return nil, false, fmt.Errorf("find webhooks: %w", err)
		}
		ws = append(ws, w)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("find webhooks: %w", err)
	}
	ws, more := trimPage(ws, limit, filter.Page)
	return ws, more, nil
}

// CreateWebhook stores w. Returns ECONFLICT if a webhook with its ID exists.
func (s *WebhookService) CreateWebhook(ctx context.Context, w *hookd.Webhook) error {
	err := s.db.write(ctx, func(tx *Tx) error {
		events, config, err := marshalWebhook(w)
		if err != nil {
			return err
		}
		_, err = tx.exec(`INSERT INTO webhooks (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.TenantID, w.Name, events, w.URL, config, s.db.Secrets.Seal(w.Secret), s.db.Secrets.Seal(w.PreviousSecret),
			nullMicros(w.PreviousSecretExpiresAt), w.Status, w.DisabledReason, nullMicros(w.FailingSince),
			nullMicros(w.LastSentAt), micros(w.CreatedAt), micros(w.UpdatedAt))
		if err != nil {
			return interpretError(err)
		}
		return insertWebhookEvents(tx, w)
	})
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

func marshalWebhook(w *hookd.Webhook) (events, config string, err error) {
	e, err := json.Marshal(w.Events)
	if err != nil {
		return "", "", fmt.Errorf("marshal events: %w", err)
	}
	c, err := json.Marshal(w.Config)
	if err != nil {
		return "", "", fmt.Errorf("marshal config: %w", err)
	}
	return string(e), string(c), nil
}

// insertWebhookEvents indexes w's subscriptions for publish.
func insertWebhookEvents(tx *Tx, w *hookd.Webhook) error {
	for _, e := range w.Events {
		if _, err := tx.exec(`INSERT OR IGNORE INTO webhook_events (tenant_id, event, webhook_id) VALUES (?, ?, ?)`,
			w.TenantID, e, w.ID); err != nil {
			return fmt.Errorf("index webhook events: %w", err)
		}
	}
	return nil
}

// UpdateWebhook applies upd to the tenant's webhook at now.
func (s *WebhookService) UpdateWebhook(ctx context.Context, tenantID, id string, upd hookd.WebhookUpdate, now time.Time) (*hookd.Webhook, error) {
	var w *hookd.Webhook
	err := s.db.write(ctx, func(tx *Tx) error {
		old, err := findWebhook(tx.ctx, tx, s.db.Secrets, tenantID, id)
		if err != nil {
			return err
		}
		if w, err = upd.Apply(old, hookd.Truncate(now)); err != nil {
			return err
		}
		events, config, err := marshalWebhook(w)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE webhooks SET name = ?, events = ?, url = ?, config = ?, secret = ?,
			previous_secret = ?, previous_secret_expires_at = ?, status = ?, disabled_reason = ?,
			failing_since = ?, updated_at = ? WHERE id = ?`,
			w.Name, events, w.URL, config, s.db.Secrets.Seal(w.Secret), s.db.Secrets.Seal(w.PreviousSecret), nullMicros(w.PreviousSecretExpiresAt),
			w.Status, w.DisabledReason, nullMicros(w.FailingSince), micros(w.UpdatedAt), w.ID); err != nil {
			return err
		}
		if slices.Equal(old.Events, w.Events) {
			return nil
		}
		if _, err := tx.exec(`DELETE FROM webhook_events WHERE webhook_id = ?`, w.ID); err != nil {
			return err
		}
		return insertWebhookEvents(tx, w)
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	s.db.cache.forgetWebhooks(id)
	return w, nil
}

// DeleteWebhook deletes the tenant's webhook; its deliveries and their
// attempts go with it (ON DELETE CASCADE), and its parked deliveries.
func (s *WebhookService) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	err := s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(`DELETE FROM webhooks WHERE id = ? AND tenant_id = ?`, id, tenantID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "Not found.")
		}
		if s.db.park.count("") == 0 {
			return nil // no event has parked deliveries
		}
		return dropParked(tx, id)
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	s.db.park.drop(tenantID, id)
	s.db.cache.forgetWebhooks(id)
	return nil
}
