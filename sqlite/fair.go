package sqlite

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Bounds on one fair claim's walk, so a claim costs a few dozen index seeks
// however many tenants and webhooks have work. The round-robin cursors move
// on every claim, so every lane is reached within a few claims.
const (
	maxClaimTenants  = 16
	maxClaimWebhooks = 16
)

// fairEvery is how often a claim walks the lanes; the claims in between take
// the oldest due deliveries, which costs one statement instead of a few
// dozen. So a backlog can delay another tenant's due deliveries by about
// this long, but never starve them. At 20 ms the walks took 14 % of hookd's
// CPU in a throughput run to 100 webhooks, where no claim excluded a busy
// webhook; at 100 ms hookd's CPU per delivery, over the bench's, was 9 %
// lower there and 5 % lower with 1 webhook (BENCHMARKS.md).
const fairEvery = 100 * time.Millisecond

// fairClaimer chooses which pending deliveries a claim takes, so that no
// tenant's backlog starves another tenant, and no webhook's another webhook
// of the same tenant. It shares the claim out round-robin: first across the
// tenants with pending work, then within each tenant across its webhooks,
// each lane giving its oldest due deliveries. Capacity the lanes leave unused
// goes to the oldest due deliveries anywhere, so a single backlog still
// drains at full speed.
type fairClaimer struct {
	mu       sync.Mutex
	walked   time.Time         // when a claim last walked the lanes (wall clock)
	tenant   string            // the tenant served first last time
	webhooks map[string]string // per tenant, the webhook served last

	// Where the last scans stopped: the oldest-first scan, and each lane's.
	// A claim resumes after them instead of stepping again over the rows
	// claimed before (in flight, or waiting for their results to be
	// written), which are at the front of every scan: before, a throughput
	// run read 6 to 9 rows for each it claimed. Deliveries can become due
	// behind a cursor: a publish, an unpark, a redelivery whose due time is
	// earlier (the writer calls landed after such a commit, before it wakes
	// the worker), or a lease that ran out unused (the claim notices). Then
	// the lane cursors behind it are dropped, and the oldest-first one
	// moves back to just before it (to the start for a lease). They are
	// also dropped every cursorTTL, in case anything else lands behind
	// them (another process publishing into the file), except the
	// oldest-first one while it has stepped over blocked webhooks' rows:
	// the lane walks then find what landed.
	oldestAt cursor
	laneAt   map[lane]cursor
	// passed names the blocked webhooks whose due rows the oldest-first
	// scan has stepped over since oldestAt was last dropped: a claim that
	// no longer excludes one of them drops it, to find them again.
	passed map[string]bool
	reset  time.Time // when the cursors were last dropped (wall clock)
	forgot time.Time // when next was last cleared (wall clock)

	// next remembers, for up to fairEvery, the index seeks that enumerate
	// lanes: for a tenant (or "" for the tenants), the key after a key.
	// Claims that exclude webhooks all walk the lanes, and each walk would
	// otherwise seek a key per webhook of the tenant, excluded or not.
	// Deliveries that land may open lanes, so landed forgets them: else
	// the claims right after a publish could miss its new lanes, and the
	// worker, finding nothing, would sleep until its next poll. A lane
	// that goes meanwhile only costs an empty scan.
	next map[[2]string]sql.NullString
}

// lane is one webhook's pending deliveries.
type lane struct{ tenant, webhook string }

// cursor is a position in (next_attempt_at, id) order; the zero cursor is
// the start.
type cursor struct {
	next int64
	id   string
}

// afterEveryID sorts after every delivery ID (a UUID in hex), so that
// cursor{t, afterEveryID} resumes scans at due time t+1.
const afterEveryID = "\xff"

// cursorTTL is how long a scan cursor is kept when nothing is known to have
// landed behind it.
const cursorTTL = time.Second

// expireCursors drops the cursors when cursorTTL has passed since they were
// last dropped, and the remembered seeks when fairEvery has. Call with f.mu
// held.
func (f *fairClaimer) expireCursors() {
	if time.Since(f.forgot) >= fairEvery {
		f.forgot = time.Now()
		clear(f.next)
	}
	if time.Since(f.reset) < cursorTTL {
		return
	}
	f.reset = time.Now()
	if len(f.passed) == 0 {
		// Else the oldest-first scan would step over the blocked
		// webhooks' rows again; the lane walks, whose cursors are
		// dropped, find what may have landed behind it.
		f.oldestAt = cursor{}
	}
	clear(f.laneAt)
}

// landed notes deliveries made due at due (unix microseconds) or later,
// committed: the cursors past that point are dropped, so the next claim
// scans for them from the start, and the remembered seeks, so that it
// finds their lanes.
func (f *fairClaimer) landed(due int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.oldestAt.id == "" || due > f.oldestAt.next:
	case due == math.MinInt64:
		f.oldestAt = cursor{}
		clear(f.passed)
	default:
		// Not from the start: the rows before due are as they were, and
		// stepping over blocked webhooks' rows again costs. Publishes
		// land just behind the cursor often: concurrent publishers' time
		// stamps do not commit in order.
		f.oldestAt = cursor{next: due - 1, id: afterEveryID}
	}
	for l, at := range f.laneAt {
		if due <= at.next {
			delete(f.laneAt, l)
		}
	}
	clear(f.next)
}

