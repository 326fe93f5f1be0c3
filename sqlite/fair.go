package sqlite

import (
	"context"
	"database/sql"
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
// this long, but never starve them.
const fairEvery = 20 * time.Millisecond

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

// claimIDs returns up to req.Limit IDs of due, pending deliveries, chosen
// fairly, outside req.ExcludeWebhooks and leaving out those claimed
// reports. It runs inside the claim's read transaction.
func (f *fairClaimer) claimIDs(ctx context.Context, tx queryer, req hookd.ClaimRequest, claimed func(id string) bool) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.webhooks == nil {
		f.webhooks = make(map[string]string)
	}
	now := micros(req.Now)
	ids := make([]string, 0, req.Limit)
	chosen := make(map[string]bool, req.Limit)
	excluded := make(map[string]bool, len(req.ExcludeWebhooks))
	for _, id := range req.ExcludeWebhooks {
		excluded[id] = true
	}

	tenants, err := nextKeys(f.tenant, maxClaimTenants, func(after string) *sql.Row {
		return tx.QueryRowContext(ctx, `SELECT MIN(tenant_id) FROM deliveries WHERE status = 'pending' AND tenant_id > ?`, after)
	})
	if err != nil || len(tenants) == 0 {
		return nil, err
	}
	f.tenant = tenants[0]

	type lane struct{ tenant, webhook string }
	var full []lane // lanes that gave all they were asked for, so may hold more
	// take chooses up to n more of the lane's oldest due rows, stepping
	// past those chosen earlier and those claimed.
	take := func(l lane, n int) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM deliveries WHERE status = 'pending' AND tenant_id = ? AND webhook_id = ?
			AND next_attempt_at <= ? ORDER BY next_attempt_at`, l.tenant, l.webhook, now)
		if err != nil {
			return err
		}
		before := len(ids)
		if ids, err = appendIDs(ids, n, chosen, claimed, rows); err != nil {
			return err
		}
		if len(ids)-before == n {
			full = append(full, l)
		}
		return nil
	}
	tenantQuota := max(1, req.Limit/len(tenants))
	for _, tenant := range tenants {
		webhooks, err := nextKeys(f.webhooks[tenant], maxClaimWebhooks+len(excluded), func(after string) *sql.Row {
			return tx.QueryRowContext(ctx, `SELECT MIN(webhook_id) FROM deliveries WHERE status = 'pending' AND tenant_id = ? AND webhook_id > ?`, tenant, after)
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
			n := min(laneQuota, req.Limit-len(ids))
			if n <= 0 {
				break
			}
			if err := take(lane{tenant, w}, n); err != nil {
				return nil, err
			}
		}
	}
	// Share what is left among the lanes that may hold more, in rounds.
	for round := 0; round < 3 && len(full) > 0 && len(ids) < req.Limit; round++ {
		lanes := full
		full = nil
		quota := max(1, (req.Limit-len(ids))/len(lanes))
		for _, l := range lanes {
			n := min(quota, req.Limit-len(ids))
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
		return ids, nil
	}
	return oldest(ctx, tx, req, ids, chosen, claimed)
}

// oldest fills ids, up to req.Limit, with the oldest due deliveries outside
// req.ExcludeWebhooks that are neither chosen nor claimed.
func oldest(ctx context.Context, tx queryer, req hookd.ClaimRequest, ids []string, chosen map[string]bool, claimed func(id string) bool) ([]string, error) {
	rest := req.Limit - len(ids)
	if rest <= 0 {
		return ids, nil
	}
	var rows *sql.Rows
	var err error
	if len(req.ExcludeWebhooks) == 0 {
		rows, err = tx.QueryContext(ctx, `SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?
			ORDER BY next_attempt_at`, micros(req.Now))
	} else {
		rows, err = tx.QueryContext(ctx, `SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?
			AND webhook_id NOT IN (SELECT value FROM json_each(?))
			ORDER BY next_attempt_at`, micros(req.Now), jsonArray(req.ExcludeWebhooks))
	}
	if err != nil {
		return nil, err
	}
	return appendIDs(ids, rest, chosen, claimed, rows)
}

// nextKeys walks distinct keys in index order, starting just after cursor
// and wrapping around once, returning at most n of them. next(after) must
// return the smallest key greater than after, or NULL.
func nextKeys(cursor string, n int, next func(after string) *sql.Row) ([]string, error) {
	var keys []string
	after, wrapped := cursor, cursor == ""
	for len(keys) < n {
		var k sql.NullString
		if err := next(after).Scan(&k); err != nil {
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

// appendIDs appends up to n IDs that rows yields, in order, stepping past
// those already chosen and those claimed, and closes rows. SQLite produces
// rows as they are read, so the rows after the nth are never looked at.
func appendIDs(ids []string, n int, chosen map[string]bool, claimed func(id string) bool, rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	for n > 0 && rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if !chosen[id] && !claimed(id) {
			chosen[id] = true
			ids = append(ids, id)
			n--
		}
	}
	return ids, rows.Err()
}
