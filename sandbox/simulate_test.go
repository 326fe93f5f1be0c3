package sandbox_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
)

func TestConnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	on, off := hookd.WebhookEnabled, hookd.WebhookDisabled
	b := setup(t,
		webhook(tenant, "a30", intp(30), on, "activities.partially_synced", "activities.fully_synced"),
		webhook(tenant, "b90", intp(90), on, "activities.partially_synced"),
		webhook(tenant, "c30", nil, on, "activities.partially_synced"), // default 30
		webhook(tenant, "d07", intp(7), on, "payouts.partially_synced"),
		webhook(tenant, "e-all", nil, on, "*"),
		webhook(tenant, "f10", intp(10), off, "activities.partially_synced"),
		webhook(tenant, "g400", intp(400), on, "activities.partially_synced"),
		webhook(tenant, "h365", intp(365), on, "activities.partially_synced"),
		webhook("other", "i05", intp(5), on, "activities.partially_synced"),
	)
	acct, err := b.sim.Connect(ctx, tenant, sandbox.ConnectRequest{Employer: "uber", Days: intp(365), Activities: intp(300)})
	if err != nil {
		t.Fatal(err)
	}
	events := b.events.take()
	if b.events.calls != 1 {
		t.Errorf("PublishEvents called %d times, want 1 (one batch)", b.events.calls)
	}

	t.Run("Sequence", func(t *testing.T) {
		got := types(events)
		want := []string{
			"accounts.added", "accounts.updated", "accounts.updated", "accounts.connected",
			"profiles.added",
			"activities.partially_synced", "activities.partially_synced", "activities.fully_synced",
			"payouts.partially_synced", "payouts.partially_synced", "payouts.fully_synced",
			"accounts.updated", "users.fully_synced",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("event types\n got %v\nwant %v", got, want)
		}
		for i, e := range events {
			if e.TenantID != tenant || e.ID == "" {
				t.Errorf("event %d: tenant %q id %q", i, e.TenantID, e.ID)
			}
			if i > 0 && !e.CreatedAt.After(events[i-1].CreatedAt) {
				t.Errorf("event %d (%s) created at %v, not after %v", i, e.Type, e.CreatedAt, events[i-1].CreatedAt)
			}
			if err := e.Validate(); err != nil {
				t.Errorf("event %d (%s): %v", i, e.Type, err)
			}
		}
	})

	t.Run("AccountResources", func(t *testing.T) {
		wantStatus := []string{"connecting", "connecting", "connected", "connected"}
		for i, e := range events[:4] {
			var a sandbox.Account
			if err := json.Unmarshal(e.Resource, &a); err != nil {
				t.Fatalf("%s resource: %v", e.Type, err)
			}
			if a.ID != acct.ID || a.Connection.Status != wantStatus[i] {
				t.Errorf("%s resource: id %s status %s, want %s %s", e.Type, a.ID, a.Connection.Status, acct.ID, wantStatus[i])
			}
			if p := decode(t, e); p.Account != acct.ID || p.User != acct.User {
				t.Errorf("%s data = %s", e.Type, e.Data)
			}
		}
		var last sandbox.Account
		if err := json.Unmarshal(events[11].Resource, &last); err != nil {
			t.Fatal(err)
		}
		stored, err := b.store.FindAccountByID(ctx, tenant, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		gotJSON, _ := json.Marshal(stored)
		if string(gotJSON) != string(events[11].Resource) {
			t.Errorf("stored account\n%s\nlast accounts.updated resource\n%s", gotJSON, events[11].Resource)
		}
		if !stored.WasConnected || stored.Availability.Activities.AvailableCount != 300 || stored.Availability.Activities.Status != "synced" {
			t.Errorf("stored account availability = %+v", stored.Availability.Activities)
		}
		if stored.Source != "argyle_sandbox" || stored.LinkItem != "uber" || stored.Employers[0] != "Uber" {
			t.Errorf("stored account = %s", gotJSON)
		}
	})

	t.Run("PartiallySynced", func(t *testing.T) {
		cases := []struct {
			event    *hookd.Event
			days     int
			webhooks []string
			payouts  bool
		}{
			{events[5], 30, []string{"a30", "c30", "e-all"}, false},
			{events[6], 90, []string{"b90"}, false},
			{events[8], 7, []string{"d07"}, true},
			{events[9], 30, []string{"e-all"}, true},
		}
		for _, c := range cases {
			if got := sorted(c.event.Webhooks); !slices.Equal(got, c.webhooks) {
				t.Errorf("%s days %d: webhooks %v, want %v", c.event.Type, c.days, got, c.webhooks)
			}
			p := decode(t, c.event)
			if p.DaysSynced != c.days {
				t.Errorf("%s: days_synced %d, want %d", c.event.Type, p.DaysSynced, c.days)
			}
			if k := keys(t, c.event.Data); !slices.Equal(k, []string{"account", "user", "days_synced", "available_from", "available_to", "available_count"}) {
				t.Errorf("%s keys = %v", c.event.Type, k)
			}
			cutoff := b.now.Add(-time.Duration(c.days) * 24 * time.Hour)
			from, to := parse(t, "available_from", p.AvailableFrom, false), parse(t, "available_to", p.AvailableTo, true)
			if from.Before(cutoff) {
				t.Errorf("%s days %d: available_from %v before %v", c.event.Type, c.days, from, cutoff)
			}
			var n int
			if c.payouts {
				ps, count, err := b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to})
				if err != nil {
					t.Fatal(err)
				}
				n = count
				inWindow, _, _ := b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID, FromStartDate: &cutoff})
				if len(inWindow) != len(ps) {
					t.Errorf("%s: %d payouts in the window, %d in the payload's range", c.event.Type, len(inWindow), len(ps))
				}
			} else {
				n = len(activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to}))
				inWindow := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromStartDate: &cutoff})
				if len(inWindow) != n {
					t.Errorf("%s: %d activities in the window, %d in the payload's range", c.event.Type, len(inWindow), n)
				}
			}
			if n != p.AvailableCount || n == 0 {
				t.Errorf("%s days %d: list returns %d, available_count %d", c.event.Type, c.days, n, p.AvailableCount)
			}
		}
	})

	t.Run("FullySynced", func(t *testing.T) {
		for _, e := range []*hookd.Event{events[7], events[10]} {
			if e.Webhooks != nil {
				t.Errorf("%s restricted to %v", e.Type, e.Webhooks)
			}
			if k := keys(t, e.Data); !slices.Equal(k, []string{"account", "user", "available_from", "available_to", "available_count"}) {
				t.Errorf("%s keys = %v", e.Type, k)
			}
			p := decode(t, e)
			from, to := parse(t, "available_from", p.AvailableFrom, false), parse(t, "available_to", p.AvailableTo, true)
			var n, total int
			if e.Type == "activities.fully_synced" {
				n = len(activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to}))
				total = 300
			} else {
				_, n, _ = b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to})
				_, total, _ = b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID})
				if total < 20 || total > 27 {
					t.Errorf("%d biweekly payouts over 365 days, want 20 to 27", total)
				}
			}
			if n != p.AvailableCount || n != total {
				t.Errorf("%s: list returns %d of %d, available_count %d", e.Type, n, total, p.AvailableCount)
			}
		}
	})

	t.Run("ProfileAndUser", func(t *testing.T) {
		p := decode(t, events[4])
		profiles, n, err := b.store.FindProfiles(ctx, sandbox.ProfileFilter{TenantID: tenant, Account: acct.ID})
		if err != nil || n != 1 || profiles[0].ID != p.Profile {
			t.Fatalf("profiles = %v, %d, %v; payload profile %s", profiles, n, err, p.Profile)
		}
		e := events[12]
		if k := keys(t, e.Data); !slices.Equal(k, []string{"user"}) {
			t.Errorf("users.fully_synced data keys = %v, want [user]", k)
		}
		if k := keys(t, e.Resource); !slices.Equal(k, []string{"id", "data_providers_connected", "employers_connected", "external_metadata", "created_at"}) {
			t.Errorf("users.fully_synced resource keys = %v", k)
		}
		u, err := b.store.FindUserByID(ctx, tenant, acct.User)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(u.EmployersConnected, []string{"Uber"}) || !slices.Equal(u.DataProvidersConnected, []string{"uber"}) {
			t.Errorf("user = %+v", u)
		}
	})
}

