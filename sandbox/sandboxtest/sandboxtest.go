// Package sandboxtest is the conformance suite that every sandbox.Store
// implementation must pass: the in-memory store runs it in its tests, and a
// SQL store runs the same suite against a real database.
package sandboxtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
)

// Run runs every exercise against stores from open, a fresh empty store per
// subtest.
func Run(t *testing.T, open func(t *testing.T) sandbox.Store) {
	t.Run("Users", func(t *testing.T) { exerciseUsers(t, open(t)) })
	t.Run("Accounts", func(t *testing.T) { exerciseAccounts(t, open(t)) })
	t.Run("Activities", func(t *testing.T) { exerciseActivities(t, open(t)) })
	t.Run("Payouts", func(t *testing.T) { exercisePayouts(t, open(t)) })
	t.Run("Profiles", func(t *testing.T) { exerciseProfiles(t, open(t)) })
	t.Run("DeleteAccount", func(t *testing.T) { exerciseDeleteAccount(t, open(t)) })
	t.Run("Tenants", func(t *testing.T) { exerciseTenants(t, open(t)) })
	t.Run("Concurrency", func(t *testing.T) { exerciseConcurrency(t, open(t)) })
}

const tenant = "tenant-a"

var now = time.Date(2026, time.November, 23, 7, 30, 0, 123456000, time.UTC)

// fixture is one stored account with its data.
type fixture struct {
	user *sandbox.User
	*sandbox.Dataset
}

