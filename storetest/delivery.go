package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func exerciseDeliveryList(t *testing.T, open func(t *testing.T) Stores) {
	type fixture struct {
		w1, w2     *hookd.Webhook
		e1, e2, e3 *hookd.Event
		all        []*hookd.Delivery // newest first
	}
	// setupList publishes e1 (t0) and e3 (t2) to w1 and w2, e2 (t1) to w1;
	// e1's delivery to w1 succeeds and e3's to w2 fails.
	setupList := func(t *testing.T, b *testBundle) *fixture {
		t.Helper()
		f := &fixture{
			w1: b.mustWebhook(t, "accounts.added", "activities.added"),
			w2: b.mustWebhook(t, "accounts.added"),
			e1: newEvent(b.tenant.ID, "accounts.added", b.t0),
			e2: newEvent(b.tenant.ID, "activities.added", b.at(time.Second)),
			e3: newEvent(b.tenant.ID, "accounts.added", b.at(2*time.Second)),
		}
		for _, e := range []*hookd.Event{f.e1, f.e2, f.e3} {
			b.mustPublish(t, e)
		}
		for _, d := range b.mustEventDeliveries(t, b.tenant.ID, f.e1.ID) {
			if d.WebhookID == f.w1.ID {
				b.mustComplete(t, result(d, hookd.DeliverySucceeded, b.at(time.Minute), time.Time{}))
			}
		}
		for _, d := range b.mustEventDeliveries(t, b.tenant.ID, f.e3.ID) {
			if d.WebhookID == f.w2.ID {
				b.mustComplete(t, result(d, hookd.DeliveryFailed, b.at(time.Minute), time.Time{}))
			}
		}
		for _, e := range []*hookd.Event{f.e1, f.e2, f.e3} {
			f.all = append(f.all, b.mustEventDeliveries(t, b.tenant.ID, e.ID)...)
		}
		slices.SortFunc(f.all, func(x, y *hookd.Delivery) int {
			if c := y.CreatedAt.Compare(x.CreatedAt); c != 0 {
				return c
			}
			return compareStrings(y.ID, x.ID)
		})
		return f
	}

	t.Run("Filters", func(t *testing.T) {
		b := setup(t, open)
		f := setupList(t, b)
		other := b.mustTenant(t, "globex")
		for _, tc := range []struct {
			name   string
			filter hookd.DeliveryFilter
			want   int
		}{
			{"All", hookd.DeliveryFilter{}, 5},
			{"Webhook", hookd.DeliveryFilter{WebhookID: f.w2.ID}, 2},
			{"Event", hookd.DeliveryFilter{EventID: f.e2.ID}, 1},
			{"EventType", hookd.DeliveryFilter{EventType: "accounts.added"}, 4},
			{"Succeeded", hookd.DeliveryFilter{Status: hookd.DeliverySucceeded}, 1},
			{"Failed", hookd.DeliveryFilter{Status: hookd.DeliveryFailed}, 1},
			{"Pending", hookd.DeliveryFilter{Status: hookd.DeliveryPending}, 3},
			{"CreatedExactly", hookd.DeliveryFilter{CreatedFrom: ptr(b.at(time.Second)), CreatedTo: ptr(b.at(time.Second))}, 1},
			{"CreatedFrom", hookd.DeliveryFilter{CreatedFrom: ptr(b.at(time.Second))}, 3},
			{"CreatedTo", hookd.DeliveryFilter{CreatedTo: ptr(b.at(time.Second))}, 3},
			{"WebhookAndType", hookd.DeliveryFilter{WebhookID: f.w1.ID, EventType: "accounts.added"}, 2},
			{"AnotherTenant", hookd.DeliveryFilter{TenantID: other.ID}, 0},
			{"AnotherTenantsWebhook", hookd.DeliveryFilter{TenantID: other.ID, WebhookID: f.w1.ID}, 0},
		} {
			if tc.filter.TenantID == "" {
				tc.filter.TenantID = b.tenant.ID
			}
			ds := b.mustFindDeliveries(t, tc.filter)
			if len(ds) != tc.want {
				t.Errorf("%s: got %d deliveries, want %d", tc.name, len(ds), tc.want)
			}
			for _, d := range ds {
				if (tc.filter.WebhookID != "" && d.WebhookID != tc.filter.WebhookID) ||
					(tc.filter.Status != "" && d.Status != tc.filter.Status) ||
					(tc.filter.EventType != "" && d.EventType != tc.filter.EventType) {
					t.Errorf("%s: got a delivery outside the filter: %s", tc.name, dump(d))
				}
			}
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		b := setup(t, open)
		f := setupList(t, b)
		want := deliveryIDs(f.all)
		list := func(page hookd.Page) ([]string, bool) {
			t.Helper()
			ds, more, err := b.Deliveries.FindDeliveries(b.ctx, hookd.DeliveryFilter{TenantID: b.tenant.ID, Page: page})
			if err != nil {
				t.Fatalf("FindDeliveries: %v", err)
			}
			return deliveryIDs(ds), more
		}
		cursor := func(i int) *hookd.Cursor {
			return &hookd.Cursor{Time: f.all[i].CreatedAt, ID: f.all[i].ID}
		}
		if got, more := list(hookd.Page{Limit: 10}); dump(got) != dump(want) || more {
			t.Fatalf("newest first got %v more=%v, want %v", got, more, want)
		}
		for i, page := range [][]string{want[0:2], want[2:4], want[4:]} {
			p := hookd.Page{Limit: 2}
			if i > 0 {
				p.After = cursor(2*i - 1)
			}
			if got, more := list(p); dump(got) != dump(page) || more != (i < 2) {
				t.Errorf("forward page %d got %v more=%v, want %v more=%v", i, got, more, page, i < 2)
			}
		}
		for i, page := range [][]string{want[2:4], want[0:2]} {
			if got, more := list(hookd.Page{Limit: 2, Before: cursor(4 - 2*i)}); dump(got) != dump(page) || more != (i == 0) {
				t.Errorf("backward page %d got %v more=%v, want %v more=%v", i, got, more, page, i == 0)
			}
		}
	})

	t.Run("Attempts", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		r1 := result(d, hookd.DeliveryPending, b.at(time.Second), b.at(time.Minute))
		r1.Attempt.StatusCode, r1.Attempt.ResponseBody, r1.Attempt.Error = 0, "", "dial tcp: connection refused"
		b.mustComplete(t, r1)
		d.AttemptCount++
		r2 := result(d, hookd.DeliverySucceeded, b.at(time.Minute), time.Time{})
		r2.Attempt.ResponseBody = `{"ok":true}` + "\n\u00e9"
		b.mustComplete(t, r2)

		want := []hookd.Attempt{r1.Attempt, r2.Attempt}
		want[0].Number, want[1].Number = 1, 2
		got := b.mustFindDelivery(t, b.tenant.ID, d.ID)
		if dump(got.Attempts) != dump(want) {
			t.Errorf("FindDeliveryByID attempts got\n%s\nwant\n%s", dump(got.Attempts), dump(want))
		}
		listed := b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: b.tenant.ID})
		if len(listed) != 1 || dump(listed[0].Attempts) != dump(want) {
			t.Errorf("FindDeliveries attempts got\n%s\nwant\n%s", dump(listed), dump(want))
		}
	})

	t.Run("FindDeliveryByID/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		other := b.mustTenant(t, "globex")
		_, err := b.Deliveries.FindDeliveryByID(b.ctx, b.tenant.ID, hookd.NewID())
		wantCode(t, "FindDeliveryByID(missing)", err, hookd.ENOTFOUND)
		_, err = b.Deliveries.FindDeliveryByID(b.ctx, other.ID, d.ID)
		wantCode(t, "FindDeliveryByID(another tenant's)", err, hookd.ENOTFOUND)
	})
}

