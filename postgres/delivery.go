package postgres

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/hookd/hookd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// DeliveryService stores deliveries and attempts, and is the delivery queue
// every node draws from.
type DeliveryService struct {
	db   *DB
	fair fairClaimer
}

var _ hookd.DeliveryService = (*DeliveryService)(nil)

// NewDeliveryService returns the delivery service on db.
func NewDeliveryService(db *DB) *DeliveryService {
	return &DeliveryService{db: db}
}

// deliveryColumns reads a delivery from deliveries, in scanDelivery's
// order. A pending delivery's next attempt is its queue row's (see
// migration 0004_queue.sql); deliveries keeps the rest.
const deliveryColumns = `id, tenant_id, webhook_id, event_id, event_type, status, attempt_count, retry_base,
	(SELECT q.next_attempt_at FROM delivery_queue q WHERE q.delivery_id = deliveries.id), created_at, last_attempt_at`

// claimedColumns reads a delivery just claimed: its next attempt is the
// lease end, the claim's parameter lease, which the claim's own snapshot
// does not show in delivery_queue yet.
func claimedColumns(lease string) string {
	return `id, tenant_id, webhook_id, event_id, event_type, status, attempt_count, retry_base,
	` + lease + `::timestamptz, created_at, last_attempt_at`
}

func scanDelivery(row rowScanner) (*hookd.Delivery, error) {
	var d hookd.Delivery
	var next, last pgtype.Timestamptz
	if err := row.Scan(&d.ID, &d.TenantID, &d.WebhookID, &d.EventID, &d.EventType, &d.Status, &d.AttemptCount,
		&d.RetryBase, &next, &d.CreatedAt, &last); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.LastAttemptAt = fromNullTS(next), fromNullTS(last)
	d.CreatedAt = fromTS(d.CreatedAt)
	return &d, nil
}

func collectDelivery(row pgx.CollectableRow) (*hookd.Delivery, error) { return scanDelivery(row) }

// loadAttempts fills the attempts of ds, oldest first, in one query.
func loadAttempts(ctx context.Context, q querier, ds []*hookd.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	byID := make(map[string]*hookd.Delivery, len(ds))
	ids := make([]string, len(ds))
	for i, d := range ds {
		byID[d.ID], ids[i] = d, d.ID
		d.Attempts = []hookd.Attempt{}
	}
	rows, err := q.Query(ctx, `SELECT delivery_id, number, started_at, status_code, latency_us, response_body, error
		FROM attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, number`, ids)
	if err != nil {
		return fmt.Errorf("load attempts: %w", err)
	}
	var id string
	var a hookd.Attempt
	var latency int64
	var body []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &a.Number, &a.StartedAt, &a.StatusCode, &latency, &body, &a.Error}, func() error {
		a.StartedAt, a.Latency, a.ResponseBody = fromTS(a.StartedAt), time.Duration(latency)*time.Microsecond, string(body)
		d := byID[id]
		d.Attempts = append(d.Attempts, a)
		return nil
	}); err != nil {
		return fmt.Errorf("load attempts: %w", err)
	}
	return nil
}

