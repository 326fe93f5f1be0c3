package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/http"
	"github.com/hookd/hookd/sandbox"
)

// sandboxBundle is a server with a SandboxHandler on a MemStore whose
// Simulator publishes to a recorder.
type sandboxBundle struct {
	*testServer
	store *sandbox.MemStore

	mu     sync.Mutex
	events []*hookd.Event
}

func newSandboxBundle(tb testing.TB) *sandboxBundle {
	tb.Helper()
	b := &sandboxBundle{testServer: newTestServer(tb), store: sandbox.NewMemStore()}
	b.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		out := make([]hookd.PublishResult, len(es))
		for i, e := range es {
			b.events = append(b.events, e)
			out[i] = hookd.PublishResult{EventID: e.ID, Deliveries: 1}
		}
		return out, nil
	}
	clock := time.Date(2026, time.November, 23, 7, 30, 0, 0, time.UTC)
	b.Sandbox = &hookdhttp.SandboxHandler{
		Store:     b.store,
		Simulator: &sandbox.Simulator{Store: b.store, Events: b.Events, Seed: 1, Now: func() time.Time { return clock }},
	}
	return b
}

func mustOpenSandbox(tb testing.TB) *sandboxBundle {
	tb.Helper()
	b := newSandboxBundle(tb)
	mustOpen(tb, b.testServer)
	return b
}

// take returns and forgets the events published so far.
func (b *sandboxBundle) take() []*hookd.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	es := b.events
	b.events = nil
	return es
}

func eventTypes(es []*hookd.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Type
	}
	return out
}

func findEvent(tb testing.TB, es []*hookd.Event, typ string) map[string]any {
	tb.Helper()
	for _, e := range es {
		if e.Type == typ {
			var m map[string]any
			if err := json.Unmarshal(e.Data, &m); err != nil {
				tb.Fatal(err)
			}
			return m
		}
	}
	tb.Fatalf("no %s among %v", typ, eventTypes(es))
	return nil
}

// listPage is a decoded sandbox list answer.
type listPage struct {
	Count    int               `json:"count"`
	Next     *string           `json:"next"`
	Previous *string           `json:"previous"`
	Results  []json.RawMessage `json:"results"`
}

func (res *response) list(tb testing.TB) listPage {
	tb.Helper()
	var p listPage
	if err := json.Unmarshal(res.Raw, &p); err != nil {
		tb.Fatalf("list %s: %v", res.Raw, err)
	}
	if p.Results == nil {
		tb.Fatalf("list %s: results is not an array", res.Raw)
	}
	return p
}

func ids(tb testing.TB, raws []json.RawMessage) []string {
	tb.Helper()
	out := make([]string, len(raws))
	for i, raw := range raws {
		var v struct{ ID string }
		if err := json.Unmarshal(raw, &v); err != nil {
			tb.Fatal(err)
		}
		out[i] = v.ID
	}
	return out
}

// pathOf returns the path and query of an absolute URL from a list answer.
func pathOf(tb testing.TB, ts *testServer, raw string) string {
	tb.Helper()
	if !strings.HasPrefix(raw, ts.URL()+"/") {
		tb.Fatalf("link %q is not an absolute URL on %s", raw, ts.URL())
	}
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u.RequestURI()
}

// mustConnect connects an account through the API and returns it.
func (b *sandboxBundle) mustConnect(tb testing.TB, body string) *sandbox.Account {
	tb.Helper()
	res := b.do(tb, request{Method: "POST", Path: "/v1/sandbox/accounts", Body: body}).mustStatus(tb, 201)
	var a sandbox.Account
	if err := json.Unmarshal(res.Raw, &a); err != nil {
		tb.Fatal(err)
	}
	return &a
}