func exerciseDeliveryClaim(t *testing.T, open func(t *testing.T) Stores) {
	const lease = 30 * time.Second

	t.Run("OK", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		d0 := b.mustDeliver(t, b.t0)[0]
		d1 := b.mustDeliver(t, b.at(time.Second))[0]
		b.mustDeliver(t, b.at(2*time.Second))
		now := b.at(time.Second)
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: now, Limit: 10, Lease: lease})
		if got, want := sorted(taskIDs(tasks)), sorted([]string{d0.ID, d1.ID}); dump(got) != dump(want) {
			t.Fatalf("claimed %v, want the two due at or before now %v", got, want)
		}
		for _, task := range tasks {
			d := task.Delivery
			if d.Status != hookd.DeliveryPending || !equalTime(d.NextAttemptAt, ptr(now.Add(lease))) {
				t.Errorf("claimed delivery got status %q next attempt %s, want pending, %s",
					d.Status, timeString(d.NextAttemptAt), hookd.FormatTime(now.Add(lease)))
			}
			if task.Webhook == nil || task.Webhook.ID != w.ID || task.Webhook.URL != w.URL {
				t.Errorf("task webhook got %s, want %s", dump(task.Webhook), dump(w))
			}
			if task.Event == nil || task.Event.ID != d.EventID || task.Event.Type != "accounts.added" || len(task.Event.Data) == 0 {
				t.Errorf("task event got %s, want event %s with its data", dump(task.Event), d.EventID)
			}
			if found := b.mustFindDelivery(t, b.tenant.ID, d.ID); !equalTime(found.NextAttemptAt, ptr(now.Add(lease))) {
				t.Errorf("stored next attempt got %s, want the lease expiry %s", timeString(found.NextAttemptAt), hookd.FormatTime(now.Add(lease)))
			}
		}
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: now, Limit: 10, Lease: lease}); len(tasks) != 0 {
			t.Errorf("claiming again within the lease got %v, want nothing", taskIDs(tasks))
		}
	})

	t.Run("OldestDueFirst", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		d2 := b.mustDeliver(t, b.at(2*time.Second))[0]
		d0 := b.mustDeliver(t, b.t0)[0]
		d1 := b.mustDeliver(t, b.at(time.Second))[0]
		for _, want := range []*hookd.Delivery{d0, d1, d2} {
			tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 1, Lease: lease})
			if got := taskIDs(tasks); len(got) != 1 || got[0] != want.ID {
				t.Fatalf("claim 1 got %v, want the oldest due [%s]", got, want.ID)
			}
		}
	})

	// A delivery can become due behind those claimed already: an event
	// published with an earlier created_at commits after them. A claim with
	// room for every due delivery takes it too.
	t.Run("DueBehindEarlierClaims", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		var later []string
		for i := 1; i <= 6; i++ {
			later = append(later, b.mustDeliver(t, b.at(time.Duration(i)*time.Second))[0].ID)
		}
		var got []string
		for range 2 {
			got = append(got, taskIDs(b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 2, Lease: lease}))...)
		}
		if want := later[:4]; dump(got) != dump(want) {
			t.Fatalf("two claims of 2 got %v, want the 4 oldest %v", got, want)
		}
		early := b.mustDeliver(t, b.t0)[0]
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 10, Lease: lease})
		if got, want := sorted(taskIDs(tasks)), sorted([]string{early.ID, later[4], later[5]}); dump(got) != dump(want) {
			t.Fatalf("claim of 10 got %v, want the 3 due and unclaimed %v", got, want)
		}
	})

	// A backlog must not starve anyone: a claim shares itself out across
	// tenants with due work, and within a tenant across its webhooks, even
	// when one lane's deliveries are all older than another's.
	t.Run("FairAcrossTenants", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		other := b.mustTenant(t, "small")
		small := b.mustCreateWebhook(t, b.newWebhook(other.ID))
		var backlog []*hookd.Event
		for i := range 60 {
			backlog = append(backlog, newEvent(b.tenant.ID, "accounts.added", b.at(time.Duration(i)*time.Millisecond)))
		}
		if _, err := b.Events.PublishEvents(b.ctx, backlog); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			b.mustPublish(t, newEvent(other.ID, "accounts.added", b.at(time.Second+time.Duration(i)*time.Millisecond)))
		}
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 20, Lease: lease})
		n := 0
		for _, task := range tasks {
			if task.Delivery.WebhookID == small.ID {
				n++
			}
		}
		if len(tasks) != 20 || n != 3 {
			t.Fatalf("claim of 20 got %d tasks, %d of the small tenant's 3; want 20 with all 3", len(tasks), n)
		}
	})

	t.Run("FairAcrossWebhooks", func(t *testing.T) {
		b := setup(t, open)
		busy := b.mustWebhook(t, "accounts.added")
		quiet := b.mustWebhook(t, "accounts.updated")
		var backlog []*hookd.Event
		for i := range 60 {
			backlog = append(backlog, newEvent(b.tenant.ID, "accounts.added", b.at(time.Duration(i)*time.Millisecond)))
		}
		if _, err := b.Events.PublishEvents(b.ctx, backlog); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			b.mustPublish(t, newEvent(b.tenant.ID, "accounts.updated", b.at(time.Second+time.Duration(i)*time.Millisecond)))
		}
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 20, Lease: lease})
		counts := map[string]int{}
		for _, task := range tasks {
			counts[task.Delivery.WebhookID]++
		}
		if counts[quiet.ID] != 3 || counts[busy.ID] != 17 {
			t.Fatalf("claim of 20 got %d of the quiet webhook's 3 and %d of the busy one's; want 3 and 17", counts[quiet.ID], counts[busy.ID])
		}
	})

	// A claim hands out the webhook as it is now, however recently an
	// earlier claim read it.
	t.Run("WebhookChanged", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		b.mustDeliver(t, b.t0)
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Second), Limit: 10, Lease: time.Hour}); len(tasks) != 1 || tasks[0].Webhook.URL != w.URL {
			t.Fatalf("first claim got %s, want one task to %s", dump(taskIDs(tasks)), w.URL)
		}
		url := "https://example.com/moved"
		if _, err := b.Webhooks.UpdateWebhook(b.ctx, b.tenant.ID, w.ID, hookd.WebhookUpdate{URL: &url}, b.at(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		b.mustDeliver(t, b.at(3*time.Second))
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(4 * time.Second), Limit: 10, Lease: time.Hour})
		if len(tasks) != 1 || tasks[0].Webhook.URL != url {
			t.Fatalf("claim after the update got %d tasks (%s), want one to %s", len(tasks), dump(tasks), url)
		}
	})

	t.Run("Limit", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		for i := range 5 {
			b.mustDeliver(t, b.at(time.Duration(i)*time.Second))
		}
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 3, Lease: lease}); len(tasks) != 3 {
			t.Errorf("claim with Limit 3 got %d, want 3", len(tasks))
		}
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 3, Lease: lease}); len(tasks) != 2 {
			t.Errorf("second claim got %d, want the 2 left", len(tasks))
		}
	})

	t.Run("NotDue", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		b.mustDeliver(t, b.at(time.Second))
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.t0, Limit: 10, Lease: lease}); len(tasks) != 0 {
			t.Errorf("claim before the due time got %v, want nothing", taskIDs(tasks))
		}
	})

	t.Run("LeaseExpiry", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.t0, Limit: 10, Lease: lease}); len(tasks) != 1 {
			t.Fatalf("first claim got %d, want 1", len(tasks))
		}
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.t0.Add(lease - time.Microsecond), Limit: 10, Lease: lease}); len(tasks) != 0 {
			t.Fatalf("claim just before the lease ends got %v, want nothing", taskIDs(tasks))
		}
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.t0.Add(lease), Limit: 10, Lease: lease})
		if got := taskIDs(tasks); len(got) != 1 || got[0] != d.ID {
			t.Fatalf("claim when the lease ends got %v, want [%s] again", got, d.ID)
		}
		if next := tasks[0].Delivery.NextAttemptAt; !equalTime(next, ptr(b.t0.Add(2*lease))) {
			t.Errorf("reclaimed delivery's next attempt got %s, want %s", timeString(next), hookd.FormatTime(b.t0.Add(2*lease)))
		}
	})

	t.Run("ExcludeWebhooks", func(t *testing.T) {
		b := setup(t, open)
		w1, w2 := b.mustWebhook(t), b.mustWebhook(t)
		b.mustDeliver(t, b.t0)
		req := hookd.ClaimRequest{Now: b.t0, Limit: 10, Lease: lease, ExcludeWebhooks: []string{w1.ID}}
		tasks := b.mustClaim(t, req)
		if len(tasks) != 1 || tasks[0].Delivery.WebhookID != w2.ID {
			t.Fatalf("claim excluding w1 got %s, want only w2's delivery", dump(taskIDs(tasks)))
		}
		req.ExcludeWebhooks = []string{w2.ID, hookd.NewID()}
		tasks = b.mustClaim(t, req)
		if len(tasks) != 1 || tasks[0].Delivery.WebhookID != w1.ID {
			t.Fatalf("claim excluding w2 got %s, want w1's delivery", dump(taskIDs(tasks)))
		}
	})

	// Claims that exclude webhooks must not hide what is published after
	// them: the next claim finds the new deliveries, also those of a
	// webhook that had none pending before. (The SQLite store remembered
	// which webhooks had pending deliveries for a moment, and its worker
	// slept until the next poll, a second later.)
	t.Run("ExcludeWebhooksNewWork", func(t *testing.T) {
		b := setup(t, open)
		w1 := b.mustWebhook(t)
		req := hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 10, Lease: lease, ExcludeWebhooks: []string{w1.ID}}
		if tasks := b.mustClaim(t, req); len(tasks) != 0 {
			t.Fatalf("claim with nothing pending got %s, want nothing", dump(taskIDs(tasks)))
		}
		w2 := b.mustWebhook(t)
		b.mustDeliver(t, b.t0)
		tasks := b.mustClaim(t, req)
		if len(tasks) != 1 || tasks[0].Delivery.WebhookID != w2.ID {
			t.Fatalf("claim after a publish got %s, want w2's delivery", dump(taskIDs(tasks)))
		}
		w3 := b.mustWebhook(t)
		b.mustDeliver(t, b.at(time.Second))
		req.ExcludeWebhooks = []string{w1.ID, w2.ID}
		tasks = b.mustClaim(t, req)
		if len(tasks) != 1 || tasks[0].Delivery.WebhookID != w3.ID {
			t.Fatalf("claim after a publish to a new webhook got %s, want w3's delivery", dump(taskIDs(tasks)))
		}
	})

	t.Run("Blocked", func(t *testing.T) {
		// A blocked webhook's due deliveries are left out as long as it
		// is excluded, and found again by the first claim that does not
		// exclude it, however many claims stepped over them before.
		b := setup(t, open)
		w1, w2 := b.mustWebhook(t), b.mustWebhook(t)
		b.mustDeliver(t, b.t0)
		b.mustDeliver(t, b.at(time.Millisecond))
		blocked := hookd.ClaimRequest{Now: b.at(time.Second), Limit: 10, Lease: lease, ExcludeWebhooks: []string{w1.ID}, Blocked: []string{w1.ID}}
		tasks := b.mustClaim(t, blocked)
		if len(tasks) != 2 || tasks[0].Delivery.WebhookID != w2.ID || tasks[1].Delivery.WebhookID != w2.ID {
			t.Fatalf("claim with w1 blocked got %s, want w2's 2 deliveries", dump(taskIDs(tasks)))
		}
		for range 3 {
			if tasks := b.mustClaim(t, blocked); len(tasks) != 0 {
				t.Fatalf("claim with w1 still blocked got %s, want nothing", dump(taskIDs(tasks)))
			}
		}
		tasks = b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Second), Limit: 10, Lease: lease})
		if len(tasks) != 2 || tasks[0].Delivery.WebhookID != w1.ID || tasks[1].Delivery.WebhookID != w1.ID {
			t.Fatalf("claim once w1 is unblocked got %s, want w1's 2 deliveries", dump(taskIDs(tasks)))
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		b := setup(t, open)
		for range 5 {
			b.mustWebhook(t, hookd.Wildcard)
		}
		events := make([]*hookd.Event, 40)
		for i := range events {
			events[i] = newEvent(b.tenant.ID, "accounts.added", b.at(time.Duration(i)*time.Millisecond))
		}
		if _, err := b.Events.PublishEvents(b.ctx, events); err != nil {
			t.Fatal(err)
		}
		const claimers, total = 4, 200
		var mu sync.Mutex
		seen := make(map[string]int)
		var wg sync.WaitGroup
		errs := make(chan error, claimers)
		for range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range total {
					tasks, err := b.Deliveries.ClaimDeliveries(b.ctx, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 7, Lease: time.Hour})
					if err != nil {
						errs <- err
						return
					}
					if len(tasks) == 0 {
						return
					}
					mu.Lock()
					for _, task := range tasks {
						seen[task.Delivery.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("ClaimDeliveries: %v", err)
		}
		if len(seen) != total {
			t.Errorf("claimed %d distinct deliveries, want %d", len(seen), total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("delivery %s claimed %d times, want once", id, n)
			}
		}
	})
}

