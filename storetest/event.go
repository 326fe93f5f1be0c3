package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func exercisePublish(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("FanOut", func(t *testing.T) {
		b := setup(t, open)
		w1 := b.mustWebhook(t, "accounts.added")
		w2 := b.mustWebhook(t, hookd.Wildcard)
		b.mustWebhook(t, "activities.added")
		disabled := b.newWebhook(b.tenant.ID, "accounts.added")
		disabled.Status, disabled.DisabledReason = hookd.WebhookDisabled, hookd.DisabledManual
		b.mustCreateWebhook(t, disabled)
		other := b.mustTenant(t, "globex")
		b.mustCreateWebhook(t, b.newWebhook(other.ID, "accounts.added"))

		e := newEvent(b.tenant.ID, "accounts.added", b.at(time.Minute))
		r := b.mustPublish(t, e)
		if r.EventID != e.ID || r.Deliveries != 2 || r.Duplicate {
			t.Fatalf("PublishEvent got %+v, want {EventID:%s Deliveries:2 Duplicate:false}", r, e.ID)
		}
		ds := b.mustEventDeliveries(t, b.tenant.ID, e.ID)
		if got, want := sorted(ids(ds, func(d *hookd.Delivery) string { return d.WebhookID })), sorted([]string{w1.ID, w2.ID}); dump(got) != dump(want) {
			t.Fatalf("deliveries went to %v, want %v", got, want)
		}
		for _, d := range ds {
			if d.ID == "" || d.TenantID != b.tenant.ID || d.EventID != e.ID || d.EventType != e.Type ||
				d.Status != hookd.DeliveryPending || d.AttemptCount != 0 || d.RetryBase != 0 ||
				!equalTime(d.NextAttemptAt, &e.CreatedAt) || !d.CreatedAt.Equal(e.CreatedAt) ||
				d.LastAttemptAt != nil || len(d.Attempts) != 0 {
				t.Errorf("new delivery got %s, want pending, no attempts, due and created at the event's %s",
					dump(d), hookd.FormatTime(e.CreatedAt))
			}
		}
		if otherDs := b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: other.ID}); len(otherDs) != 0 {
			t.Errorf("another tenant's webhook got %d deliveries, want 0", len(otherDs))
		}
	})

	t.Run("NoSubscribers", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t, "accounts.added")
		e := newEvent(b.tenant.ID, "accounts.removed", b.t0)
		if r := b.mustPublish(t, e); r.Deliveries != 0 || r.EventID != e.ID {
			t.Errorf("PublishEvent got %+v, want no deliveries", r)
		}
		if _, err := b.Events.FindEventByID(b.ctx, b.tenant.ID, e.ID); err != nil {
			t.Errorf("an event without deliveries is still recorded: FindEventByID: %v", err)
		}
	})

	t.Run("FindEventByID/OK", func(t *testing.T) {
		b := setup(t, open)
		e := newEvent(b.tenant.ID, "accounts.added", b.at(time.Second))
		e.Data = json.RawMessage(`{"account":"a","user":"u","z":{"b":2,"a":1},"html":"<&>"}`)
		e.Resource = json.RawMessage(`{"id":"a","status":"connected"}`)
		e.IdempotencyKey = "key-1"
		e.Webhooks = []string{hookd.NewID()}
		b.mustPublish(t, e)
		got, err := b.Events.FindEventByID(b.ctx, b.tenant.ID, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Data and Resource keep their exact bytes: key order matters in payloads.
		if dump(got) != dump(e) || string(got.Data) != string(e.Data) || string(got.Resource) != string(e.Resource) {
			t.Errorf("FindEventByID got\n%s\nwant\n%s", dump(got), dump(e))
		}
		plain := newEvent(b.tenant.ID, "accounts.added", b.t0)
		b.mustPublish(t, plain)
		if got, err := b.Events.FindEventByID(b.ctx, b.tenant.ID, plain.ID); err != nil || got.Resource != nil || got.IdempotencyKey != "" || got.Webhooks != nil {
			t.Errorf("event without optional fields read back as %s (err %v)", dump(got), err)
		}
	})

	t.Run("FindEventByID/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		e := newEvent(b.tenant.ID, "accounts.added", b.t0)
		b.mustPublish(t, e)
		other := b.mustTenant(t, "globex")
		_, err := b.Events.FindEventByID(b.ctx, b.tenant.ID, hookd.NewID())
		wantCode(t, "FindEventByID(missing)", err, hookd.ENOTFOUND)
		_, err = b.Events.FindEventByID(b.ctx, other.ID, e.ID)
		wantCode(t, "FindEventByID(another tenant's)", err, hookd.ENOTFOUND)
	})

	t.Run("Batch", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t, "accounts.added")
		b.mustWebhook(t, "accounts.added", "activities.added")
		events := []*hookd.Event{
			newEvent(b.tenant.ID, "activities.added", b.t0),
			newEvent(b.tenant.ID, "accounts.added", b.t0),
			newEvent(b.tenant.ID, "users.fully_synced", b.t0),
		}
		rs, err := b.Events.PublishEvents(b.ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		want := []hookd.PublishResult{{EventID: events[0].ID, Deliveries: 1}, {EventID: events[1].ID, Deliveries: 2}, {EventID: events[2].ID}}
		if dump(rs) != dump(want) {
			t.Errorf("PublishEvents got %+v, want %+v", rs, want)
		}
		if ds := b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: b.tenant.ID}); len(ds) != 3 {
			t.Errorf("got %d deliveries, want 3", len(ds))
		}
	})

	t.Run("Idempotency", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t, "accounts.added")
		b.mustWebhook(t, hookd.Wildcard)
		first := newEvent(b.tenant.ID, "accounts.added", b.t0)
		first.IdempotencyKey = "order-42"
		r1 := b.mustPublish(t, first)

		again := newEvent(b.tenant.ID, "accounts.added", b.at(time.Second))
		again.IdempotencyKey = "order-42"
		r2 := b.mustPublish(t, again)
		if want := (hookd.PublishResult{EventID: first.ID, Deliveries: 2, Duplicate: true}); r2 != want {
			t.Errorf("repeated key got %+v, want %+v", r2, want)
		}
		if r1.Duplicate {
			t.Errorf("first publish got Duplicate=true")
		}
		if ds := b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: b.tenant.ID}); len(ds) != 2 {
			t.Errorf("after a repeated key got %d deliveries, want 2", len(ds))
		}
		_, err := b.Events.FindEventByID(b.ctx, b.tenant.ID, again.ID)
		wantCode(t, "FindEventByID(the duplicate)", err, hookd.ENOTFOUND)

		// The key is scoped by tenant.
		other := b.mustTenant(t, "globex")
		theirs := newEvent(other.ID, "accounts.added", b.t0)
		theirs.IdempotencyKey = "order-42"
		if r := b.mustPublish(t, theirs); r.Duplicate || r.EventID != theirs.ID {
			t.Errorf("same key in another tenant got %+v, want a new event", r)
		}

		// Within one batch, the second use of a key is a duplicate of the first.
		x, y := newEvent(b.tenant.ID, "activities.added", b.t0), newEvent(b.tenant.ID, "activities.added", b.t0)
		x.IdempotencyKey, y.IdempotencyKey = "batch-key", "batch-key"
		rs, err := b.Events.PublishEvents(b.ctx, []*hookd.Event{x, y})
		if err != nil {
			t.Fatal(err)
		}
		want := []hookd.PublishResult{{EventID: x.ID, Deliveries: 1}, {EventID: x.ID, Deliveries: 1, Duplicate: true}}
		if dump(rs) != dump(want) || !rs[1].Duplicate {
			t.Errorf("same key twice in a batch got %+v, want %+v", rs, want)
		}
	})

	t.Run("WebhooksNarrowing", func(t *testing.T) {
		b := setup(t, open)
		w1 := b.mustWebhook(t, "accounts.added")
		w2 := b.mustWebhook(t, "accounts.added")
		notSubscribed := b.mustWebhook(t, "activities.added")
		disabled := b.newWebhook(b.tenant.ID, "accounts.added")
		disabled.Status, disabled.DisabledReason = hookd.WebhookDisabled, hookd.DisabledGone
		b.mustCreateWebhook(t, disabled)
		other := b.mustTenant(t, "globex")
		theirs := b.mustCreateWebhook(t, b.newWebhook(other.ID, "accounts.added"))

		for _, tc := range []struct {
			name     string
			webhooks []string
			want     []string
		}{
			{"One", []string{w2.ID}, []string{w2.ID}},
			{"Both", []string{w1.ID, w2.ID}, []string{w1.ID, w2.ID}},
			{"NotSubscribed", []string{notSubscribed.ID}, nil},
			{"Disabled", []string{disabled.ID}, nil},
			{"AnotherTenants", []string{theirs.ID}, nil},
			{"Empty", []string{}, nil},
		} {
			e := newEvent(b.tenant.ID, "accounts.added", b.t0)
			e.Webhooks = tc.webhooks
			r := b.mustPublish(t, e)
			got := ids(b.mustEventDeliveries(t, b.tenant.ID, e.ID), func(d *hookd.Delivery) string { return d.WebhookID })
			if r.Deliveries != len(tc.want) || dump(sorted(got)) != dump(sorted(tc.want)) {
				t.Errorf("%s: Webhooks=%v got %d deliveries to %v, want %v", tc.name, tc.webhooks, r.Deliveries, got, tc.want)
			}
		}
	})
}
