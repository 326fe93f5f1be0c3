package http_test

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// webhookFields is the exact member set of the webhook object.
var webhookFields = []string{"config", "created_at", "disabled_reason", "events", "id", "last_sent_at", "name", "secret", "status", "updated_at", "url"}

// store is a tiny tenant-scoped webhook store for the mock.
type store struct {
	mu       sync.Mutex
	webhooks map[string]*hookd.Webhook
}

// useStore makes the webhook mock a real (map) store, scoped by tenant.
func (ts *testServer) useStore(tb testing.TB, ws ...*hookd.Webhook) *store {
	tb.Helper()
	st := &store{webhooks: map[string]*hookd.Webhook{}}
	for _, w := range ws {
		st.webhooks[w.ID] = w
	}
	ts.Webhooks.FindWebhookByIDFunc = func(ctx context.Context, tenant, id string) (*hookd.Webhook, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		w, ok := st.webhooks[id]
		if !ok || w.TenantID != tenant {
			return nil, hookd.Errorf(hookd.ENOTFOUND, "Webhook not found.")
		}
		c := *w
		return &c, nil
	}
	ts.Webhooks.CreateWebhookFunc = func(ctx context.Context, w *hookd.Webhook) error {
		st.mu.Lock()
		defer st.mu.Unlock()
		c := *w
		st.webhooks[w.ID] = &c
		return nil
	}
	ts.Webhooks.UpdateWebhookFunc = func(ctx context.Context, tenant, id string, upd hookd.WebhookUpdate, now time.Time) (*hookd.Webhook, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		w, ok := st.webhooks[id]
		if !ok || w.TenantID != tenant {
			return nil, hookd.Errorf(hookd.ENOTFOUND, "Webhook not found.")
		}
		c, err := upd.Apply(w, now)
		if err != nil {
			return nil, err
		}
		st.webhooks[id] = c
		return c, nil
	}
	ts.Webhooks.DeleteWebhookFunc = func(ctx context.Context, tenant, id string) error {
		st.mu.Lock()
		defer st.mu.Unlock()
		w, ok := st.webhooks[id]
		if !ok || w.TenantID != tenant {
			return hookd.Errorf(hookd.ENOTFOUND, "Webhook not found.")
		}
		delete(st.webhooks, id)
		return nil
	}
	ts.Webhooks.FindWebhooksFunc = func(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		var list []*hookd.Webhook
		for _, w := range st.webhooks {
			if w.TenantID == f.TenantID {
				list = append(list, w)
			}
		}
		return list, false, nil
	}
	return st
}

// newWebhook returns a stored-looking webhook of tenant.
func newWebhook(tenant string) *hookd.Webhook {
	created := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	return &hookd.Webhook{
		ID: hookd.NewID(), TenantID: tenant, Name: "Account added", Events: []string{"accounts.added", "accounts.connected"},
		URL: "https://example.com/hook", Secret: "supersecret1234", Status: hookd.WebhookEnabled,
		CreatedAt: created, UpdatedAt: created.Add(time.Second),
	}
}

