package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// leases are the claims of the deliveries this process is sending. They
// live in memory, not in the database: one process delivers from a SQLite
// file (lock makes sure of it), so a claim is a read on the read pool
// instead of an UPDATE on the single writer, which every publish and every
// result waits for. A crash forgets the claims, which makes their
// deliveries due again at once on restart, as if every lease had run out.
//
// mu orders claims against results. A claim holds it from before its read
// until it has recorded its leases; a result releases its lease only after
// its commit, under mu. So a claim either reads after the commit (and sees
// the delivery finished) or still finds the lease (and skips the delivery),
// and never sends a finished delivery again.
type leases struct {
	mu      sync.Mutex
	held    map[string]lease // by delivery ID
	soonest int64            // no lease held ends before it
	file    *os.File         // the lock file, once locked
}

// lease is one claimed delivery: claimed until end (unix microseconds).
type lease struct {
	end     int64
	webhook string
}

// lock makes this process the one that delivers from the database at path,
// with an exclusive lock on path+"-lock" held until unlock (or the process
// ends). It is called with mu held, at the first claim, so that other
// commands (hookd keys, hookd migrate) may still use the file.
func (l *leases) lock(path string) error {
	if l.file != nil {
		return nil
	}
	f, err := os.OpenFile(path+"-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock the delivery queue: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return fmt.Errorf("another process is delivering from %s: SQLite serves one delivering hookd per file; stop the other one, or use PostgreSQL to run several nodes (%w)", path, err)
	}
	l.file = f
	return nil
}

// unlock releases the lock file, if taken.
func (l *leases) unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := l.file.Close() // closing the file releases the lock
	l.file = nil
	return err
}

// activeLocked reports whether id is claimed at now (unix microseconds).
func (l *leases) activeLocked(id string, now int64) bool {
	le, ok := l.held[id]
	return ok && le.end > now
}

// expireLocked forgets the leases that have run out at now, and reports
// whether there were any.
func (l *leases) expireLocked(now int64) (expired bool) {
	if now < l.soonest {
		return false
	}
	l.soonest = math.MaxInt64
	for id, le := range l.held {
		if le.end <= now {
			delete(l.held, id)
			expired = true
		} else {
			l.soonest = min(l.soonest, le.end)
		}
	}
	return expired
}

// holdLocked records claims on ds until end.
func (l *leases) holdLocked(ds []*hookd.Delivery, end int64) {
	if l.held == nil {
		l.held = make(map[string]lease)
	}
	for _, d := range ds {
		l.held[d.ID] = lease{end: end, webhook: d.WebhookID}
	}
	if len(ds) > 0 {
		l.soonest = min(l.soonest, end)
	}
}

// release forgets the leases of deliveries whose results are committed.
func (l *leases) release(results []hookd.AttemptResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range results {
		delete(l.held, r.DeliveryID)
	}
}

// show sets the NextAttemptAt of the pending deliveries among ds that are
// claimed to their lease's end, which is what a store that keeps leases in
// the database would return.
func (l *leases) show(ds []*hookd.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range ds {
		if le, ok := l.held[d.ID]; ok && d.Status == hookd.DeliveryPending {
			t := fromMicros(le.end)
			d.NextAttemptAt = &t
		}
	}
}

// activeJSON returns the IDs claimed at now as a JSON array, for queries
// that must leave them out.
func (l *leases) activeJSON(now int64) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.held))
	for id, le := range l.held {
		if le.end > now {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // strings always marshal
	return string(b)
}

// preparedTx runs a read transaction's queries as statements prepared
// once on the read pool (claimStmts), which the transaction reuses on its
// connection. Only the claim's fixed queries go through it.
type preparedTx struct {
	tx    *sql.Tx
	stmts *stmtCache
}

func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := p.stmts.get(ctx, query)
	if s == nil || err != nil {
		return p.tx.QueryContext(ctx, query, args...)
	}
	return p.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
}

func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := p.stmts.get(ctx, query)
	if s == nil || err != nil {
		return p.tx.QueryRowContext(ctx, query, args...)
	}
	return p.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
}

// sentCache remembers, per webhook, what completions last wrote of it, so
// that a batch of successes for a healthy webhook skips its UPDATE when
// last_sent_at would move by under sentPrecision and failing_since is
// already clear. One process completes deliveries from a SQLite file, so
// what it wrote is what the row holds (UpdateWebhook leaves failing_since
// as it was, or clears it).
type sentCache struct {
	mu sync.Mutex
	by map[string]sentState
}

type sentState struct {
	lastSent time.Time
	clear    bool // failing_since is NULL
}

// sentPrecision is how far a webhook's last_sent_at may trail its latest
// attempt (hookd.Webhook.LastSentAt says so).
const sentPrecision = time.Second

// unchanged reports whether writing o to webhook id would change nothing
// but last_sent_at, by under sentPrecision.
func (c *sentCache) unchanged(id string, o *webhookOutcome) bool {
	if o.failing != "clear" || o.disable != "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.by[id]
	return ok && st.clear && o.lastSent.Sub(st.lastSent) < sentPrecision
}

// record notes what a committed completion wrote of the webhooks ids.
func (c *sentCache) record(ids []string, outcomes map[string]*webhookOutcome) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = make(map[string]sentState)
	}
	for _, id := range ids {
		o := outcomes[id]
		c.by[id] = sentState{lastSent: o.lastSent, clear: o.failing == "clear"}
	}
}