func TestConnect_ShortHistory(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook(tenant, "a", nil, hookd.WebhookEnabled, "*"))
	// 30 days of history and days_synced 30: only fully_synced.
	if _, err := b.sim.Connect(context.Background(), tenant, sandbox.ConnectRequest{Days: intp(30), Activities: intp(40)}); err != nil {
		t.Fatal(err)
	}
	for _, typ := range types(b.events.take()) {
		if typ == "activities.partially_synced" || typ == "payouts.partially_synced" {
			t.Errorf("sent %s for a history no longer than days_synced", typ)
		}
	}
}

func TestConnect_NoActivities(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acct, err := b.sim.Connect(context.Background(), tenant, sandbox.ConnectRequest{Activities: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range b.events.take() {
		if e.Type == "activities.fully_synced" {
			if string(e.Data) != `{"account":"`+acct.ID+`","user":"`+acct.User+`","available_from":null,"available_to":null,"available_count":0}` {
				t.Errorf("activities.fully_synced data = %s", e.Data)
			}
		}
	}
}

func TestConnect_Failed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, req := range []sandbox.ConnectRequest{{Fail: true}, {ErrorCode: "invalid_mfa"}} {
		b := setup(t)
		acct, err := b.sim.Connect(ctx, tenant, req)
		if err != nil {
			t.Fatal(err)
		}
		events := b.events.take()
		want := []string{"accounts.added", "accounts.updated", "accounts.failed", "accounts.updated"}
		if got := types(events); !slices.Equal(got, want) {
			t.Fatalf("event types %v, want %v", got, want)
		}
		code := req.ErrorCode
		if code == "" {
			code = sandbox.DefaultErrorCode
		}
		p := decode(t, events[2])
		if p.ErrorCode != code || p.ErrorMessage != sandbox.ErrorCodes[code] {
			t.Errorf("accounts.failed data = %s", events[2].Data)
		}
		if k := keys(t, events[2].Data); !slices.Equal(k, []string{"account", "user", "error_code", "error_message"}) {
			t.Errorf("accounts.failed keys = %v", k)
		}
		if acct.Connection.Status != "error" || *acct.Connection.ErrorCode != code || acct.WasConnected {
			t.Errorf("account connection = %+v", acct.Connection)
		}
		if got := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID}); len(got) != 0 {
			t.Errorf("failed account has %d activities", len(got))
		}
		u, _ := b.store.FindUserByID(ctx, tenant, acct.User)
		if len(u.EmployersConnected) != 0 {
			t.Errorf("user employers_connected = %v, want none", u.EmployersConnected)
		}
		_, err = b.sim.Refresh(ctx, tenant, acct.ID, sandbox.RefreshRequest{Added: 1})
		wantCode(t, err, hookd.ECONFLICT)
	}
}

