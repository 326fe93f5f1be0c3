package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
)

// node is one hookd process's view of the shared database.
type node struct {
	db         *postgres.DB
	tenants    *postgres.TenantService
	webhooks   *postgres.WebhookService
	events     *postgres.EventService
	deliveries *postgres.DeliveryService
}

// mustOpenNodes opens n DBs on one fresh schema, as n hookd nodes on one
// database.
func mustOpenNodes(tb testing.TB, n int) []*node {
	tb.Helper()
	u := MustSchemaURL(tb)
	nodes := make([]*node, n)
	for i := range nodes {
		db := postgres.NewDB(u)
		if err := db.Open(); err != nil {
			tb.Fatalf("Open node %d: %v", i, err)
		}
		tb.Cleanup(func() { db.Close() })
		nodes[i] = &node{
			db:         db,
			tenants:    postgres.NewTenantService(db),
			webhooks:   postgres.NewWebhookService(db),
			events:     postgres.NewEventService(db),
			deliveries: postgres.NewDeliveryService(db),
		}
	}
	return nodes
}

func mustTenant(tb testing.TB, ctx context.Context, n *node) *hookd.Tenant {
	tb.Helper()
	tn, err := n.tenants.EnsureTenant(ctx, "acme")
	if err != nil {
		tb.Fatalf("EnsureTenant: %v", err)
	}
	return tn
}

