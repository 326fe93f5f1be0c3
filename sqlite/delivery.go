package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"sort"
	"time"

	"github.com/hookd/hookd"
)

// DeliveryService stores deliveries and attempts, and is the delivery queue.
type DeliveryService struct {
	db *DB
}

var _ hookd.DeliveryService = (*DeliveryService)(nil)

// NewDeliveryService returns the delivery service on db.
func NewDeliveryService(db *DB) *DeliveryService {
	return &DeliveryService{db: db}
}

const deliveryColumns = `id, tenant_id, webhook_id, event_id, event_type, status, attempt_count, retry_base,
	next_attempt_at, created_at, last_attempt_at`

func scanDelivery(row interface{ Scan(...any) error }) (*hookd.Delivery, error) {
	var d hookd.Delivery
	var next, last sql.NullInt64
	var created int64
	if err := row.Scan(&d.ID, &d.TenantID, &d.WebhookID, &d.EventID, &d.EventType, &d.Status, &d.AttemptCount,
		&d.RetryBase, &next, &created, &last); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.LastAttemptAt = fromNullMicros(next), fromNullMicros(last)
	d.CreatedAt = fromMicros(created)
	return &d, nil
}

// jsonArray encodes ids for `IN (SELECT value FROM json_each(?))`: one
// parameter for any number of values.
func jsonArray(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // strings always marshal
	return string(b)
}