// mustConnect stores a new user (unless user is given) and a generated
// account of it with n activities over days, and returns them.
func mustConnect(t *testing.T, s sandbox.Store, g *sandbox.Generator, tenantID string, user *sandbox.User, employer string, days, n int) fixture {
	t.Helper()
	ctx := context.Background()
	if user == nil {
		user = g.User(now)
		if err := s.CreateUser(ctx, tenantID, user); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	ds := g.Generate(now, user.ID, sandbox.LookupEmployer(employer), days, n)
	if err := s.CreateAccount(ctx, tenantID, ds.Account); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if err := s.CreateProfile(ctx, tenantID, ds.Profile); err != nil {
		t.Fatalf("CreateProfile: %v", err)
	}
	if err := s.CreateActivities(ctx, tenantID, ds.Activities); err != nil {
		t.Fatalf("CreateActivities: %v", err)
	}
	if err := s.CreatePayouts(ctx, tenantID, ds.Payouts); err != nil {
		t.Fatalf("CreatePayouts: %v", err)
	}
	return fixture{user, ds}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := hookd.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func activityIDs(as []*sandbox.Activity) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func exerciseUsers(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	g := sandbox.NewGenerator(1)
	u := g.User(now)
	u.ExternalMetadata = json.RawMessage(`{"internal_id":"1324"}`)
	if err := s.CreateUser(ctx, tenant, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindUserByID(ctx, tenant, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, got) != mustJSON(t, u) {
		t.Errorf("FindUserByID got %s, want %s", mustJSON(t, got), mustJSON(t, u))
	}
	wantCode(t, s.CreateUser(ctx, tenant, u), hookd.ECONFLICT)

	u.EmployersConnected = []string{"Uber"}
	u.DataProvidersConnected = []string{"uber"}
	if err := s.UpdateUser(ctx, tenant, u); err != nil {
		t.Fatal(err)
	}
	got, _ = s.FindUserByID(ctx, tenant, u.ID)
	if mustJSON(t, got) != mustJSON(t, u) {
		t.Errorf("after UpdateUser got %s, want %s", mustJSON(t, got), mustJSON(t, u))
	}
	_, err = s.FindUserByID(ctx, tenant, "00000000-0000-4000-8000-000000000000")
	wantCode(t, err, hookd.ENOTFOUND)
	wantCode(t, s.UpdateUser(ctx, tenant, g.User(now)), hookd.ENOTFOUND)
}

func exerciseAccounts(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	g := sandbox.NewGenerator(2)
	a := mustConnect(t, s, g, tenant, nil, "uber", 30, 3)
	b := mustConnect(t, s, g, tenant, a.user, "lyft", 30, 3)
	c := mustConnect(t, s, g, tenant, nil, "doordash", 30, 3)

	got, err := s.FindAccountByID(ctx, tenant, a.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, got) != mustJSON(t, a.Account) {
		t.Errorf("FindAccountByID got\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, a.Account))
	}
	wantCode(t, s.CreateAccount(ctx, tenant, a.Account), hookd.ECONFLICT)
	orphan := g.Account(now, "00000000-0000-4000-8000-000000000000", sandbox.LookupEmployer("uber"))
	wantCode(t, s.CreateAccount(ctx, tenant, orphan), hookd.ENOTFOUND)

	all, n, err := s.FindAccounts(ctx, sandbox.AccountFilter{TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(all) != 3 {
		t.Fatalf("FindAccounts: %d of count %d, want 3", len(all), n)
	}
	for i := 1; i < len(all); i++ {
		if p, q := all[i-1], all[i]; p.CreatedAt.After(q.CreatedAt.Time) || (p.CreatedAt.Equal(q.CreatedAt.Time) && p.ID > q.ID) {
			t.Errorf("accounts not ordered by created_at, id at %d", i)
		}
	}
	mine, n, _ := s.FindAccounts(ctx, sandbox.AccountFilter{TenantID: tenant, User: a.user.ID})
	if n != 2 || len(mine) != 2 || slices.ContainsFunc(mine, func(x *sandbox.Account) bool { return x.ID == c.Account.ID }) {
		t.Errorf("FindAccounts by user: %d of count %d", len(mine), n)
	}
	page, n, _ := s.FindAccounts(ctx, sandbox.AccountFilter{TenantID: tenant, Limit: 2, Offset: 1})
	if n != 3 || len(page) != 2 || page[0].ID != all[1].ID || page[1].ID != all[2].ID {
		t.Errorf("FindAccounts limit 2 offset 1: %d of count %d", len(page), n)
	}
	if page, n, _ := s.FindAccounts(ctx, sandbox.AccountFilter{TenantID: tenant, Limit: 2, Offset: 5}); len(page) != 0 || n != 3 {
		t.Errorf("FindAccounts past the end: %d of count %d", len(page), n)
	}

	upd := *b.Account
	code, msg := "auth_required", "Reconnect."
	upd.Connection = sandbox.Connection{Status: sandbox.ConnectionError, ErrorCode: &code, ErrorMessage: &msg, UpdatedAt: sandbox.NewTimestamp(now.Add(time.Hour))}
	upd.UpdatedAt = sandbox.NewTimestamp(now.Add(time.Hour))
	if err := s.UpdateAccount(ctx, tenant, &upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.FindAccountByID(ctx, tenant, b.Account.ID)
	if mustJSON(t, got) != mustJSON(t, &upd) {
		t.Errorf("after UpdateAccount got %s", mustJSON(t, got))
	}
	wantCode(t, s.UpdateAccount(ctx, tenant, orphan), hookd.ENOTFOUND)
}

func exerciseActivities(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	g := sandbox.NewGenerator(3)
	a := mustConnect(t, s, g, tenant, nil, "uber", 60, 40)
	b := mustConnect(t, s, g, tenant, a.user, "gnomedepot", 60, 20)
	c := mustConnect(t, s, g, tenant, nil, "taskrabbit", 60, 10)

	all, n, err := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	if n != 70 || len(all) != 70 {
		t.Fatalf("FindActivities: %d of count %d, want 70", len(all), n)
	}
	for i := 1; i < len(all); i++ {
		p, q := all[i-1], all[i]
		if p.StartDate.Before(q.StartDate.Time) || (p.StartDate.Equal(q.StartDate.Time) && p.ID < q.ID) {
			t.Fatalf("activities not ordered newest start_date first (then id descending) at %d", i)
		}
	}
	// Stored objects come back exactly.
	byID := make(map[string]*sandbox.Activity)
	for _, x := range all {
		byID[x.ID] = x
	}
	for _, want := range a.Activities {
		if got := byID[want.ID]; got == nil || mustJSON(t, got) != mustJSON(t, want) {
			t.Fatalf("activity %s came back as\n%s\nwant\n%s", want.ID, mustJSON(t, got), mustJSON(t, want))
		}
	}

	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: a.Account.ID}); n != 40 {
		t.Errorf("by account: count %d, want 40", n)
	}
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, User: a.user.ID}); n != 60 {
		t.Errorf("by user: count %d, want 60", n)
	}
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, User: c.user.ID, Account: a.Account.ID}); n != 0 {
		t.Errorf("by another user's account: count %d, want 0", n)
	}

	// Date bounds are inclusive at both ends, to the second.
	acts := a.Activities // oldest first
	from, to := acts[5].StartDate.Time, acts[14].StartDate.Time
	want := 0
	for _, x := range acts {
		if !x.StartDate.Before(from) && !x.StartDate.After(to) {
			want++
		}
	}
	got, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: a.Account.ID, FromStartDate: &from, ToStartDate: &to})
	if n != want || len(got) != want || want < 10 {
		t.Errorf("start_date in [%v, %v]: %d of count %d, want %d", from, to, len(got), n, want)
	}
	sum, err := s.SummarizeActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: a.Account.ID, FromStartDate: &from, ToStartDate: &to})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Count != want || sum.From == nil || !sum.From.Equal(from) || !sum.To.Equal(to) {
		t.Errorf("SummarizeActivities = %d %v %v, want %d %v %v", sum.Count, sum.From, sum.To, want, from, to)
	}
	future := now.Add(time.Hour)
	if sum, _ := s.SummarizeActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, FromStartDate: &future}); sum.Count != 0 || sum.From != nil || sum.To != nil {
		t.Errorf("empty summary = %+v", sum)
	}

	// Pages.
	p1, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: a.Account.ID, Limit: 15})
	p3, _, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: a.Account.ID, Limit: 15, Offset: 30})
	if n != 40 || len(p1) != 15 || len(p3) != 10 || p1[0].ID != acts[39].ID || p3[9].ID != acts[0].ID {
		t.Errorf("pages: count %d, sizes %d and %d", n, len(p1), len(p3))
	}

	// Updates, and the updated_at filter.
	later := now.Add(2 * time.Hour)
	upd := []*sandbox.Activity{b.Activities[3], b.Activities[7]}
	for _, x := range upd {
		x.UpdatedAt = sandbox.NewTimestamp(later)
		tips := "3.50"
		x.Income.Tips = &tips
	}
	if err := s.UpdateActivities(ctx, tenant, upd); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, FromUpdatedAt: &later})
	if ids := activityIDs(got); len(ids) != 2 || !slices.Contains(ids, upd[0].ID) || !slices.Contains(ids, upd[1].ID) {
		t.Errorf("from_updated_at: %v, want the 2 updated", ids)
	}
	if mustJSON(t, got[0]) != mustJSON(t, upd[0]) && mustJSON(t, got[0]) != mustJSON(t, upd[1]) {
		t.Errorf("updated activity came back as %s", mustJSON(t, got[0]))
	}
	before := later.Add(-time.Microsecond)
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, ToUpdatedAt: &before}); n != 68 {
		t.Errorf("to_updated_at: count %d, want 68", n)
	}
	missing := *a.Activities[0]
	missing.ID = "00000000-0000-4000-8000-000000000000"
	wantCode(t, s.UpdateActivities(ctx, tenant, []*sandbox.Activity{a.Activities[1], &missing}), hookd.ENOTFOUND)

	// Creation is all or nothing.
	fresh := g.Activities(now, a.Account, sandbox.LookupEmployer("uber"), 2, now.Add(-time.Hour))
	wantCode(t, s.CreateActivities(ctx, tenant, append(fresh, a.Activities[0])), hookd.ECONFLICT)
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: a.Account.ID}); n != 40 {
		t.Errorf("after a failed create: count %d, want 40", n)
	}
	orphans := g.Activities(now, &sandbox.Account{ID: "00000000-0000-4000-8000-000000000000", Item: "item_1"}, sandbox.LookupEmployer("uber"), 1, now.Add(-time.Hour))
	wantCode(t, s.CreateActivities(ctx, tenant, orphans), hookd.ENOTFOUND)

	// Deletion is all or nothing.
	wantCode(t, s.DeleteActivities(ctx, tenant, []string{acts[0].ID, missing.ID}), hookd.ENOTFOUND)
	if err := s.DeleteActivities(ctx, tenant, []string{acts[0].ID, acts[1].ID}); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: a.Account.ID}); n != 38 {
		t.Errorf("after deleting 2: count %d, want 38", n)
	}
	if err := s.CreateActivities(ctx, tenant, nil); err != nil {
		t.Errorf("CreateActivities(nil): %v", err)
	}
}