func mustCreateWebhook(tb testing.TB, ctx context.Context, n *node, tenantID string, events ...string) *hookd.Webhook {
	tb.Helper()
	now := hookd.Now()
	w := &hookd.Webhook{
		ID: hookd.NewID(), TenantID: tenantID, Name: "hook", Events: events,
		URL: "https://example.com/hook", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now,
	}
	if err := n.webhooks.CreateWebhook(ctx, w); err != nil {
		tb.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

func newEvent(tenantID string, created time.Time) *hookd.Event {
	return &hookd.Event{
		ID: hookd.NewID(), TenantID: tenantID, Type: "accounts.added",
		Data:      json.RawMessage(`{"account":"a","user":"u"}`),
		CreatedAt: hookd.Truncate(created),
	}
}

// Two nodes, each with several workers, claim and complete from the same
// tables at once: every delivery is claimed exactly once while its lease
// holds, and every one ends succeeded with one attempt.
func TestNodes_ClaimConcurrently(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nodes := mustOpenNodes(t, 2)
	tn := mustTenant(t, ctx, nodes[0])
	const webhooks, events = 8, 100
	for range webhooks {
		mustCreateWebhook(t, ctx, nodes[0], tn.ID, hookd.Wildcard)
	}
	t0 := hookd.Now()
	evs := make([]*hookd.Event, events)
	for i := range evs {
		evs[i] = newEvent(tn.ID, t0.Add(time.Duration(i)*time.Microsecond))
	}
	if _, err := nodes[1].events.PublishEvents(ctx, evs); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}

	var mu sync.Mutex
	claimedBy := make(map[string][]int) // delivery ID -> nodes that claimed it
	var wg sync.WaitGroup
	errs := make(chan error, 2*4)
	for i, n := range nodes {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Bounded: 800 deliveries in batches of 5 take at most 160
				// claims between all workers.
				for range 500 {
					tasks, err := n.deliveries.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: t0.Add(time.Second), Limit: 5, Lease: time.Hour})
					if err != nil {
						errs <- fmt.Errorf("node %d: ClaimDeliveries: %w", i, err)
						return
					}
					if len(tasks) == 0 {
						return
					}
					results := make([]hookd.AttemptResult, len(tasks))
					mu.Lock()
					for j, task := range tasks {
						claimedBy[task.Delivery.ID] = append(claimedBy[task.Delivery.ID], i)
						results[j] = hookd.AttemptResult{
							DeliveryID: task.Delivery.ID, WebhookID: task.Webhook.ID, Status: hookd.DeliverySucceeded,
							Attempt: hookd.Attempt{Number: 1, StartedAt: t0.Add(time.Second), StatusCode: 200},
						}
					}
					mu.Unlock()
					if err := n.deliveries.CompleteDeliveries(ctx, results); err != nil {
						errs <- fmt.Errorf("node %d: CompleteDeliveries: %w", i, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	if got, want := len(claimedBy), webhooks*events; got != want {
		t.Errorf("claimed %d distinct deliveries, want %d", got, want)
	}
	perNode := make([]int, len(nodes))
	for id, by := range claimedBy {
		if len(by) != 1 {
			t.Errorf("delivery %s claimed by nodes %v, want exactly one", id, by)
		}
		perNode[by[0]]++
	}
	t.Logf("deliveries claimed per node: %v", perNode)

	st, err := nodes[0].deliveries.QueueStats(ctx, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatalf("QueueStats: %v", err)
	}
	if st.Pending != 0 {
		t.Errorf("QueueStats().Pending got %d, want 0", st.Pending)
	}
	ds, _, err := nodes[0].deliveries.FindDeliveries(ctx, hookd.DeliveryFilter{
		TenantID: tn.ID, Status: hookd.DeliverySucceeded, Page: hookd.Page{Limit: 1000}})
	if err != nil {
		t.Fatalf("FindDeliveries: %v", err)
	}
	if got, want := len(ds), webhooks*events; got != want {
		t.Errorf("succeeded deliveries got %d, want %d", got, want)
	}
	for _, d := range ds {
		if d.AttemptCount != 1 || len(d.Attempts) != 1 {
			t.Errorf("delivery %s: AttemptCount %d with %d attempts, want 1 and 1", d.ID, d.AttemptCount, len(d.Attempts))
		}
	}
}

// A node that claimed and died leaves its deliveries leased: another node
// gets them only once the lease has run out.
func TestNodes_LeaseExpiry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nodes := mustOpenNodes(t, 2)
	tn := mustTenant(t, ctx, nodes[0])
	mustCreateWebhook(t, ctx, nodes[0], tn.ID, "accounts.added")
	t0 := hookd.Now()
	if _, err := hookd.PublishEvent(ctx, nodes[0].events, newEvent(tn.ID, t0)); err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}
	claim := func(n *node, now time.Time) []*hookd.Task {
		t.Helper()
		tasks, err := n.deliveries.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: now, Limit: 10, Lease: time.Minute})
		if err != nil {
			t.Fatalf("ClaimDeliveries: %v", err)
		}
		return tasks
	}
	first := claim(nodes[0], t0)
	if len(first) != 1 {
		t.Fatalf("first claim got %d tasks, want 1", len(first))
	}
	if got, want := *first[0].Delivery.NextAttemptAt, t0.Add(time.Minute); !got.Equal(want) {
		t.Errorf("claimed NextAttemptAt got %s, want %s", hookd.FormatTime(got), hookd.FormatTime(want))
	}
	if got := claim(nodes[1], t0.Add(59*time.Second)); len(got) != 0 {
		t.Errorf("claim during the lease got %d tasks, want 0", len(got))
	}
	again := claim(nodes[1], t0.Add(time.Minute))
	if len(again) != 1 || again[0].Delivery.ID != first[0].Delivery.ID {
		t.Errorf("claim after the lease got %d tasks, want the first claim's delivery again", len(again))
	}
}

// Nodes publishing one idempotency key at once create one event: the others
// answer with its result, marked Duplicate, and fan out nothing.
func TestNodes_PublishIdempotencyKeyConcurrently(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nodes := mustOpenNodes(t, 4)
	tn := mustTenant(t, ctx, nodes[0])
	mustCreateWebhook(t, ctx, nodes[0], tn.ID, "accounts.added")
	mustCreateWebhook(t, ctx, nodes[0], tn.ID, hookd.Wildcard)
	t0 := hookd.Now()

	results := make([]hookd.PublishResult, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := newEvent(tn.ID, t0)
			e.IdempotencyKey = "order-42"
			results[i], errs[i] = hookd.PublishEvent(ctx, n.events, e)
		}()
	}
	wg.Wait()
	firsts := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("node %d: PublishEvent: %v", i, errs[i])
		}
		if !r.Duplicate {
			firsts++
		}
		if r.EventID != results[0].EventID || r.Deliveries != 2 {
			t.Errorf("node %d: result got %+v, want event %s with 2 deliveries", i, r, results[0].EventID)
		}
	}
	if firsts != 1 {
		t.Errorf("non-duplicate results got %d, want 1", firsts)
	}
	ds, _, err := nodes[0].deliveries.FindDeliveries(ctx, hookd.DeliveryFilter{TenantID: tn.ID, Page: hookd.Page{Limit: 100}})
	if err != nil {
		t.Fatalf("FindDeliveries: %v", err)
	}
	if len(ds) != 2 {
		t.Errorf("deliveries got %d, want 2", len(ds))
	}
}