func TestConnect_ExistingUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	a1, err := b.sim.Connect(ctx, tenant, sandbox.ConnectRequest{Employer: "Lyft", Activities: intp(5)})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := b.sim.Connect(ctx, tenant, sandbox.ConnectRequest{User: a1.User, Employer: "Acme Widgets", Activities: intp(5)})
	if err != nil {
		t.Fatal(err)
	}
	if a2.User != a1.User || a2.LinkItem != "acmewidgets" {
		t.Errorf("second account user %s link_item %s", a2.User, a2.LinkItem)
	}
	u, _ := b.store.FindUserByID(ctx, tenant, a1.User)
	if !slices.Equal(u.EmployersConnected, []string{"Lyft", "Acme Widgets"}) {
		t.Errorf("employers_connected = %v", u.EmployersConnected)
	}
	got := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, User: a1.User})
	if len(got) != 10 {
		t.Errorf("user's activities: %d, want 10", len(got))
	}
	_, err = b.sim.Connect(ctx, "other-tenant", sandbox.ConnectRequest{User: a1.User})
	wantCode(t, err, hookd.EINVALID, "user")
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	acct, err := b.sim.Connect(ctx, tenant, sandbox.ConnectRequest{Employer: "doordash", Days: intp(90), Activities: intp(120)})
	if err != nil {
		t.Fatal(err)
	}
	b.events.take()
	before := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID})
	newest, _, _ := b.store.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, Limit: 1})
	_, payoutsBefore, _ := b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID})

	b.now = b.now.Add(20 * 24 * time.Hour) // at least one pay date passes
	res, err := b.sim.Refresh(ctx, tenant, acct.ID, sandbox.RefreshRequest{Added: 7, Updated: 4, Removed: 3})
	if err != nil {
		t.Fatal(err)
	}
	events := b.events.take()
	want := []string{"activities.added", "activities.updated", "activities.removed", "payouts.added", "accounts.updated"}
	if got := types(events); !slices.Equal(got, want) {
		t.Fatalf("event types %v, want %v", got, want)
	}
	after := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID})
	if len(after) != 120+7-3 {
		t.Errorf("activities after refresh: %d, want %d", len(after), 124)
	}

	t.Run("Added", func(t *testing.T) {
		e := events[0]
		if k := keys(t, e.Data); !slices.Equal(k, []string{"account", "user", "added_from", "added_to", "added_count", "available_from", "available_to", "available_count"}) {
			t.Errorf("keys = %v", k)
		}
		p := decode(t, e)
		from, to := parse(t, "added_from", p.AddedFrom, false), parse(t, "added_to", p.AddedTo, true)
		got := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to})
		if p.AddedCount != 7 || !slices.Equal(got, sorted(res.Added)) {
			t.Errorf("added_count %d; range query %v, added %v", p.AddedCount, got, sorted(res.Added))
		}
		if !from.After(newest[0].StartDate.Time) {
			t.Errorf("added_from %v not after the newest existing start_date %v", from, newest[0].StartDate)
		}
		if p.AvailableCount != len(after) {
			t.Errorf("available_count %d, want %d", p.AvailableCount, len(after))
		}
		af, at := parse(t, "available_from", p.AvailableFrom, false), parse(t, "available_to", p.AvailableTo, true)
		if n := len(activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromStartDate: af, ToStartDate: at})); n != p.AvailableCount {
			t.Errorf("available range returns %d, available_count %d", n, p.AvailableCount)
		}
	})

	t.Run("Updated", func(t *testing.T) {
		e := events[1]
		if k := keys(t, e.Data); !slices.Equal(k, []string{"account", "user", "updated_from", "updated_to", "updated_count", "updated_activities", "available_from", "available_to", "available_count"}) {
			t.Errorf("keys = %v", k)
		}
		p := decode(t, e)
		if p.UpdatedCount != 4 || !slices.Equal(p.UpdatedActivities, res.Updated) {
			t.Errorf("updated_count %d, ids %v, want 4 %v", p.UpdatedCount, p.UpdatedActivities, res.Updated)
		}
		from, to := parse(t, "updated_from", p.UpdatedFrom, false), parse(t, "updated_to", p.UpdatedTo, true)
		inRange := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to})
		for _, id := range p.UpdatedActivities {
			if !slices.Contains(inRange, id) {
				t.Errorf("updated activity %s not in the updated range", id)
			}
			if !slices.Contains(before, id) {
				t.Errorf("updated activity %s did not exist before", id)
			}
		}
		now := b.now
		changed := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromUpdatedAt: &now})
		if want := sorted(append(slices.Clone(res.Added), res.Updated...)); !slices.Equal(changed, want) {
			t.Errorf("from_updated_at=now returns %v, want added and updated %v", changed, want)
		}
		as, _, _ := b.store.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromUpdatedAt: &now})
		for _, a := range as {
			if !slices.Contains(res.Updated, a.ID) {
				continue
			}
			if a.Income.Tips == nil || *a.Income.Tips == "0.00" {
				t.Errorf("activity %s has no tips after an update", a.ID)
			}
		}
	})

	t.Run("Removed", func(t *testing.T) {
		e := events[2]
		p := decode(t, e)
		if p.RemovedCount != 3 || !slices.Equal(p.RemovedActivities, res.Removed) {
			t.Errorf("removed_count %d, ids %v, want 3 %v", p.RemovedCount, p.RemovedActivities, res.Removed)
		}
		for _, id := range p.RemovedActivities {
			if slices.Contains(after, id) || !slices.Contains(before, id) || slices.Contains(res.Updated, id) {
				t.Errorf("removed activity %s: listed after %v, before %v", id, slices.Contains(after, id), slices.Contains(before, id))
			}
		}
		if p.RemovedFrom == nil || p.RemovedTo == nil || *p.RemovedFrom > *p.RemovedTo {
			t.Errorf("removed range %v..%v", p.RemovedFrom, p.RemovedTo)
		}
	})

	t.Run("Payouts", func(t *testing.T) {
		p := decode(t, events[3])
		from, to := parse(t, "added_from", p.AddedFrom, false), parse(t, "added_to", p.AddedTo, true)
		ps, n, err := b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to})
		if err != nil {
			t.Fatal(err)
		}
		if n != p.AddedCount || n != len(res.PayoutsAdded) || n == 0 {
			t.Errorf("payouts in added range %d, added_count %d, added %d", n, p.AddedCount, len(res.PayoutsAdded))
		}
		for _, po := range ps {
			if !slices.Contains(res.PayoutsAdded, po.ID) {
				t.Errorf("payout %s in the added range was not added", po.ID)
			}
			if po.PayoutDate.After(b.now) {
				t.Errorf("payout %s dated %v, after now", po.ID, po.PayoutDate)
			}
		}
		_, total, _ := b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID})
		if total != payoutsBefore+n || p.AvailableCount != total {
			t.Errorf("payouts %d, before %d + added %d; available_count %d", total, payoutsBefore, n, p.AvailableCount)
		}
	})

	t.Run("Account", func(t *testing.T) {
		stored, err := b.store.FindAccountByID(ctx, tenant, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(stored)
		if string(got) != string(events[4].Resource) {
			t.Errorf("stored account differs from the accounts.updated resource")
		}
		if stored.Availability.Activities.AvailableCount != len(after) {
			t.Errorf("availability count %d, want %d", stored.Availability.Activities.AvailableCount, len(after))
		}
	})

	t.Run("NothingDue", func(t *testing.T) {
		// At the same time again: no pay date has passed, nothing changes
		// but accounts.updated.
		if _, err := b.sim.Refresh(ctx, tenant, acct.ID, sandbox.RefreshRequest{}); err != nil {
			t.Fatal(err)
		}
		if got := types(b.events.take()); !slices.Equal(got, []string{"accounts.updated"}) {
			t.Errorf("event types %v, want [accounts.updated]", got)
		}
	})

	t.Run("AddedWithoutTimePassing", func(t *testing.T) {
		// No time passes, yet added activities are still newer than all.
		res, err := b.sim.Refresh(ctx, tenant, acct.ID, sandbox.RefreshRequest{Added: 50})
		if err != nil {
			t.Fatal(err)
		}
		p := decode(t, b.events.take()[0])
		from, to := parse(t, "added_from", p.AddedFrom, false), parse(t, "added_to", p.AddedTo, true)
		got := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID, FromStartDate: from, ToStartDate: to})
		if p.AddedCount != 50 || !slices.Equal(got, sorted(res.Added)) {
			t.Errorf("added_count %d, range query returns %d of the 50 added", p.AddedCount, len(got))
		}
	})
}

func TestRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	acct, err := b.sim.Connect(ctx, tenant, sandbox.ConnectRequest{Activities: intp(25)})
	if err != nil {
		t.Fatal(err)
	}
	keep, err := b.sim.Connect(ctx, tenant, sandbox.ConnectRequest{User: acct.User, Activities: intp(5)})
	if err != nil {
		t.Fatal(err)
	}
	b.events.take()
	if err := b.sim.Remove(ctx, tenant, acct.ID); err != nil {
		t.Fatal(err)
	}
	events := b.events.take()
	if got := types(events); !slices.Equal(got, []string{"accounts.removed"}) {
		t.Fatalf("event types %v, want [accounts.removed]", got)
	}
	want := `{"account":"` + acct.ID + `","user":"` + acct.User + `"}`
	if string(events[0].Data) != want || events[0].Resource != nil {
		t.Errorf("accounts.removed data %s resource %s, want %s and none", events[0].Data, events[0].Resource, want)
	}
	_, err = b.store.FindAccountByID(ctx, tenant, acct.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	if got := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID}); len(got) != 0 {
		t.Errorf("%d activities left", len(got))
	}
	if _, n, _ := b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: acct.ID}); n != 0 {
		t.Errorf("%d payouts left", n)
	}
	if _, n, _ := b.store.FindProfiles(ctx, sandbox.ProfileFilter{TenantID: tenant, Account: acct.ID}); n != 0 {
		t.Errorf("%d profiles left", n)
	}
	if got := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, User: acct.User}); len(got) != 5 {
		t.Errorf("the user's other account has %d activities, want 5", len(got))
	}
	if _, err := b.store.FindAccountByID(ctx, tenant, keep.ID); err != nil {
		t.Errorf("other account: %v", err)
	}
	wantCode(t, b.sim.Remove(ctx, tenant, acct.ID), hookd.ENOTFOUND)
	wantCode(t, b.sim.Remove(ctx, "other-tenant", keep.ID), hookd.ENOTFOUND)
	if got := b.events.take(); len(got) != 0 {
		t.Errorf("failed removes published %v", types(got))
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	cases := []struct {
		name  string
		req   sandbox.ConnectRequest
		field string
	}{
		{"NegativeDays", sandbox.ConnectRequest{Days: intp(-1)}, "days"},
		{"ZeroDays", sandbox.ConnectRequest{Days: intp(0)}, "days"},
		{"HugeDays", sandbox.ConnectRequest{Days: intp(3651)}, "days"},
		{"NegativeActivities", sandbox.ConnectRequest{Activities: intp(-5)}, "activities"},
		{"HugeActivities", sandbox.ConnectRequest{Activities: intp(10_001)}, "activities"},
		{"BadUser", sandbox.ConnectRequest{User: "nope"}, "user"},
		{"UnknownUser", sandbox.ConnectRequest{User: "00000000-0000-4000-8000-999999999999"}, "user"},
		{"BlankEmployer", sandbox.ConnectRequest{Employer: "   "}, "employer"},
		{"UnknownErrorCode", sandbox.ConnectRequest{ErrorCode: "bogus"}, "error_code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.sim.Connect(ctx, tenant, c.req)
			wantCode(t, err, hookd.EINVALID, c.field)
		})
	}
	acct, err := b.sim.Connect(ctx, tenant, sandbox.ConnectRequest{Activities: intp(10)})
	if err != nil {
		t.Fatal(err)
	}
	b.events.take()
	refreshes := []struct {
		name  string
		req   sandbox.RefreshRequest
		field string
	}{
		{"NegativeAdded", sandbox.RefreshRequest{Added: -1}, "added"},
		{"NegativeUpdated", sandbox.RefreshRequest{Updated: -1}, "updated"},
		{"NegativeRemoved", sandbox.RefreshRequest{Removed: -1}, "removed"},
		{"HugeAdded", sandbox.RefreshRequest{Added: 10_001}, "added"},
		{"RemovedMoreThanExist", sandbox.RefreshRequest{Removed: 11}, "removed"},
		{"UpdatedMoreThanExist", sandbox.RefreshRequest{Updated: 11}, "updated"},
		{"UpdatedPlusRemoved", sandbox.RefreshRequest{Updated: 6, Removed: 5}, "updated"},
	}
	for _, c := range refreshes {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.sim.Refresh(ctx, tenant, acct.ID, c.req)
			wantCode(t, err, hookd.EINVALID, c.field)
		})
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := b.sim.Refresh(ctx, tenant, "00000000-0000-4000-8000-999999999999", sandbox.RefreshRequest{Added: 1})
		wantCode(t, err, hookd.ENOTFOUND)
		_, err = b.sim.Refresh(ctx, "other-tenant", acct.ID, sandbox.RefreshRequest{Added: 1})
		wantCode(t, err, hookd.ENOTFOUND)
	})
	if got := b.events.take(); len(got) != 0 {
		t.Errorf("invalid requests published %v", types(got))
	}
	if got := activityIDs(t, b.store, sandbox.ActivityFilter{TenantID: tenant, Account: acct.ID}); len(got) != 10 {
		t.Errorf("invalid refreshes left %d activities, want 10", len(got))
	}
	// Exactly everything is allowed.
	if _, err := b.sim.Refresh(ctx, tenant, acct.ID, sandbox.RefreshRequest{Updated: 5, Removed: 5}); err != nil {
		t.Errorf("updating and removing all 10: %v", err)
	}
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	run := func(seed int64) ([]*hookd.Event, []byte) {
		b := setup(t, webhook(tenant, "w", nil, hookd.WebhookEnabled, "*"))
		b.sim.Seed = seed
		var accounts []string
		for range 2 {
			a, err := b.sim.Connect(ctx, tenant, sandbox.ConnectRequest{Days: intp(120), Activities: intp(60)})
			if err != nil {
				t.Fatal(err)
			}
			accounts = append(accounts, a.ID)
		}
		b.now = b.now.Add(15 * 24 * time.Hour)
		if _, err := b.sim.Refresh(ctx, tenant, accounts[0], sandbox.RefreshRequest{Added: 3, Updated: 2, Removed: 1}); err != nil {
			t.Fatal(err)
		}
		as, _, _ := b.store.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant})
		ps, _, _ := b.store.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant})
		pr, _, _ := b.store.FindProfiles(ctx, sandbox.ProfileFilter{TenantID: tenant})
		data, err := json.Marshal([]any{as, ps, pr})
		if err != nil {
			t.Fatal(err)
		}
		return b.events.take(), data
	}
	e1, d1 := run(7)
	e2, d2 := run(7)
	if string(d1) != string(d2) {
		t.Errorf("same seed, different data")
	}
	if len(e1) != len(e2) {
		t.Fatalf("same seed, %d and %d events", len(e1), len(e2))
	}
	for i := range e1 {
		if e1[i].Type != e2[i].Type || string(e1[i].Data) != string(e2[i].Data) || string(e1[i].Resource) != string(e2[i].Resource) ||
			!e1[i].CreatedAt.Equal(e2[i].CreatedAt) || !slices.Equal(e1[i].Webhooks, e2[i].Webhooks) {
			t.Errorf("same seed, event %d differs:\n%s %s\n%s %s", i, e1[i].Type, e1[i].Data, e2[i].Type, e2[i].Data)
		}
	}
	if _, d3 := run(8); string(d3) == string(d1) {
		t.Errorf("different seeds, same data")
	}
}