func exercisePayouts(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	g := sandbox.NewGenerator(4)
	a := mustConnect(t, s, g, tenant, nil, "gnomedepot", 200, 150)
	b := mustConnect(t, s, g, tenant, nil, "uber", 200, 150)
	all, n, err := s.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: a.Account.ID})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(a.Payouts) || n < 10 {
		t.Fatalf("FindPayouts: count %d, want %d", n, len(a.Payouts))
	}
	for i, p := range all { // newest first
		if want := a.Payouts[len(a.Payouts)-1-i]; mustJSON(t, p) != mustJSON(t, want) {
			t.Fatalf("payout %d came back as\n%s\nwant\n%s", i, mustJSON(t, p), mustJSON(t, want))
		}
	}
	from, to := a.Payouts[2].PayoutDate.Time, a.Payouts[5].PayoutDate.Time
	if _, n, _ := s.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: a.Account.ID, FromStartDate: &from, ToStartDate: &to}); n != 4 {
		t.Errorf("payout_date in [%v, %v]: count %d, want 4", from, to, n)
	}
	sum, err := s.SummarizePayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, User: b.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Count != len(b.Payouts) || !sum.From.Equal(b.Payouts[0].PayoutDate.Time) || !sum.To.Equal(b.Payouts[len(b.Payouts)-1].PayoutDate.Time) {
		t.Errorf("SummarizePayouts by user = %d %v %v", sum.Count, sum.From, sum.To)
	}
	page, n, _ := s.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Limit: 3, Offset: 1})
	if n != len(a.Payouts)+len(b.Payouts) || len(page) != 3 {
		t.Errorf("page: %d of count %d", len(page), n)
	}
	wantCode(t, s.CreatePayouts(ctx, tenant, a.Payouts[:1]), hookd.ECONFLICT)
}

