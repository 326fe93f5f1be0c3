package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func exerciseWebhooks(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CreateWebhook/OK", func(t *testing.T) {
		b := setup(t, open)
		w := b.newWebhook(b.tenant.ID, "accounts.updated", "accounts.added", "activities.partially_synced")
		w.Name = "Everything <&> \"quoted\""
		w.Config = hookd.WebhookConfig{IncludeResource: ptr(true), DaysSynced: ptr(90)}
		w.Secret, w.PreviousSecret = "whsec_new", "old-secret"
		w.PreviousSecretExpiresAt = ptr(b.at(24 * time.Hour))
		w.FailingSince, w.LastSentAt = ptr(b.at(-time.Hour)), ptr(b.at(-time.Minute))
		w.UpdatedAt = b.at(time.Second)
		b.mustCreateWebhook(t, w)
		got := b.mustFindWebhook(t, b.tenant.ID, w.ID)
		if dump(got) != dump(w) {
			t.Errorf("FindWebhookByID got\n%s\nwant\n%s", dump(got), dump(w))
		}
	})

	t.Run("CreateWebhook/Minimal", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t, hookd.Wildcard)
		got := b.mustFindWebhook(t, b.tenant.ID, w.ID)
		if dump(got) != dump(w) {
			t.Errorf("FindWebhookByID got\n%s\nwant\n%s", dump(got), dump(w))
		}
		if !got.Config.IsZero() || got.Secret != "" || got.FailingSince != nil || got.LastSentAt != nil {
			t.Errorf("unset fields read back set: %+v", got)
		}
	})

	t.Run("CreateWebhook/ErrConflict", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		wantCode(t, "CreateWebhook twice", b.Webhooks.CreateWebhook(b.ctx, w), hookd.ECONFLICT)
	})

	t.Run("FindWebhookByID/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		other := b.mustTenant(t, "globex")
		_, err := b.Webhooks.FindWebhookByID(b.ctx, b.tenant.ID, hookd.NewID())
		wantCode(t, "FindWebhookByID(missing)", err, hookd.ENOTFOUND)
		_, err = b.Webhooks.FindWebhookByID(b.ctx, other.ID, w.ID)
		wantCode(t, "FindWebhookByID(another tenant's)", err, hookd.ENOTFOUND)
	})

	t.Run("UpdateWebhook/OK", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		now := b.at(time.Hour)
		upd := hookd.WebhookUpdate{
			Name:   ptr("renamed"),
			URL:    ptr("https://example.org/new"),
			Events: ptr([]string{"payouts.partially_synced", "activities.partially_synced"}),
			Config: &hookd.WebhookConfig{DaysSynced: ptr(7)},
			Secret: ptr("s3cr3t-value"),
		}
		got, err := b.Webhooks.UpdateWebhook(b.ctx, b.tenant.ID, w.ID, upd, now)
		if err != nil {
			t.Fatal(err)
		}
		want, err := upd.Apply(w, now)
		if err != nil {
			t.Fatal(err)
		}
		if dump(got) != dump(want) {
			t.Errorf("UpdateWebhook got\n%s\nwant\n%s", dump(got), dump(want))
		}
		if found := b.mustFindWebhook(t, b.tenant.ID, w.ID); dump(found) != dump(want) {
			t.Errorf("FindWebhookByID after update got\n%s\nwant\n%s", dump(found), dump(want))
		}
	})

	t.Run("UpdateWebhook/Events", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t, "accounts.added")
		upd := hookd.WebhookUpdate{Events: ptr([]string{"activities.added"})}
		if _, err := b.Webhooks.UpdateWebhook(b.ctx, b.tenant.ID, w.ID, upd, b.at(time.Second)); err != nil {
			t.Fatal(err)
		}
		if r := b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.at(time.Minute))); r.Deliveries != 0 {
			t.Errorf("publish of a type no longer subscribed got %d deliveries, want 0", r.Deliveries)
		}
		if r := b.mustPublish(t, newEvent(b.tenant.ID, "activities.added", b.at(time.Minute))); r.Deliveries != 1 {
			t.Errorf("publish of the newly subscribed type got %d deliveries, want 1", r.Deliveries)
		}
	})

	t.Run("UpdateWebhook/Status", func(t *testing.T) {
		b := setup(t, open)
		w := b.newWebhook(b.tenant.ID)
		w.Status, w.DisabledReason, w.FailingSince = hookd.WebhookDisabled, hookd.DisabledGone, ptr(b.t0)
		b.mustCreateWebhook(t, w)
		if r := b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.t0)); r.Deliveries != 0 {
			t.Errorf("publish to a disabled webhook got %d deliveries, want 0", r.Deliveries)
		}
		got, err := b.Webhooks.UpdateWebhook(b.ctx, b.tenant.ID, w.ID, hookd.WebhookUpdate{Status: ptr(hookd.WebhookEnabled)}, b.at(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != hookd.WebhookEnabled || got.DisabledReason != "" || got.FailingSince != nil {
			t.Errorf("re-enabled webhook got status %q reason %q failing since %s, want enabled, \"\", nil",
				got.Status, got.DisabledReason, timeString(got.FailingSince))
		}
		if r := b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.t0)); r.Deliveries != 1 {
			t.Errorf("publish to the re-enabled webhook got %d deliveries, want 1", r.Deliveries)
		}
		got, err = b.Webhooks.UpdateWebhook(b.ctx, b.tenant.ID, w.ID, hookd.WebhookUpdate{Status: ptr(hookd.WebhookDisabled)}, b.at(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		found := b.mustFindWebhook(t, b.tenant.ID, w.ID)
		if found.Status != hookd.WebhookDisabled || found.DisabledReason != hookd.DisabledManual {
			t.Errorf("disabled webhook got status %q reason %q, want disabled, manual", found.Status, found.DisabledReason)
		}
	})

	t.Run("UpdateWebhook/ErrInvalid", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		_, err := b.Webhooks.UpdateWebhook(b.ctx, b.tenant.ID, w.ID, hookd.WebhookUpdate{Name: ptr("")}, b.at(time.Second))
		wantCode(t, "UpdateWebhook with a blank name", err, hookd.EINVALID)
		if got := b.mustFindWebhook(t, b.tenant.ID, w.ID); dump(got) != dump(w) {
			t.Errorf("after a failed update got\n%s\nwant it unchanged\n%s", dump(got), dump(w))
		}
	})

	t.Run("UpdateWebhook/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		other := b.mustTenant(t, "globex")
		upd := hookd.WebhookUpdate{Name: ptr("x")}
		_, err := b.Webhooks.UpdateWebhook(b.ctx, b.tenant.ID, hookd.NewID(), upd, b.t0)
		wantCode(t, "UpdateWebhook(missing)", err, hookd.ENOTFOUND)
		_, err = b.Webhooks.UpdateWebhook(b.ctx, other.ID, w.ID, upd, b.t0)
		wantCode(t, "UpdateWebhook(another tenant's)", err, hookd.ENOTFOUND)
		if got := b.mustFindWebhook(t, b.tenant.ID, w.ID); got.Name != w.Name {
			t.Errorf("another tenant renamed the webhook to %q", got.Name)
		}
	})

	t.Run("DeleteWebhook/OK", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		if err := b.Webhooks.DeleteWebhook(b.ctx, b.tenant.ID, w.ID); err != nil {
			t.Fatal(err)
		}
		_, err := b.Webhooks.FindWebhookByID(b.ctx, b.tenant.ID, w.ID)
		wantCode(t, "FindWebhookByID after delete", err, hookd.ENOTFOUND)
		if r := b.mustPublish(t, newEvent(b.tenant.ID, "accounts.added", b.t0)); r.Deliveries != 0 {
			t.Errorf("publish after delete got %d deliveries, want 0", r.Deliveries)
		}
	})

	t.Run("DeleteWebhook/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		w := b.mustWebhook(t)
		other := b.mustTenant(t, "globex")
		wantCode(t, "DeleteWebhook(missing)", b.Webhooks.DeleteWebhook(b.ctx, b.tenant.ID, hookd.NewID()), hookd.ENOTFOUND)
		wantCode(t, "DeleteWebhook(another tenant's)", b.Webhooks.DeleteWebhook(b.ctx, other.ID, w.ID), hookd.ENOTFOUND)
		b.mustFindWebhook(t, b.tenant.ID, w.ID)
	})
}

