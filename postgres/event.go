package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hookd/hookd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// EventService records published events and fans them out.
type EventService struct {
	db *DB
}

var _ hookd.EventService = (*EventService)(nil)

// NewEventService returns the event service on db.
func NewEventService(db *DB) *EventService {
	return &EventService{db: db}
}

// PublishEvents records events and their deliveries in one transaction,
// whatever their number, with four statements: find the subscribers, insert
// the events, look up the earlier events of repeated idempotency keys, and
// insert the deliveries with their queue rows.
//
// Calls made at the same time share a transaction (group commit): one
// commit, and one wait for the disk, for many API requests. They are
// published in the order they arrived, so a call repeating an idempotency
// key of an earlier call in the group answers as a duplicate of it, as if
// they had run one after the other. When a group fails, each of its calls
// runs again alone, so one call's error is never another's.
func (s *EventService) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.PublishResult, error) {
	if len(events) == 0 {
		return []hookd.PublishResult{}, nil
	}
	if s.db.publishes == nil {
		return nil, fmt.Errorf("publish events: %w", errClosed)
	}
	op := &publishOp{ctx: ctx, events: events, done: make(chan struct{})}
	select {
	case s.db.publishes <- op:
	case <-ctx.Done():
		return nil, fmt.Errorf("publish events: %w", ctx.Err())
	case <-s.db.closing:
		return nil, fmt.Errorf("publish events: %w", errClosed)
	}
	// Once taken, the op is always answered: it may already be committing.
	<-op.done
	if op.err != nil {
		return nil, fmt.Errorf("publish events: %w", op.err)
	}
	return op.results, nil
}

const (
	// publishCommitters is how many publish transactions a DB runs at
	// once, each grouping the calls that arrived while the others ran.
	publishCommitters = 4
	// maxGroupEvents bounds the events that calls grouped in one
	// transaction bring together. A single larger call is never split.
	maxGroupEvents = 1000
	// groupTimeout bounds a grouped transaction, which runs for several
	// callers and so on none of their contexts.
	groupTimeout = time.Minute
)

// publishOp is one PublishEvents call waiting for a committer.
type publishOp struct {
	ctx     context.Context
	events  []*hookd.Event
	results []hookd.PublishResult
	err     error
	done    chan struct{} // closed once results or err is set
}

// publishLoop is a committer goroutine: it takes the waiting calls, up to
// maxGroupEvents events, and publishes them in one transaction.
func (db *DB) publishLoop() {
	defer db.wg.Done()
	for {
		var group []*publishOp
		select {
		case <-db.closing:
			return
		case op := <-db.publishes:
			group = append(group, op)
		}
		n := len(group[0].events)
	drain:
		for n < maxGroupEvents {
			select {
			case op := <-db.publishes:
				group = append(group, op)
				n += len(op.events)
			default:
				break drain
			}
		}
		db.commitPublishes(group)
	}
}