func exerciseProfiles(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	g := sandbox.NewGenerator(5)
	a := mustConnect(t, s, g, tenant, nil, "uber", 10, 1)
	b := mustConnect(t, s, g, tenant, a.user, "lyft", 10, 1)
	mustConnect(t, s, g, tenant, nil, "lyft", 10, 1)
	ps, n, err := s.FindProfiles(ctx, sandbox.ProfileFilter{TenantID: tenant, Account: b.Account.ID})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || mustJSON(t, ps[0]) != mustJSON(t, b.Profile) {
		t.Errorf("FindProfiles by account: count %d", n)
	}
	if _, n, _ := s.FindProfiles(ctx, sandbox.ProfileFilter{TenantID: tenant, User: a.user.ID}); n != 2 {
		t.Errorf("by user: count %d, want 2", n)
	}
	if ps, n, _ := s.FindProfiles(ctx, sandbox.ProfileFilter{TenantID: tenant, Limit: 1, Offset: 2}); n != 3 || len(ps) != 1 {
		t.Errorf("page: %d of count %d", len(ps), n)
	}
	wantCode(t, s.CreateProfile(ctx, tenant, a.Profile), hookd.ECONFLICT)
}

func exerciseDeleteAccount(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	g := sandbox.NewGenerator(6)
	a := mustConnect(t, s, g, tenant, nil, "uber", 60, 30)
	b := mustConnect(t, s, g, tenant, a.user, "doordash", 60, 30)
	if err := s.DeleteAccount(ctx, tenant, a.Account.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.FindAccountByID(ctx, tenant, a.Account.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	wantCode(t, s.DeleteAccount(ctx, tenant, a.Account.ID), hookd.ENOTFOUND)
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Account: a.Account.ID}); n != 0 {
		t.Errorf("%d activities left", n)
	}
	if _, n, _ := s.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: tenant, Account: a.Account.ID}); n != 0 {
		t.Errorf("%d payouts left", n)
	}
	if _, n, _ := s.FindProfiles(ctx, sandbox.ProfileFilter{TenantID: tenant, Account: a.Account.ID}); n != 0 {
		t.Errorf("%d profiles left", n)
	}
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, User: a.user.ID}); n != 30 {
		t.Errorf("the other account's activities: %d, want 30", n)
	}
	if _, err := s.FindUserByID(ctx, tenant, a.user.ID); err != nil {
		t.Errorf("the user went with the account: %v", err)
	}
	if _, err := s.FindAccountByID(ctx, tenant, b.Account.ID); err != nil {
		t.Errorf("the other account: %v", err)
	}
}

