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

func TestRowCache_EventsBounded(t *testing.T) {
	var c rowCache
	data := []byte(`{"x":"` + strings.Repeat("y", 4000) + `"}`)
	const n = 2 * maxCachedEventBytes / 4096
	for i := range n {
		c.keepEvents(&hookd.Event{ID: fmt.Sprint(i), Data: data})
	}
	if c.eventBytes > maxCachedEventBytes {
		t.Errorf("kept %d bytes of events, want at most %d", c.eventBytes, maxCachedEventBytes)
	}
	_, got, _, missing := c.lookup(nil, []string{"0", fmt.Sprint(n - 1)})
	if got[fmt.Sprint(n-1)] == nil || len(missing) != 1 || missing[0] != "0" {
		t.Errorf("lookup got %d events, missing %v; want the newest kept and the oldest dropped", len(got), missing)
	}
	if len(c.events) != len(c.order)-c.head {
		t.Errorf("events map has %d, order %d: out of step", len(c.events), len(c.order)-c.head)
	}
}