// commitPublishes publishes a group of calls and answers each.
func (db *DB) commitPublishes(group []*publishOp) {
	created := 0
	defer func() {
		if created > 0 {
			db.wake()
		}
		for _, op := range group {
			close(op.done)
		}
	}()
	// Calls whose callers gave up before their turn are not published.
	live := group[:0:0]
	for _, op := range group {
		if err := op.ctx.Err(); err != nil {
			op.err = err
		} else {
			live = append(live, op)
		}
	}
	if len(live) > 1 {
		var events []*hookd.Event
		for _, op := range live {
			events = append(events, op.events...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
		results, n, err := db.publishTx(ctx, events)
		cancel()
		if err == nil {
			created = n
			for _, op := range live {
				op.results, results = results[:len(op.events):len(op.events)], results[len(op.events):]
			}
			return
		}
	}
	for _, op := range live {
		var n int
		op.results, n, op.err = db.publishTx(op.ctx, op.events)
		created += n
	}
}

// publishTx publishes events in one transaction and returns their results
// and how many deliveries it created.
func (db *DB) publishTx(ctx context.Context, events []*hookd.Event) ([]hookd.PublishResult, int, error) {
	var results []hookd.PublishResult
	var created int
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		results, created, err = publish(ctx, tx, events)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return results, created, nil
}

// idempotencyKey is an idempotency key in its tenant's scope.
type idempotencyKey struct{ tenantID, key string }

// publish records events in tx and returns their results and how many
// deliveries it created.
func publish(ctx context.Context, tx pgx.Tx, events []*hookd.Event) ([]hookd.PublishResult, int, error) {
	results := make([]hookd.PublishResult, len(events))

	// An event repeating the idempotency key of an earlier one in the same
	// call answers as that one does; only first uses reach the database.
	repeatOf := make([]int, len(events))
	firstUse := make(map[idempotencyKey]int)
	var tenantIDs, types []string
	for i, e := range events {
		repeatOf[i] = -1
		if e.IdempotencyKey != "" {
			k := idempotencyKey{e.TenantID, e.IdempotencyKey}
			if j, ok := firstUse[k]; ok {
				repeatOf[i] = j
				continue
			}
			firstUse[k] = i
		}
		if !slices.Contains(tenantIDs, e.TenantID) {
			tenantIDs = append(tenantIDs, e.TenantID)
		}
		if !slices.Contains(types, e.Type) {
			types = append(types, e.Type)
		}
	}

	subscribers, err := findSubscribers(ctx, tx, tenantIDs, types)
	if err != nil {
		return nil, 0, err
	}

	// Insert the events, each with its fan-out count. A key the tenant used
	// before, in an earlier call or in one committing alongside (ON
	// CONFLICT waits for it), inserts nothing.
	var ev struct {
		ids, tenantIDs, types, data []string
		resources, keys, webhooks   []pgtype.Text
		deliveries                  []int32
		created                     []time.Time
	}
	fanout := make([][]string, len(events))
	for i, e := range events {
		if repeatOf[i] >= 0 {
			continue
		}
		fanout[i] = fanOut(subscribers[e.TenantID], e)
		var webhooks pgtype.Text
		if e.Webhooks != nil {
			b, err := json.Marshal(e.Webhooks)
			if err != nil {
				return nil, 0, fmt.Errorf("event %s: marshal webhooks: %w", e.ID, err)
			}
			webhooks = pgtype.Text{String: string(b), Valid: true}
		}
		ev.ids = append(ev.ids, e.ID)
		ev.tenantIDs = append(ev.tenantIDs, e.TenantID)
		ev.types = append(ev.types, e.Type)
		ev.data = append(ev.data, string(e.Data))
		ev.resources = append(ev.resources, pgtype.Text{String: string(e.Resource), Valid: len(e.Resource) > 0})
		ev.keys = append(ev.keys, nullText(e.IdempotencyKey))
		ev.webhooks = append(ev.webhooks, webhooks)
		ev.deliveries = append(ev.deliveries, int32(len(fanout[i])))
		ev.created = append(ev.created, ts(e.CreatedAt))
	}
	rows, err := tx.Query(ctx, `INSERT INTO events (id, tenant_id, type, data, resource, idempotency_key, webhooks, deliveries, created_at)
		SELECT u.id, u.tenant_id, u.type, u.data::json, u.resource::json, u.idempotency_key, u.webhooks::json, u.deliveries, u.created_at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::timestamptz[])
			AS u(id, tenant_id, type, data, resource, idempotency_key, webhooks, deliveries, created_at)
		ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
		RETURNING id`,
		ev.ids, ev.tenantIDs, ev.types, ev.data, ev.resources, ev.keys, ev.webhooks, ev.deliveries, ev.created)
	if err != nil {
		return nil, 0, fmt.Errorf("insert events: %w", interpretError(err))
	}
	insertedIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, 0, fmt.Errorf("insert events: %w", interpretError(err))
	}
	inserted := make(map[string]bool, len(insertedIDs))
	for _, id := range insertedIDs {
		inserted[id] = true
	}

	// Events not inserted repeat a key used before: answer as it was.
	var dupTenants, dupKeys []string
	for i, e := range events {
		if repeatOf[i] < 0 && !inserted[e.ID] {
			dupTenants, dupKeys = append(dupTenants, e.TenantID), append(dupKeys, e.IdempotencyKey)
		}
	}
	earlier := make(map[idempotencyKey]hookd.PublishResult, len(dupKeys))
	if len(dupKeys) > 0 {
		rows, err := tx.Query(ctx, `SELECT e.tenant_id, e.idempotency_key, e.id, e.deliveries
			FROM events e JOIN unnest($1::text[], $2::text[]) AS u(tenant_id, idempotency_key)
				ON e.tenant_id = u.tenant_id AND e.idempotency_key = u.idempotency_key`, dupTenants, dupKeys)
		if err != nil {
			return nil, 0, fmt.Errorf("find repeated idempotency keys: %w", err)
		}
		var k idempotencyKey
		var r hookd.PublishResult
		if _, err := pgx.ForEachRow(rows, []any{&k.tenantID, &k.key, &r.EventID, &r.Deliveries}, func() error {
			r.Duplicate = true
			earlier[k] = r
			return nil
		}); err != nil {
			return nil, 0, fmt.Errorf("find repeated idempotency keys: %w", err)
		}
	}

	var dl struct {
		ids, tenantIDs, webhookIDs, eventIDs, types []string
		created                                     []time.Time
	}
	for i, e := range events {
		switch {
		case repeatOf[i] >= 0:
			results[i] = results[repeatOf[i]]
			results[i].Duplicate = true
		case !inserted[e.ID]:
			r, ok := earlier[idempotencyKey{e.TenantID, e.IdempotencyKey}]
			if !ok {
				// The conflicting event vanished between the two statements
				// (retention deleted it): let the caller publish again.
				return nil, 0, fmt.Errorf("event %s: idempotency key %q conflicts with an event that no longer exists", e.ID, e.IdempotencyKey)
			}
			results[i] = r
		default:
			results[i] = hookd.PublishResult{EventID: e.ID, Deliveries: len(fanout[i])}
			for _, webhookID := range fanout[i] {
				dl.ids = append(dl.ids, hookd.NewID())
				dl.tenantIDs = append(dl.tenantIDs, e.TenantID)
				dl.webhookIDs = append(dl.webhookIDs, webhookID)
				dl.eventIDs = append(dl.eventIDs, e.ID)
				dl.types = append(dl.types, e.Type)
				dl.created = append(dl.created, ts(e.CreatedAt))
			}
		}
	}
	if len(dl.ids) == 0 {
		return results, 0, nil
	}
	// Each delivery goes into the queue too, due at once (its created_at).
	if _, err := tx.Exec(ctx, `WITH d AS (
			INSERT INTO deliveries (id, tenant_id, webhook_id, event_id, event_type, status, created_at)
			SELECT u.id, u.tenant_id, u.webhook_id, u.event_id, u.event_type, 'pending', u.created_at
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
				AS u(id, tenant_id, webhook_id, event_id, event_type, created_at)
			RETURNING id, tenant_id, webhook_id, created_at
		)
		INSERT INTO delivery_queue (delivery_id, tenant_id, webhook_id, next_attempt_at)
		SELECT id, tenant_id, webhook_id, created_at FROM d`,
		dl.ids, dl.tenantIDs, dl.webhookIDs, dl.eventIDs, dl.types, dl.created); err != nil {
		return nil, 0, fmt.Errorf("insert deliveries: %w", err)
	}
	return results, len(dl.ids), nil
}

// subscriber is an enabled webhook as fan-out sees it.
type subscriber struct {
	id     string
	events []string
}

// findSubscribers returns, per tenant, the enabled webhooks of tenantIDs
// that subscribe to any of types or to "*", ordered by ID. It takes a key
// share lock on them, so that a webhook deleted meanwhile waits for this
// transaction instead of failing its delivery inserts.
func findSubscribers(ctx context.Context, tx pgx.Tx, tenantIDs, types []string) (map[string][]subscriber, error) {
	rows, err := tx.Query(ctx, `SELECT id, tenant_id, events FROM webhooks
		WHERE tenant_id = ANY($1) AND status = 'enabled' AND events && ($2::text[] || '*'::text)
		ORDER BY id FOR KEY SHARE`, tenantIDs, types)
	if err != nil {
		return nil, fmt.Errorf("find subscribers: %w", err)
	}
	subs := make(map[string][]subscriber)
	var s subscriber
	var tenantID string
	if _, err := pgx.ForEachRow(rows, []any{&s.id, &tenantID, &s.events}, func() error {
		subs[tenantID] = append(subs[tenantID], s)
		s.events = nil // the next row must not overwrite this one's slice
		return nil
	}); err != nil {
		return nil, fmt.Errorf("find subscribers: %w", err)
	}
	return subs, nil
}

// fanOut returns the IDs of the subscribers that receive e: those that
// subscribe to its type, narrowed to e.Webhooks when set.
func fanOut(subs []subscriber, e *hookd.Event) []string {
	var ids []string
	for _, s := range subs {
		if !slices.Contains(s.events, e.Type) && !slices.Contains(s.events, hookd.Wildcard) {
			continue
		}
		if e.Webhooks != nil && !slices.Contains(e.Webhooks, s.id) {
			continue
		}
		ids = append(ids, s.id)
	}
	return ids
}

// eventColumns reads the json columns as text, byte for byte as stored.
const eventColumns = `id, tenant_id, type, data::text, resource::text, idempotency_key, webhooks::text, created_at`

func scanEvent(row rowScanner) (*hookd.Event, error) {
	var e hookd.Event
	var data string
	var resource, key, webhooks pgtype.Text
	if err := row.Scan(&e.ID, &e.TenantID, &e.Type, &data, &resource, &key, &webhooks, &e.CreatedAt); err != nil {
		return nil, err
	}
	e.Data = json.RawMessage(data)
	if resource.Valid {
		e.Resource = json.RawMessage(resource.String)
	}
	e.IdempotencyKey = key.String
	if webhooks.Valid {
		if err := json.Unmarshal([]byte(webhooks.String), &e.Webhooks); err != nil {
			return nil, fmt.Errorf("event %s webhooks: %w", e.ID, err)
		}
	}
	e.CreatedAt = fromTS(e.CreatedAt)
	return &e, nil
}

// FindEventByID returns the tenant's event.
func (s *EventService) FindEventByID(ctx context.Context, tenantID, id string) (*hookd.Event, error) {
	e, err := scanEvent(s.db.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1 AND tenant_id = $2`, id, tenantID))
	if err != nil {
		return nil, fmt.Errorf("find event %s: %w", id, interpretError(err))
	}
	return e, nil
}