func exerciseTenants(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	g := sandbox.NewGenerator(7)
	a := mustConnect(t, s, g, tenant, nil, "uber", 30, 5)
	const other = "tenant-b"
	_, err := s.FindUserByID(ctx, other, a.user.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = s.FindAccountByID(ctx, other, a.Account.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	wantCode(t, s.DeleteAccount(ctx, other, a.Account.ID), hookd.ENOTFOUND)
	wantCode(t, s.UpdateAccount(ctx, other, a.Account), hookd.ENOTFOUND)
	wantCode(t, s.DeleteActivities(ctx, other, []string{a.Activities[0].ID}), hookd.ENOTFOUND)
	wantCode(t, s.CreateActivities(ctx, other, a.Activities[:1]), hookd.ENOTFOUND) // the account is not theirs
	if _, n, _ := s.FindAccounts(ctx, sandbox.AccountFilter{TenantID: other}); n != 0 {
		t.Errorf("other tenant sees %d accounts", n)
	}
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: other, Account: a.Account.ID}); n != 0 {
		t.Errorf("other tenant sees %d activities", n)
	}
	if _, n, _ := s.FindPayouts(ctx, sandbox.PayoutFilter{TenantID: other}); n != 0 {
		t.Errorf("other tenant sees %d payouts", n)
	}
	if _, n, _ := s.FindProfiles(ctx, sandbox.ProfileFilter{TenantID: other}); n != 0 {
		t.Errorf("other tenant sees %d profiles", n)
	}
}

func exerciseConcurrency(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := sandbox.NewGenerator(int64(100 + i))
			u := g.User(now)
			if err := s.CreateUser(ctx, tenant, u); err != nil {
				errs <- err
				return
			}
			ds := g.Generate(now, u.ID, sandbox.LookupEmployer("uber"), 30, 50)
			if err := s.CreateAccount(ctx, tenant, ds.Account); err != nil {
				errs <- err
				return
			}
			for j := 0; j < 50; j += 10 {
				if err := s.CreateActivities(ctx, tenant, ds.Activities[j:j+10]); err != nil {
					errs <- err
					return
				}
				if _, _, err := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant, Limit: 5}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(fmt.Errorf("concurrent writer: %w", err))
	}
	if _, n, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: tenant}); n != 400 {
		t.Errorf("after 8 concurrent writers: count %d, want 400", n)
	}
}
