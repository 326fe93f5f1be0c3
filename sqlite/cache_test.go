package sqlite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func TestRowCache_Webhooks(t *testing.T) {
	var c rowCache
	w1 := &hookd.Webhook{ID: "w1", URL: "https://a.example"}
	gen := c.generation()
	c.keepWebhooks(gen, map[string]*hookd.Webhook{"w1": w1})
	if got, _, missing, _ := c.lookup([]string{"w1", "w2"}, nil); got["w1"] != w1 || len(missing) != 1 || missing[0] != "w2" {
		t.Fatalf("lookup got %v missing %v, want w1 kept, w2 missing", got, missing)
	}

	// A claim that read w1 before a write to it committed must not keep
	// what it read once the write has been forgotten.
	stale := c.generation()
	c.forgetWebhooks("w1")
	c.keepWebhooks(stale, map[string]*hookd.Webhook{"w1": w1})
	if got, _, _, _ := c.lookup([]string{"w1"}, nil); got["w1"] != nil {
		t.Errorf("kept a webhook read before a write that was forgotten")
	}
	c.keepWebhooks(c.generation(), map[string]*hookd.Webhook{"w1": w1})
	if got, _, _, _ := c.lookup([]string{"w1"}, nil); got["w1"] != w1 {
		t.Errorf("did not keep a webhook read after the write")
	}
}

// bigEvents returns n events of about 4 KB, with IDs prefix0, prefix1...
func bigEvents(prefix string, n int) []*hookd.Event {
	data := []byte(`{"x":"` + strings.Repeat("y", 4000) + `"}`)
	es := make([]*hookd.Event, n)
	for i := range es {
		es[i] = &hookd.Event{ID: fmt.Sprint(prefix, i), Data: data}
	}
	return es
}

// claimsOf returns one claimed delivery of each event ID given.
func claimsOf(eventIDs ...string) []*hookd.Delivery {
	ds := make([]*hookd.Delivery, len(eventIDs))
	for i, id := range eventIDs {
		ds[i] = &hookd.Delivery{EventID: id}
	}
	return ds
}

func cached(c *rowCache, ids ...string) (kept []string) {
	_, got, _, _ := c.lookup(nil, ids)
	for _, id := range ids {
		if got[id] != nil {
			kept = append(kept, id)
		}
	}
	return kept
}

func TestRowCache_EventsBounded(t *testing.T) {
	var c rowCache
	n := 2 * maxCachedEventBytes / 4096
	es := bigEvents("p", n)
	for _, e := range es {
		c.keepPublished(e, 1)
	}
	if c.eventBytes > maxCachedEventBytes {
		t.Errorf("kept %d bytes of events, want at most %d", c.eventBytes, maxCachedEventBytes)
	}
	// Full, the cache keeps the oldest, which claims take first, and
	// turns the newest away.
	if got := cached(&c, "p0", fmt.Sprint("p", n-1)); len(got) != 1 || got[0] != "p0" {
		t.Errorf("kept %v of the oldest and newest, want [p0]", got)
	}
	if len(c.events) > len(c.order)-c.head {
		t.Errorf("events map has %d, order %d: out of step", len(c.events), len(c.order)-c.head)
	}
}

func TestRowCache_EventsClaimed(t *testing.T) {
	var c rowCache
	fanout := &hookd.Event{ID: "fanout", Data: []byte(`{}`)}
	c.keepPublished(fanout, 3)
	c.claimedEvents(claimsOf("fanout", "fanout"))
	if got := cached(&c, "fanout"); len(got) != 1 {
		t.Fatalf("dropped an event with a delivery left to claim")
	}
	c.claimedEvents(claimsOf("fanout"))
	if got := cached(&c, "fanout"); len(got) != 0 || c.eventBytes != 0 {
		t.Fatalf("kept an event whose deliveries were all claimed (%d bytes)", c.eventBytes)
	}

	// Claims taking the oldest events make room for new ones.
	es := bigEvents("p", maxCachedEventBytes/4096)
	for _, e := range es {
		c.keepPublished(e, 1)
	}
	late := bigEvents("late", 1)[0]
	c.keepPublished(late, 1)
	if len(cached(&c, "late0")) != 0 {
		t.Fatalf("kept an event past the bound")
	}
	c.claimedEvents(claimsOf("p0", "p1"))
	c.keepPublished(late, 1)
	if len(cached(&c, "late0")) != 1 {
		t.Errorf("did not keep a new event once claims had taken older ones")
	}
}

// TestRowCache_EventsOrderBounded checks that the cache's record of the
// order events came in does not grow with every event published when
// claims take them before the cache fills.
func TestRowCache_EventsOrderBounded(t *testing.T) {
	var c rowCache
	stuck := &hookd.Event{ID: "never claimed", Data: []byte(`{}`)}
	c.keepPublished(stuck, 1)
	for i := range 100_000 {
		id := fmt.Sprint(i)
		c.keepPublished(&hookd.Event{ID: id, Data: []byte(`{}`)}, 1)
		c.claimedEvents(claimsOf(id))
	}
	if len(c.order) > 4096 || len(c.events) != 1 {
		t.Errorf("after 100,000 events published and claimed: order holds %d IDs, %d events kept; want at most 4,096 and 1", len(c.order), len(c.events))
	}
	if len(cached(&c, "never claimed")) != 1 {
		t.Errorf("dropped the event still waiting for its claim")
	}
}

func TestRowCache_EventsMakeRoom(t *testing.T) {
	var c rowCache
	es := bigEvents("r", maxCachedEventBytes/4096)
	read := make(map[string]*hookd.Event)
	for _, e := range es {
		read[e.ID] = e
	}
	c.keepRead(read)
	if len(c.events) == 0 {
		t.Fatal("kept none of the events claims read")
	}
	// Events claims read give way to published ones.
	pub := bigEvents("p", 2)
	for _, e := range pub {
		c.keepPublished(e, 1)
	}
	if got := cached(&c, "p0", "p1"); len(got) != 2 {
		t.Fatalf("kept %v of the published events, want both: read events make room first", got)
	}

	// Published events kept for longer than staleEvent give way too: their
	// deliveries may never be claimed (parked, deleted).
	c = rowCache{}
	for _, e := range bigEvents("old", maxCachedEventBytes/4096) {
		c.keepPublished(e, 1)
	}
	c.keepPublished(pub[0], 1)
	if len(cached(&c, "p0")) != 0 {
		t.Fatal("kept an event past the bound")
	}
	for _, ce := range c.events {
		ce.kept = ce.kept.Add(-staleEvent)
	}
	c.keepPublished(pub[0], 1)
	if len(cached(&c, "p0")) != 1 {
		t.Errorf("stale events did not make room")
	}
}