// FindDeliveryByID returns the tenant's delivery with its attempts, read in
// one repeatable-read snapshot.
func (s *DeliveryService) FindDeliveryByID(ctx context.Context, tenantID, id string) (*hookd.Delivery, error) {
	var d *hookd.Delivery
	err := pgx.BeginTxFunc(ctx, s.db.pool, snapshot, func(tx pgx.Tx) error {
		var err error
		if d, err = scanDelivery(tx.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1 AND tenant_id = $2`,
			id, tenantID)); err != nil {
			return interpretError(err)
		}
		return loadAttempts(ctx, tx, []*hookd.Delivery{d})
	})
	if err != nil {
		return nil, fmt.Errorf("find delivery %s: %w", id, err)
	}
	return d, nil
}

// snapshot is a read-only transaction that sees one state of the database,
// so that deliveries and their attempts agree.
var snapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// FindDeliveries returns one page of the tenant's deliveries, newest first.
func (s *DeliveryService) FindDeliveries(ctx context.Context, filter hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
	q := pageQuery{selectFrom: `SELECT ` + deliveryColumns + ` FROM deliveries`, desc: true}
	q.add("tenant_id = ?", filter.TenantID)
	if filter.WebhookID != "" {
		q.add("webhook_id = ?", filter.WebhookID)
	}
	if filter.EventID != "" {
		q.add("event_id = ?", filter.EventID)
	}
	if filter.EventType != "" {
		q.add("event_type = ?", filter.EventType)
	}
	if filter.Status != "" {
		q.add("status = ?", filter.Status)
	}
	if filter.CreatedFrom != nil {
		q.add("created_at >= ?", ts(*filter.CreatedFrom))
	}
	if filter.CreatedTo != nil {
		q.add("created_at <= ?", ts(*filter.CreatedTo))
	}
	query, args, limit := q.build(filter.Page)

	var ds []*hookd.Delivery
	var more bool
	err := pgx.BeginTxFunc(ctx, s.db.pool, snapshot, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		if ds, err = pgx.CollectRows(rows, collectDelivery); err != nil {
			return err
		}
		ds, more = trimPage(ds, limit, filter.Page)
		return loadAttempts(ctx, tx, ds)
	})
	if err != nil {
		return nil, false, fmt.Errorf("find deliveries: %w", err)
	}
	return ds, more, nil
}

// RedeliverDelivery makes the tenant's delivery pending and due at now: it
// marks it pending and puts it in the queue, or moves its queue row to now
// if it is already there.
func (s *DeliveryService) RedeliverDelivery(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Delivery, error) {
	var d *hookd.Delivery
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO delivery_queue (delivery_id, tenant_id, webhook_id, next_attempt_at)
			SELECT id, tenant_id, webhook_id, $1 FROM deliveries WHERE id = $2 AND tenant_id = $3
			ON CONFLICT (delivery_id) DO UPDATE SET next_attempt_at = excluded.next_attempt_at`, ts(now), id, tenantID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "Not found.")
		}
		// RETURNING sees the queue row the statement before wrote.
		if d, err = scanDelivery(tx.QueryRow(ctx, `UPDATE deliveries SET status = 'pending', retry_base = attempt_count
			WHERE id = $1 AND tenant_id = $2 RETURNING `+deliveryColumns, id, tenantID)); err != nil {
			return interpretError(err)
		}
		return loadAttempts(ctx, tx, []*hookd.Delivery{d})
	})
	if err != nil {
		return nil, fmt.Errorf("redeliver delivery %s: %w", id, err)
	}
	s.db.wake()
	return d, nil
}

