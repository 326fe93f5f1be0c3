// Package storetest is the conformance suite every hookd store passes. A
// store's tests call Run once with a function that opens a fresh, empty
// store; Run exercises each service method's contract as the hookd package
// documents it. The suite is dialect-neutral: it sets every timestamp itself,
// with microsecond precision, and compares times and IDs, never SQL.
package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// Stores are the services of one store under test, all on one database.
type Stores struct {
	Tenants    hookd.TenantService
	Webhooks   hookd.WebhookService
	Events     hookd.EventService
	Deliveries hookd.DeliveryService
}

// Run runs the conformance suite. open must return stores on a fresh,
// empty database, closed when t ends; it is called once per subtest.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("Tenants", func(t *testing.T) { exerciseTenants(t, open) })
	t.Run("APIKeys", func(t *testing.T) { exerciseAPIKeys(t, open) })
	t.Run("Webhooks", func(t *testing.T) { exerciseWebhooks(t, open) })
	t.Run("WebhookList", func(t *testing.T) { exerciseWebhookList(t, open) })
	t.Run("Publish", func(t *testing.T) { exercisePublish(t, open) })
	t.Run("DeliveryList", func(t *testing.T) { exerciseDeliveryList(t, open) })
	t.Run("DeliveryClaim", func(t *testing.T) { exerciseDeliveryClaim(t, open) })
	t.Run("DeliveryComplete", func(t *testing.T) { exerciseDeliveryComplete(t, open) })
	t.Run("Redeliver", func(t *testing.T) { exerciseRedeliver(t, open) })
	t.Run("Recover", func(t *testing.T) { exerciseRecover(t, open) })
	t.Run("DeleteWebhook", func(t *testing.T) { exerciseDeleteWebhook(t, open) })
	t.Run("Retention", func(t *testing.T) { exerciseRetention(t, open) })
	t.Run("QueueStats", func(t *testing.T) { exerciseQueueStats(t, open) })
	t.Run("Parking", func(t *testing.T) { exerciseParking(t, open) })
}

// testBundle is what one subtest works with: fresh stores, a tenant, and a
// fixed clock.
type testBundle struct {
	Stores
	ctx    context.Context
	tenant *hookd.Tenant
	// t0 is a fixed time with microsecond precision; tests derive every
	// timestamp from it with at.
	t0 time.Time
}

func setup(t *testing.T, open func(t *testing.T) Stores) *testBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	b := &testBundle{
		Stores: open(t),
		ctx:    ctx,
		t0:     time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC),
	}
	b.tenant = b.mustTenant(t, "acme")
	return b
}

// at returns t0 plus d.
func (b *testBundle) at(d time.Duration) time.Time {
	return b.t0.Add(d)
}

func (b *testBundle) mustTenant(t *testing.T, name string) *hookd.Tenant {
	t.Helper()
	tn, err := b.Tenants.EnsureTenant(b.ctx, name)
	if err != nil {
		t.Fatalf("EnsureTenant(%q): %v", name, err)
	}
	return tn
}

// newWebhook returns a valid, enabled webhook of tenantID subscribing to
// events, created at b.t0.
func (b *testBundle) newWebhook(tenantID string, events ...string) *hookd.Webhook {
	if len(events) == 0 {
		events = []string{"accounts.added"}
	}
	return &hookd.Webhook{
		ID:        hookd.NewID(),
		TenantID:  tenantID,
		Name:      "hook",
		Events:    events,
		URL:       "https://example.com/hook",
		Status:    hookd.WebhookEnabled,
		CreatedAt: b.t0,
		UpdatedAt: b.t0,
	}
}

func (b *testBundle) mustCreateWebhook(t *testing.T, w *hookd.Webhook) *hookd.Webhook {
	t.Helper()
	if err := b.Webhooks.CreateWebhook(b.ctx, w); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

// mustWebhook creates an enabled webhook of the bundle's tenant.
func (b *testBundle) mustWebhook(t *testing.T, events ...string) *hookd.Webhook {
	t.Helper()
	return b.mustCreateWebhook(t, b.newWebhook(b.tenant.ID, events...))
}

func (b *testBundle) mustFindWebhook(t *testing.T, tenantID, id string) *hookd.Webhook {
	t.Helper()
	w, err := b.Webhooks.FindWebhookByID(b.ctx, tenantID, id)
	if err != nil {
		t.Fatalf("FindWebhookByID(%s): %v", id, err)
	}
	return w
}

// newEvent returns an event of tenantID and type typ created at created.
func newEvent(tenantID, typ string, created time.Time) *hookd.Event {
	return &hookd.Event{
		ID:        hookd.NewID(),
		TenantID:  tenantID,
		Type:      typ,
		Data:      json.RawMessage(`{"account":"0190a7c2-0000-7000-8000-000000000001","user":"0190a7c2-0000-7000-8000-000000000002","x":1}`),
		CreatedAt: created,
	}
}

func (b *testBundle) mustPublish(t *testing.T, e *hookd.Event) hookd.PublishResult {
	t.Helper()
	r, err := hookd.PublishEvent(b.ctx, b.Events, e)
	if err != nil {
		t.Fatalf("PublishEvent(%s): %v", e.Type, err)
	}
	return r
}

// mustDeliver publishes an accounts.added event of the bundle's tenant
// created at created and returns its deliveries, ordered by webhook ID.
func (b *testBundle) mustDeliver(t *testing.T, created time.Time) []*hookd.Delivery {
	t.Helper()
	e := newEvent(b.tenant.ID, "accounts.added", created)
	b.mustPublish(t, e)
	return b.mustEventDeliveries(t, b.tenant.ID, e.ID)
}

// mustEventDeliveries returns the event's deliveries ordered by webhook ID.
func (b *testBundle) mustEventDeliveries(t *testing.T, tenantID, eventID string) []*hookd.Delivery {
	t.Helper()
	ds := b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: tenantID, EventID: eventID})
	slices.SortFunc(ds, func(x, y *hookd.Delivery) int { return compareStrings(x.WebhookID, y.WebhookID) })
	return ds
}