func exerciseDeliveryComplete(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("Succeeded", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		b.mustClaim(t, hookd.ClaimRequest{Now: b.t0, Limit: 10, Lease: time.Minute})
		r := result(d, hookd.DeliverySucceeded, b.at(time.Second), time.Time{})
		b.mustComplete(t, r)

		got := b.mustFindDelivery(t, b.tenant.ID, d.ID)
		if got.Status != hookd.DeliverySucceeded || got.AttemptCount != 1 || got.NextAttemptAt != nil ||
			!equalTime(got.LastAttemptAt, ptr(b.at(time.Second))) {
			t.Errorf("completed delivery got %s, want succeeded, 1 attempt, no next attempt, last attempt at %s",
				dump(got), hookd.FormatTime(b.at(time.Second)))
		}
		want := r.Attempt
		want.Number = 1
		if len(got.Attempts) != 1 || dump(got.Attempts[0]) != dump(want) {
			t.Errorf("attempts got %s, want [%s]", dump(got.Attempts), dump(want))
		}
		hook := b.mustFindWebhook(t, b.tenant.ID, w.ID)
		if !equalTime(hook.LastSentAt, ptr(b.at(time.Second))) || hook.FailingSince != nil || hook.Status != hookd.WebhookEnabled {
			t.Errorf("webhook after a success got last sent %s failing since %s status %s, want %s, nil, enabled",
				timeString(hook.LastSentAt), timeString(hook.FailingSince), hook.Status, hookd.FormatTime(b.at(time.Second)))
		}
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 10, Lease: time.Minute}); len(tasks) != 0 {
			t.Errorf("claim after success got %v, want nothing", taskIDs(tasks))
		}
	})

	t.Run("Retry", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		t1, next := b.at(time.Second), b.at(6*time.Second)
		b.mustComplete(t, result(d, hookd.DeliveryPending, t1, next))
		got := b.mustFindDelivery(t, b.tenant.ID, d.ID)
		if got.Status != hookd.DeliveryPending || got.AttemptCount != 1 || !equalTime(got.NextAttemptAt, &next) {
			t.Errorf("after a failed attempt got %s, want pending, 1 attempt, next at %s", dump(got), hookd.FormatTime(next))
		}
		hook := b.mustFindWebhook(t, b.tenant.ID, w.ID)
		if !equalTime(hook.FailingSince, &t1) || !equalTime(hook.LastSentAt, &t1) {
			t.Errorf("webhook after a failure got failing since %s last sent %s, want both %s",
				timeString(hook.FailingSince), timeString(hook.LastSentAt), hookd.FormatTime(t1))
		}
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: next.Add(-time.Microsecond), Limit: 10, Lease: time.Minute}); len(tasks) != 0 {
			t.Errorf("claim before the retry is due got %v, want nothing", taskIDs(tasks))
		}
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: next, Limit: 10, Lease: time.Minute}); len(tasks) != 1 {
			t.Errorf("claim when the retry is due got %d, want 1", len(tasks))
		}

		t2 := b.at(7 * time.Second)
		b.mustComplete(t, result(got, hookd.DeliveryPending, t2, b.at(time.Hour)))
		hook = b.mustFindWebhook(t, b.tenant.ID, w.ID)
		if !equalTime(hook.FailingSince, &t1) || !equalTime(hook.LastSentAt, &t2) {
			t.Errorf("webhook after a second failure got failing since %s last sent %s, want %s and %s",
				timeString(hook.FailingSince), timeString(hook.LastSentAt), hookd.FormatTime(t1), hookd.FormatTime(t2))
		}
		got = b.mustFindDelivery(t, b.tenant.ID, d.ID)
		if got.AttemptCount != 2 || len(got.Attempts) != 2 || got.Attempts[0].Number != 1 || got.Attempts[1].Number != 2 {
			t.Errorf("after two attempts got %s, want attempts numbered 1 and 2", dump(got))
		}

		t3 := b.at(time.Hour)
		b.mustComplete(t, result(got, hookd.DeliverySucceeded, t3, time.Time{}))
		hook = b.mustFindWebhook(t, b.tenant.ID, w.ID)
		if hook.FailingSince != nil || !equalTime(hook.LastSentAt, &t3) {
			t.Errorf("webhook after a success got failing since %s last sent %s, want nil and %s",
				timeString(hook.FailingSince), timeString(hook.LastSentAt), hookd.FormatTime(t3))
		}
	})

	t.Run("Failed", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		b.mustComplete(t, result(d, hookd.DeliveryFailed, b.at(time.Second), time.Time{}))
		got := b.mustFindDelivery(t, b.tenant.ID, d.ID)
		if got.Status != hookd.DeliveryFailed || got.NextAttemptAt != nil || got.AttemptCount != 1 {
			t.Errorf("after the last attempt failed got %s, want failed, no next attempt", dump(got))
		}
		if tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Hour), Limit: 10, Lease: time.Minute}); len(tasks) != 0 {
			t.Errorf("claim after failure got %v, want nothing", taskIDs(tasks))
		}
	})

	t.Run("DisableWebhook", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		r := result(d, hookd.DeliveryFailed, b.at(time.Second), time.Time{})
		r.Attempt.StatusCode, r.DisableWebhook = 410, hookd.DisabledGone
		b.mustComplete(t, r)
		hook := b.mustFindWebhook(t, b.tenant.ID, w.ID)
		if hook.Status != hookd.WebhookDisabled || hook.DisabledReason != hookd.DisabledGone {
			t.Errorf("webhook after 410 got status %q reason %q, want disabled, gone", hook.Status, hook.DisabledReason)
		}
		if got := b.mustFindDelivery(t, b.tenant.ID, d.ID); got.Status != hookd.DeliveryFailed {
			t.Errorf("delivery after 410 got status %q, want failed", got.Status)
		}
		if r := b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.at(time.Minute))); r.Deliveries != 0 {
			t.Errorf("publish to the disabled webhook got %d deliveries, want 0", r.Deliveries)
		}
	})

	t.Run("Batch", func(t *testing.T) {
		b := setup(t, open)
		w1, w2 := b.mustWebhook(t), b.mustWebhook(t)
		failing := b.mustWebhook(t)
		var ds []*hookd.Delivery
		for i := range 3 {
			ds = append(ds, b.mustDeliver(t, b.at(time.Duration(i)*time.Millisecond))...)
		}
		by := func(w *hookd.Webhook, i int) *hookd.Delivery {
			var of []*hookd.Delivery
			for _, d := range ds {
				if d.WebhookID == w.ID {
					of = append(of, d)
				}
			}
			return of[i]
		}
		t1, t2, t3 := b.at(time.Second), b.at(2*time.Second), b.at(3*time.Second)
		ghost := &hookd.Delivery{ID: hookd.NewID(), WebhookID: w1.ID}
		b.mustComplete(t,
			// w1: fails, succeeds, fails again: failing since the last failure.
			result(by(w1, 0), hookd.DeliveryPending, t1, b.at(time.Hour)),
			result(by(w1, 1), hookd.DeliverySucceeded, t2, time.Time{}),
			result(by(w1, 2), hookd.DeliveryPending, t3, b.at(time.Hour)),
			// A delivery that no longer exists is ignored.
			result(ghost, hookd.DeliverySucceeded, t3, time.Time{}),
			// w2: fails, then succeeds: not failing.
			result(by(w2, 0), hookd.DeliveryFailed, t2, time.Time{}),
			result(by(w2, 1), hookd.DeliverySucceeded, t1, time.Time{}),
			// failing: only failures: failing since the first.
			result(by(failing, 0), hookd.DeliveryPending, t2, b.at(time.Hour)),
			result(by(failing, 1), hookd.DeliveryPending, t3, b.at(time.Hour)),
		)
		for _, tc := range []struct {
			w                 *hookd.Webhook
			lastSent, failing *time.Time
		}{
			{w1, &t3, &t3},
			{w2, &t2, nil},
			{failing, &t3, &t2},
		} {
			got := b.mustFindWebhook(t, b.tenant.ID, tc.w.ID)
			if !equalTime(got.LastSentAt, tc.lastSent) || !equalTime(got.FailingSince, tc.failing) {
				t.Errorf("webhook %s got last sent %s failing since %s, want %s and %s", tc.w.ID,
					timeString(got.LastSentAt), timeString(got.FailingSince), timeString(tc.lastSent), timeString(tc.failing))
			}
		}
		for _, tc := range []struct {
			d      *hookd.Delivery
			status string
		}{
			{by(w1, 0), hookd.DeliveryPending},
			{by(w1, 1), hookd.DeliverySucceeded},
			{by(w2, 0), hookd.DeliveryFailed},
			{by(failing, 2), hookd.DeliveryPending},
		} {
			got := b.mustFindDelivery(t, b.tenant.ID, tc.d.ID)
			wantAttempts := 1
			if tc.d == by(failing, 2) {
				wantAttempts = 0
			}
			if got.Status != tc.status || len(got.Attempts) != wantAttempts {
				t.Errorf("delivery %s got status %q with %d attempts, want %q with %d", tc.d.ID, got.Status, len(got.Attempts), tc.status, wantAttempts)
			}
		}
		_, err := b.Deliveries.FindDeliveryByID(b.ctx, b.tenant.ID, ghost.ID)
		wantCode(t, "FindDeliveryByID(ghost)", err, hookd.ENOTFOUND)
	})

	// A result that numbers its attempt wrongly, or names no webhook, is
	// recorded with the number the store counts, against the delivery's
	// own webhook.
	t.Run("StaleNumber", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		b.mustComplete(t, result(d, hookd.DeliveryPending, b.at(time.Second), b.at(time.Minute)))
		r := result(d, hookd.DeliveryPending, b.at(2*time.Second), b.at(time.Hour)) // numbered 1 again
		r.WebhookID = ""
		b.mustComplete(t, r)
		got := b.mustFindDelivery(t, b.tenant.ID, d.ID)
		if got.AttemptCount != 2 || len(got.Attempts) != 2 || got.Attempts[1].Number != 2 {
			t.Errorf("after a stale result got %s, want attempts numbered 1 and 2", dump(got))
		}
		if hook := b.mustFindWebhook(t, b.tenant.ID, w.ID); !equalTime(hook.LastSentAt, ptr(b.at(2*time.Second))) {
			t.Errorf("webhook last sent got %s, want %s", timeString(hook.LastSentAt), hookd.FormatTime(b.at(2*time.Second)))
		}
	})

	// The same for a first attempt: its fields are kept as given.
	t.Run("StaleFirst", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		r := result(d, hookd.DeliveryPending, b.at(time.Second), b.at(time.Minute))
		r.WebhookID, r.Attempt.Number = "", 0
		b.mustComplete(t, r)
		want := r.Attempt
		want.Number = 1
		got := b.mustFindDelivery(t, b.tenant.ID, d.ID)
		if got.AttemptCount != 1 || len(got.Attempts) != 1 || dump(got.Attempts[0]) != dump(want) {
			t.Errorf("after an unnumbered first result got %s, want the one attempt %s", dump(got), dump(want))
		}
	})

	t.Run("FailingSinceKept", func(t *testing.T) {
		b := setup(t, open)
		w := b.newWebhook(b.tenant.ID)
		w.FailingSince = ptr(b.t0)
		b.mustCreateWebhook(t, w)
		d := b.mustDeliver(t, b.t0)[0]
		b.mustComplete(t, result(d, hookd.DeliveryPending, b.at(time.Hour), b.at(2*time.Hour)))
		if got := b.mustFindWebhook(t, b.tenant.ID, w.ID); !equalTime(got.FailingSince, &b.t0) {
			t.Errorf("failing since got %s, want it kept at %s", timeString(got.FailingSince), hookd.FormatTime(b.t0))
		}
	})
}

