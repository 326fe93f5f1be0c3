package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
)

// eventService records what is published.
type eventService struct {
	mu     sync.Mutex
	events []*hookd.Event
	calls  int
}

func (s *eventService) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.PublishResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	out := make([]hookd.PublishResult, len(events))
	for i, e := range events {
		s.events = append(s.events, e)
		out[i] = hookd.PublishResult{EventID: e.ID, Deliveries: 1}
	}
	return out, nil
}

func (s *eventService) FindEventByID(ctx context.Context, tenantID, id string) (*hookd.Event, error) {
	return nil, hookd.Errorf(hookd.ENOTFOUND, "Not found.")
}

// take returns the events published since the last take.
func (s *eventService) take() []*hookd.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.events
	s.events = nil
	return e
}

// webhookService lists fixed webhooks in ID order, a page at a time.
type webhookService struct {
	hookd.WebhookService // other methods are not called
	webhooks             []*hookd.Webhook
}

func (s *webhookService) FindWebhooks(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
	ws := slices.Clone(s.webhooks)
	sort.Slice(ws, func(i, j int) bool { return ws[i].ID < ws[j].ID })
	var out []*hookd.Webhook
	for _, w := range ws {
		if w.TenantID != f.TenantID || (f.Page.After != nil && w.ID <= f.Page.After.ID) {
			continue
		}
		out = append(out, w)
	}
	if len(out) > f.Page.Limit {
		return out[:f.Page.Limit], true, nil
	}
	return out, false, nil
}

func webhook(tenant, id string, days *int, status string, events ...string) *hookd.Webhook {
	return &hookd.Webhook{ID: id, TenantID: tenant, Name: id, Events: events, Status: status,
		Config: hookd.WebhookConfig{DaysSynced: days}}
}

func intp(v int) *int { return &v }

// testBundle is one simulator over a fresh in-memory store.
type testBundle struct {
	sim    *sandbox.Simulator
	store  *sandbox.MemStore
	events *eventService
	hooks  *webhookService
	now    time.Time
}

func setup(t *testing.T, hooks ...*hookd.Webhook) *testBundle {
	t.Helper()
	b := &testBundle{
		store:  sandbox.NewMemStore(),
		events: &eventService{},
		hooks:  &webhookService{webhooks: hooks},
		now:    time.Date(2026, time.November, 23, 7, 30, 0, 123456000, time.UTC),
	}
	n := 0
	b.sim = &sandbox.Simulator{
		Store: b.store, Events: b.events, Webhooks: b.hooks, Seed: 42,
		Now: func() time.Time { return b.now },
		NewID: func() string {
			n++
			return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
		},
	}
	return b
}

const tenant = "tenant-1"

func types(events []*hookd.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

// keys returns the top-level keys of a JSON object in order.
func keys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// payload is the data of a range event.
type payload struct {
	Account           string   `json:"account"`
	User              string   `json:"user"`
	DaysSynced        int      `json:"days_synced"`
	AvailableFrom     *string  `json:"available_from"`
	AvailableTo       *string  `json:"available_to"`
	AvailableCount    int      `json:"available_count"`
	AddedFrom         *string  `json:"added_from"`
	AddedTo           *string  `json:"added_to"`
	AddedCount        int      `json:"added_count"`
	UpdatedFrom       *string  `json:"updated_from"`
	UpdatedTo         *string  `json:"updated_to"`
	UpdatedCount      int      `json:"updated_count"`
	UpdatedActivities []string `json:"updated_activities"`
	RemovedFrom       *string  `json:"removed_from"`
	RemovedTo         *string  `json:"removed_to"`
	RemovedCount      int      `json:"removed_count"`
	RemovedActivities []string `json:"removed_activities"`
	ErrorCode         string   `json:"error_code"`
	ErrorMessage      string   `json:"error_message"`
	Profile           string   `json:"profile"`
}

func decode(t *testing.T, e *hookd.Event) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal(e.Data, &p); err != nil {
		t.Fatalf("%s data: %v", e.Type, err)
	}
	if k := keys(t, e.Data); e.Type != "users.fully_synced" && (len(k) < 2 || k[0] != "account" || k[1] != "user") {
		t.Errorf("%s data keys = %v, want account, user first", e.Type, k)
	}
	return p
}

func parse(t *testing.T, field string, s *string, end bool) *time.Time {
	t.Helper()
	if s == nil {
		t.Fatalf("%s is null", field)
	}
	v, err := sandbox.ParseFilterTime(field, *s, end)
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

// activityIDs lists the IDs /v1/activities returns for f.
func activityIDs(t *testing.T, s sandbox.Store, f sandbox.ActivityFilter) []string {
	t.Helper()
	as, n, err := s.FindActivities(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(as) {
		t.Fatalf("FindActivities count %d, but %d results without a limit", n, len(as))
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func wantCode(t *testing.T, err error, code string, fields ...string) {
	t.Helper()
	if got := hookd.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	var e *hookd.Error
	if len(fields) > 0 {
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not a *hookd.Error", err)
		}
		for _, f := range fields {
			if len(e.Fields[f]) == 0 {
				t.Errorf("error fields = %v, want a message for %q", e.Fields, f)
			}
		}
	}
}