func TestWebhookCreate(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		var got *hookd.Webhook
		ts.Webhooks.CreateWebhookFunc = func(ctx context.Context, w *hookd.Webhook) error {
			got = w
			return nil
		}
		res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks", Body: `{
			"events": ["accounts.updated", "accounts.connected"],
			"name": "name-for-the-webhook-subscription",
			"url": "https://your-webhook-backend.com",
			"config": {"include_resource": true},
			"secret": "optional-secret",
			"unknown": "ignored"
		}`}).mustStatus(t, 201)
		if got == nil {
			t.Fatal("CreateWebhook not called")
		}
		if got.TenantID != tenantA || !hookd.IsUUID(got.ID) || got.Status != hookd.WebhookEnabled || !got.CreatedAt.Equal(fixedNow.Truncate(time.Microsecond)) {
			t.Errorf("created webhook: got %+v", got)
		}
		res.mustBody(t, `{
			"id": "`+got.ID+`",
			"name": "name-for-the-webhook-subscription",
			"events": ["accounts.updated", "accounts.connected"],
			"url": "https://your-webhook-backend.com",
			"config": {"include_resource": true},
			"secret": "optional-secret",
			"created_at": "2024-03-05T10:11:12.345678Z",
			"updated_at": "2024-03-05T10:11:12.345678Z",
			"last_sent_at": null,
			"status": "enabled",
			"disabled_reason": null
		}`)
		// Keys come in the documented order.
		if want := `{"id":"` + got.ID + `","name":`; !strings.HasPrefix(string(res.Raw), want) {
			t.Errorf("body %s: want prefix %s", res.Raw, want)
		}
	})
	t.Run("Wildcard", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		ts.useStore(t)
		for _, body := range []string{
			`{"name":"all","events":"*","url":"http://example.com","config":null}`,
			`{"name":"all","events":["*"],"url":"http://example.com","secret":null}`,
		} {
			res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks", Body: body}).mustStatus(t, 201)
			if got, want := res.JSON["events"], []any{"*"}; !reflect.DeepEqual(got, want) {
				t.Errorf("events: got %v, want %v", got, want)
			}
			if got, want := res.JSON["config"], map[string]any{}; !reflect.DeepEqual(got, want) {
				t.Errorf("config: got %v, want %v", got, want)
			}
			if got := res.JSON["secret"]; got != nil {
				t.Errorf("secret: got %v, want null", got)
			}
			if got, want := keys(res.JSON), webhookFields; !reflect.DeepEqual(got, want) {
				t.Errorf("fields: got %v, want %v", got, want)
			}
		}
	})
	t.Run("NumberName", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		ts.useStore(t)
		res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks", Body: `{"name":42,"events":["*"],"url":"http://example.com"}`}).mustStatus(t, 201)
		if got, want := res.JSON["name"], "42"; got != want {
			t.Errorf("name: got %v, want %v", got, want)
		}
	})

	policy := func(raw string) error {
		if strings.Contains(raw, "localhost") {
			return errors.New("URL not allowed: localhost is a disallowed destination.")
		}
		return nil
	}
	for _, tt := range []struct {
		name, body, want string
	}{
		{"ErrEmpty", `{}`, `{"name":["This field is required."],"events":["This field is required."],"url":["This field is required."]}`},
		{"ErrEmptyBody", ``, `{"name":["This field is required."],"events":["This field is required."],"url":["This field is required."]}`},
		{"ErrNull", `{"name":null,"events":null,"url":null}`, `{"name":["This field may not be null."],"events":["This field may not be null."],"url":["This field may not be null."]}`},
		{"ErrTypes", `{"name":{},"events":"accounts.added","url":["x"],"secret":true}`, `{"name":["Not a valid string."],"events":["Expected a list of items but got type \"str\"."],"url":["Not a valid string."],"secret":["Not a valid string."]}`},
		{"ErrEventsDict", `{"name":"n","events":{"a":1},"url":"http://example.com"}`, `{"events":["Expected a list of items but got type \"dict\"."]}`},
		{"ErrEventItem", `{"name":"n","events":["accounts.added",1],"url":"http://example.com"}`, `{"events":["Not a valid string."]}`},
		{"ErrBlank", `{"name":" ","events":[],"url":""}`, `{"name":["This field may not be blank."],"events":["This list may not be empty."],"url":["This field may not be blank."]}`},
		{"ErrUnknownEvent", `{"name":"n","events":["accounts.added","nope.x"],"url":"http://example.com"}`, `{"events":["\"nope.x\" is not a valid choice."]}`},
		{"ErrBadURL", `{"name":"n","events":["*"],"url":"ftp://example.com"}`, `{"url":["Enter a valid URL."]}`},
		{"ErrWildcardConfig", `{"name":"n","events":["*"],"url":"http://example.com","config":{"include_resource":true}}`, `{"config":["\"*\" subscribes to every event and takes no config."]}`},
		{"ErrConfigType", `{"name":"n","events":["accounts.added"],"url":"http://example.com","config":"x"}`, `{"config":["Expected a dictionary of items but got type \"str\"."]}`},
		{"ErrConfigKey", `{"name":"n","events":["accounts.added"],"url":"http://example.com","config":{"colour":1}}`, `{"config":["Unknown config key \"colour\"; allowed: include_resource, days_synced."]}`},
		{"ErrIncludeResourceType", `{"name":"n","events":["accounts.added"],"url":"http://example.com","config":{"include_resource":"yes"}}`, `{"config":["include_resource must be a boolean."]}`},
		{"ErrDaysSyncedEvent", `{"name":"n","events":["accounts.added"],"url":"http://example.com","config":{"days_synced":10}}`, `{"config":["days_synced is only allowed for activities.partially_synced and payouts.partially_synced; not for accounts.added."]}`},
		{"ErrDaysSyncedType", `{"name":"n","events":["activities.partially_synced"],"url":"http://example.com","config":{"days_synced":1.5}}`, `{"config":["days_synced must be an integer from 1 to 3650."]}`},
		{"ErrURLPolicy", `{"name":"n","events":["*"],"url":"http://localhost:8080/x"}`, `{"url":["URL not allowed: localhost is a disallowed destination."]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			ts.URLPolicy = policy
			mustOpen(t, ts)
			ts.Webhooks.CreateWebhookFunc = func(ctx context.Context, w *hookd.Webhook) error {
				t.Error("CreateWebhook called for an invalid webhook")
				return nil
			}
			ts.do(t, request{Method: "POST", Path: "/v1/webhooks", Body: tt.body}).mustStatus(t, 400).mustBody(t, tt.want)
		})
	}
	t.Run("DaysSynced", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		ts.useStore(t)
		res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks", Body: `{"name":"n","events":["activities.partially_synced","activities.fully_synced"],"url":"http://example.com","config":{"days_synced":60}}`})
		// days_synced is only for *.partially_synced: fully_synced makes it a 400.
		res.mustStatus(t, 400)
		res = ts.do(t, request{Method: "POST", Path: "/v1/webhooks", Body: `{"name":"n","events":["activities.partially_synced"],"url":"http://example.com","config":{"days_synced":60.0}}`}).mustStatus(t, 201)
		if got, want := res.JSON["config"], map[string]any{"days_synced": float64(60)}; !reflect.DeepEqual(got, want) {
			t.Errorf("config: got %v, want %v", got, want)
		}
	})
}