func TestSandboxConnect(t *testing.T) {
	t.Parallel()
	b := mustOpenSandbox(t)
	a := b.mustConnect(t, `{"employer":"uber","days":60,"activities":25}`)
	if a.Connection.Status != sandbox.ConnectionConnected || a.LinkItem != "uber" || a.Source != sandbox.SourceSandbox {
		t.Errorf("account: got status %q, link_item %q, source %q", a.Connection.Status, a.LinkItem, a.Source)
	}
	es := b.take()
	want := []string{"accounts.added", "accounts.updated", "accounts.updated", "accounts.connected", "profiles.added",
		"activities.fully_synced", "payouts.fully_synced", "accounts.updated", "users.fully_synced"}
	if got := eventTypes(es); !slices.Equal(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}

	got := b.do(t, request{Method: "GET", Path: "/v1/accounts/" + a.ID}).mustStatus(t, 200)
	if got.JSON["id"] != a.ID || got.JSON["user"] != a.User {
		t.Errorf("GET account: got %s", got.Raw)
	}
	u := b.do(t, request{Method: "GET", Path: "/v1/users/" + a.User}).mustStatus(t, 200)
	if u.JSON["id"] != a.User || !slices.Contains(u.JSON["employers_connected"].([]any), any("Uber")) {
		t.Errorf("GET user: got %s", u.Raw)
	}
	if p := b.do(t, request{Method: "GET", Path: "/v1/accounts?user=" + a.User}).mustStatus(t, 200).list(t); p.Count != 1 || ids(t, p.Results)[0] != a.ID {
		t.Errorf("accounts of the user: got %+v", p)
	}
	if p := b.do(t, request{Method: "GET", Path: "/v1/accounts?user=" + hookd.NewID()}).mustStatus(t, 200).list(t); p.Count != 0 || len(p.Results) != 0 {
		t.Errorf("accounts of another user: got %+v", p)
	}
	if p := b.do(t, request{Method: "GET", Path: "/v1/profiles?account=" + a.ID}).mustStatus(t, 200).list(t); p.Count != 1 {
		t.Errorf("profiles: got count %d", p.Count)
	}
	full := findEvent(t, es, "payouts.fully_synced")
	if p := b.do(t, request{Method: "GET", Path: "/v1/payouts?account=" + a.ID + "&limit=200"}).mustStatus(t, 200).list(t); p.Count != int(full["available_count"].(float64)) || len(p.Results) != p.Count {
		t.Errorf("payouts: count %d, %d results; payouts.fully_synced says %v", p.Count, len(p.Results), full["available_count"])
	}

	// The guide's query, with the fully_synced payload's timestamps.
	data := findEvent(t, es, "activities.fully_synced")
	q := url.Values{"account": {a.ID}, "from_start_date": {data["available_from"].(string)}, "to_start_date": {data["available_to"].(string)}, "limit": {"200"}}
	p := b.do(t, request{Method: "GET", Path: "/v1/activities?" + q.Encode()}).mustStatus(t, 200).list(t)
	if p.Count != 25 || int(data["available_count"].(float64)) != 25 || len(p.Results) != 25 {
		t.Errorf("activities in the available range: count %d, %d results, available_count %v; want 25", p.Count, len(p.Results), data["available_count"])
	}

	// Failing connects.
	failed := b.mustConnect(t, `{"fail":true}`)
	if failed.Connection.Status != sandbox.ConnectionError || *failed.Connection.ErrorCode != sandbox.DefaultErrorCode {
		t.Errorf("fail: got connection %+v", failed.Connection)
	}
	failed = b.mustConnect(t, `{"error_code":"invalid_mfa","user":"`+a.User+`"}`)
	if failed.Connection.ErrorCode == nil || *failed.Connection.ErrorCode != "invalid_mfa" || failed.User != a.User {
		t.Errorf("error_code: got connection %+v of user %s", failed.Connection, failed.User)
	}
	if got := eventTypes(b.take()); !slices.Contains(got, "accounts.failed") || slices.Contains(got, "accounts.connected") {
		t.Errorf("failed connects sent %v", got)
	}
}

