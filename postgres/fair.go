package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/jackc/pgx/v5"
)

// Bounds on one fair claim's walk, so a claim costs a few dozen index seeks
// however many tenants and webhooks have work. The round-robin cursors move
// on every fair claim, so every lane is reached within a few claims.
const (
	maxClaimTenants  = 16
	maxClaimWebhooks = 16
)

// fairEvery is how often a claim walks the lanes; the claims in between take
// the oldest due deliveries, which costs one statement instead of three. So
// a backlog can delay another tenant's due deliveries by about this long,
// but never starve them.
const fairEvery = 20 * time.Millisecond

// fairClaimer chooses which pending deliveries a claim takes, so that no
// tenant's backlog starves another tenant, and no webhook's another webhook
// of the same tenant: the same policy as the sqlite package's. It shares the
// claim out round-robin: first across the tenants with pending work, then
// within each tenant across its webhooks, each lane giving its oldest due
// deliveries. Capacity the lanes leave unused goes to the oldest due
// deliveries anywhere, so a single backlog still drains at full speed.
//
// Its cursors are this node's: each node walks the lanes on its own, and
// SKIP LOCKED keeps nodes from taking the same rows.
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

// lanes holds the lanes of one fair claim, in the order they are served,
// as arrays for fairClaimQuery.
type lanes struct {
	tenantIDs, webhookIDs []string
	quotas                []int32
	// idle reports that no delivery is pending at all: nothing to claim.
	idle bool
}