func TestDB_OnWork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := mustOpenNodes(t, 1)[0]
	var calls atomic.Int32
	n.db.OnWork = func() { calls.Add(1) }
	tn := mustTenant(t, ctx, n)
	t0 := hookd.Now()

	if _, err := hookd.PublishEvent(ctx, n.events, newEvent(tn.ID, t0)); err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}
	if got := calls.Load(); got != 0 {
		t.Errorf("OnWork calls after a publish with no subscriber got %d, want 0", got)
	}
	mustCreateWebhook(t, ctx, n, tn.ID, "accounts.added")
	if _, err := n.events.PublishEvents(ctx, []*hookd.Event{newEvent(tn.ID, t0), newEvent(tn.ID, t0)}); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("OnWork calls after a publish of two events got %d, want 1", got)
	}
	tasks, err := n.deliveries.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: t0, Limit: 1, Lease: time.Minute})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("ClaimDeliveries got %d tasks, %v; want 1", len(tasks), err)
	}
	if _, err := n.deliveries.RedeliverDelivery(ctx, tn.ID, tasks[0].Delivery.ID, t0); err != nil {
		t.Fatalf("RedeliverDelivery: %v", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("OnWork calls after a redelivery got %d, want 2", got)
	}
}

// Text PostgreSQL cannot store is handled where it enters: a receiver's
// response body keeps its exact bytes, an attempt error loses NUL and
// invalid UTF-8, and a client's NUL is EINVALID rather than an internal
// error.
func TestDB_Text(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := mustOpenNodes(t, 1)[0]
	tn := mustTenant(t, ctx, n)
	w := mustCreateWebhook(t, ctx, n, tn.ID, "accounts.added")
	t0 := hookd.Now()
	e := newEvent(tn.ID, t0)
	e.Data = json.RawMessage(`{"account":"a","user":"u","z":"\u0000 <&>","a":[1, 2]}`)
	if _, err := hookd.PublishEvent(ctx, n.events, e); err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}
	got, err := n.events.FindEventByID(ctx, tn.ID, e.ID)
	if err != nil {
		t.Fatalf("FindEventByID: %v", err)
	}
	if string(got.Data) != string(e.Data) {
		t.Errorf("Data got %s, want %s", got.Data, e.Data)
	}

	tasks, err := n.deliveries.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: t0, Limit: 1, Lease: time.Minute})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("ClaimDeliveries got %d tasks, %v; want 1", len(tasks), err)
	}
	body := "\x00\xff\xfe not UTF-8"
	if err := n.deliveries.CompleteDeliveries(ctx, []hookd.AttemptResult{{
		DeliveryID: tasks[0].Delivery.ID, WebhookID: w.ID, Status: hookd.DeliveryFailed,
		Attempt: hookd.Attempt{Number: 1, StartedAt: t0, StatusCode: 400, ResponseBody: body, Error: "bad\x00 \xff"},
	}}); err != nil {
		t.Fatalf("CompleteDeliveries: %v", err)
	}
	d, err := n.deliveries.FindDeliveryByID(ctx, tn.ID, tasks[0].Delivery.ID)
	if err != nil {
		t.Fatalf("FindDeliveryByID: %v", err)
	}
	if len(d.Attempts) != 1 {
		t.Fatalf("attempts got %d, want 1", len(d.Attempts))
	}
	if got := d.Attempts[0].ResponseBody; got != body {
		t.Errorf("ResponseBody got %q, want %q", got, body)
	}
	if got, want := d.Attempts[0].Error, "bad \uFFFD"; got != want {
		t.Errorf("Error got %q, want %q", got, want)
	}

	name := "nul\x00name"
	_, err = n.webhooks.UpdateWebhook(ctx, tn.ID, w.ID, hookd.WebhookUpdate{Name: &name}, t0)
	if got := hookd.ErrorCode(err); got != hookd.EINVALID {
		t.Errorf("UpdateWebhook with a NUL in the name: got %v (code %q), want code %q", err, got, hookd.EINVALID)
	}
}

