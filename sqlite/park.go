package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
)

var _ hookd.DeliveryParker = (*DeliveryService)(nil)

// unparkChunk is how many events with parked deliveries one write looks
// at, so that unparking a long outage's backlog never holds the writer for
// long.
const unparkChunk = 200

// unparkInterval is how often the background loop looks for parked
// deliveries of webhooks that are no longer parked, when nothing asks it
// to sooner.
const unparkInterval = time.Second

// parking is what a DB knows of parked deliveries (hookd.DeliveryParker,
// migration 0004): which webhooks are parked, which publishes read for
// every subscriber, and how many deliveries each webhook has parked, so
// that reads and the background loop unpark only when there is something
// to unpark. The events' parked columns are the truth. The counts are
// never short of it: a publish counts what it parks before its commit,
// and unparking uncounts what it moved after its commit. A count can run
// over (a publish rolled back); the background loop settles the counts of
// the webhooks it walked for.
type parking struct {
	webhooks atomic.Pointer[map[string]bool] // parked webhooks; replaced, never changed
	flagMu   sync.Mutex                      // serialises changes to webhooks

	mu       sync.Mutex
	byHook   map[string]parkCount // parked deliveries by webhook
	byTenant map[string]int64
	total    int64

	kick   chan struct{} // wakes the background loop
	looped chan struct{} // closed when the loop ends
}

// parkCount is one webhook's parked deliveries.
type parkCount struct {
	tenant string
	n      int64
}

// parked reports whether new deliveries of the webhook are parked.
func (p *parking) parked(webhookID string) bool {
	m := p.webhooks.Load()
	return m != nil && (*m)[webhookID]
}

// set parks or unparks a webhook's new deliveries.
func (p *parking) set(webhookID string, parked bool) {
	p.flagMu.Lock()
	defer p.flagMu.Unlock()
	var m map[string]bool
	if old := p.webhooks.Load(); old != nil {
		if (*old)[webhookID] == parked {
			return
		}
		m = maps.Clone(*old)
	}
	if m == nil {
		m = make(map[string]bool)
	}
	if parked {
		m[webhookID] = true
	} else {
		delete(m, webhookID)
	}
	p.webhooks.Store(&m)
}

// add counts n more parked deliveries (fewer, when negative) of a webhook.
func (p *parking) add(tenantID, webhookID string, n int64) {
	if n == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byHook == nil {
		p.byHook, p.byTenant = make(map[string]parkCount), make(map[string]int64)
	}
	c := p.byHook[webhookID]
	c.tenant = tenantID
	n = max(n, -c.n)
	if c.n += n; c.n == 0 {
		delete(p.byHook, webhookID)
	} else {
		p.byHook[webhookID] = c
	}
	if p.byTenant[tenantID] += n; p.byTenant[tenantID] <= 0 {
		delete(p.byTenant, tenantID)
	}
	p.total += n
}

// settle forgets the counts of webhooks that are still not parked, after
// a walk of every event for them that began after they were unparked:
// whatever the walk did not move was never parked.
func (p *parking) settle(ids map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range ids {
		if c, ok := p.byHook[id]; ok && !p.parked(id) {
			delete(p.byHook, id)
			if p.byTenant[c.tenant] -= c.n; p.byTenant[c.tenant] <= 0 {
				delete(p.byTenant, c.tenant)
			}
			p.total -= c.n
		}
	}
}

// drop forgets a deleted webhook's count, and its flag.
func (p *parking) drop(tenantID, webhookID string) {
	p.set(webhookID, false)
	p.add(tenantID, webhookID, -1<<62)
}

// count returns a tenant's parked deliveries, or every tenant's for "".
func (p *parking) count(tenantID string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tenantID == "" {
		return p.total
	}
	return p.byTenant[tenantID]
}

// idle returns the webhooks with parked deliveries that are not parked.
func (p *parking) idle() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids map[string]bool
	for id := range p.byHook {
		if !p.parked(id) {
			if ids == nil {
				ids = make(map[string]bool)
			}
			ids[id] = true
		}
	}
	return ids
}