func exerciseWebhookList(t *testing.T, open func(t *testing.T) Stores) {
	// fixture creates five webhooks whose ID order differs from their
	// created_at order, two of them created at the same time.
	fixture := func(t *testing.T, b *testBundle) []*hookd.Webhook {
		t.Helper()
		idList := make([]string, 5)
		for i := range idList {
			idList[i] = hookd.NewID()
		}
		slices.Sort(idList)
		created := []time.Duration{3 * time.Second, time.Second, 2 * time.Second, 2 * time.Second, 0}
		ws := make([]*hookd.Webhook, 5)
		for i := range ws {
			w := b.newWebhook(b.tenant.ID)
			w.ID, w.Name = idList[i], fmt.Sprintf("hook %d", i)
			w.CreatedAt, w.UpdatedAt = b.at(created[i]), b.at(created[i])
			ws[i] = b.mustCreateWebhook(t, w)
		}
		return ws
	}
	order := func(ws []*hookd.Webhook, ordering string) []*hookd.Webhook {
		ws = slices.Clone(ws)
		slices.SortFunc(ws, func(x, y *hookd.Webhook) int {
			if ordering == hookd.OrderID {
				return compareStrings(x.ID, y.ID)
			}
			c := x.CreatedAt.Compare(y.CreatedAt)
			if c == 0 {
				c = compareStrings(x.ID, y.ID)
			}
			if ordering == hookd.OrderCreatedAtDesc || ordering == "" {
				c = -c
			}
			return c
		})
		return ws
	}
	cursor := func(w *hookd.Webhook) *hookd.Cursor {
		return &hookd.Cursor{Time: w.CreatedAt, ID: w.ID}
	}
	list := func(t *testing.T, b *testBundle, f hookd.WebhookFilter) ([]string, bool) {
		t.Helper()
		ws, more, err := b.Webhooks.FindWebhooks(b.ctx, f)
		if err != nil {
			t.Fatalf("FindWebhooks(%+v): %v", f, err)
		}
		return webhookIDs(ws), more
	}

	for _, ordering := range []string{hookd.OrderID, hookd.OrderCreatedAt, hookd.OrderCreatedAtDesc, ""} {
		t.Run("Ordering"+ordering, func(t *testing.T) {
			b := setup(t, open)
			want := order(fixture(t, b), ordering)
			f := hookd.WebhookFilter{TenantID: b.tenant.ID, Ordering: ordering, Page: hookd.Page{Limit: 10}}
			if got, more := list(t, b, f); dump(got) != dump(webhookIDs(want)) || more {
				t.Fatalf("all in one page got %v more=%v, want %v more=false", got, more, webhookIDs(want))
			}

			// Forward, two at a time.
			for i, page := range [][]int{{0, 1}, {2, 3}, {4}} {
				f.Page = hookd.Page{Limit: 2}
				if i > 0 {
					f.Page.After = cursor(want[2*i-1])
				}
				got, more := list(t, b, f)
				wantIDs := ids(page, func(j int) string { return want[j].ID })
				if dump(got) != dump(wantIDs) || more != (i < 2) {
					t.Errorf("forward page %d got %v more=%v, want %v more=%v", i, got, more, wantIDs, i < 2)
				}
			}

			// Backward from the last item, two at a time, still in order.
			for i, page := range [][]int{{2, 3}, {0, 1}} {
				f.Page = hookd.Page{Limit: 2, Before: cursor(want[4-2*i])}
				got, more := list(t, b, f)
				wantIDs := ids(page, func(j int) string { return want[j].ID })
				if dump(got) != dump(wantIDs) || more != (i == 0) {
					t.Errorf("backward page %d got %v more=%v, want %v more=%v", i, got, more, wantIDs, i == 0)
				}
			}
			f.Page = hookd.Page{Limit: 2, Before: cursor(want[1])}
			if got, more := list(t, b, f); dump(got) != dump([]string{want[0].ID}) || more {
				t.Errorf("before the second item got %v more=%v, want [%s] more=false", got, more, want[0].ID)
			}
			f.Page = hookd.Page{Limit: 2, After: cursor(want[4])}
			if got, more := list(t, b, f); len(got) != 0 || more {
				t.Errorf("after the last item got %v more=%v, want nothing", got, more)
			}
		})
	}

	t.Run("CreatedFilters", func(t *testing.T) {
		b := setup(t, open)
		ws := fixture(t, b)
		f := hookd.WebhookFilter{
			TenantID:    b.tenant.ID,
			Ordering:    hookd.OrderCreatedAt,
			CreatedFrom: ptr(b.at(time.Second)),
			CreatedTo:   ptr(b.at(2 * time.Second)),
			Page:        hookd.Page{Limit: 10},
		}
		got, more := list(t, b, f)
		want := []string{ws[1].ID, ws[2].ID, ws[3].ID} // created at 1 s, 2 s, 2 s: both bounds inclusive
		if dump(got) != dump(want) || more {
			t.Errorf("created in [1s, 2s] got %v more=%v, want %v", got, more, want)
		}
		f.CreatedTo = nil
		if got, _ := list(t, b, f); len(got) != 4 {
			t.Errorf("created from 1s got %d webhooks, want 4", len(got))
		}
		f.CreatedFrom, f.CreatedTo = nil, ptr(b.at(-time.Microsecond))
		if got, _ := list(t, b, f); len(got) != 0 {
			t.Errorf("created before the first got %v, want nothing", got)
		}
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		b := setup(t, open)
		mine := b.mustWebhook(t)
		other := b.mustTenant(t, "globex")
		b.mustCreateWebhook(t, b.newWebhook(other.ID))
		got, more := list(t, b, hookd.WebhookFilter{TenantID: b.tenant.ID, Page: hookd.Page{Limit: 10}})
		if dump(got) != dump([]string{mine.ID}) || more {
			t.Errorf("FindWebhooks got %v more=%v, want only [%s]", got, more, mine.ID)
		}
		third := b.mustTenant(t, "initech")
		if got, _ := list(t, b, hookd.WebhookFilter{TenantID: third.ID, Page: hookd.Page{Limit: 10}}); len(got) != 0 {
			t.Errorf("FindWebhooks of a tenant without webhooks got %v", got)
		}
	})
}