// Publishes made at the same time share transactions, yet each call keeps
// its own outcome: a call that fails (an event ID used before) fails alone,
// and calls repeating an idempotency key get one first result between them.
func TestEventService_GroupCommit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := mustOpenNodes(t, 1)[0]
	tn := mustTenant(t, ctx, n)
	mustCreateWebhook(t, ctx, n, tn.ID, "accounts.added")
	t0 := hookd.Now()
	taken := newEvent(tn.ID, t0)
	if _, err := hookd.PublishEvent(ctx, n.events, taken); err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}

	const calls = 60
	events := make([]*hookd.Event, calls)
	for i := range events {
		events[i] = newEvent(tn.ID, t0)
		switch {
		case i == calls/2:
			events[i].ID = taken.ID // conflicts
		case i%3 == 0:
			events[i].IdempotencyKey = "same"
		}
	}
	results := make([]hookd.PublishResult, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i, e := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = hookd.PublishEvent(ctx, n.events, e)
		}()
	}
	wg.Wait()

	var firstKeyed *hookd.PublishResult
	for i, e := range events {
		switch {
		case i == calls/2:
			if got := hookd.ErrorCode(errs[i]); got != hookd.ECONFLICT {
				t.Errorf("publish of a taken event ID: got %v (code %q), want code %q", errs[i], got, hookd.ECONFLICT)
			}
		case errs[i] != nil:
			t.Errorf("publish %d: %v", i, errs[i])
		case e.IdempotencyKey != "":
			if !results[i].Duplicate {
				if firstKeyed != nil {
					t.Errorf("publish %d: a second non-duplicate result for one idempotency key", i)
				}
				firstKeyed = &results[i]
			}
		case results[i] != (hookd.PublishResult{EventID: e.ID, Deliveries: 1}):
			t.Errorf("publish %d: got %+v, want event %s with 1 delivery", i, results[i], e.ID)
		}
	}
	if firstKeyed == nil {
		t.Fatalf("no non-duplicate result for the idempotency key")
	}
	for i, e := range events {
		if e.IdempotencyKey != "" && i != calls/2 && results[i].EventID != firstKeyed.EventID {
			t.Errorf("publish %d with the repeated key: EventID got %s, want %s", i, results[i].EventID, firstKeyed.EventID)
		}
	}
	// The first event, the unkeyed calls that succeeded and one keyed call
	// made a delivery each.
	unkeyed := 0
	for i, e := range events {
		if e.IdempotencyKey == "" && i != calls/2 {
			unkeyed++
		}
	}
	ds, _, err := n.deliveries.FindDeliveries(ctx, hookd.DeliveryFilter{TenantID: tn.ID, Page: hookd.Page{Limit: 200}})
	if err != nil {
		t.Fatalf("FindDeliveries: %v", err)
	}
	if got, want := len(ds), 1+unkeyed+1; got != want {
		t.Errorf("deliveries got %d, want %d", got, want)
	}
}

