package sqlite

import (
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Bounds on rowCache.
const (
	maxCachedWebhooks   = 4096
	maxCachedEventBytes = 4 << 20
)

// rowCache keeps the webhooks and events claims hand to the worker, so
// that a claim reads from the database only the rows it has not seen: in
// profiles of a 100-webhook run, loading the claimed deliveries' webhooks
// was 6 % of hookd's CPU and their events another 1-6 %. A webhook is kept
// until a write changes its row: every such write calls forgetWebhooks
// after its commit, and a claim that read a webhook before that may not
// keep it (see gen).
//
// Events never change. A published event is kept, up to
// maxCachedEventBytes of payload, until claims have taken each of its new
// deliveries (see claimedEvents); when the cache is full a new event is
// not kept, rather than an older one dropped: claims take the oldest due
// deliveries first, so while delivery lags behind publishing, dropping the
// oldest would drop exactly what the next claims need. (Dropping them, a
// 1-webhook run publishing 2.5 times faster than it delivered read 94,700
// of 100,000 claimed events back from the database, 4.2-4.6 µs each on a
// quiet reader: BenchmarkLoadEvents.) Events that claims read,
// and those kept longer than staleEvent (their deliveries parked, retried
// or deleted), make room first.
//
// One process writes a SQLite file's webhooks (the hookd CLI never does),
// so what it forgets is all that changes.
type rowCache struct {
	mu sync.Mutex
	// gen counts webhook writes. A claim notes it before its read
	// transaction and keeps the webhooks it read only if it has not moved:
	// otherwise a write may have committed after the read and been
	// forgotten before the keep.
	gen      uint64
	webhooks map[string]*hookd.Webhook

	events     map[string]*cachedEvent
	order      []string // event IDs, oldest first from head
	head       int
	eventBytes int
}

// cachedEvent is a kept event and how many of its deliveries claims have
// yet to take: uncounted for an event a claim read.
type cachedEvent struct {
	e    *hookd.Event
	left int
	kept time.Time
}

const (
	uncounted = -1
	// staleEvent is how long a published event is kept at most while the
	// cache is full.
	staleEvent = 30 * time.Second
)

// generation returns the webhook write count, for keepWebhooks.
func (c *rowCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// lookup returns the cached webhooks and events among the IDs, and the IDs
// it does not have.
func (c *rowCache) lookup(webhookIDs, eventIDs []string) (webhooks map[string]*hookd.Webhook, events map[string]*hookd.Event, missingW, missingE []string) {
	webhooks = make(map[string]*hookd.Webhook, len(webhookIDs))
	events = make(map[string]*hookd.Event, len(eventIDs))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range webhookIDs {
		if w, ok := c.webhooks[id]; ok {
			webhooks[id] = w
		} else {
			missingW = append(missingW, id)
		}
	}
	for _, id := range eventIDs {
		if ce, ok := c.events[id]; ok {
			events[id] = ce.e
		} else {
			missingE = append(missingE, id)
		}
	}
	return webhooks, events, missingW, missingE
}

// keepWebhooks caches webhooks read in a transaction that began when the
// generation was gen, unless a webhook write came since.
func (c *rowCache) keepWebhooks(gen uint64, ws map[string]*hookd.Webhook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.webhooks == nil || len(c.webhooks)+len(ws) > maxCachedWebhooks {
		c.webhooks = make(map[string]*hookd.Webhook, len(ws))
	}
	for id, w := range ws {
		c.webhooks[id] = w
	}
}

// forgetWebhooks drops webhooks whose rows a committed write changed.
func (c *rowCache) forgetWebhooks(ids ...string) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, id := range ids {
		delete(c.webhooks, id)
	}
}

// keepPublished keeps e, published with deliveries new deliveries, until
// claims have taken them all, if there is room. e must not be changed once
// kept.
func (c *rowCache) keepPublished(e *hookd.Event, deliveries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keepLocked(e, deliveries, time.Now())
}

// keepRead keeps events that a claim read, if there is room: other
// deliveries of theirs may be claimed soon (a fan-out, retries due
// together). Events must not be changed once kept.
func (c *rowCache) keepRead(events map[string]*hookd.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for _, e := range events {
		c.keepLocked(e, uncounted, now)
	}
}

func (c *rowCache) keepLocked(e *hookd.Event, left int, now time.Time) {
	if c.events == nil {
		c.events = make(map[string]*cachedEvent)
	}
	if _, ok := c.events[e.ID]; ok {
		return
	}
	size := eventSize(e)
	if size > maxCachedEventBytes/16 {
		return // a rare large payload is read again when needed
	}
	// Make room from the oldest kept: events claims read, stale ones, and
	// those already taken, but not a published event claims still need.
	for c.eventBytes+size > maxCachedEventBytes && c.head < len(c.order) {
		id := c.order[c.head]
		if ce, ok := c.events[id]; ok {
			if ce.left != uncounted && now.Sub(ce.kept) < staleEvent {
				break
			}
			c.dropLocked(id, ce)
		}
		c.order[c.head] = ""
		c.head++
	}
	if c.eventBytes+size > maxCachedEventBytes {
		return
	}
	c.events[e.ID] = &cachedEvent{e: e, left: left, kept: now}
	c.order = append(c.order, e.ID)
	c.eventBytes += size
	c.compactLocked()
}

// compactLocked keeps order from growing with the IDs of events no longer
// kept: those before its head, and those claims dropped from anywhere in
// it, once they outnumber the events kept (and 1,024).
func (c *rowCache) compactLocked() {
	if dead := len(c.order) - c.head - len(c.events); dead > len(c.events) && dead > 1024 {
		live := c.order[:0]
		seen := make(map[string]bool, len(c.events))
		for _, id := range c.order[c.head:] {
			if _, ok := c.events[id]; ok && !seen[id] { // an ID dropped, then kept again
				seen[id] = true
				live = append(live, id)
			}
		}
		clear(c.order[len(live):])
		c.order, c.head = live, 0
	} else if c.head > len(c.order)/2 && c.head > 1024 {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
}

// claimedEvents counts each delivery in ds as claimed for its event, and
// drops the published events whose new deliveries have now all been
// claimed.
func (c *rowCache) claimedEvents(ds []*hookd.Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range ds {
		id := d.EventID
		ce, ok := c.events[id]
		if !ok || ce.left == uncounted {
			continue
		}
		if ce.left--; ce.left <= 0 {
			c.dropLocked(id, ce)
		}
	}
	c.compactLocked()
}

// dropLocked forgets a kept event; its ID stays in order until the head
// passes it.
func (c *rowCache) dropLocked(id string, ce *cachedEvent) {
	c.eventBytes -= eventSize(ce.e)
	delete(c.events, id)
}

func eventSize(e *hookd.Event) int {
	return len(e.Data) + len(e.Resource) + 256
}