func exerciseRedeliver(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("OK", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		b.mustComplete(t, result(d, hookd.DeliveryPending, b.at(time.Second), b.at(time.Minute)))
		d.AttemptCount = 1
		b.mustComplete(t, result(d, hookd.DeliveryFailed, b.at(time.Minute), time.Time{}))

		now := b.at(time.Hour)
		got, err := b.Deliveries.RedeliverDelivery(b.ctx, b.tenant.ID, d.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != d.ID || got.Status != hookd.DeliveryPending || !equalTime(got.NextAttemptAt, &now) ||
			got.AttemptCount != 2 || got.RetryBase != 2 || len(got.Attempts) != 2 {
			t.Errorf("RedeliverDelivery got %s, want pending, due %s, RetryBase 2 and both attempts", dump(got), hookd.FormatTime(now))
		}
		if found := b.mustFindDelivery(t, b.tenant.ID, d.ID); dump(found) != dump(got) {
			t.Errorf("FindDeliveryByID after redeliver got\n%s\nwant\n%s", dump(found), dump(got))
		}
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: now, Limit: 10, Lease: time.Minute})
		if len(tasks) != 1 || tasks[0].Delivery.ID != d.ID {
			t.Errorf("claim after redeliver got %v, want [%s]", taskIDs(tasks), d.ID)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		b.mustWebhook(t)
		d := b.mustDeliver(t, b.t0)[0]
		other := b.mustTenant(t, "globex")
		_, err := b.Deliveries.RedeliverDelivery(b.ctx, b.tenant.ID, hookd.NewID(), b.t0)
		wantCode(t, "RedeliverDelivery(missing)", err, hookd.ENOTFOUND)
		_, err = b.Deliveries.RedeliverDelivery(b.ctx, other.ID, d.ID, b.t0)
		wantCode(t, "RedeliverDelivery(another tenant's)", err, hookd.ENOTFOUND)
	})
}