// loadAttempts fills the attempts of ds, oldest first, in one query.
func loadAttempts(ctx context.Context, q queryer, ds []*hookd.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	byID := make(map[string]*hookd.Delivery, len(ds))
	ids := make([]string, len(ds))
	for i, d := range ds {
		byID[d.ID], ids[i] = d, d.ID
		d.Attempts = []hookd.Attempt{}
	}
	// A first attempt is in its delivery's row, unless it was recorded
	// before migration 0006.
	rows, err := q.QueryContext(ctx, `SELECT id, 1, first_started_at, first_status_code, first_latency_us, first_response_body, first_error
		FROM deliveries WHERE id IN (SELECT value FROM json_each(?1)) AND first_started_at IS NOT NULL
		UNION ALL
		SELECT delivery_id, number, started_at, status_code, latency_us, response_body, error
		FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(?1))
		ORDER BY 1, 2`, jsonArray(ids))
	if err != nil {
		return fmt.Errorf("load attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a hookd.Attempt
		var started, latency int64
		if err := rows.Scan(&id, &a.Number, &started, &a.StatusCode, &latency, &a.ResponseBody, &a.Error); err != nil {
			return fmt.Errorf("load attempts: %w", err)
		}
		a.StartedAt, a.Latency = fromMicros(started), time.Duration(latency)*time.Microsecond
		d := byID[id]
		d.Attempts = append(d.Attempts, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load attempts: %w", err)
	}
	return nil
}

func findDelivery(ctx context.Context, q queryer, tenantID, id string) (*hookd.Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ? AND tenant_id = ?`, id, tenantID))
	if err != nil {
		return nil, interpretError(err)
	}
	if err := loadAttempts(ctx, q, []*hookd.Delivery{d}); err != nil {
		return nil, err
	}
	return d, nil
}

// FindDeliveryByID returns the tenant's delivery with its attempts.
func (s *DeliveryService) FindDeliveryByID(ctx context.Context, tenantID, id string) (*hookd.Delivery, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("find delivery %s: %w", id, err)
	}
	defer tx.Rollback()
	d, err := findDelivery(ctx, tx, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("find delivery %s: %w", id, err)
	}
	s.db.queue.show([]*hookd.Delivery{d})
	return d, nil
}

// FindDeliveries returns one page of the tenant's deliveries, newest first.
// It first turns the tenant's parked deliveries, if any, into pending ones,
// so that the page shows every delivery published before the call.
func (s *DeliveryService) FindDeliveries(ctx context.Context, filter hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
	if s.db.park.count(filter.TenantID) > 0 {
		if _, err := s.db.unpark(ctx, filter.TenantID, func(string) bool { return true }, -1); err != nil {
			return nil, false, fmt.Errorf("find deliveries: %w", err)
		}
	}
	q := pageQuery{
		selectFrom: `SELECT ` + deliveryColumns + ` FROM deliveries`,
		where:      []string{"tenant_id = ?"},
		args:       []any{filter.TenantID},
		desc:       true,
	}
	add := func(cond string, arg any) {
		q.where, q.args = append(q.where, cond), append(q.args, arg)
	}
	if filter.WebhookID != "" {
		add("webhook_id = ?", filter.WebhookID)
	}
	if filter.EventID != "" {
		// An event's deliveries share its created_at: the tenant index
		// finds them (there is none on event_id, see migration 0005).
		add("created_at = (SELECT created_at FROM events WHERE id = ?)", filter.EventID)
		add("event_id = ?", filter.EventID)
	}
	if filter.EventType != "" {
		add("event_type = ?", filter.EventType)
	}
	if filter.Status != "" {
		add("status = ?", filter.Status)
	}
	if filter.CreatedFrom != nil {
		add("created_at >= ?", micros(*filter.CreatedFrom))
	}
	if filter.CreatedTo != nil {
		add("created_at <= ?", micros(*filter.CreatedTo))
	}
	query, args, limit := q.build(filter.Page)

	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, false, fmt.Errorf("find deliveries: %w", err)
	}
	defer tx.Rollback()
	ds, err := queryDeliveries(ctx, tx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find deliveries: %w", err)
	}
	ds, more := trimPage(ds, limit, filter.Page)
	if err := loadAttempts(ctx, tx, ds); err != nil {
		return nil, false, fmt.Errorf("find deliveries: %w", err)
	}
	s.db.queue.show(ds)
	return ds, more, nil
}

func queryDeliveries(ctx context.Context, q queryer, query string, args ...any) ([]*hookd.Delivery, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanDeliveries(rows)
}

func scanDeliveries(rows *sql.Rows) ([]*hookd.Delivery, error) {
	defer rows.Close()
	var ds []*hookd.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// RedeliverDelivery makes the tenant's delivery pending and due at now.
func (s *DeliveryService) RedeliverDelivery(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Delivery, error) {
	var d *hookd.Delivery
	err := s.db.write(ctx, func(tx *Tx) error {
		rows, err := tx.query(`UPDATE deliveries SET status = 'pending', next_attempt_at = ?, retry_base = attempt_count
			WHERE id = ? AND tenant_id = ? RETURNING `+deliveryColumns, micros(now), id, tenantID)
		if err != nil {
			return err
		}
		ds, err := scanDeliveries(rows)
		if err != nil {
			return err
		} else if len(ds) == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "Not found.")
		}
		d = ds[0]
		tx.madeDue(micros(now))
		return loadAttempts(tx.ctx, tx, ds)
	})
	if err != nil {
		return nil, fmt.Errorf("redeliver delivery %s: %w", id, err)
	}
	return d, nil
}

// RecoverDeliveries redelivers the webhook's failed deliveries created at or
// after since.
func (s *DeliveryService) RecoverDeliveries(ctx context.Context, tenantID, webhookID string, since, now time.Time) (int, error) {
	var n int64
	err := s.db.write(ctx, func(tx *Tx) error {
		var one int
		if err := tx.queryRow(`SELECT 1 FROM webhooks WHERE id = ? AND tenant_id = ?`, webhookID, tenantID).Scan(&one); err != nil {
			return interpretError(err)
		}
		res, err := tx.exec(`UPDATE deliveries SET status = 'pending', next_attempt_at = ?, retry_base = attempt_count
			WHERE webhook_id = ? AND tenant_id = ? AND status = 'failed' AND created_at >= ?`,
			micros(now), webhookID, tenantID, micros(since))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if n > 0 {
			tx.madeDue(micros(now))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recover deliveries of webhook %s: %w", webhookID, err)
	}
	return int(n), nil
}

// ClaimDeliveries claims up to req.Limit due deliveries, oldest due first
// (walking the tenants' and webhooks' lanes in turn at least every
// fairEvery, or when webhooks are excluded that are not blocked), outside
// req.ExcludeWebhooks. A claim is a read: its leases
// live in this process (see leases), so it neither waits for nor adds to
// the single writer's work. The first claim locks the file for this
// process. Tasks come back ordered by delivery creation.
func (s *DeliveryService) ClaimDeliveries(ctx context.Context, req hookd.ClaimRequest) ([]*hookd.Task, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	q := &s.db.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.lock(s.db.Path); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	now := micros(req.Now)
	if q.expireLocked(now) {
		// Deliveries let go (their results never came) are due again,
		// behind where the scans stopped.
		s.db.fair.landed(math.MinInt64)
	}
	claimed := func(id string) bool { return q.activeLocked(id, now) }
	gen := s.db.cache.generation()

	sqlTx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	defer sqlTx.Rollback()
	tx := preparedTx{tx: sqlTx, stmts: &s.db.claimStmts}
	var ds []*hookd.Delivery
	if busy(req) || s.db.fair.due() {
		// Webhooks excluded for a moment (busy ones) are skipped with
		// index seeks in the lanes: oldest-first would step over their
		// due rows on every claim, and leave them behind its cursor. It
		// steps over blocked webhooks' rows once (see fairClaimer.oldest).
		ds, err = s.db.fair.claimLanes(ctx, tx, req, claimed)
	} else {
		ds, err = s.db.fair.oldest(ctx, tx, req, claimed)
	}
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	} else if len(ds) == 0 {
		return nil, nil
	}
	end := micros(req.Now.Add(req.Lease))
	leaseEnd := fromMicros(end)
	for _, d := range ds {
		d.NextAttemptAt = &leaseEnd
	}
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].CreatedAt.Equal(ds[j].CreatedAt) {
			return ds[i].CreatedAt.Before(ds[j].CreatedAt)
		}
		return ds[i].ID < ds[j].ID
	})

	// A webhook deleted since the deliveries were published took them with
	// it, so the snapshot has all three or none.
	webhookIDs, eventIDs := make([]string, 0, len(ds)), make([]string, 0, len(ds))
	seenW, seenE := make(map[string]bool), make(map[string]bool)
	for _, d := range ds {
		if !seenW[d.WebhookID] {
			seenW[d.WebhookID] = true
			webhookIDs = append(webhookIDs, d.WebhookID)
		}
		if !seenE[d.EventID] {
			seenE[d.EventID] = true
			eventIDs = append(eventIDs, d.EventID)
		}
	}
	webhooks, events, missingW, missingE := s.db.cache.lookup(webhookIDs, eventIDs)
	if len(missingW) > 0 {
		loaded, err := s.loadWebhooks(ctx, tx, missingW)
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		s.db.cache.keepWebhooks(gen, loaded)
		maps.Copy(webhooks, loaded)
	}
	if len(missingE) > 0 {
		loaded, err := s.loadEvents(ctx, tx, missingE)
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		s.db.cache.keepRead(loaded)
		maps.Copy(events, loaded)
	}
	s.db.cache.claimedEvents(ds)
	tasks := make([]*hookd.Task, 0, len(ds))
	for _, d := range ds {
		w, e := webhooks[d.WebhookID], events[d.EventID]
		if w == nil || e == nil {
			continue
		}
		tasks = append(tasks, &hookd.Task{Delivery: d, Webhook: w, Event: e})
	}
	q.holdLocked(ds, end)
	return tasks, nil
}

// busy reports whether req excludes webhooks that are not blocked.
func busy(req hookd.ClaimRequest) bool {
	switch {
	case len(req.ExcludeWebhooks) == 0:
		return false // most claims: no map to build
	case len(req.ExcludeWebhooks) > len(req.Blocked):
		return true
	}
	blocked := make(map[string]bool, len(req.Blocked))
	for _, id := range req.Blocked {
		blocked[id] = true
	}
	for _, id := range req.ExcludeWebhooks {
		if !blocked[id] {
			return true
		}
	}
	return false
}

func (s *DeliveryService) loadWebhooks(ctx context.Context, q queryer, ids []string) (map[string]*hookd.Webhook, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE id IN (SELECT value FROM json_each(?))`, jsonArray(ids))
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	defer rows.Close()
	m := make(map[string]*hookd.Webhook, len(ids))
	for rows.Next() {
		w, err := scanWebhook(rows, s.db.Secrets)
		if err != nil {
			return nil, fmt.Errorf("load webhooks: %w", err)
		}
		m[w.ID] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	return m, nil
}

func (s *DeliveryService) loadEvents(ctx context.Context, q queryer, ids []string) (map[string]*hookd.Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE id IN (SELECT value FROM json_each(?))`, jsonArray(ids))
	if err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	defer rows.Close()
	m := make(map[string]*hookd.Event, len(ids))
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("load events: %w", err)
		}
		m[e.ID] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	return m, nil
}

// webhookOutcome sums up one webhook's results in a CompleteDeliveries
// batch, so that each webhook is updated once.
type webhookOutcome struct {
	lastSent time.Time
	// failing is what becomes of failing_since: "clear" (the last result
	// succeeded), "set" to failedAt (failures after a success), or "keep"
	// (only failures: set to failedAt unless already set).
	failing  string
	failedAt time.Time
	disable  string
}

// CompleteDeliveries records results in one transaction of the group
// commit: per result one UPDATE of the delivery, which keeps a first attempt
// with a short answer in the delivery's row (see recordAttempt), and one
// INSERT of any other attempt (statements the writer keeps prepared), then
// one UPDATE per webhook concerned, skipped when it would only move
// last_sent_at by under a second (see sentCache). After the commit it
// releases the results' leases. A set-based variant (the results as one
// JSON parameter, read with json_each) measured slower here.
func (s *DeliveryService) CompleteDeliveries(ctx context.Context, results []hookd.AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	var outcomes map[string]*webhookOutcome
	var written []string // webhooks updated
	err := s.db.write(ctx, func(tx *Tx) error {
		outcomes = make(map[string]*webhookOutcome)
		var order []string
		for _, r := range results {
			a := r.Attempt
			started := micros(a.StartedAt)
			var next any
			if r.Status == hookd.DeliveryPending {
				due := micros(r.NextAttemptAt)
				next = due
				tx.landed = min(tx.landed, due) // normally ahead of every cursor
			}
			body := a.ResponseBody
			if len(body) > hookd.MaxResponseBody {
				body = body[:hookd.MaxResponseBody]
			}
			rec := attemptRecord{started: started, status: a.StatusCode, latency: a.Latency.Microseconds(), body: body, err: a.Error,
				inline: len(body)+len(a.Error) <= maxInlineAttempt}
			number, webhookID, err := recordAttempt(tx, r, rec, next)
			if errors.Is(err, sql.ErrNoRows) {
				continue // deleted meanwhile
			} else if err != nil {
				return fmt.Errorf("delivery %s: %w", r.DeliveryID, err)
			}
			if number > 1 || !rec.inline { // else in the delivery's row
				if _, err := tx.exec(`INSERT INTO attempts (delivery_id, number, started_at, status_code, latency_us, response_body, error)
					VALUES (?, ?, ?, ?, ?, ?, ?)`,
					r.DeliveryID, number, rec.started, rec.status, rec.latency, rec.body, rec.err); err != nil {
					return fmt.Errorf("delivery %s: insert attempt: %w", r.DeliveryID, err)
				}
			}

			o := outcomes[webhookID]
			if o == nil {
				o = &webhookOutcome{failing: "keep"}
				outcomes[webhookID] = o
				order = append(order, webhookID)
			}
			if t := hookd.Truncate(a.StartedAt); t.After(o.lastSent) {
				o.lastSent = t
			}
			switch {
			case r.Status == hookd.DeliverySucceeded:
				o.failing, o.failedAt = "clear", time.Time{}
			case o.failing == "clear":
				o.failing, o.failedAt = "set", a.StartedAt
			case o.failedAt.IsZero():
				o.failedAt = a.StartedAt
			}
			if r.DisableWebhook != "" {
				o.disable = r.DisableWebhook
			}
		}
		written = order[:0:0]
		for _, id := range order {
			o := outcomes[id]
			if s.db.sent.unchanged(id, o) {
				continue
			}
			written = append(written, id)
			var failedAt any
			if !o.failedAt.IsZero() {
				failedAt = micros(o.failedAt)
			}
			if _, err := tx.exec(`UPDATE webhooks SET
				last_sent_at = CASE WHEN last_sent_at IS NULL OR last_sent_at < ?1 THEN ?1 ELSE last_sent_at END,
				failing_since = CASE ?2 WHEN 'clear' THEN NULL WHEN 'set' THEN ?3 ELSE coalesce(failing_since, ?3) END,
				status = CASE WHEN ?4 <> '' THEN 'disabled' ELSE status END,
				disabled_reason = CASE WHEN ?4 <> '' THEN ?4 ELSE disabled_reason END
				WHERE id = ?5`,
				micros(o.lastSent), o.failing, failedAt, o.disable, id); err != nil {
				return fmt.Errorf("webhook %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete deliveries: %w", err)
	}
	s.db.queue.release(results)
	s.db.sent.record(written, outcomes)
	s.db.cache.forgetWebhooks(written...)
	return nil
}

// attemptRecord is an attempt's columns as stored, and whether it is kept
// in its delivery's row if it is the first.
type attemptRecord struct {
	started, latency int64
	status           int
	body, err        string
	inline           bool
}

// maxInlineAttempt bounds the response body and error, together, of a
// first attempt kept in its delivery's row. Every later UPDATE of the row
// rewrites it whole, retries' included, so a long answer (an HTML error
// page, up to hookd.MaxResponseBody) goes to attempts, written once.
const maxInlineAttempt = 512

// recordAttempt moves the delivery of r to its status after the attempt
// and returns the attempt's number and the delivery's webhook, or
// sql.ErrNoRows when the delivery is gone. A first attempt marked inline is
// written into the delivery's row by the same UPDATE (migration 0006); the
// caller inserts any other into attempts. The worker numbers attempts and
// names the webhook itself, so the UPDATE checks them instead of returning
// them: RETURNING measured 5 µs of the 14 µs a completion took. A result
// that does not match (another writer counted an attempt meanwhile) takes
// the numbers the row holds.
func recordAttempt(tx *Tx, r hookd.AttemptResult, a attemptRecord, next any) (int, string, error) {
	if r.Attempt.Number > 0 && r.WebhookID != "" {
		var res sql.Result
		var err error
		if r.Attempt.Number == 1 && a.inline {
			res, err = tx.exec(`UPDATE deliveries SET status = ?, attempt_count = 1, last_attempt_at = ?, next_attempt_at = ?,
				first_started_at = ?, first_status_code = ?, first_latency_us = ?, first_response_body = ?, first_error = ?
				WHERE id = ? AND attempt_count = 0 AND webhook_id = ?`,
				r.Status, a.started, next, a.started, a.status, a.latency, a.body, a.err, r.DeliveryID, r.WebhookID)
		} else {
			res, err = tx.exec(`UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1,
				last_attempt_at = ?, next_attempt_at = ? WHERE id = ? AND attempt_count = ? AND webhook_id = ?`,
				r.Status, a.started, next, r.DeliveryID, r.Attempt.Number-1, r.WebhookID)
		}
		if err != nil {
			return 0, "", err
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, "", err
		} else if n == 1 {
			return r.Attempt.Number, r.WebhookID, nil
		}
	}
	// SET reads the row as it was: the first attempt's columns are
	// written only when this is the first attempt, and it is to be kept
	// inline (?9).
	var number int
	var webhookID string
	err := tx.queryRow(`UPDATE deliveries SET status = ?1, attempt_count = attempt_count + 1,
		last_attempt_at = ?2, next_attempt_at = ?3,
		first_started_at = CASE WHEN attempt_count = 0 AND ?9 THEN ?2 ELSE first_started_at END,
		first_status_code = CASE WHEN attempt_count = 0 AND ?9 THEN ?4 ELSE first_status_code END,
		first_latency_us = CASE WHEN attempt_count = 0 AND ?9 THEN ?5 ELSE first_latency_us END,
		first_response_body = CASE WHEN attempt_count = 0 AND ?9 THEN ?6 ELSE first_response_body END,
		first_error = CASE WHEN attempt_count = 0 AND ?9 THEN ?7 ELSE first_error END
		WHERE id = ?8 RETURNING attempt_count, webhook_id`,
		r.Status, a.started, next, a.status, a.latency, a.body, a.err, r.DeliveryID, a.inline).Scan(&number, &webhookID)
	return number, webhookID, err
}

// retentionChunk is how many events one retention transaction looks at, so
// that deleting a large history never holds the write lock for long.
const retentionChunk = 500

// DeleteDeliveriesBefore deletes finished deliveries created before t, with
// their attempts, and events created before t left without deliveries. It
// walks old events in chunks, each in its own transaction: a delivery's
// created_at is its event's, so an event's age finds its deliveries.
func (s *DeliveryService) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int, error) {
	before := micros(t)
	var total int64
	cursorTime, cursorID := int64(-1<<63), ""
	for {
		var n int
		err := s.db.write(ctx, func(tx *Tx) error {
			rows, err := tx.query(`SELECT id, tenant_id, created_at FROM events WHERE created_at < ? AND (created_at, id) > (?, ?)
				ORDER BY created_at, id LIMIT ?`, before, cursorTime, cursorID, retentionChunk)
			if err != nil {
				return err
			}
			type event struct {
				id, tenant string
				created    int64
			}
			var events []event
			for rows.Next() {
				var e event
				if err := rows.Scan(&e.id, &e.tenant, &e.created); err != nil {
					rows.Close()
					return err
				}
				events = append(events, e)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if n = len(events); n == 0 {
				return nil
			}
			// Through the tenant index: an event's deliveries share its
			// tenant and created_at (see migration 0005).
			for _, e := range events {
				res, err := tx.exec(`DELETE FROM deliveries WHERE tenant_id = ? AND created_at = ? AND event_id = ?
					AND status IN ('succeeded', 'failed')`, e.tenant, e.created, e.id)
				if err != nil {
					return err
				}
				deleted, err := res.RowsAffected()
				if err != nil {
					return err
				}
				total += deleted
				// An event with parked deliveries is kept: unparking reads it.
				if _, err := tx.exec(`DELETE FROM events WHERE id = ? AND parked IS NULL
					AND NOT EXISTS (SELECT 1 FROM deliveries WHERE tenant_id = ? AND created_at = ? AND event_id = ?)`,
					e.id, e.tenant, e.created, e.id); err != nil {
					return err
				}
			}
			last := events[len(events)-1]
			cursorTime, cursorID = last.created, last.id
			return nil
		})
		if err != nil {
			return int(total), fmt.Errorf("delete deliveries before %s: %w", hookd.FormatTime(t), err)
		}
		if n < retentionChunk {
			return int(total), nil
		}
	}
}

// QueueStats reports the pending deliveries at now, across tenants.
func (s *DeliveryService) QueueStats(ctx context.Context, now time.Time) (hookd.QueueStats, error) {
	var st hookd.QueueStats
	var oldest sql.NullInt64
	at := micros(now)
	// Claimed deliveries are not due: their leases are in memory, so the
	// query leaves them out by ID.
	err := s.db.reader.QueryRowContext(ctx, `SELECT count(*), count(CASE WHEN next_attempt_at <= ?1 AND NOT claimed THEN 1 END),
		min(CASE WHEN next_attempt_at <= ?1 AND NOT claimed THEN next_attempt_at END)
		FROM (SELECT next_attempt_at, id IN (SELECT value FROM json_each(?2)) AS claimed
			FROM deliveries WHERE status = 'pending')`, at, s.db.queue.activeJSON(at)).Scan(&st.Pending, &st.Due, &oldest)
	if err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	st.OldestDue = fromNullMicros(oldest)
	st.Pending += s.db.park.count("") // parked deliveries are pending, never due
	return st, nil
}