func TestWebhookGet(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	wa, wb := newWebhook(tenantA), newWebhook(tenantB)
	sent := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	wa.LastSentAt = &sent
	wa.Status, wa.DisabledReason = hookd.WebhookDisabled, hookd.DisabledGone
	ts.useStore(t, wa, wb)

	t.Run("OK", func(t *testing.T) {
		res := ts.do(t, request{Method: "GET", Path: "/v1/webhooks/" + wa.ID}).mustStatus(t, 200)
		res.mustBody(t, `{
			"id": "`+wa.ID+`", "name": "Account added", "events": ["accounts.added", "accounts.connected"],
			"url": "https://example.com/hook", "config": {}, "secret": "********1234",
			"created_at": "2024-01-02T03:04:05.000006Z", "updated_at": "2024-01-02T03:04:06.000006Z",
			"last_sent_at": "2024-02-01T00:00:00.000000Z", "status": "disabled", "disabled_reason": "gone"
		}`)
	})
	t.Run("UpperCaseID", func(t *testing.T) {
		// A UUID in upper case is still a UUID; the store decides.
		ts.do(t, request{Method: "GET", Path: "/v1/webhooks/" + strings.ToUpper(wa.ID)}).mustStatus(t, 404)
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		ts.do(t, request{Method: "GET", Path: "/v1/webhooks/" + wb.ID}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
		ts.do(t, request{Method: "GET", Path: "/v1/webhooks/" + wb.ID, User: keyB, Pass: secretB}).mustStatus(t, 200)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		ts.do(t, request{Method: "GET", Path: "/v1/webhooks/" + hookd.NewID()}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
	})
	t.Run("ErrNotUUID", func(t *testing.T) {
		ts := MustOpenServer(t) // FindWebhookByIDFunc unset: calling it would panic into a 500
		ts.do(t, request{Method: "GET", Path: "/v1/webhooks/123"}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
	})
	t.Run("ShortSecret", func(t *testing.T) {
		w := newWebhook(tenantA)
		w.Secret = "abcd"
		ts := MustOpenServer(t)
		ts.useStore(t, w)
		res := ts.do(t, request{Method: "GET", Path: "/v1/webhooks/" + w.ID}).mustStatus(t, 200)
		if got, want := res.JSON["secret"], "********"; got != want {
			t.Errorf("secret: got %v, want %v", got, want)
		}
	})
}

func TestWebhookList(t *testing.T) {
	t.Parallel()
	t.Run("TenantScoped", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		wa, wb := newWebhook(tenantA), newWebhook(tenantB)
		ts.useStore(t, wa, wb)
		res := ts.do(t, request{Method: "GET", Path: "/v1/webhooks"}).mustStatus(t, 200)
		if strings.Contains(string(res.Raw), wb.ID) || !strings.Contains(string(res.Raw), wa.ID) {
			t.Errorf("tenant A's list: got %s, want only %s", res.Raw, wa.ID)
		}
		if got, want := keys(res.JSON), []string{"next", "previous", "results"}; !reflect.DeepEqual(got, want) {
			t.Errorf("fields: got %v, want %v", got, want)
		}
		item := res.JSON["results"].([]any)[0].(map[string]any)
		if got, want := keys(item), webhookFields; !reflect.DeepEqual(got, want) {
			t.Errorf("item fields: got %v, want %v", got, want)
		}
		if got, want := item["secret"], "********1234"; got != want {
			t.Errorf("secret: got %v, want %v", got, want)
		}
	})

	t.Run("Filter", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			query string
			want  hookd.WebhookFilter
		}{
			{"", hookd.WebhookFilter{Ordering: "-created_at", Page: hookd.Page{Limit: 10}}},
			{"?limit=2&ordering=id", hookd.WebhookFilter{Ordering: "id", Page: hookd.Page{Limit: 2}}},
			{"?limit=500&ordering=created_at", hookd.WebhookFilter{Ordering: "created_at", Page: hookd.Page{Limit: 200}}},
			{"?from_created_at_date=2024-01-02&to_created_at_date=2024-01-03", hookd.WebhookFilter{
				Ordering: "-created_at", Page: hookd.Page{Limit: 10},
				CreatedFrom: ptr(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)),
				CreatedTo:   ptr(time.Date(2024, 1, 3, 23, 59, 59, 999999000, time.UTC)),
			}},
			{"?from_created_at_date=2024-01-02T10:00:00%2B02:00&to_created_at_date=2024-01-03T00:00:00.5Z", hookd.WebhookFilter{
				Ordering: "-created_at", Page: hookd.Page{Limit: 10},
				CreatedFrom: ptr(time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC)),
				CreatedTo:   ptr(time.Date(2024, 1, 3, 0, 0, 0, 500000000, time.UTC)),
			}},
			{"?from_created_at_date=2024-01-02T10:00:00+02:00", hookd.WebhookFilter{ // an unescaped "+" reads as a space
				Ordering: "-created_at", Page: hookd.Page{Limit: 10},
				CreatedFrom: ptr(time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC)),
			}},
			{"?from_created_at_date=2024-01-02T10:00:00", hookd.WebhookFilter{
				Ordering: "-created_at", Page: hookd.Page{Limit: 10},
				CreatedFrom: ptr(time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)),
			}},
		} {
			ts := MustOpenServer(t)
			var got hookd.WebhookFilter
			ts.Webhooks.FindWebhooksFunc = func(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
				got = f
				return nil, false, nil
			}
			ts.do(t, request{Method: "GET", Path: "/v1/webhooks" + tt.query}).mustStatus(t, 200)
			tt.want.TenantID = tenantA
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GET /v1/webhooks%s: filter got %+v, want %+v", tt.query, got, tt.want)
			}
		}
	})

	t.Run("ErrQuery", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t) // FindWebhooksFunc unset: no query reaches the store
		for _, tt := range []struct{ query, want string }{
			{"limit=0", `{"limit":["Ensure this value is greater than or equal to 1."]}`},
			{"limit=-3", `{"limit":["Ensure this value is greater than or equal to 1."]}`},
			{"limit=abc", `{"limit":["A valid integer is required."]}`},
			{"limit=1.5", `{"limit":["A valid integer is required."]}`},
			{"limit=99999999999999999999999", `{"limit":["A valid integer is required."]}`},
			{"ordering=name", `{"ordering":["Select a valid choice. name is not one of the available choices."]}`},
			{"from_created_at_date=yesterday", `{"from_created_at_date":["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z], YYYY-MM-DD."]}`},
			{"to_created_at_date=2024-13-01", `{"to_created_at_date":["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z], YYYY-MM-DD."]}`},
			{"cursor=abc", `{"cursor":["Invalid cursor"]}`},
			{"cursor=!!!", `{"cursor":["Invalid cursor"]}`},
		} {
			ts.do(t, request{Method: "GET", Path: "/v1/webhooks?" + tt.query}).mustStatus(t, 400).mustBody(t, tt.want)
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		ws := []*hookd.Webhook{newWebhook(tenantA), newWebhook(tenantA), newWebhook(tenantA)}
		for i, w := range ws {
			w.CreatedAt = time.Date(2024, 1, 3-i, 0, 0, 0, 0, time.UTC) // newest first
		}
		var filters []hookd.WebhookFilter
		ts.Webhooks.FindWebhooksFunc = func(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
			filters = append(filters, f)
			switch {
			case f.Page.After == nil && f.Page.Before == nil:
				return ws[:2], true, nil
			case f.Page.After != nil:
				return ws[2:], false, nil
			default:
				return ws[:2], false, nil
			}
		}
		res := ts.do(t, request{Method: "GET", Path: "/v1/webhooks?limit=2&from_created_at_date=2023-01-01"}).mustStatus(t, 200)
		if got := res.JSON["previous"]; got != nil {
			t.Errorf("first page previous: got %v, want null", got)
		}
		next, _ := res.JSON["next"].(string)
		u, err := url.Parse(next)
		if err != nil || u.Scheme != "http" || u.Host != strings.TrimPrefix(ts.URL(), "http://") || u.Path != "/v1/webhooks" {
			t.Fatalf("next: got %q, want an absolute URL of /v1/webhooks", next)
		}
		if got, want := u.Query().Get("limit"), "2"; got != want {
			t.Errorf("next limit: got %q, want %q", got, want)
		}
		if got, want := u.Query().Get("from_created_at_date"), "2023-01-01"; got != want {
			t.Errorf("next from_created_at_date: got %q, want %q", got, want)
		}

		// Following next reads after the last item of the first page.
		res = ts.do(t, request{Method: "GET", Path: strings.TrimPrefix(next, ts.URL())}).mustStatus(t, 200)
		after := filters[1].Page.After
		if after == nil || after.ID != ws[1].ID || !after.Time.Equal(ws[1].CreatedAt) || filters[1].Page.Limit != 2 || filters[1].CreatedFrom == nil {
			t.Fatalf("second page filter: got %+v, want After %s", filters[1], ws[1].ID)
		}
		if got := res.JSON["next"]; got != nil {
			t.Errorf("last page next: got %v, want null", got)
		}
		prev, _ := res.JSON["previous"].(string)
		if prev == "" {
			t.Fatalf("last page previous: got null, want a URL")
		}
		ts.do(t, request{Method: "GET", Path: strings.TrimPrefix(prev, ts.URL())}).mustStatus(t, 200)
		before := filters[2].Page.Before
		if before == nil || before.ID != ws[2].ID || filters[2].Page.After != nil {
			t.Fatalf("previous page filter: got %+v, want Before %s", filters[2], ws[2].ID)
		}

		// A cursor made for one ordering is refused under another.
		ts.do(t, request{Method: "GET", Path: strings.TrimPrefix(next, ts.URL()) + "&ordering=id"}).mustStatus(t, 400).mustBody(t, `{"cursor":["Invalid cursor"]}`)
	})
}