func exerciseRecover(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("OK", func(t *testing.T) {
		b := setup(t, open)
		w1 := b.mustWebhook(t)
		w2 := b.mustWebhook(t)
		old := b.mustDeliver(t, b.t0)                  // before since
		edge := b.mustDeliver(t, b.at(time.Minute))    // at since: included
		later := b.mustDeliver(t, b.at(2*time.Minute)) // after since
		pick := func(ds []*hookd.Delivery, w *hookd.Webhook) *hookd.Delivery {
			for _, d := range ds {
				if d.WebhookID == w.ID {
					return d
				}
			}
			t.Fatalf("no delivery to %s", w.ID)
			return nil
		}
		fail := func(d *hookd.Delivery) {
			b.mustComplete(t, result(d, hookd.DeliveryFailed, b.at(time.Hour), time.Time{}))
		}
		fail(pick(old, w1))
		fail(pick(edge, w1))
		fail(pick(later, w1))
		fail(pick(later, w2))
		b.mustComplete(t, result(pick(edge, w2), hookd.DeliverySucceeded, b.at(time.Hour), time.Time{}))

		now := b.at(2 * time.Hour)
		n, err := b.Deliveries.RecoverDeliveries(b.ctx, b.tenant.ID, w1.ID, b.at(time.Minute), now)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("RecoverDeliveries got %d, want 2", n)
		}
		for _, tc := range []struct {
			d      *hookd.Delivery
			status string
		}{
			{pick(old, w1), hookd.DeliveryFailed},
			{pick(edge, w1), hookd.DeliveryPending},
			{pick(later, w1), hookd.DeliveryPending},
			{pick(later, w2), hookd.DeliveryFailed},
			{pick(edge, w2), hookd.DeliverySucceeded},
			{pick(old, w2), hookd.DeliveryPending},
		} {
			got := b.mustFindDelivery(t, b.tenant.ID, tc.d.ID)
			if got.Status != tc.status {
				t.Errorf("delivery created %s to %s got %q, want %q", hookd.FormatTime(got.CreatedAt), got.WebhookID, got.Status, tc.status)
			}
			if tc.status == hookd.DeliveryPending && got.AttemptCount == 1 &&
				(got.RetryBase != 1 || !equalTime(got.NextAttemptAt, &now)) {
				t.Errorf("recovered delivery got RetryBase %d next %s, want 1 and %s", got.RetryBase, timeString(got.NextAttemptAt), hookd.FormatTime(now))
			}
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		other := b.mustTenant(t, "globex")
		_, err := b.Deliveries.RecoverDeliveries(b.ctx, b.tenant.ID, hookd.NewID(), b.t0, b.t0)
		wantCode(t, "RecoverDeliveries(missing webhook)", err, hookd.ENOTFOUND)
		_, err = b.Deliveries.RecoverDeliveries(b.ctx, other.ID, w.ID, b.t0, b.t0)
		wantCode(t, "RecoverDeliveries(another tenant's webhook)", err, hookd.ENOTFOUND)
	})
}