func TestDB_Close(t *testing.T) {
	n := mustOpenNodes(t, 1)[0]
	ctx := context.Background()
	tn := mustTenant(t, ctx, n)
	if err := n.db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := hookd.PublishEvent(ctx, n.events, newEvent(tn.ID, hookd.Now())); err == nil {
		t.Errorf("PublishEvent after Close: got nil error, want one")
	}
	if err := n.db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// With Secrets set, webhook secrets are sealed in the database and read
// back in the clear; secrets stored before the box was set still read.
func TestDB_Secrets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nodes := mustOpenNodes(t, 2)
	plain, sealed := nodes[0], nodes[1]
	box, err := hookd.NewSecretBox("0123456789abcdef-test-key")
	if err != nil {
		t.Fatal(err)
	}
	sealed.db.Secrets = box
	tn := mustTenant(t, ctx, plain)

	old := mustCreateWebhookWithSecret(t, ctx, plain, tn.ID, "old-secret")
	w := mustCreateWebhookWithSecret(t, ctx, sealed, tn.ID, "new-secret")
	prev := "new-secret"
	until := hookd.Truncate(time.Now().Add(time.Hour))
	next := "rotated-secret"
	if _, err := sealed.webhooks.UpdateWebhook(ctx, tn.ID, w.ID, hookd.WebhookUpdate{
		Secret: &next, PreviousSecret: &prev, PreviousSecretExpiresAt: &until}, hookd.Now()); err != nil {
		t.Fatalf("UpdateWebhook: %v", err)
	}

	for _, c := range []struct{ id, secret, previous string }{{old.ID, "old-secret", ""}, {w.ID, next, prev}} {
		got, err := sealed.webhooks.FindWebhookByID(ctx, tn.ID, c.id)
		if err != nil {
			t.Fatalf("FindWebhookByID: %v", err)
		}
		if got.Secret != c.secret || got.PreviousSecret != c.previous {
			t.Errorf("webhook %s secrets got %q, %q; want %q, %q", c.id, got.Secret, got.PreviousSecret, c.secret, c.previous)
		}
	}
	// The node without the key cannot read the sealed secrets.
	if _, err := plain.webhooks.FindWebhookByID(ctx, tn.ID, w.ID); err == nil {
		t.Errorf("FindWebhookByID without the key: got nil error, want one")
	}
}

func mustCreateWebhookWithSecret(tb testing.TB, ctx context.Context, n *node, tenantID, secret string) *hookd.Webhook {
	tb.Helper()
	now := hookd.Now()
	w := &hookd.Webhook{
		ID: hookd.NewID(), TenantID: tenantID, Name: "hook", Events: []string{"accounts.added"}, Secret: secret,
		URL: "https://example.com/hook", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now,
	}
	if err := n.webhooks.CreateWebhook(ctx, w); err != nil {
		tb.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

// CompleteDeliveries sums up a webhook's results in their order, ignores
// results for deliveries that do not exist, and records a batch that
// repeats a delivery as that many attempts.
func TestDeliveryService_CompleteBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := mustOpenNodes(t, 1)[0]
	tn := mustTenant(t, ctx, n)
	w := mustCreateWebhook(t, ctx, n, tn.ID, "accounts.added")
	t0 := hookd.Now()
	events := make([]*hookd.Event, 4)
	for i := range events {
		events[i] = newEvent(tn.ID, t0)
	}
	if _, err := n.events.PublishEvents(ctx, events); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	tasks, err := n.deliveries.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: t0, Limit: 10, Lease: time.Minute})
	if err != nil || len(tasks) != 4 {
		t.Fatalf("ClaimDeliveries got %d tasks, %v; want 4", len(tasks), err)
	}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	res := func(task *hookd.Task, status string, i int) hookd.AttemptResult {
		r := hookd.AttemptResult{DeliveryID: task.Delivery.ID, WebhookID: w.ID, Status: status,
			Attempt: hookd.Attempt{StartedAt: at(i), StatusCode: 500}}
		if status == hookd.DeliveryPending {
			r.NextAttemptAt = at(100)
		}
		return r
	}
	missing := hookd.AttemptResult{DeliveryID: hookd.NewID(), WebhookID: w.ID, Status: hookd.DeliverySucceeded,
		Attempt: hookd.Attempt{StartedAt: at(50), StatusCode: 200}}
	// A failure, a success, then two failures (the first retried): the
	// webhook fails since the first failure after the success.
	if err := n.deliveries.CompleteDeliveries(ctx, []hookd.AttemptResult{
		res(tasks[0], hookd.DeliveryFailed, 1),
		res(tasks[1], hookd.DeliverySucceeded, 2),
		res(tasks[2], hookd.DeliveryPending, 3),
		missing,
		res(tasks[3], hookd.DeliveryFailed, 4),
	}); err != nil {
		t.Fatalf("CompleteDeliveries: %v", err)
	}
	got, err := n.webhooks.FindWebhookByID(ctx, tn.ID, w.ID)
	if err != nil {
		t.Fatalf("FindWebhookByID: %v", err)
	}
	if got.FailingSince == nil || !got.FailingSince.Equal(at(3)) {
		t.Errorf("FailingSince got %v, want %s", got.FailingSince, hookd.FormatTime(at(3)))
	}
	if got.LastSentAt == nil || !got.LastSentAt.Equal(at(4)) {
		t.Errorf("LastSentAt got %v, want %s (the missing delivery's result ignored)", got.LastSentAt, hookd.FormatTime(at(4)))
	}

	// Only failures keep the first failing time; a repeated delivery is
	// recorded twice.
	if err := n.deliveries.CompleteDeliveries(ctx, []hookd.AttemptResult{
		res(tasks[2], hookd.DeliveryPending, 10),
		res(tasks[2], hookd.DeliveryFailed, 11),
	}); err != nil {
		t.Fatalf("CompleteDeliveries: %v", err)
	}
	if got, err = n.webhooks.FindWebhookByID(ctx, tn.ID, w.ID); err != nil {
		t.Fatalf("FindWebhookByID: %v", err)
	}
	if got.FailingSince == nil || !got.FailingSince.Equal(at(3)) {
		t.Errorf("FailingSince after more failures got %v, want %s", got.FailingSince, hookd.FormatTime(at(3)))
	}
	d, err := n.deliveries.FindDeliveryByID(ctx, tn.ID, tasks[2].Delivery.ID)
	if err != nil {
		t.Fatalf("FindDeliveryByID: %v", err)
	}
	if d.AttemptCount != 3 || len(d.Attempts) != 3 || d.Status != hookd.DeliveryFailed {
		t.Errorf("delivery got status %s, AttemptCount %d, %d attempts; want failed, 3, 3", d.Status, d.AttemptCount, len(d.Attempts))
	}
	for i, a := range d.Attempts {
		if a.Number != i+1 {
			t.Errorf("attempt %d: Number got %d, want %d", i, a.Number, i+1)
		}
	}

	// A success clears it, and a disable reason disables the webhook.
	r := res(tasks[1], hookd.DeliverySucceeded, 20)
	r.DisableWebhook = hookd.DisabledGone
	if err := n.deliveries.CompleteDeliveries(ctx, []hookd.AttemptResult{r}); err != nil {
		t.Fatalf("CompleteDeliveries: %v", err)
	}
	if got, err = n.webhooks.FindWebhookByID(ctx, tn.ID, w.ID); err != nil {
		t.Fatalf("FindWebhookByID: %v", err)
	}
	if got.FailingSince != nil || got.Status != hookd.WebhookDisabled || got.DisabledReason != hookd.DisabledGone {
		t.Errorf("webhook got FailingSince %v, status %s (%s); want nil, disabled (gone)", got.FailingSince, got.Status, got.DisabledReason)
	}
}