func TestWebhookUpdate(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		w := newWebhook(tenantA)
		w.Status, w.DisabledReason = hookd.WebhookDisabled, hookd.DisabledFailing
		st := ts.useStore(t, w)
		res := ts.do(t, request{Method: "PATCH", Path: "/v1/webhooks/" + w.ID, Body: `{"name":"renamed","status":"enabled","config":{"include_resource":true}}`}).mustStatus(t, 200)
		res.mustBody(t, `{
			"id": "`+w.ID+`", "name": "renamed", "events": ["accounts.added", "accounts.connected"],
			"url": "https://example.com/hook", "config": {"include_resource": true}, "secret": "********1234",
			"created_at": "2024-01-02T03:04:05.000006Z", "updated_at": "2024-03-05T10:11:12.345678Z",
			"last_sent_at": null, "status": "enabled", "disabled_reason": null
		}`)
		if got := st.webhooks[w.ID]; got.Secret != "supersecret1234" || got.URL != w.URL {
			t.Errorf("unchanged fields changed: got %+v", got)
		}
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		w := newWebhook(tenantA)
		for _, tt := range []struct {
			body  string
			check func(upd hookd.WebhookUpdate) bool
		}{
			{`{}`, func(u hookd.WebhookUpdate) bool { return reflect.DeepEqual(u, hookd.WebhookUpdate{}) }},
			{`{"config":null,"secret":null}`, func(u hookd.WebhookUpdate) bool {
				return u.Config != nil && u.Config.IsZero() && u.Secret != nil && *u.Secret == "" && u.Name == nil
			}},
			{`{"events":"*","url":"https://x.example/h"}`, func(u hookd.WebhookUpdate) bool {
				return u.Events != nil && reflect.DeepEqual(*u.Events, []string{"*"}) && *u.URL == "https://x.example/h"
			}},
			{`{"status":"disabled","secret":"s3cr3t-value"}`, func(u hookd.WebhookUpdate) bool {
				return *u.Status == "disabled" && *u.Secret == "s3cr3t-value"
			}},
		} {
			var got hookd.WebhookUpdate
			ts.Webhooks.UpdateWebhookFunc = func(ctx context.Context, tenant, id string, upd hookd.WebhookUpdate, now time.Time) (*hookd.Webhook, error) {
				if tenant != tenantA || id != w.ID || !now.Equal(fixedNow) {
					t.Errorf("UpdateWebhook(%s, %s, %v): want %s, %s, %v", tenant, id, now, tenantA, w.ID, fixedNow)
				}
				got = upd
				return w, nil
			}
			res := ts.do(t, request{Method: "PATCH", Path: "/v1/webhooks/" + w.ID, Body: tt.body}).mustStatus(t, 200)
			if !tt.check(got) {
				t.Errorf("PATCH %s: update got %+v", tt.body, got)
			}
			if got, want := res.JSON["secret"], "********1234"; got != want {
				t.Errorf("secret: got %v, want %v", got, want)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t)
		ts.URLPolicy = func(raw string) error { return hookd.Errorf(hookd.EINVALID, "Destination address not allowed.") }
		mustOpen(t, ts)
		w := newWebhook(tenantA)
		ts.useStore(t, w)
		for _, tt := range []struct{ body, want string }{
			{`{"name":null,"url":null,"events":null,"status":null}`, `{"name":["This field may not be null."],"url":["This field may not be null."],"events":["This field may not be null."],"status":["This field may not be null."]}`},
			{`{"status":"paused"}`, `{"status":["\"paused\" is not a valid choice."]}`},
			{`{"url":"http://10.0.0.1/x"}`, `{"url":["Destination address not allowed."]}`},
			{`{"url":"nope"}`, `{"url":["Enter a valid URL."]}`},
			{`{"events":["nope"]}`, `{"events":["\"nope\" is not a valid choice."]}`},
			{`{"events":["*"],"config":{"include_resource":true}}`, `{"config":["\"*\" subscribes to every event and takes no config."]}`},
			{`{"name":""}`, `{"name":["This field may not be blank."]}`},
		} {
			ts.do(t, request{Method: "PATCH", Path: "/v1/webhooks/" + w.ID, Body: tt.body}).mustStatus(t, 400).mustBody(t, tt.want)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		wb := newWebhook(tenantB)
		ts.useStore(t, wb)
		ts.do(t, request{Method: "PATCH", Path: "/v1/webhooks/" + wb.ID, Body: `{"name":"mine"}`}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
		ts.do(t, request{Method: "PATCH", Path: "/v1/webhooks/zzz", Body: `{"name":"mine"}`}).mustStatus(t, 404)
	})
}

func TestWebhookDelete(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	wa, wb := newWebhook(tenantA), newWebhook(tenantB)
	st := ts.useStore(t, wa, wb)
	t.Run("ErrOtherTenant", func(t *testing.T) {
		ts.do(t, request{Method: "DELETE", Path: "/v1/webhooks/" + wb.ID}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
		if st.webhooks[wb.ID] == nil {
			t.Error("tenant B's webhook was deleted by tenant A")
		}
	})
	t.Run("OK", func(t *testing.T) {
		res := ts.do(t, request{Method: "DELETE", Path: "/v1/webhooks/" + wa.ID}).mustStatus(t, 204)
		if len(res.Raw) != 0 {
			t.Errorf("body: got %q, want empty", res.Raw)
		}
		ts.do(t, request{Method: "GET", Path: "/v1/webhooks/" + wa.ID}).mustStatus(t, 404)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		ts.do(t, request{Method: "DELETE", Path: "/v1/webhooks/" + wa.ID}).mustStatus(t, 404)
	})
}

func TestWebhookTest(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		w := newWebhook(tenantA)
		ts.useStore(t, w)
		var published *hookd.Event
		ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
			published = es[0]
			return []hookd.PublishResult{{EventID: es[0].ID, Deliveries: 1}}, nil
		}
		started := fixedNow.Add(time.Millisecond)
		ts.Deliveries.FindDeliveriesFunc = func(ctx context.Context, f hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
			if f.TenantID != tenantA || f.WebhookID != w.ID || f.EventID != published.ID {
				t.Errorf("FindDeliveries filter: got %+v", f)
			}
			return []*hookd.Delivery{{
				ID: "0190f5d6-0000-7000-8000-000000000001", WebhookID: w.ID, EventID: published.ID, EventType: published.Type,
				Status: hookd.DeliverySucceeded, AttemptCount: 1, CreatedAt: fixedNow, LastAttemptAt: &started,
				Attempts: []hookd.Attempt{{Number: 1, StartedAt: started, StatusCode: 200, Latency: 1234567 * time.Nanosecond, ResponseBody: "ok"}},
			}}, false, nil
		}
		res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + w.ID + "/test"}).mustStatus(t, 200)
		if published == nil || published.Type != "accounts.added" || !reflect.DeepEqual(published.Webhooks, []string{w.ID}) {
			t.Fatalf("published: got %+v, want accounts.added to %s", published, w.ID)
		}
		res.mustBody(t, `{
			"id": "0190f5d6-0000-7000-8000-000000000001", "webhook": "`+w.ID+`", "event": "accounts.added", "event_id": "`+published.ID+`",
			"status": "succeeded", "attempt_count": 1, "next_attempt_at": null, "created_at": "2024-03-05T10:11:12.345678Z",
			"last_attempt_at": "2024-03-05T10:11:12.346678Z",
			"attempts": [{"attempt": 1, "started_at": "2024-03-05T10:11:12.346678Z", "status_code": 200, "latency_ms": 1.234, "response_body": "ok", "error": null}]
		}`)
	})
	t.Run("ErrDisabled", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		w := newWebhook(tenantA)
		ts.useStore(t, w)
		ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
			return []hookd.PublishResult{{EventID: es[0].ID}}, nil
		}
		ts.Deliveries.FindDeliveriesFunc = func(ctx context.Context, f hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
			return nil, false, nil
		}
		res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + w.ID + "/test"}).mustStatus(t, 409)
		if got, want := keys(res.JSON), []string{"detail"}; !reflect.DeepEqual(got, want) {
			t.Errorf("keys: got %v, want %v", got, want)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		ts.useStore(t, newWebhook(tenantB))
		ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + hookd.NewID() + "/test"}).mustStatus(t, 404)
	})
}