// nextKey returns the smallest key of scope's lanes after after ("" for
// tenants, a tenant for its webhooks), or NULL, from f.next when it has it.
// Call with f.mu held.
func (f *fairClaimer) nextKey(scope, after string, seek func() *sql.Row) (sql.NullString, error) {
	k := [2]string{scope, after}
	if key, ok := f.next[k]; ok {
		return key, nil
	}
	var key sql.NullString
	if err := seek().Scan(&key); err != nil {
		return key, err
	}
	if f.next == nil {
		f.next = make(map[[2]string]sql.NullString)
	}
	f.next[k] = key
	return key, nil
}

// due reports whether this claim should walk the lanes (at most every
// fairEvery); the others take the oldest due deliveries.
func (f *fairClaimer) due() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.walked) < fairEvery {
		return false
	}
	f.walked = time.Now()
	return true
}

// claimLanes returns up to req.Limit due, pending deliveries, chosen
// fairly, outside req.ExcludeWebhooks and leaving out those claimed
// reports. It runs inside the claim's read transaction.
func (f *fairClaimer) claimLanes(ctx context.Context, tx queryer, req hookd.ClaimRequest, claimed func(id string) bool) ([]*hookd.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.webhooks == nil {
		f.webhooks = make(map[string]string)
		f.laneAt = make(map[lane]cursor)
	}
	f.expireCursors()
	now := micros(req.Now)
	ds := make([]*hookd.Delivery, 0, req.Limit)
	chosen := make(map[string]bool, req.Limit)
	excluded := make(map[string]bool, len(req.ExcludeWebhooks))
	for _, id := range req.ExcludeWebhooks {
		excluded[id] = true
	}
	skip := func(d *hookd.Delivery) bool { return claimed(d.ID) }

	tenants, err := nextKeys(f.tenant, maxClaimTenants, func(after string) (sql.NullString, error) {
		return f.nextKey("", after, func() *sql.Row {
			return tx.QueryRowContext(ctx, `SELECT MIN(tenant_id) FROM deliveries WHERE status = 'pending' AND tenant_id > ?`, after)
		})
	})
	if err != nil || len(tenants) == 0 {
		return nil, err
	}
	f.tenant = tenants[0]

	var full []lane // lanes that gave all they were asked for, so may hold more
	// take chooses up to n more of the lane's oldest due rows, stepping
	// past those chosen earlier and those claimed.
	take := func(l lane, n int) error {
		at := f.laneAt[l]
		before := len(ds)
		var err error
		ds, err = scan(ctx, tx, &at, `tenant_id = ? AND webhook_id = ? AND`, []any{l.tenant, l.webhook, now}, ds, n, chosen, skip)
		if err != nil {
			return err
		}
		if at.id == "" {
			delete(f.laneAt, l)
		} else {
			f.laneAt[l] = at
		}
		if len(ds)-before == n {
			full = append(full, l)
		}
		return nil
	}
	tenantQuota := max(1, req.Limit/len(tenants))
	for _, tenant := range tenants {
		webhooks, err := nextKeys(f.webhooks[tenant], maxClaimWebhooks+len(excluded), func(after string) (sql.NullString, error) {
			return f.nextKey(tenant, after, func() *sql.Row {
				return tx.QueryRowContext(ctx, `SELECT MIN(webhook_id) FROM deliveries WHERE status = 'pending' AND tenant_id = ? AND webhook_id > ?`, tenant, after)
			})
		})
		if err != nil {
			return nil, err
		}
		lanes := webhooks[:0]
		for _, w := range webhooks {
			if !excluded[w] && len(lanes) < maxClaimWebhooks {
				lanes = append(lanes, w)
			}
		}
		if len(lanes) == 0 {
			continue
		}
		f.webhooks[tenant] = lanes[len(lanes)-1]
		laneQuota := max(1, tenantQuota/len(lanes))
		for _, w := range lanes {
			n := min(laneQuota, req.Limit-len(ds))
			if n <= 0 {
				break
			}
			if err := take(lane{tenant, w}, n); err != nil {
				return nil, err
			}
		}
	}
	// Share what is left among the lanes that may hold more, in rounds.
	for round := 0; round < 3 && len(full) > 0 && len(ds) < req.Limit; round++ {
		lanes := full
		full = nil
		quota := max(1, (req.Limit-len(ds))/len(lanes))
		for _, l := range lanes {
			n := min(quota, req.Limit-len(ds))
			if n <= 0 {
				break
			}
			if err := take(l, n); err != nil {
				return nil, err
			}
		}
	}
	if len(f.webhooks) > 4*maxClaimTenants*maxClaimTenants {
		clear(f.webhooks) // forget tenants that went quiet
	}

	// Fill what the lanes left with the oldest due deliveries anywhere,
	// unless webhooks are excluded: then the lanes not reached this time
	// are reached by the next claims, as the cursors move on.
	if len(excluded) > 0 {
		return ds, nil
	}
	return f.fillOldest(ctx, tx, req, ds, chosen, skip)
}