// plan walks the tenants and webhooks with pending work from the cursors,
// moves the cursors on, and returns the lanes a claim of req serves.
func (f *fairClaimer) plan(ctx context.Context, db *DB, req hookd.ClaimRequest) (lanes, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.webhooks == nil {
		f.webhooks = make(map[string]string)
	}
	var l lanes
	tenants, err := nextKeys(ctx, db.pool, tenantWalk, f.tenant, maxClaimTenants)
	if err != nil || len(tenants) == 0 {
		l.idle = err == nil
		return l, err
	}
	f.tenant = tenants[0]

	excluded := make(map[string]bool, len(req.ExcludeWebhooks))
	for _, id := range req.ExcludeWebhooks {
		excluded[id] = true
	}
	// Every tenant's webhooks in one round trip.
	webhooks := make([][]string, len(tenants))
	batch := &pgx.Batch{}
	for i, tenant := range tenants {
		batch.Queue(webhookWalk, tenant, f.webhooks[tenant], maxClaimWebhooks+len(excluded)).Query(func(rows pgx.Rows) error {
			var err error
			webhooks[i], err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	}
	if err := db.pool.SendBatch(ctx, batch).Close(); err != nil {
		return l, fmt.Errorf("walk webhooks: %w", err)
	}

	tenantQuota := max(1, req.Limit/len(tenants))
	for i, tenant := range tenants {
		var ws []string
		for _, w := range webhooks[i] {
			if !excluded[w] && len(ws) < maxClaimWebhooks {
				ws = append(ws, w)
			}
		}
		if len(ws) == 0 {
			continue
		}
		f.webhooks[tenant] = ws[len(ws)-1]
		laneQuota := int32(min(req.Limit, max(1, tenantQuota/len(ws))))
		for _, w := range ws {
			l.tenantIDs, l.webhookIDs, l.quotas = append(l.tenantIDs, tenant), append(l.webhookIDs, w), append(l.quotas, laneQuota)
		}
	}
	if len(f.webhooks) > 4*maxClaimTenants*maxClaimTenants {
		clear(f.webhooks) // forget tenants that went quiet
	}
	return l, nil
}

// tenantWalk returns up to $2 distinct tenants with pending deliveries:
// those after $1 in order, then, wrapping around, those up to $1. Each step
// is one seek in delivery_queue_lane (a loose index scan), however many
// deliveries a tenant has.
const tenantWalk = `WITH RECURSIVE a(k) AS (
		SELECT min(tenant_id) FROM delivery_queue WHERE tenant_id > $1
		UNION ALL
		SELECT (SELECT min(tenant_id) FROM delivery_queue WHERE tenant_id > a.k)
		FROM a WHERE a.k IS NOT NULL
	), b(k) AS (
		SELECT min(tenant_id) FROM delivery_queue WHERE $1 <> ''
		UNION ALL
		SELECT (SELECT min(tenant_id) FROM delivery_queue WHERE tenant_id > b.k)
		FROM b WHERE b.k < $1
	)
	(SELECT k FROM a WHERE k IS NOT NULL)
	UNION ALL
	(SELECT k FROM b WHERE k <= $1)
	LIMIT $2`

// webhookWalk is tenantWalk over the webhooks of tenant $1 with pending
// deliveries, from $2, returning up to $3.
const webhookWalk = `WITH RECURSIVE a(k) AS (
		SELECT min(webhook_id) FROM delivery_queue WHERE tenant_id = $1 AND webhook_id > $2
		UNION ALL
		SELECT (SELECT min(webhook_id) FROM delivery_queue WHERE tenant_id = $1 AND webhook_id > a.k)
		FROM a WHERE a.k IS NOT NULL
	), b(k) AS (
		SELECT min(webhook_id) FROM delivery_queue WHERE tenant_id = $1 AND $2 <> ''
		UNION ALL
		SELECT (SELECT min(webhook_id) FROM delivery_queue WHERE tenant_id = $1 AND webhook_id > b.k)
		FROM b WHERE b.k < $2
	)
	(SELECT k FROM a WHERE k IS NOT NULL)
	UNION ALL
	(SELECT k FROM b WHERE k <= $2)
	LIMIT $3`

// nextKeys runs walk, a tenantWalk-shaped query, from cursor.
func nextKeys(ctx context.Context, q querier, walk, cursor string, n int) ([]string, error) {
	rows, err := q.Query(ctx, walk, cursor, n)
	if err != nil {
		return nil, fmt.Errorf("walk lanes: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("walk lanes: %w", err)
	}
	return keys, nil
}

// fairClaimQuery claims, in one statement, each lane's oldest due
// deliveries up to its quota (lanes $4, $5, $6 in order), then fills what
// they leave of the limit $3 with the oldest due deliveries outside the
// excluded webhooks $2; when the picks exceed the limit, lanes come first,
// in order, each with its oldest (row_number keeps the order of a picking
// subquery, which a window function cannot share a query level with).
// Every pick is a SELECT … FOR UPDATE SKIP LOCKED, so concurrent claimers
// never take the same row; a row both picks lock counts once.
var fairClaimQuery = `WITH leased AS (
		UPDATE delivery_queue SET next_attempt_at = $7
		WHERE delivery_id = ANY(ARRAY(
			SELECT p.delivery_id FROM (
				SELECT x.delivery_id, l.n * 1000000 + x.n AS rank
				FROM unnest($4::text[], $5::text[], $6::int[]) WITH ORDINALITY AS l(tenant_id, webhook_id, quota, n)
				CROSS JOIN LATERAL (
					SELECT delivery_id, row_number() OVER () AS n FROM (
						SELECT delivery_id FROM delivery_queue
						WHERE tenant_id = l.tenant_id AND webhook_id = l.webhook_id AND next_attempt_at <= $1
						ORDER BY next_attempt_at LIMIT l.quota
						FOR UPDATE SKIP LOCKED) lane) x
				UNION ALL
				SELECT o.delivery_id, 1000000000000 + o.n AS rank
				FROM (
					SELECT delivery_id, row_number() OVER () AS n FROM (
						SELECT delivery_id FROM delivery_queue
						WHERE next_attempt_at <= $1 AND webhook_id <> ALL($2::text[])
						ORDER BY next_attempt_at LIMIT $3
						FOR UPDATE SKIP LOCKED) oldest) o
			) p
			GROUP BY p.delivery_id ORDER BY min(p.rank) LIMIT $3))
		RETURNING delivery_id
	)
	SELECT ` + claimedColumns("$7") + ` FROM deliveries WHERE id = ANY(ARRAY(SELECT delivery_id FROM leased))`