// Fair claims take turns across tenants, one step further on each, and wrap
// around after the last tenant.
func TestDeliveryService_FairRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := mustOpenNodes(t, 1)[0]
	t0 := hookd.Now()
	var tenants []string
	webhookTenant := make(map[string]string)
	for _, name := range []string{"a", "b", "c", "d"} {
		tn, err := n.tenants.EnsureTenant(ctx, name)
		if err != nil {
			t.Fatalf("EnsureTenant: %v", err)
		}
		tenants = append(tenants, tn.ID)
		w := mustCreateWebhook(t, ctx, n, tn.ID, "accounts.added")
		webhookTenant[w.ID] = tn.ID
		if _, err := n.events.PublishEvents(ctx, []*hookd.Event{newEvent(tn.ID, t0), newEvent(tn.ID, t0), newEvent(tn.ID, t0)}); err != nil {
			t.Fatalf("PublishEvents: %v", err)
		}
	}
	slices.Sort(tenants)
	want := append(append([]string{}, tenants...), tenants[0])
	var got []string
	for range want {
		// Fair claims come at most every 20 ms; the wait makes each one fair.
		time.Sleep(25 * time.Millisecond)
		tasks, err := n.deliveries.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: t0, Limit: 1, Lease: time.Hour})
		if err != nil || len(tasks) != 1 {
			t.Fatalf("ClaimDeliveries got %d tasks, %v; want 1", len(tasks), err)
		}
		got = append(got, webhookTenant[tasks[0].Delivery.WebhookID])
	}
	if !slices.Equal(got, want) {
		t.Errorf("tenants served got %v, want %v", got, want)
	}
}