// oldest returns up to req.Limit of the oldest due deliveries that are
// neither claimed nor of req.ExcludeWebhooks, which must all be blocked.
// The scan steps over a blocked webhook's due rows and resumes after them,
// so it reads them once, not on every claim, until a claim that no longer
// excludes the webhook starts it from the start again. The lane walks,
// every fairEvery, leave excluded lanes alone. In an isolation run (half
// the webhooks dead) walking the lanes on every claim instead cost 14 % of
// hookd's CPU.
func (f *fairClaimer) oldest(ctx context.Context, tx queryer, req hookd.ClaimRequest, claimed func(id string) bool) ([]*hookd.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expireCursors()
	excluded := make(map[string]bool, len(req.ExcludeWebhooks))
	for _, id := range req.ExcludeWebhooks {
		excluded[id] = true
	}
	for id := range f.passed {
		if !excluded[id] {
			f.oldestAt = cursor{}
			clear(f.passed)
			break
		}
	}
	skip := func(d *hookd.Delivery) bool {
		if excluded[d.WebhookID] {
			if f.passed == nil {
				f.passed = make(map[string]bool)
			}
			f.passed[d.WebhookID] = true
			return true
		}
		return claimed(d.ID)
	}
	return f.fillOldest(ctx, tx, req, make([]*hookd.Delivery, 0, req.Limit), make(map[string]bool, req.Limit), skip)
}

// fillOldest fills ds, up to req.Limit, with the oldest due deliveries
// that are neither chosen nor to skip. Call with f.mu held.
func (f *fairClaimer) fillOldest(ctx context.Context, tx queryer, req hookd.ClaimRequest, ds []*hookd.Delivery, chosen map[string]bool, skip func(*hookd.Delivery) bool) ([]*hookd.Delivery, error) {
	rest := req.Limit - len(ds)
	if rest <= 0 {
		return ds, nil
	}
	return scan(ctx, tx, &f.oldestAt, ``, []any{micros(req.Now)}, ds, rest, chosen, skip)
}

// scan appends to ds up to n due pending deliveries, in
// (next_attempt_at, id) order, that are neither chosen nor to skip,
// resuming after *at unless it is the start, and moves *at to the last row
// it read. where narrows the rows: it is empty or ends with AND, and args
// are its arguments followed by the due time.
func scan(ctx context.Context, tx queryer, at *cursor, where string, args []any, ds []*hookd.Delivery, n int, chosen map[string]bool, skip func(*hookd.Delivery) bool) ([]*hookd.Delivery, error) {
	// Whole rows: a second query by ID for the chosen ones measured more.
	const head = `SELECT ` + deliveryColumns + ` FROM deliveries WHERE status = 'pending' AND `
	var rows *sql.Rows
	var err error
	if at.id != "" {
		rows, err = tx.QueryContext(ctx, head+where+` next_attempt_at <= ? AND (next_attempt_at, id) > (?, ?)
			ORDER BY next_attempt_at, id`, append(slices.Clip(args), at.next, at.id)...)
	} else {
		rows, err = tx.QueryContext(ctx, head+where+` next_attempt_at <= ? ORDER BY next_attempt_at, id`, args...)
	}
	if err != nil {
		return nil, err
	}
	var last cursor
	if ds, last, err = appendRows(ds, n, chosen, skip, rows); err != nil {
		return nil, err
	}
	if last.id != "" {
		*at = last
	}
	return ds, nil
}

// nextKeys walks distinct keys in index order, starting just after cursor
// and wrapping around once, returning at most n of them. next(after) must
// return the smallest key greater than after, or NULL.
func nextKeys(cursor string, n int, next func(after string) (sql.NullString, error)) ([]string, error) {
	var keys []string
	after, wrapped := cursor, cursor == ""
	for len(keys) < n {
		k, err := next(after)
		if err != nil {
			return nil, err
		}
		if !k.Valid || (wrapped && cursor != "" && k.String > cursor) {
			if wrapped {
				break
			}
			wrapped, after = true, ""
			continue
		}
		if wrapped && cursor != "" && k.String == cursor {
			keys = append(keys, k.String)
			break
		}
		keys = append(keys, k.String)
		after = k.String
	}
	return keys, nil
}

// appendRows appends up to n deliveries that rows yields, in order,
// stepping past those already chosen and those to skip, closes rows and
// returns where it stopped. SQLite produces rows as they are read, so the
// rows after the nth are never looked at.
func appendRows(ds []*hookd.Delivery, n int, chosen map[string]bool, skip func(*hookd.Delivery) bool, rows *sql.Rows) ([]*hookd.Delivery, cursor, error) {
	defer rows.Close()
	var last cursor
	for n > 0 && rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, cursor{}, err
		}
		last.id = d.ID
		if d.NextAttemptAt != nil { // always, for a pending delivery
			last.next = micros(*d.NextAttemptAt)
		}
		if !chosen[d.ID] && !skip(d) {
			chosen[d.ID] = true
			ds = append(ds, d)
			n--
		}
	}
	return ds, last, rows.Err()
}