func exerciseDeleteWebhook(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("Cascade", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		keep := b.mustWebhook(t)
		ds := b.mustDeliver(t, b.t0)
		ds = append(ds, b.mustDeliver(t, b.at(time.Second))...)
		for _, d := range ds {
			if d.WebhookID == w.ID {
				b.mustComplete(t, result(d, hookd.DeliveryPending, b.at(time.Minute), b.at(time.Hour)))
			}
		}
		if err := b.Webhooks.DeleteWebhook(b.ctx, b.tenant.ID, w.ID); err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			_, err := b.Deliveries.FindDeliveryByID(b.ctx, b.tenant.ID, d.ID)
			if d.WebhookID == w.ID {
				wantCode(t, "FindDeliveryByID(deleted webhook's delivery)", err, hookd.ENOTFOUND)
			} else if err != nil {
				t.Errorf("another webhook's delivery: %v", err)
			}
		}
		if got := b.mustFindDeliveries(t, hookd.DeliveryFilter{TenantID: b.tenant.ID, WebhookID: w.ID}); len(got) != 0 {
			t.Errorf("deleted webhook still lists %d deliveries", len(got))
		}
		tasks := b.mustClaim(t, hookd.ClaimRequest{Now: b.at(2 * time.Hour), Limit: 10, Lease: time.Minute})
		for _, task := range tasks {
			if task.Delivery.WebhookID != keep.ID {
				t.Errorf("claimed a delivery of the deleted webhook: %s", dump(task.Delivery))
			}
		}
		if len(tasks) != 2 {
			t.Errorf("claim got %d tasks, want the other webhook's 2", len(tasks))
		}
		st, err := b.Deliveries.QueueStats(b.ctx, b.at(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != 2 {
			t.Errorf("queue after delete got %d pending, want 2", st.Pending)
		}
	})
}