// RecoverDeliveries redelivers the webhook's failed deliveries created at or
// after since.
func (s *DeliveryService) RecoverDeliveries(ctx context.Context, tenantID, webhookID string, since, now time.Time) (int, error) {
	var n int64
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1 AND tenant_id = $2)`,
			webhookID, tenantID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return hookd.Errorf(hookd.ENOTFOUND, "Not found.")
		}
		tag, err := tx.Exec(ctx, `WITH d AS (
				UPDATE deliveries SET status = 'pending', retry_base = attempt_count
				WHERE webhook_id = $2 AND tenant_id = $3 AND status = 'failed' AND created_at >= $4
				RETURNING id, tenant_id, webhook_id
			)
			INSERT INTO delivery_queue (delivery_id, tenant_id, webhook_id, next_attempt_at)
			SELECT id, tenant_id, webhook_id, $1 FROM d
			ON CONFLICT (delivery_id) DO UPDATE SET next_attempt_at = excluded.next_attempt_at`,
			ts(now), webhookID, tenantID, ts(since))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("recover deliveries of webhook %s: %w", webhookID, err)
	}
	if n > 0 {
		s.db.wake()
	}
	return int(n), nil
}

// ClaimDeliveries claims up to req.Limit due deliveries with one UPDATE of
// the rows SELECT … FOR UPDATE SKIP LOCKED picks: concurrent claimers, on
// this node or others, pass over each other's rows instead of waiting for
// them, and a row claimed and committed meanwhile is re-checked (its
// next_attempt_at is now the lease) and skipped. The first claim, and one
// every fairEvery after, is fair (see fairClaimer): it walks the tenants and
// webhooks with pending work and gives each its oldest due deliveries; the
// others take the oldest due first. It then loads the webhooks and events of
// the batch in one round trip; if that fails, the claimed deliveries are due
// again when their lease runs out. Tasks come back ordered by delivery
// creation.
func (s *DeliveryService) ClaimDeliveries(ctx context.Context, req hookd.ClaimRequest) ([]*hookd.Task, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	exclude := req.ExcludeWebhooks
	if exclude == nil {
		exclude = []string{}
	}
	var rows pgx.Rows
	var err error
	if s.fair.due() {
		var l lanes
		if l, err = s.fair.plan(ctx, s.db, req); err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		} else if l.idle {
			return nil, nil
		}
		rows, err = s.db.queue.Query(ctx, fairClaimQuery, ts(req.Now), exclude, req.Limit,
			l.tenantIDs, l.webhookIDs, l.quotas, ts(req.Now.Add(req.Lease)))
	} else {
		rows, err = s.db.queue.Query(ctx, claimQuery, ts(req.Now), exclude, req.Limit, ts(req.Now.Add(req.Lease)))
	}
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	ds, err := pgx.CollectRows(rows, collectDelivery)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].CreatedAt.Equal(ds[j].CreatedAt) {
			return ds[i].CreatedAt.Before(ds[j].CreatedAt)
		}
		return ds[i].ID < ds[j].ID
	})

	// The claim is committed. A webhook deleted meanwhile took its
	// deliveries with it, so its tasks are dropped.
	var webhookIDs, eventIDs []string
	for _, d := range ds {
		if !slices.Contains(webhookIDs, d.WebhookID) {
			webhookIDs = append(webhookIDs, d.WebhookID)
		}
		eventIDs = append(eventIDs, d.EventID)
	}
	webhooks := make(map[string]*hookd.Webhook, len(webhookIDs))
	events := make(map[string]*hookd.Event, len(eventIDs))
	batch := &pgx.Batch{}
	batch.Queue(`SELECT `+webhookColumns+` FROM webhooks WHERE id = ANY($1)`, webhookIDs).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			w, err := scanWebhook(rows, s.db.Secrets)
			if err != nil {
				return err
			}
			webhooks[w.ID] = w
		}
		return rows.Err()
	})
	batch.Queue(`SELECT `+eventColumns+` FROM events WHERE id = ANY($1)`, eventIDs).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				return err
			}
			events[e.ID] = e
		}
		return rows.Err()
	})
	if err := s.db.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("claim deliveries: load webhooks and events: %w", err)
	}
	tasks := make([]*hookd.Task, 0, len(ds))
	for _, d := range ds {
		w, e := webhooks[d.WebhookID], events[d.EventID]
		if w == nil || e == nil {
			continue
		}
		tasks = append(tasks, &hookd.Task{Delivery: d, Webhook: w, Event: e})
	}
	return tasks, nil
}

// claimQuery claims up to $3 of the oldest due deliveries ($1) outside the
// excluded webhooks $2, leasing them until $4, and reads them. The locked
// IDs come as an array rather than a join: a join lets the planner hash the
// batch against a scan of the whole table, while id = ANY(array) always
// probes the primary key.
var claimQuery = `WITH leased AS (
		UPDATE delivery_queue SET next_attempt_at = $4
		WHERE delivery_id = ANY(ARRAY(
			SELECT delivery_id FROM delivery_queue
			WHERE next_attempt_at <= $1 AND webhook_id <> ALL($2::text[])
			ORDER BY next_attempt_at LIMIT $3
			FOR UPDATE SKIP LOCKED))
		RETURNING delivery_id
	)
	SELECT ` + claimedColumns("$4") + ` FROM deliveries WHERE id = ANY(ARRAY(SELECT delivery_id FROM leased))`

// CompleteDeliveries records results with one statement, atomic on its
// own, so one round trip: it updates the deliveries, appends their
// attempts (numbered by the new attempt count), moves the queue rows of
// retries to their next attempt and deletes those of finished deliveries,
// and updates their webhooks.
// Results for deliveries that no longer exist are ignored, in the webhook
// updates too.
//
// An UPDATE changes a row once, so in the rare batch that repeats a
// delivery, the repeats are recorded by further statements, in one
// transaction.
func (s *DeliveryService) CompleteDeliveries(ctx context.Context, results []hookd.AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	var rounds [][]int // indexes into results, no delivery twice in one
	round := make(map[string]int, len(results))
	for i, r := range results {
		k := round[r.DeliveryID]
		round[r.DeliveryID]++
		if k == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[k] = append(rounds[k], i)
	}
	var err error
	if len(rounds) == 1 {
		args := completeArgs(results, rounds[0])
		for range maxTxAttempts {
			if _, err = s.db.queue.Exec(ctx, completeQuery, args...); !retryable(err) {
				break
			}
		}
	} else {
		err = s.db.inTx(ctx, func(tx pgx.Tx) error {
			for _, r := range rounds {
				if _, err := tx.Exec(ctx, completeQuery, completeArgs(results, r)...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("complete deliveries: %w", err)
	}
	return nil
}

// completeQuery records a batch of attempt results; see CompleteDeliveries.
// Its parameters are arrays with one element per result, in order.
//
// Each webhook's update sums up its results whose delivery exists, in
// order: last_sent_at advances to the latest attempt; failing_since is
// cleared when the last result succeeded, set to the first failure after
// the last success when one followed it, and otherwise (only failures) set
// to the first failure unless already set; the webhook is disabled with the
// last reason given. The webhooks are locked in ID order first, so that
// nodes completing for the same webhooks wait for each other instead of
// deadlocking.
//
// Only webhooks that change are locked and updated, and last_sent_at alone
// counts as a change once it moves by a second or more: otherwise every
// completion of every node would take its turn on a busy webhook's row,
// holding the row until it commits, and nodes would complete one at a time.
// So a webhook's last_sent_at may trail its latest attempt by under a
// second; its failing_since and status are always exact.
const completeQuery = `WITH r AS (
		SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
			$6::int[], $7::bigint[], $8::bytea[], $9::text[], $10::text[])
			AS r(n, id, status, started_at, next_attempt_at, status_code, latency_us, response_body, error, disable)
	), d AS (
		UPDATE deliveries d SET status = r.status, attempt_count = d.attempt_count + 1,
			last_attempt_at = r.started_at
		FROM r WHERE d.id = r.id AND d.id = ANY($2) -- probe the primary key, never scan the table
		RETURNING d.id, d.attempt_count, d.webhook_id
	), retry AS (
		UPDATE delivery_queue q SET next_attempt_at = r.next_attempt_at
		FROM r WHERE q.delivery_id = r.id AND q.delivery_id = ANY($2) AND r.status = 'pending'
	), done AS (
		DELETE FROM delivery_queue q
		USING r WHERE q.delivery_id = r.id AND q.delivery_id = ANY($2) AND r.status <> 'pending'
	), a AS (
		INSERT INTO attempts (delivery_id, number, started_at, status_code, latency_us, response_body, error)
		SELECT d.id, d.attempt_count, r.started_at, r.status_code, r.latency_us, r.response_body, r.error
		FROM d JOIN r ON r.id = d.id
	), wr AS (
		SELECT d.webhook_id, r.n, r.status, r.started_at, r.disable FROM d JOIN r ON r.id = d.id
	), wa AS (
		SELECT webhook_id, max(started_at) AS last_sent,
			max(n) FILTER (WHERE status = 'succeeded') AS last_ok
		FROM wr GROUP BY webhook_id
	), wo AS (
		SELECT wa.webhook_id, wa.last_sent, wa.last_ok,
			(SELECT f.started_at FROM wr f WHERE f.webhook_id = wa.webhook_id AND f.status <> 'succeeded'
				AND f.n > coalesce(wa.last_ok, -1) ORDER BY f.n LIMIT 1) AS failed_at,
			(SELECT g.disable FROM wr g WHERE g.webhook_id = wa.webhook_id AND g.disable <> ''
				ORDER BY g.n DESC LIMIT 1) AS disable
		FROM wa
	), locked AS (
		SELECT w.id FROM webhooks w JOIN wo ON wo.webhook_id = w.id
		WHERE w.last_sent_at IS NULL OR wo.last_sent >= w.last_sent_at + interval '1 second'
			OR w.failing_since IS DISTINCT FROM (CASE
				WHEN wo.last_ok IS NULL THEN coalesce(w.failing_since, wo.failed_at)
				ELSE wo.failed_at END)
			OR wo.disable IS NOT NULL AND (w.status <> 'disabled' OR w.disabled_reason <> wo.disable)
		ORDER BY w.id FOR NO KEY UPDATE OF w
	)
	UPDATE webhooks w SET
		last_sent_at = greatest(w.last_sent_at, wo.last_sent),
		failing_since = CASE
			WHEN wo.last_ok IS NULL THEN coalesce(w.failing_since, wo.failed_at)
			ELSE wo.failed_at END,
		status = CASE WHEN wo.disable IS NOT NULL THEN 'disabled' ELSE w.status END,
		disabled_reason = coalesce(wo.disable, w.disabled_reason)
	FROM locked JOIN wo ON wo.webhook_id = locked.id
	WHERE w.id = locked.id`

// completeArgs returns completeQuery's arguments for results[i], i in idx.
func completeArgs(results []hookd.AttemptResult, idx []int) []any {
	k := len(idx)
	ns, codes := make([]int32, k), make([]int32, k)
	ids, statuses, errs, disable := make([]string, k), make([]string, k), make([]string, k), make([]string, k)
	started, next := make([]time.Time, k), make([]pgtype.Timestamptz, k)
	latencies, bodies := make([]int64, k), make([][]byte, k)
	for j, i := range idx {
		r := results[i]
		a := r.Attempt
		ns[j], ids[j], statuses[j], started[j], disable[j] = int32(i), r.DeliveryID, r.Status, ts(a.StartedAt), r.DisableWebhook
		if r.Status == hookd.DeliveryPending {
			next[j] = pgtype.Timestamptz{Time: ts(r.NextAttemptAt), Valid: true}
		}
		body := a.ResponseBody
		if len(body) > hookd.MaxResponseBody {
			body = body[:hookd.MaxResponseBody]
		}
		codes[j], latencies[j], bodies[j], errs[j] = int32(a.StatusCode), a.Latency.Microseconds(), []byte(body), sanitize(a.Error)
	}
	return []any{ns, ids, statuses, started, next, codes, latencies, bodies, errs, disable}
}

// retentionChunk is how many events one retention transaction looks at, so
// that deleting a large history never holds locks for long.
const retentionChunk = 500

// DeleteDeliveriesBefore deletes finished deliveries created before t, with
// their attempts, and events created before t left without deliveries. It
// walks old events in chunks, each in its own transaction: a delivery's
// created_at is its event's, so an event's age finds its deliveries.
func (s *DeliveryService) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int, error) {
	before := ts(t)
	var total int64
	var cursor *hookd.Cursor // the last event of the previous chunk
	for {
		var ids []string
		var last time.Time
		var deleted int64
		err := s.db.inTx(ctx, func(tx pgx.Tx) error {
			query := `SELECT id, created_at FROM events WHERE created_at < $1 ORDER BY created_at, id LIMIT $2`
			args := []any{before, retentionChunk}
			if cursor != nil {
				query = `SELECT id, created_at FROM events WHERE created_at < $1 AND (created_at, id) > ($3, $4)
					ORDER BY created_at, id LIMIT $2`
				args = append(args, cursor.Time, cursor.ID)
			}
			rows, err := tx.Query(ctx, query, args...)
			if err != nil {
				return err
			}
			ids = ids[:0]
			var id string
			var created time.Time
			if _, err := pgx.ForEachRow(rows, []any{&id, &created}, func() error {
				ids, last = append(ids, id), created
				return nil
			}); err != nil {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
			tag, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE event_id = ANY($1)
				AND status IN ('succeeded', 'failed') AND created_at < $2`, ids, before)
			if err != nil {
				return err
			}
			deleted = tag.RowsAffected()
			_, err = tx.Exec(ctx, `DELETE FROM events e WHERE e.id = ANY($1)
				AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)`, ids)
			return err
		})
		if err != nil {
			return int(total), fmt.Errorf("delete deliveries before %s: %w", hookd.FormatTime(t), err)
		}
		total += deleted
		if len(ids) < retentionChunk {
			return int(total), nil
		}
		cursor = &hookd.Cursor{Time: last, ID: ids[len(ids)-1]}
	}
}

// QueueStats reports the pending deliveries at now, across tenants.
func (s *DeliveryService) QueueStats(ctx context.Context, now time.Time) (hookd.QueueStats, error) {
	var st hookd.QueueStats
	var oldest pgtype.Timestamptz
	err := s.db.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE next_attempt_at <= $1),
		min(next_attempt_at) FILTER (WHERE next_attempt_at <= $1)
		FROM delivery_queue`, ts(now)).Scan(&st.Pending, &st.Due, &oldest)
	if err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	st.OldestDue = fromNullTS(oldest)
	return st, nil
}
