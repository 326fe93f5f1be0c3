package sandboxtest

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
)

// events records what a Simulator publishes.
type events struct {
	mu   sync.Mutex
	list []*hookd.Event
}

func (s *events) PublishEvents(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]hookd.PublishResult, len(es))
	for i, e := range es {
		s.list = append(s.list, e)
		out[i] = hookd.PublishResult{EventID: e.ID}
	}
	return out, nil
}

func (s *events) FindEventByID(ctx context.Context, tenantID, id string) (*hookd.Event, error) {
	return nil, hookd.Errorf(hookd.ENOTFOUND, "Not found.")
}

func (s *events) take() []*hookd.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.list
	s.list = nil
	return l
}

// webhooks holds one webhook subscribed to every event.
type webhooks struct {
	hookd.WebhookService
}

func (webhooks) FindWebhooks(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
	if f.Page.After != nil {
		return nil, false, nil
	}
	return []*hookd.Webhook{{ID: "w", TenantID: f.TenantID, Events: []string{"*"}, Status: hookd.WebhookEnabled}}, false, nil
}

// rangePayload is the part of a range event's data the checks read.
type rangePayload struct {
	From  *string `json:"added_from"`
	To    *string `json:"added_to"`
	Count int     `json:"added_count"`
	AFrom *string `json:"available_from"`
	ATo   *string `json:"available_to"`
	N     int     `json:"available_count"`
}

// RunSimulator checks, against stores from open, the Simulator's promise
// that every count and range in a payload agrees with what the store's
// lists return for it.
func RunSimulator(t *testing.T, open func(t *testing.T) sandbox.Store) {
	ctx := context.Background()
	s := open(t)
	ev := &events{}
	clock := time.Date(2026, time.November, 23, 7, 30, 0, 123456000, time.UTC)
	sim := &sandbox.Simulator{Store: s, Events: ev, Webhooks: webhooks{}, Seed: 1, Now: func() time.Time { return clock }}

	parse := func(field string, v *string, end bool) *time.Time {
		t.Helper()
		if v == nil {
			t.Fatalf("%s is null", field)
		}
		p, err := sandbox.ParseFilterTime(field, *v, end)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	data := func(e *hookd.Event) rangePayload {
		t.Helper()
		var p rangePayload
		if err := json.Unmarshal(e.Data, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	find := func(typ string, es []*hookd.Event) []*hookd.Event {
		var out []*hookd.Event
		for _, e := range es {
			if e.Type == typ {
				out = append(out, e)
			}
		}
		return out
	}

	acct, err := sim.Connect(ctx, tenant, sandbox.ConnectRequest{Days: intp(120), Activities: intp(300)})
	if err != nil {
		t.Fatal(err)
	}
	es := ev.take()
	partial := find("activities.partially_synced", es)
	full := find("activities.fully_synced", es)
	if len(partial) != 1 || len(full) != 1 {
		t.Fatalf("events %d partially_synced and %d fully_synced, want 1 and 1", len(partial), len(full))
	}
	for _, e := range append(partial, full...) {
		p := data(e)
		_, n, err := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID,
			FromStartDate: parse("available_from", p.AFrom, false), ToStartDate: parse("available_to", p.ATo, true)})
		if err != nil {
			t.Fatal(err)
		}
		if n != p.N {
			t.Errorf("%s: list returns %d, available_count %d", e.Type, n, p.N)
		}
	}
	if p := data(full[0]); p.N != 300 {
		t.Errorf("activities.fully_synced available_count %d, want 300", p.N)
	}

	clock = clock.Add(15 * 24 * time.Hour)
	res, err := sim.Refresh(ctx, tenant, acct.ID, sandbox.RefreshRequest{Added: 12, Updated: 5, Removed: 4})
	if err != nil {
		t.Fatal(err)
	}
	es = ev.take()
	for _, typ := range []string{"activities.added", "payouts.added"} {
		added := find(typ, es)
		if len(added) != 1 {
			t.Fatalf("%d %s events, want 1", len(added), typ)
		}
		p := data(added[0])
		from, to := parse("added_from", p.From, false), parse("added_to", p.To, true)
		var ids []string
		if typ == "activities.added" {
			as, _, err := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				ids = append(ids, a.ID)
			}
			slices.Sort(ids)
			if want := slices.Sorted(slices.Values(res.Added)); !slices.Equal(ids, want) {
				t.Errorf("activities in the added range %v, want the added %v", ids, want)
			}
		} else {
			ps, _, err := s.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to})
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ps {
				ids = append(ids, x.ID)
			}
			slices.Sort(ids)
			if want := slices.Sorted(slices.Values(res.PayoutsAdded)); !slices.Equal(ids, want) {
				t.Errorf("payouts in the added range %v, want the added %v", ids, want)
			}
		}
		if len(ids) != p.Count {
			t.Errorf("%s: range returns %d, added_count %d", typ, len(ids), p.Count)
		}
	}
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID}); n != 300+12-4 {
		t.Errorf("activities after the refresh: %d, want 308", n)
	}
	now := clock
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromUpdatedAt: &now}); n != 12+5 {
		t.Errorf("from_updated_at=now returns %d, want 17 (added and updated)", n)
	}

	if err := sim.Remove(ctx, tenant, acct.ID); err != nil {
		t.Fatal(err)
	}
	if es := ev.take(); len(es) != 1 || es[0].Type != "accounts.removed" {
		t.Errorf("remove published %d events", len(es))
	}
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, User: acct.User}); n != 0 {
		t.Errorf("%d activities left after the remove", n)
	}
}

func intp(v int) *int { return &v }