// wake makes the background loop look for deliveries to unpark now.
func (p *parking) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// countParked loads the parked deliveries' counts when the DB opens.
func (db *DB) countParked(ctx context.Context) error {
	rows, err := db.reader.QueryContext(ctx, `SELECT e.tenant_id, j.value, count(*)
		FROM events e, json_each(e.parked) j WHERE e.parked IS NOT NULL GROUP BY e.tenant_id, j.value`)
	if err != nil {
		return fmt.Errorf("count parked deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tenant, webhook string
		var n int64
		if err := rows.Scan(&tenant, &webhook, &n); err != nil {
			return fmt.Errorf("count parked deliveries: %w", err)
		}
		db.park.add(tenant, webhook, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count parked deliveries: %w", err)
	}
	return nil
}

// unparkLoop turns the parked deliveries of webhooks that are not parked
// (any more, or since this process started) into pending deliveries, until
// Close.
func (db *DB) unparkLoop() {
	defer close(db.park.looped)
	t := time.NewTicker(unparkInterval)
	defer t.Stop()
	for {
		select {
		case <-db.closing:
			return
		case <-db.park.kick:
		case <-t.C:
		}
		if ids := db.park.idle(); len(ids) > 0 {
			// An error leaves the deliveries parked for the next round;
			// reads still unpark them.
			if _, err := db.unpark(context.Background(), "", func(id string) bool { return ids[id] }, -1); err == nil {
				db.park.settle(ids)
			}
		}
	}
}

// unpark turns the parked deliveries of the tenant (of every tenant for
// "") whose webhooks take accepts into pending deliveries due at their
// creation, oldest first, up to limit (no limit when negative), and
// returns how many. It walks the events with parked deliveries, a chunk of
// them per write.
func (db *DB) unpark(ctx context.Context, tenantID string, take func(webhookID string) bool, limit int) (int, error) {
	total := 0
	var at cursor // (created_at, id) of the last event looked at
	at.next = -1 << 63
	for limit < 0 || total < limit {
		var looked int
		moved := make(map[string]parkCount) // by webhook
		err := db.write(ctx, func(tx *Tx) error {
			clear(moved)
			var err error
			looked, at, err = unparkChunkTx(tx, tenantID, take, limit-total, at, moved)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("unpark deliveries: %w", err)
		}
		for id, c := range moved {
			db.park.add(c.tenant, id, -c.n)
			total += int(c.n)
		}
		if looked < unparkChunk {
			break
		}
	}
	return total, nil
}

// unparkChunkTx is one write of unpark: it looks at up to unparkChunk
// events with parked deliveries after at, unparks what take accepts (at
// most limit, when not negative), counts it in moved, and returns how many
// events it looked at and the last.
func unparkChunkTx(tx *Tx, tenantID string, take func(string) bool, limit int, at cursor, moved map[string]parkCount) (int, cursor, error) {
	type parkedEvent struct {
		id, tenant, typ string
		created         int64
		parked          []string
	}
	rows, err := tx.query(`SELECT id, tenant_id, type, created_at, parked FROM events
		WHERE parked IS NOT NULL AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`, at.next, at.id, unparkChunk)
	if err != nil {
		return 0, at, err
	}
	var events []parkedEvent
	for rows.Next() {
		var e parkedEvent
		var list string
		if err := rows.Scan(&e.id, &e.tenant, &e.typ, &e.created, &list); err != nil {
			rows.Close()
			return 0, at, err
		}
		if err := json.Unmarshal([]byte(list), &e.parked); err != nil {
			rows.Close()
			return 0, at, fmt.Errorf("event %s parked: %w", e.id, err)
		}
		events = append(events, e)
	}
	if err := rows.Close(); err != nil {
		return 0, at, err
	}
	exists := make(map[string]bool)
	n := 0
	for i, e := range events {
		at = cursor{next: e.created, id: e.id}
		if tenantID != "" && e.tenant != tenantID {
			continue
		}
		keep := e.parked[:0:0]
		for _, w := range e.parked {
			if !take(w) || (limit >= 0 && n >= limit) {
				keep = append(keep, w)
				continue
			}
			ok, seen := exists[w]
			if !seen {
				var one int
				err := tx.queryRow(`SELECT 1 FROM webhooks WHERE id = ?`, w).Scan(&one)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return 0, at, err
				}
				ok = err == nil
				exists[w] = ok
			}
			if ok { // a deleted webhook's deliveries go with it
				if _, err := tx.exec(insertDelivery, hookd.NewID(), e.tenant, w, e.id, e.typ, e.created, e.created); err != nil {
					return 0, at, fmt.Errorf("delivery of event %s: %w", e.id, err)
				}
				tx.madeDue(e.created)
			}
			c := moved[w]
			c.tenant, c.n = e.tenant, c.n+1
			moved[w] = c
			n++
		}
		if len(keep) == len(e.parked) {
			continue
		}
		var list any
		if len(keep) > 0 {
			list = parkedList(keep)
		}
		if _, err := tx.exec(`UPDATE events SET parked = ? WHERE id = ?`, list, e.id); err != nil {
			return 0, at, fmt.Errorf("event %s: %w", e.id, err)
		}
		if limit >= 0 && n >= limit {
			return i + 1, at, nil
		}
	}
	return len(events), at, nil
}

// parkedList encodes webhook IDs for an event's parked column.
func parkedList(ids []string) string {
	b, _ := json.Marshal(ids) // strings always marshal
	return string(b)
}

// dropParked removes a deleted webhook from the events' parked lists, in
// its DeleteWebhook's transaction.
func dropParked(tx *Tx, webhookID string) error {
	_, err := tx.exec(`UPDATE events SET parked = (
			SELECT CASE WHEN count(*) = 0 THEN NULL ELSE json_group_array(value) END
			FROM json_each(events.parked) WHERE value <> ?1)
		WHERE parked IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(events.parked) WHERE value = ?1)`, webhookID)
	return err
}

// ParkWebhook makes later publishes park the webhook's new deliveries.
func (s *DeliveryService) ParkWebhook(webhookID string) {
	s.db.park.set(webhookID, true)
}

// UnparkWebhook stops parking the webhook's new deliveries and turns those
// parked into pending deliveries in the background.
func (s *DeliveryService) UnparkWebhook(webhookID string) {
	s.db.park.set(webhookID, false)
	s.db.park.wake()
}

// UnparkDeliveries turns up to n of the webhook's oldest parked deliveries
// into pending deliveries now and returns how many.
func (s *DeliveryService) UnparkDeliveries(ctx context.Context, webhookID string, n int) (int, error) {
	s.db.park.mu.Lock()
	c := s.db.park.byHook[webhookID]
	s.db.park.mu.Unlock()
	if n <= 0 || c.n == 0 {
		return 0, nil
	}
	return s.db.unpark(ctx, c.tenant, func(id string) bool { return id == webhookID }, n)
}
