package sqlite

import (
	"sync"

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
// was 6 % of hookd's CPU and their events another 1-6 %. Events never
// change; they are kept in the order they came, up to maxCachedEventBytes
// of payload, newest first to stay (publishes add theirs, claims what they
// read). A webhook is kept until a write changes its row: every such write
// calls forgetWebhooks after its commit, and a claim that read a webhook
// before that may not keep it (see gen).
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

	events     map[string]*hookd.Event
	order      []string // event IDs, oldest first from head
	head       int
	eventBytes int
}

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
		if e, ok := c.events[id]; ok {
			events[id] = e
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

// keepEvents caches events, dropping the oldest kept past
// maxCachedEventBytes. Events must not be changed once kept.
func (c *rowCache) keepEvents(events ...*hookd.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.events == nil {
		c.events = make(map[string]*hookd.Event)
	}
	for _, e := range events {
		if _, ok := c.events[e.ID]; ok {
			continue
		}
		size := len(e.Data) + len(e.Resource) + 256
		if size > maxCachedEventBytes/16 {
			continue // a rare large payload is read again when needed
		}
		c.events[e.ID] = e
		c.order = append(c.order, e.ID)
		c.eventBytes += size
	}
	for c.eventBytes > maxCachedEventBytes && c.head < len(c.order) {
		id := c.order[c.head]
		c.order[c.head] = ""
		c.head++
		if e, ok := c.events[id]; ok {
			c.eventBytes -= len(e.Data) + len(e.Resource) + 256
			delete(c.events, id)
		}
	}
	if c.head > len(c.order)/2 && c.head > 1024 {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
}
