package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// exerciseParking runs against stores that implement hookd.DeliveryParker
// (SQLite); others have nothing to check here.
func exerciseParking(t *testing.T, open func(t *testing.T) Stores) {
	if _, ok := open(t).Deliveries.(hookd.DeliveryParker); !ok {
		t.Log("the store does not park deliveries")
		return
	}
	// parked sets up a tenant with two webhooks, the first parked.
	parked := func(t *testing.T) (b *testBundle, p hookd.DeliveryParker, dead, live *hookd.Webhook) {
		b = setup(t, open)
		p = b.Deliveries.(hookd.DeliveryParker)
		dead, live = b.mustWebhook(t), b.mustWebhook(t)
		p.ParkWebhook(dead.ID)
		return b, p, dead, live
	}
	claimAll := func(t *testing.T, b *testBundle, now time.Time) map[string]int {
		t.Helper()
		got := make(map[string]int)
		for _, task := range b.mustClaim(t, hookd.ClaimRequest{Now: now, Limit: 100, Lease: 24 * time.Hour}) {
			got[task.Webhook.ID]++
		}
		return got
	}

	t.Run("NotClaimed", func(t *testing.T) {
		b, _, dead, live := parked(t)
		if r := b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.t0)); r.Deliveries != 2 {
			t.Errorf("publish got %d deliveries, want 2 (one parked)", r.Deliveries)
		}
		if got := claimAll(t, b, b.at(time.Hour)); got[dead.ID] != 0 || got[live.ID] != 1 {
			t.Errorf("claims got %v, want only the live webhook's delivery", got)
		}
		st, err := b.Deliveries.QueueStats(b.ctx, b.at(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != 2 || st.Due != 0 {
			t.Errorf("QueueStats got pending %d due %d, want 2 (one parked, one claimed), 0", st.Pending, st.Due)
		}
	})

	t.Run("ReadUnparks", func(t *testing.T) {
		b, _, dead, _ := parked(t)
		e := newEvent(b.tenant.ID, "accounts.added", b.t0)
		b.mustPublish(t, e)
		ds := b.mustEventDeliveries(t, b.tenant.ID, e.ID)
		if len(ds) != 2 {
			t.Fatalf("deliveries of the event got %d, want 2", len(ds))
		}
		for _, d := range ds {
			if d.Status != hookd.DeliveryPending || !d.CreatedAt.Equal(b.t0) || !equalTime(d.NextAttemptAt, &b.t0) {
				t.Errorf("delivery got %s, want pending, created and due at %s", dump(d), hookd.FormatTime(b.t0))
			}
		}
		if got := claimAll(t, b, b.at(time.Second)); got[dead.ID] != 1 {
			t.Errorf("claims after the read got %v, want the parked delivery", got)
		}
		// Still parked: the next publish parks again.
		b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.at(time.Minute)))
		if got := claimAll(t, b, b.at(time.Hour)); got[dead.ID] != 0 {
			t.Errorf("claims after another publish got %v, want nothing of the parked webhook", got)
		}
	})

	t.Run("UnparkWebhook", func(t *testing.T) {
		b, p, dead, _ := parked(t)
		for i := range 3 {
			b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.at(time.Duration(i)*time.Second)))
		}
		claimAll(t, b, b.at(time.Hour)) // the live webhook's
		p.UnparkWebhook(dead.ID)
		got := 0
		for deadline := time.Now().Add(10 * time.Second); got < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			got += claimAll(t, b, b.at(time.Hour))[dead.ID]
		}
		if got != 3 {
			t.Errorf("claimed %d of the unparked webhook's deliveries within 10s, want 3", got)
		}
		b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.at(time.Minute)))
		if got := claimAll(t, b, b.at(time.Hour)); got[dead.ID] != 1 {
			t.Errorf("claims after publishing to the unparked webhook got %v, want its new delivery", got)
		}
	})

	t.Run("UnparkDeliveries", func(t *testing.T) {
		b, p, dead, _ := parked(t)
		var events []*hookd.Event
		for i := range 3 {
			e := newEvent(b.tenant.ID, "accounts.added", b.at(time.Duration(i)*time.Second))
			events = append(events, e)
			b.mustPublish(t, e)
		}
		if n, err := p.UnparkDeliveries(b.ctx, dead.ID, 2); err != nil || n != 2 {
			t.Fatalf("UnparkDeliveries got %d, %v, want 2", n, err)
		}
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 100, Lease: time.Minute})
		var got []string
		for _, task := range tasks {
			if task.Webhook.ID == dead.ID {
				got = append(got, task.Event.ID)
			}
		}
		if len(got) != 2 || got[0] != events[0].ID || got[1] != events[1].ID {
			t.Errorf("claimed events of the parked webhook got %v, want the two oldest %v", got, []string{events[0].ID, events[1].ID})
		}
		if n, err := p.UnparkDeliveries(b.ctx, dead.ID, 5); err != nil || n != 1 {
			t.Errorf("UnparkDeliveries of the rest got %d, %v, want 1", n, err)
		}
		if n, err := p.UnparkDeliveries(b.ctx, dead.ID, 5); err != nil || n != 0 {
			t.Errorf("UnparkDeliveries with none left got %d, %v, want 0", n, err)
		}
	})

	t.Run("DeleteWebhook", func(t *testing.T) {
		b, _, dead, live := parked(t)
		b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.t0))
		if err := b.Webhooks.DeleteWebhook(b.ctx, b.tenant.ID, dead.ID); err != nil {
			t.Fatal(err)
		}
		st, err := b.Deliveries.QueueStats(b.ctx, b.at(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != 1 {
			t.Errorf("QueueStats after deleting the parked webhook got pending %d, want 1", st.Pending)
		}
		ds := b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: b.tenant.ID})
		if len(ds) != 1 || ds[0].WebhookID != live.ID {
			t.Errorf("deliveries got %s, want only the live webhook's", dump(ds))
		}
	})

	t.Run("RetentionKeepsEvents", func(t *testing.T) {
		b, _, dead, live := parked(t)
		e := newEvent(b.tenant.ID, "accounts.added", b.t0)
		b.mustPublish(t, e)
		live0 := claimAll(t, b, b.at(time.Second))
		if live0[live.ID] != 1 {
			t.Fatalf("claims got %v, want the live webhook's delivery", live0)
		}
		// The live webhook's delivery finishes; the parked one waits.
		for _, d := range b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: b.tenant.ID, WebhookID: live.ID}) {
			b.mustComplete(t, result(d, hookd.DeliverySucceeded, b.at(time.Second), time.Time{}))
		}
		// That read unparked the tenant's deliveries; park again.
		b.Deliveries.(hookd.DeliveryParker).ParkWebhook(dead.ID)
		e2 := newEvent(b.tenant.ID, "accounts.added", b.at(time.Minute))
		b.mustPublish(t, e2)
		if _, err := b.Deliveries.DeleteDeliveriesBefore(b.ctx, b.at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Events.FindEventByID(b.ctx, b.tenant.ID, e2.ID); err != nil {
			t.Errorf("the parked delivery's event: %v, want it kept", err)
		}
		ds := b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: b.tenant.ID, WebhookID: dead.ID})
		if len(ds) != 2 {
			t.Errorf("the parked webhook's deliveries after retention got %s, want 2 pending", dump(ds))
		}
	})
}