func TestSandboxActivityList(t *testing.T) {
	t.Parallel()
	b := mustOpenSandbox(t)
	a := b.mustConnect(t, `{"days":90,"activities":25}`)
	b.mustConnect(t, `{"days":90,"activities":7}`) // another account

	all, _, err := b.store.FindActivities(context.Background(), sandbox.ActivityFilter{TenantID: tenantA, Account: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, x := range all {
		want = append(want, x.ID)
	}

	t.Run("Pages", func(t *testing.T) {
		var got []string
		path := "/v1/activities?account=" + a.ID
		var prev *string
		for i := 0; path != ""; i++ {
			if i > 5 {
				t.Fatal("too many pages")
			}
			p := b.do(t, request{Method: "GET", Path: path}).mustStatus(t, 200).list(t)
			if p.Count != 25 {
				t.Fatalf("page %d: count %d, want 25", i, p.Count)
			}
			if (i == 0) != (p.Previous == nil) {
				t.Errorf("page %d: previous %v", i, p.Previous)
			}
			if i == 1 && pathOf(t, b.testServer, *p.Previous) != "/v1/activities?account="+a.ID+"&limit=10" {
				t.Errorf("page 1: previous %q, want the first page", *p.Previous)
			}
			prev = p.Previous
			got = append(got, ids(t, p.Results)...)
			path = ""
			if p.Next != nil {
				path = pathOf(t, b.testServer, *p.Next)
				if !strings.Contains(path, "account="+a.ID) || !strings.Contains(path, "limit=10") {
					t.Errorf("next %q does not repeat the filters", path)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages: got %v, want %v", got, want)
		}
		if prev == nil || !strings.Contains(*prev, "offset=10") {
			t.Errorf("last page's previous: %v, want offset=10", prev)
		}
	})

	t.Run("Limit", func(t *testing.T) {
		p := b.do(t, request{Method: "GET", Path: "/v1/activities?limit=1000"}).mustStatus(t, 200).list(t)
		if p.Count != 32 || len(p.Results) != 32 || p.Next != nil {
			t.Errorf("limit=1000: count %d, %d results, next %v", p.Count, len(p.Results), p.Next)
		}
		p = b.do(t, request{Method: "GET", Path: "/v1/activities?limit=5&offset=30"}).mustStatus(t, 200).list(t)
		if len(p.Results) != 2 || p.Next != nil || p.Previous == nil || !strings.Contains(*p.Previous, "offset=25") {
			t.Errorf("limit=5&offset=30: %d results, next %v, previous %v", len(p.Results), p.Next, p.Previous)
		}
		p = b.do(t, request{Method: "GET", Path: "/v1/activities?offset=100"}).mustStatus(t, 200).list(t)
		if p.Count != 32 || len(p.Results) != 0 || p.Next != nil {
			t.Errorf("past the end: count %d, %d results, next %v", p.Count, len(p.Results), p.Next)
		}
	})

	t.Run("Dates", func(t *testing.T) {
		// all is newest first; take a range inside it.
		from, to := all[15].StartDate.Time, all[5].StartDate.Time
		wantN := 0
		for _, x := range all {
			if !x.StartDate.Before(from) && !x.StartDate.After(to) {
				wantN++
			}
		}
		q := url.Values{"account": {a.ID}, "from_start_date": {from.Format(time.RFC3339)}, "to_start_date": {to.Format(time.RFC3339)}}
		if p := b.do(t, request{Method: "GET", Path: "/v1/activities?" + q.Encode()}).mustStatus(t, 200).list(t); p.Count != wantN {
			t.Errorf("RFC 3339 range: count %d, want %d", p.Count, wantN)
		}
		// A date alone covers the whole day, at both ends.
		day := all[10].StartDate.Time.Format(time.DateOnly)
		wantN = 0
		for _, x := range all {
			if x.StartDate.Format(time.DateOnly) == day {
				wantN++
			}
		}
		q = url.Values{"account": {a.ID}, "from_start_date": {day}, "to_start_date": {day}}
		if p := b.do(t, request{Method: "GET", Path: "/v1/activities?" + q.Encode()}).mustStatus(t, 200).list(t); p.Count != wantN || wantN == 0 {
			t.Errorf("date range %s: count %d, want %d", day, p.Count, wantN)
		}
		// updated_at bounds.
		q = url.Values{"user": {a.User}, "from_updated_at": {"2000-01-01"}, "to_updated_at": {"2100-01-01T00:00:00Z"}}
		if p := b.do(t, request{Method: "GET", Path: "/v1/activities?" + q.Encode()}).mustStatus(t, 200).list(t); p.Count != 25 {
			t.Errorf("updated_at range: count %d, want 25", p.Count)
		}
		q = url.Values{"from_updated_at": {"2100-01-01"}}
		if p := b.do(t, request{Method: "GET", Path: "/v1/activities?" + q.Encode()}).mustStatus(t, 200).list(t); p.Count != 0 {
			t.Errorf("future updated_at: count %d, want 0", p.Count)
		}
	})

	t.Run("ByID", func(t *testing.T) {
		res := b.do(t, request{Method: "GET", Path: "/v1/activities/" + want[3]}).mustStatus(t, 200)
		if res.JSON["id"] != want[3] || res.JSON["account"] != a.ID {
			t.Errorf("GET activity: got %s", res.Raw)
		}
		b.do(t, request{Method: "GET", Path: "/v1/activities/" + hookd.NewID()}).mustStatus(t, 404)
		b.do(t, request{Method: "GET", Path: "/v1/activities/" + want[3], User: keyB, Pass: secretB}).mustStatus(t, 404)
	})

	t.Run("OtherTenant", func(t *testing.T) {
		p := b.do(t, request{Method: "GET", Path: "/v1/activities", User: keyB, Pass: secretB}).mustStatus(t, 200).list(t)
		if p.Count != 0 {
			t.Errorf("tenant B sees %d activities", p.Count)
		}
		b.do(t, request{Method: "GET", Path: "/v1/accounts/" + a.ID, User: keyB, Pass: secretB}).mustStatus(t, 404)
		b.do(t, request{Method: "GET", Path: "/v1/users/" + a.User, User: keyB, Pass: secretB}).mustStatus(t, 404)
		b.do(t, request{Method: "DELETE", Path: "/v1/accounts/" + a.ID, User: keyB, Pass: secretB}).mustStatus(t, 404)
		b.do(t, request{Method: "POST", Path: "/v1/sandbox/accounts/" + a.ID + "/refresh", Body: `{"added":1}`, User: keyB, Pass: secretB}).mustStatus(t, 404)
	})
}

func TestSandboxRefresh(t *testing.T) {
	t.Parallel()
	b := mustOpenSandbox(t)
	a := b.mustConnect(t, `{"days":60,"activities":30}`)
	b.take()

	res := b.do(t, request{Method: "POST", Path: "/v1/sandbox/accounts/" + a.ID + "/refresh", Body: `{"added":4,"updated":3,"removed":2}`}).mustStatus(t, 202)
	var rr sandbox.RefreshResult
	if err := json.Unmarshal(res.Raw, &rr); err != nil {
		t.Fatal(err)
	}
	if len(rr.Added) != 4 || len(rr.Updated) != 3 || len(rr.Removed) != 2 || rr.Account == nil || rr.Account.ID != a.ID {
		t.Errorf("refresh: got %s", res.Raw)
	}
	es := b.take()
	added := findEvent(t, es, "activities.added")
	q := url.Values{"account": {a.ID}, "from_start_date": {added["added_from"].(string)}, "to_start_date": {added["added_to"].(string)}}
	p := b.do(t, request{Method: "GET", Path: "/v1/activities?" + q.Encode()}).mustStatus(t, 200).list(t)
	if got, want := slices.Sorted(slices.Values(ids(t, p.Results))), slices.Sorted(slices.Values(rr.Added)); !slices.Equal(got, want) {
		t.Errorf("added range: got %v, want %v", got, want)
	}
	removed := findEvent(t, es, "activities.removed")
	if got := removed["removed_count"]; got != float64(2) {
		t.Errorf("removed_count: got %v, want 2", got)
	}
	findEvent(t, es, "activities.updated")

	// An empty body refreshes nothing but still answers 202.
	b.do(t, request{Method: "POST", Path: "/v1/sandbox/accounts/" + a.ID + "/refresh"}).mustStatus(t, 202)
	if p := b.do(t, request{Method: "GET", Path: "/v1/activities?account=" + a.ID}).mustStatus(t, 200).list(t); p.Count != 32 {
		t.Errorf("after the refreshes: count %d, want 32", p.Count)
	}
}

func TestSandboxAccountDelete(t *testing.T) {
	t.Parallel()
	b := mustOpenSandbox(t)
	a := b.mustConnect(t, `{"days":30,"activities":5}`)
	b.take()
	res := b.do(t, request{Method: "DELETE", Path: "/v1/accounts/" + a.ID}).mustStatus(t, 204)
	if len(res.Raw) != 0 {
		t.Errorf("DELETE body: got %q, want empty", res.Raw)
	}
	if got := eventTypes(b.take()); !slices.Equal(got, []string{"accounts.removed"}) {
		t.Errorf("DELETE sent %v, want [accounts.removed]", got)
	}
	b.do(t, request{Method: "GET", Path: "/v1/accounts/" + a.ID}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
	if p := b.do(t, request{Method: "GET", Path: "/v1/activities?account=" + a.ID}).mustStatus(t, 200).list(t); p.Count != 0 {
		t.Errorf("activities left: %d", p.Count)
	}
	b.do(t, request{Method: "DELETE", Path: "/v1/accounts/" + a.ID}).mustStatus(t, 404)
	// The user stays.
	b.do(t, request{Method: "GET", Path: "/v1/users/" + a.User}).mustStatus(t, 200)
}

func TestSandboxErrors(t *testing.T) {
	t.Parallel()
	b := mustOpenSandbox(t)
	a := b.mustConnect(t, `{"days":30,"activities":5}`)
	missing := hookd.NewID()
	text := "text/plain"
	for _, tt := range []struct {
		name         string
		method, path string
		body         string
		contentType  *string
		status       int
		field        string // the 400's field; "" checks {"detail": ...}
	}{
		{"BadID", "GET", "/v1/accounts/not-a-uuid", "", nil, 404, ""},
		{"MissingAccount", "GET", "/v1/accounts/" + missing, "", nil, 404, ""},
		{"MissingUser", "GET", "/v1/users/" + missing, "", nil, 404, ""},
		{"NoUserList", "GET", "/v1/users", "", nil, 404, ""},
		{"UnknownPath", "GET", "/v1/activities/x/y", "", nil, 404, ""},
		{"LimitZero", "GET", "/v1/activities?limit=0", "", nil, 400, "limit"},
		{"LimitText", "GET", "/v1/payouts?limit=ten", "", nil, 400, "limit"},
		{"LimitHuge", "GET", "/v1/activities?limit=99999999999999999999", "", nil, 400, "limit"},
		{"OffsetNegative", "GET", "/v1/activities?offset=-1", "", nil, 400, "offset"},
		{"OffsetText", "GET", "/v1/accounts?offset=x", "", nil, 400, "offset"},
		{"OffsetHuge", "GET", "/v1/profiles?offset=99999999999999999999", "", nil, 400, "offset"},
		{"BadDate", "GET", "/v1/activities?from_start_date=yesterday", "", nil, 400, "from_start_date"},
		{"BadUpdatedAt", "GET", "/v1/payouts?to_updated_at=2024-13-01", "", nil, 400, "to_updated_at"},
		{"BadAccountFilter", "GET", "/v1/activities?account=123", "", nil, 400, "account"},
		{"BadUserFilter", "GET", "/v1/accounts?user=123", "", nil, 400, "user"},
		{"ConnectBadJSON", "POST", "/v1/sandbox/accounts", `{"days":`, nil, 400, ""},
		{"ConnectNotObject", "POST", "/v1/sandbox/accounts", `[1]`, nil, 400, "non_field_errors"},
		{"ConnectNegativeDays", "POST", "/v1/sandbox/accounts", `{"days":-1}`, nil, 400, "days"},
		{"ConnectTooManyDays", "POST", "/v1/sandbox/accounts", `{"days":100000}`, nil, 400, "days"},
		{"ConnectAbsurdActivities", "POST", "/v1/sandbox/accounts", `{"activities":1e300}`, nil, 400, "activities"},
		{"ConnectHugeActivities", "POST", "/v1/sandbox/accounts", `{"activities":123456789012345678901234567890}`, nil, 400, "activities"},
		{"ConnectFractionalDays", "POST", "/v1/sandbox/accounts", `{"days":1.5}`, nil, 400, "days"},
		{"ConnectDaysText", "POST", "/v1/sandbox/accounts", `{"days":"many"}`, nil, 400, "days"},
		{"ConnectDaysList", "POST", "/v1/sandbox/accounts", `{"days":[1]}`, nil, 400, "days"},
		{"ConnectFailText", "POST", "/v1/sandbox/accounts", `{"fail":"maybe"}`, nil, 400, "fail"},
		{"ConnectUserObject", "POST", "/v1/sandbox/accounts", `{"user":{}}`, nil, 400, "user"},
		{"ConnectBadUser", "POST", "/v1/sandbox/accounts", `{"user":"bob"}`, nil, 400, "user"},
		{"ConnectMissingUser", "POST", "/v1/sandbox/accounts", `{"user":"` + missing + `"}`, nil, 400, "user"},
		{"ConnectBadErrorCode", "POST", "/v1/sandbox/accounts", `{"error_code":"nope"}`, nil, 400, "error_code"},
		{"ConnectBlankEmployer", "POST", "/v1/sandbox/accounts", `{"employer":"   "}`, nil, 400, "employer"},
		{"ConnectNotJSON", "POST", "/v1/sandbox/accounts", `days=1`, &text, 415, ""},
		{"RefreshMissing", "POST", "/v1/sandbox/accounts/" + missing + "/refresh", `{"added":1}`, nil, 404, ""},
		{"RefreshBadID", "POST", "/v1/sandbox/accounts/abc/refresh", `{"added":1}`, nil, 404, ""},
		{"RefreshNegative", "POST", "/v1/sandbox/accounts/" + a.ID + "/refresh", `{"added":-1}`, nil, 400, "added"},
		{"RefreshTooManyRemoved", "POST", "/v1/sandbox/accounts/" + a.ID + "/refresh", `{"removed":6}`, nil, 400, "removed"},
		{"RefreshTooManyAdded", "POST", "/v1/sandbox/accounts/" + a.ID + "/refresh", `{"added":1000000}`, nil, 400, "added"},
		{"RefreshWrongType", "POST", "/v1/sandbox/accounts/" + a.ID + "/refresh", `{"updated":true}`, nil, 400, "updated"},
		{"RefreshString", "POST", "/v1/sandbox/accounts/" + a.ID + "/refresh", `"refresh"`, nil, 400, "non_field_errors"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, request{Method: tt.method, Path: tt.path, Body: tt.body, ContentType: tt.contentType}).mustStatus(t, tt.status)
			if res.JSON == nil {
				t.Fatalf("body %s is not a JSON object", res.Raw)
			}
			key := tt.field
			if key == "" {
				key = "detail"
			}
			if _, ok := res.JSON[key]; !ok || len(res.JSON) != 1 {
				t.Errorf("body: got %s, want only %q", res.Raw, key)
			}
		})
	}
	if es := b.take(); len(eventTypes(es)) != 9 {
		t.Errorf("rejected requests published events: %v", eventTypes(es))
	}

	for _, tt := range []struct{ method, path, allow string }{
		{"PATCH", "/v1/accounts/" + a.ID, "DELETE, GET, HEAD"},
		{"POST", "/v1/activities", "GET, HEAD"},
		{"GET", "/v1/sandbox/accounts", "POST"},
		{"PUT", "/v1/sandbox/accounts/" + a.ID + "/refresh", "POST"},
	} {
		res := b.do(t, request{Method: tt.method, Path: tt.path}).mustStatus(t, 405)
		if got := res.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow: got %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	// Behind authentication.
	b.do(t, request{Method: "GET", Path: "/v1/accounts", NoAuth: true}).mustStatus(t, 401)
}

func TestSandboxConnectAcceptsDRFValues(t *testing.T) {
	t.Parallel()
	b := mustOpenSandbox(t)
	a := b.mustConnect(t, `{"days":"30","activities":4.0,"fail":"false","user":null,"employer":null}`)
	if p := b.do(t, request{Method: "GET", Path: "/v1/activities?account=" + a.ID}).mustStatus(t, 200).list(t); p.Count != 4 {
		t.Errorf("activities: count %d, want 4", p.Count)
	}
}

func TestSandboxWithoutSimulator(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	store := sandbox.NewMemStore()
	ts.Sandbox = &hookdhttp.SandboxHandler{Store: store}
	mustOpen(t, ts)
	ts.do(t, request{Method: "POST", Path: "/v1/sandbox/accounts", Body: `{}`}).mustStatus(t, 404)

	g := sandbox.NewGenerator(1)
	ctx := context.Background()
	u := g.User(fixedNow)
	ds := g.Generate(fixedNow, u.ID, sandbox.LookupEmployer("uber"), 10, 3)
	if err := store.CreateUser(ctx, tenantA, u); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateAccount(ctx, tenantA, ds.Account); err != nil {
		t.Fatal(err)
	}
	ts.do(t, request{Method: "DELETE", Path: "/v1/accounts/" + ds.Account.ID}).mustStatus(t, 204)
	ts.do(t, request{Method: "GET", Path: "/v1/accounts/" + ds.Account.ID}).mustStatus(t, 404)
}

// FuzzSandboxListQuery checks that no query string makes a sandbox list
// answer anything but a 200 list or a 400.
func FuzzSandboxListQuery(f *testing.F) {
	for _, q := range []string{
		"", "limit=5&offset=5", "limit=0", "limit=-1", "offset=-5", "limit=abc", "offset=1e3", "limit=1000",
		"account=00000000-0000-4000-8000-000000000000&from_start_date=2024-01-01&to_start_date=2024-01-02T10:00:00%2B02:00",
		"from_updated_at=2024-01-02T10:00:00 02:00&to_updated_at=2024-01-02", "user=x", ";;&&==", "limit=9223372036854775808",
		"offset=2147483647&limit=200", "from_start_date=%ZZ", "to_start_date=0000-01-01", "from_start_date=9999-12-31T23:59:59.999999999Z",
	} {
		f.Add(q)
	}
	b := newSandboxBundle(f)
	h := b.Handler()
	ctx := context.Background()
	g := sandbox.NewGenerator(1)
	u := g.User(fixedNow)
	ds := g.Generate(fixedNow, u.ID, sandbox.LookupEmployer("uber"), 30, 12)
	_ = b.store.CreateUser(ctx, tenantA, u)
	_ = b.store.CreateAccount(ctx, tenantA, ds.Account)
	_ = b.store.CreateActivities(ctx, tenantA, ds.Activities)
	_ = b.store.CreatePayouts(ctx, tenantA, ds.Payouts)
	_ = b.store.CreateProfile(ctx, tenantA, ds.Profile)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, p := range []string{"/v1/activities", "/v1/payouts", "/v1/accounts", "/v1/profiles"} {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.Path, r.URL.RawQuery = p, raw
			r.SetBasicAuth(keyA, secretA)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			switch rec.Code {
			case http.StatusOK:
				var l listPage
				if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil || l.Results == nil || len(l.Results) > hookdhttp.MaxLimit {
					t.Fatalf("GET %s?%s: bad list %s", p, raw, rec.Body)
				}
			case http.StatusBadRequest:
				var m map[string][]string
				if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || len(m) == 0 {
					t.Fatalf("GET %s?%s: bad 400 %s", p, raw, rec.Body)
				}
			default:
				t.Fatalf("GET %s?%s: status %d: %s", p, raw, rec.Code, rec.Body)
			}
		}
	})
}