func exerciseRetention(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("OK", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		b.mustWebhook(t)
		cutoff := b.at(time.Hour)

		// Old and finished: both deliveries go, and the event with them.
		finished := newEvent(b.tenant.ID, "accounts.added", b.t0)
		b.mustPublish(t, finished)
		for i, d := range b.mustEventDeliveries(t, b.tenant.ID, finished.ID) {
			status := []string{hookd.DeliverySucceeded, hookd.DeliveryFailed}[i]
			b.mustComplete(t, result(d, status, b.at(time.Second), time.Time{}))
		}
		// Old, one finished and one pending: the event stays.
		mixed := newEvent(b.tenant.ID, "accounts.added", b.t0)
		b.mustPublish(t, mixed)
		var pending *hookd.Delivery
		for _, d := range b.mustEventDeliveries(t, b.tenant.ID, mixed.ID) {
			if d.WebhookID == w.ID {
				b.mustComplete(t, result(d, hookd.DeliverySucceeded, b.at(time.Second), time.Time{}))
			} else {
				pending = d
			}
		}
		// Old with no deliveries: goes.
		lonely := newEvent(b.tenant.ID, "forms.removed", b.t0)
		b.mustPublish(t, lonely)
		// New and finished: stays.
		fresh := newEvent(b.tenant.ID, "accounts.added", cutoff)
		b.mustPublish(t, fresh)
		for _, d := range b.mustEventDeliveries(t, b.tenant.ID, fresh.ID) {
			b.mustComplete(t, result(d, hookd.DeliverySucceeded, cutoff, time.Time{}))
		}

		n, err := b.Deliveries.DeleteDeliveriesBefore(b.ctx, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("DeleteDeliveriesBefore got %d, want 3", n)
		}
		for _, tc := range []struct {
			e    *hookd.Event
			kept bool
			left int
		}{
			{finished, false, 0},
			{mixed, true, 1},
			{lonely, false, 0},
			{fresh, true, 2},
		} {
			_, err := b.Events.FindEventByID(b.ctx, b.tenant.ID, tc.e.ID)
			if tc.kept && err != nil {
				t.Errorf("event %s: %v, want kept", tc.e.ID, err)
			} else if !tc.kept {
				wantCode(t, fmt.Sprintf("FindEventByID(deleted event %s)", tc.e.ID), err, hookd.ENOTFOUND)
			}
			if got := b.mustEventDeliveries(t, b.tenant.ID, tc.e.ID); len(got) != tc.left {
				t.Errorf("event %s has %d deliveries left, want %d", tc.e.ID, len(got), tc.left)
			}
		}
		if got := b.mustFindDelivery(t, b.tenant.ID, pending.ID); got.Status != hookd.DeliveryPending {
			t.Errorf("old pending delivery got status %q, want it kept pending", got.Status)
		}
		if n, err := b.Deliveries.DeleteDeliveriesBefore(b.ctx, cutoff); err != nil || n != 0 {
			t.Errorf("DeleteDeliveriesBefore again got %d (err %v), want 0", n, err)
		}
	})
}