func TestWebhookRotateSecret(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body string
		grace      time.Duration
	}{
		{"Default", ``, 24 * time.Hour},
		{"Grace", `{"grace_period_seconds": 60}`, time.Minute},
		{"GraceNull", `{"grace_period_seconds": null}`, 24 * time.Hour},
		{"NoGrace", `{"grace_period_seconds": 0}`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := MustOpenServer(t)
			w := newWebhook(tenantA)
			st := ts.useStore(t, w)
			res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + w.ID + "/rotate_secret", Body: tt.body}).mustStatus(t, 200)
			got := st.webhooks[w.ID]
			if got.Secret == w.Secret || got.PreviousSecret != w.Secret {
				t.Fatalf("stored secrets: got %q (previous %q)", got.Secret, got.PreviousSecret)
			}
			if s, _ := res.JSON["secret"].(string); s != got.Secret {
				t.Errorf("secret: got %q, want the new secret in full %q", s, got.Secret)
			}
			want := hookd.FormatTime(fixedNow.Add(tt.grace))
			if got := res.JSON["previous_secret_expires_at"]; got != want {
				t.Errorf("previous_secret_expires_at: got %v, want %v", got, want)
			}
			fields := append([]string{"previous_secret_expires_at"}, webhookFields...)
			sort.Strings(fields)
			if got, want := keys(res.JSON), fields; !reflect.DeepEqual(got, want) {
				t.Errorf("fields: got %v, want %v", got, want)
			}
			// Elsewhere the new secret is masked.
			res = ts.do(t, request{Method: "GET", Path: "/v1/webhooks/" + w.ID}).mustStatus(t, 200)
			if got, want := res.JSON["secret"], hookd.MaskSecret(got.Secret); got != want {
				t.Errorf("GET secret: got %v, want %v", got, want)
			}
		})
	}
	t.Run("NoPreviousSecret", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		w := newWebhook(tenantA)
		w.Secret = ""
		ts.useStore(t, w)
		res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + w.ID + "/rotate_secret"}).mustStatus(t, 200)
		if s, _ := res.JSON["secret"].(string); len(s) != 64 {
			t.Errorf("secret: got %q, want 64 hex characters", s)
		}
		if v, ok := res.JSON["previous_secret_expires_at"]; !ok || v != nil {
			t.Errorf("previous_secret_expires_at: got %v (present %v), want null", v, ok)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		w := newWebhook(tenantA)
		ts.useStore(t, w)
		for _, tt := range []struct{ body, want string }{
			{`{"grace_period_seconds": -1}`, `{"grace_period_seconds":["Ensure this value is greater than or equal to 0."]}`},
			{`{"grace_period_seconds": "x"}`, `{"grace_period_seconds":["A valid integer is required."]}`},
			{`{"grace_period_seconds": 99999999}`, `{"grace_period_seconds":["Ensure this value is less than or equal to 2592000."]}`},
		} {
			ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + w.ID + "/rotate_secret", Body: tt.body}).mustStatus(t, 400).mustBody(t, tt.want)
		}
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		wb := newWebhook(tenantB)
		st := ts.useStore(t, wb)
		ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + wb.ID + "/rotate_secret"}).mustStatus(t, 404)
		if st.webhooks[wb.ID].Secret != wb.Secret {
			t.Error("tenant B's secret rotated by tenant A")
		}
	})
}