// mustFindDeliveries returns every delivery the filter selects, reading
// pages of 200.
func (b *testBundle) mustFindDeliveries(t *testing.T, f hookd.DeliveryFilter) []*hookd.Delivery {
	t.Helper()
	var all []*hookd.Delivery
	f.Page = hookd.Page{Limit: 200}
	for range 100 {
		ds, more, err := b.Deliveries.FindDeliveries(b.ctx, f)
		if err != nil {
			t.Fatalf("FindDeliveries: %v", err)
		}
		all = append(all, ds...)
		if !more || len(ds) == 0 {
			return all
		}
		last := ds[len(ds)-1]
		f.Page.After = &hookd.Cursor{Time: last.CreatedAt, ID: last.ID}
	}
	t.Fatalf("FindDeliveries: more than 100 pages")
	return nil
}

func (b *testBundle) mustFindDelivery(t *testing.T, tenantID, id string) *hookd.Delivery {
	t.Helper()
	d, err := b.Deliveries.FindDeliveryByID(b.ctx, tenantID, id)
	if err != nil {
		t.Fatalf("FindDeliveryByID(%s): %v", id, err)
	}
	return d
}

func (b *testBundle) mustClaim(t *testing.T, req hookd.ClaimRequest) []*hookd.Task {
	t.Helper()
	tasks, err := b.Deliveries.ClaimDeliveries(b.ctx, req)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	return tasks
}

func (b *testBundle) mustComplete(t *testing.T, results ...hookd.AttemptResult) {
	t.Helper()
	if err := b.Deliveries.CompleteDeliveries(b.ctx, results); err != nil {
		t.Fatalf("CompleteDeliveries: %v", err)
	}
}

// result returns the outcome of one attempt on d started at started:
// status 200 and succeeded, or status 500 and then failed or (when next is
// set) pending until next.
func result(d *hookd.Delivery, status string, started time.Time, next time.Time) hookd.AttemptResult {
	r := hookd.AttemptResult{
		DeliveryID: d.ID,
		WebhookID:  d.WebhookID,
		Attempt: hookd.Attempt{
			Number:       d.AttemptCount + 1,
			StartedAt:    started,
			StatusCode:   500,
			Latency:      123 * time.Millisecond,
			ResponseBody: "oops",
			Error:        "status 500",
		},
		Status:        status,
		NextAttemptAt: next,
	}
	if status == hookd.DeliverySucceeded {
		r.Attempt.StatusCode, r.Attempt.ResponseBody, r.Attempt.Error = 200, "ok", ""
	}
	return r
}

// wantCode fails t unless err carries the application error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := hookd.ErrorCode(err); got != code {
		t.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

// dump renders v as JSON, times included, for comparisons whose failure
// message shows both sides.
func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "!" + err.Error()
	}
	return string(b)
}

// equalTime reports whether two optional times are both nil or equal.
func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func timeString(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return hookd.FormatTime(*t)
}

func ptr[T any](v T) *T { return &v }

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ids[T any](items []T, id func(T) string) []string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = id(it)
	}
	return s
}

func webhookIDs(ws []*hookd.Webhook) []string {
	return ids(ws, func(w *hookd.Webhook) string { return w.ID })
}

func deliveryIDs(ds []*hookd.Delivery) []string {
	return ids(ds, func(d *hookd.Delivery) string { return d.ID })
}

func taskIDs(ts []*hookd.Task) []string {
	return ids(ts, func(t *hookd.Task) string { return t.Delivery.ID })
}

func sorted(s []string) []string {
	s = append([]string{}, s...)
	slices.Sort(s)
	return s
}

// AppendSuccesses appends to results, for each task, the success of its
// first attempt started at at: what a worker records once it has delivered
// them. The stores' benchmarks complete their claims with it.
func AppendSuccesses(results []hookd.AttemptResult, tasks []*hookd.Task, at time.Time) []hookd.AttemptResult {
	for _, t := range tasks {
		results = append(results, hookd.AttemptResult{
			DeliveryID: t.Delivery.ID, WebhookID: t.Webhook.ID, Status: hookd.DeliverySucceeded,
			Attempt: hookd.Attempt{Number: 1, StartedAt: at, StatusCode: 200, Latency: time.Millisecond, ResponseBody: "ok"},
		})
	}
	return results
}