func exerciseQueueStats(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("OK", func(t *testing.T) {
		b := setup(t, open)
		stats := func(now time.Time) hookd.QueueStats {
			t.Helper()
			st, err := b.Deliveries.QueueStats(b.ctx, now)
			if err != nil {
				t.Fatalf("QueueStats: %v", err)
			}
			return st
		}
		if st := stats(b.t0); st.Pending != 0 || st.Due != 0 || st.OldestDue != nil {
			t.Errorf("empty queue got %+v, want zeros", st)
		}
		b.mustWebhook(t)
		d0 := b.mustDeliver(t, b.t0)[0]
		b.mustDeliver(t, b.at(time.Second))
		b.mustDeliver(t, b.at(time.Hour))
		other := b.mustTenant(t, "globex")
		b.mustCreateWebhook(t, b.newWebhook(other.ID))
		b.mustPublish(t, newEvent(other.ID, "accounts.added", b.at(2*time.Second)))

		st := stats(b.at(time.Minute))
		if st.Pending != 4 || st.Due != 3 || !equalTime(st.OldestDue, &b.t0) {
			t.Errorf("QueueStats got pending %d due %d oldest %s, want 4, 3, %s", st.Pending, st.Due, timeString(st.OldestDue), hookd.FormatTime(b.t0))
		}
		b.mustComplete(t, result(d0, hookd.DeliverySucceeded, b.at(time.Second), time.Time{}))
		st = stats(b.at(time.Minute))
		if st.Pending != 3 || st.Due != 2 || !equalTime(st.OldestDue, ptr(b.at(time.Second))) {
			t.Errorf("after one success got pending %d due %d oldest %s, want 3, 2, %s", st.Pending, st.Due, timeString(st.OldestDue), hookd.FormatTime(b.at(time.Second)))
		}
		b.mustClaim(t, hookd.ClaimRequest{Now: b.at(time.Minute), Limit: 10, Lease: 5 * time.Minute})
		st = stats(b.at(time.Minute))
		if st.Pending != 3 || st.Due != 0 || st.OldestDue != nil {
			t.Errorf("with every due delivery claimed got %+v, want 3 pending, none due", st)
		}
	})
}