func TestWebhookRecover(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	id := hookd.NewID()
	var gotSince time.Time
	ts.Deliveries.RecoverDeliveriesFunc = func(ctx context.Context, tenant, webhookID string, since, now time.Time) (int, error) {
		if tenant != tenantA {
			return 0, hookd.Errorf(hookd.ENOTFOUND, "Webhook not found.")
		}
		if webhookID != id {
			return 0, hookd.Errorf(hookd.ENOTFOUND, "Webhook not found.")
		}
		gotSince = since
		return 3, nil
	}
	for _, tt := range []struct {
		name, query, body string
		since             time.Time
	}{
		{"Query", "?since=2024-01-02T03:04:05Z", "", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"Body", "", `{"since":"2024-01-02"}`, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + id + "/recover" + tt.query, Body: tt.body}).mustStatus(t, 202).mustBody(t, `{"recovered":3}`)
			if !gotSince.Equal(tt.since) {
				t.Errorf("since: got %v, want %v", gotSince, tt.since)
			}
		})
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range []struct{ query, body, want string }{
			{"", "", `{"since":["This field is required."]}`},
			{"", `{"since":null}`, `{"since":["This field may not be null."]}`},
			{"", `{"since":5}`, `{"since":["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z], YYYY-MM-DD."]}`},
			{"?since=last-week", "", `{"since":["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z], YYYY-MM-DD."]}`},
		} {
			ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + id + "/recover" + tt.query, Body: tt.body}).mustStatus(t, 400).mustBody(t, tt.want)
		}
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		ts.do(t, request{Method: "POST", Path: "/v1/webhooks/" + id + "/recover?since=2024-01-01", User: keyB, Pass: secretB}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
	})
}
