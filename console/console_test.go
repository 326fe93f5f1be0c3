package console_test

import (
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/console"
)

// testBundle is one console over a fresh fake store, with a signed-in
// tenant "acme" and a second tenant "other".
type testBundle struct {
	store   *fakeStore
	handler *console.Handler
	server  *httptest.Server
	client  *client

	tenantID, keyID, secret string
	otherID                 string
}

func setup(t *testing.T, opts ...func(*console.Handler)) *testBundle {
	t.Helper()
	b := &testBundle{store: newFakeStore()}
	b.tenantID, b.keyID, b.secret = b.store.addTenant("acme")
	b.otherID, _, _ = b.store.addTenant("other")
	b.handler = newHandler(b.store)
	b.handler.Logger = slog.New(slog.DiscardHandler)
	b.handler.URLPolicy = func(u string) error {
		if strings.Contains(u, "169.254.169.254") {
			return hookd.FieldError("url", "Destination address not allowed.")
		}
		return nil
	}
	for _, opt := range opts {
		opt(b.handler)
	}
	b.server = httptest.NewServer(b.handler)
	t.Cleanup(b.server.Close)
	b.client = newClient(t, b.server.URL)
	b.client.signIn(t, b.keyID, b.secret)
	return b
}

func newHandler(s *fakeStore) *console.Handler {
	h := console.NewHandler()
	h.TenantService, h.WebhookService, h.EventService, h.DeliveryService = s, s, s, s
	return h
}

// client is a browser stand-in: a cookie jar, no redirects followed, and
// the last page's CSRF token.
type client struct {
	base string
	http *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{base: base, http: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

type response struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (c *client) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		c.csrf = m[1]
	}
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: body, header: resp.Header}
}

func (c *client) get(t *testing.T, path string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.do(t, req)
}

// post submits form to path with the current CSRF token unless form sets
// csrf_token itself (an empty value sends none).
func (c *client) post(t *testing.T, path string, form url.Values) response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", c.csrf)
	} else if form.Get("csrf_token") == "" {
		form.Del("csrf_token")
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(t, req)
}

func (c *client) signIn(t *testing.T, keyID, secret string) response {
	t.Helper()
	if r := c.get(t, "/console/signin"); r.status != http.StatusOK {
		t.Fatalf("GET /console/signin: got %d, want 200", r.status)
	}
	r := c.post(t, "/console/signin", url.Values{"api_key_id": {keyID}, "api_key_secret": {secret}})
	if r.status == http.StatusSeeOther {
		c.get(t, "/console/webhooks") // pick up the session's CSRF token
	}
	return r
}

func wantStatus(t *testing.T, what string, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: got status %d, want %d; body:\n%s", what, r.status, want, r.body)
	}
}

func wantContains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("%s: body does not contain %q", what, want)
		}
	}
}

// fieldErrors returns the escaped text of the error block rendered for
// field (the element with id field+"-error").
func fieldError(body, field string) string {
	re := regexp.MustCompile(`id="` + field + `-error">(.*?)</p>`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(tagRE.ReplaceAllString(m[1], ""))
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

func TestSignIn(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s := newFakeStore()
		_, keyID, secret := s.addTenant("acme")
		srv := httptest.NewServer(newHandler(s))
		defer srv.Close()
		c := newClient(t, srv.URL)

		r := c.get(t, "/console/webhooks")
		wantStatus(t, "GET /console/webhooks signed out", r, http.StatusSeeOther)
		if got, want := r.location, "/console/signin?next=%2Fconsole%2Fwebhooks"; got != want {
			t.Errorf("redirect: got %q, want %q", got, want)
		}
		c.get(t, "/console/signin?next=%2Fconsole%2Fwebhooks")
		r = c.post(t, "/console/signin", url.Values{"api_key_id": {keyID}, "api_key_secret": {secret}, "next": {"/console/webhooks"}})
		wantStatus(t, "POST /console/signin", r, http.StatusSeeOther)
		if got, want := r.location, "/console/webhooks"; got != want {
			t.Errorf("redirect after sign-in: got %q, want %q", got, want)
		}
		var cookie string
		for _, sc := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "hookd_console=") {
				cookie = sc
			}
		}
		for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/console"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("session cookie %q lacks %s", cookie, want)
			}
		}
		r = c.get(t, "/console/webhooks")
		wantStatus(t, "GET /console/webhooks signed in", r, http.StatusOK)
		wantContains(t, "webhooks page", r.body, "acme", "No webhooks yet")

		r = c.post(t, "/console/signout", nil)
		wantStatus(t, "POST /console/signout", r, http.StatusSeeOther)
		r = c.get(t, "/console/webhooks")
		wantStatus(t, "GET /console/webhooks after sign-out", r, http.StatusSeeOther)
	})

	t.Run("ErrWrongSecret", func(t *testing.T) {
		t.Parallel()
		s := newFakeStore()
		_, keyID, _ := s.addTenant("acme")
		srv := httptest.NewServer(newHandler(s))
		defer srv.Close()
		c := newClient(t, srv.URL)
		r := c.signIn(t, keyID, "not-the-secret")
		wantStatus(t, "sign in with a wrong secret", r, http.StatusUnauthorized)
		wantContains(t, "sign-in page", r.body, "Invalid API key id or secret.")
		r = c.signIn(t, "no-such-key", "x")
		wantStatus(t, "sign in with an unknown key", r, http.StatusUnauthorized)
	})

	t.Run("ErrRevoked", func(t *testing.T) {
		t.Parallel()
		s := newFakeStore()
		_, keyID, secret := s.addTenant("acme")
		srv := httptest.NewServer(newHandler(s))
		defer srv.Close()
		c := newClient(t, srv.URL)
		wantStatus(t, "sign in", c.signIn(t, keyID, secret), http.StatusSeeOther)
		if err := s.RevokeAPIKey(context.Background(), keyID, hookd.Now()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "GET after the key is revoked", c.get(t, "/console/webhooks"), http.StatusSeeOther)
		wantStatus(t, "sign in with a revoked key", c.signIn(t, keyID, secret), http.StatusUnauthorized)
	})

	t.Run("ErrNoToken", func(t *testing.T) {
		t.Parallel()
		s := newFakeStore()
		_, keyID, secret := s.addTenant("acme")
		srv := httptest.NewServer(newHandler(s))
		defer srv.Close()
		c := newClient(t, srv.URL)
		r := c.post(t, "/console/signin", url.Values{"api_key_id": {keyID}, "api_key_secret": {secret}, "csrf_token": {""}})
		wantStatus(t, "sign in without the form token", r, http.StatusForbidden)
	})
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.store.addWebhook(b.tenantID, "Keep me", "https://example.com/hook", "accounts.added")
	form := url.Values{"name": {"Sneaky"}, "url": {"https://example.com/x"}, "events_mode": {"all"}}

	for _, tc := range []struct {
		name, path, token string
		form              url.Values
	}{
		{"CreateNoToken", "/console/webhooks", "", form},
		{"CreateWrongToken", "/console/webhooks", "0123", form},
		{"DeleteNoToken", "/console/webhooks/" + w.ID + "/delete", "", nil},
		{"StatusNoToken", "/console/webhooks/" + w.ID + "/status", "", url.Values{"status": {"disabled"}}},
		{"SignOutNoToken", "/console/signout", "", nil},
	} {
		f := url.Values{}
		for k, v := range tc.form {
			f[k] = v
		}
		f.Set("csrf_token", tc.token)
		r := b.client.post(t, tc.path, f)
		if r.status != http.StatusForbidden {
			t.Errorf("%s: POST %s got %d, want 403", tc.name, tc.path, r.status)
		}
	}
	hooks, _, _ := b.store.FindWebhooks(context.Background(), hookd.WebhookFilter{TenantID: b.tenantID, Page: hookd.Page{Limit: 10}})
	if got, want := len(hooks), 1; got != want {
		t.Fatalf("webhooks after refused posts: got %d, want %d", got, want)
	}
	if got, want := hooks[0].Status, hookd.WebhookEnabled; got != want {
		t.Errorf("status after refused post: got %q, want %q", got, want)
	}

	// htmx sends the token in a header instead of the form.
	req, _ := http.NewRequest(http.MethodPost, b.server.URL+"/console/webhooks/"+w.ID+"/status",
		strings.NewReader("status=disabled"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", b.client.csrf)
	req.Header.Set("HX-Request", "true")
	wantStatus(t, "POST with the X-CSRF-Token header", b.client.do(t, req), http.StatusSeeOther)
	got, _ := b.store.FindWebhookByID(context.Background(), b.tenantID, w.ID)
	if got.Status != hookd.WebhookDisabled {
		t.Errorf("status after header-token post: got %q, want %q", got.Status, hookd.WebhookDisabled)
	}
}

func TestCrossTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	theirs := b.store.addWebhook(b.otherID, "Theirs", "https://other.example/hook", "accounts.added")
	d := b.store.addDelivery(theirs, "accounts.added", 500)

	for _, path := range []string{
		"/console/webhooks/" + theirs.ID,
		"/console/webhooks/" + theirs.ID + "/edit",
		"/console/webhooks/" + theirs.ID + "/delete",
		"/console/deliveries/" + d.ID,
		"/console/deliveries?webhook=" + theirs.ID,
		"/console/webhooks/not-a-uuid",
	} {
		r := b.client.get(t, path)
		if r.status != http.StatusNotFound {
			t.Errorf("GET %s: got %d, want 404", path, r.status)
		}
		if strings.Contains(r.body, "Theirs") || strings.Contains(r.body, "other.example") {
			t.Errorf("GET %s: page shows the other tenant's webhook", path)
		}
	}
	for _, path := range []string{
		"/console/webhooks/" + theirs.ID,
		"/console/webhooks/" + theirs.ID + "/delete",
		"/console/webhooks/" + theirs.ID + "/status",
		"/console/webhooks/" + theirs.ID + "/rotate",
		"/console/webhooks/" + theirs.ID + "/test",
		"/console/webhooks/" + theirs.ID + "/recover",
		"/console/deliveries/" + d.ID + "/redeliver",
	} {
		r := b.client.post(t, path, url.Values{"name": {"x"}, "url": {"https://x.example"}, "status": {"disabled"}, "since": {"2020-01-01T00:00"}})
		if r.status != http.StatusNotFound {
			t.Errorf("POST %s: got %d, want 404", path, r.status)
		}
	}
	got, err := b.store.FindWebhookByID(context.Background(), b.otherID, theirs.ID)
	if err != nil {
		t.Fatalf("the other tenant's webhook: %v", err)
	}
	if got.Name != "Theirs" || got.Status != hookd.WebhookEnabled || got.Secret != theirs.Secret {
		t.Errorf("the other tenant's webhook changed: %+v", got)
	}
	dl, _ := b.store.FindDeliveryByID(context.Background(), b.otherID, d.ID)
	if got, want := dl.Status, hookd.DeliveryFailed; got != want {
		t.Errorf("the other tenant's delivery: got status %q, want %q", got, want)
	}
	r := b.client.get(t, "/console/deliveries")
	if strings.Contains(r.body, d.ID) {
		t.Errorf("the delivery log lists the other tenant's delivery")
	}
}

func TestWebhookCreate(t *testing.T) {
	t.Parallel()

	t.Run("ErrValidation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := b.client.get(t, "/console/webhooks/new")
		wantStatus(t, "GET new", r, http.StatusOK)
		wantContains(t, "new form", r.body, `<label for="name">`, `<label for="url">`, "Activities partially synced",
			`data-days`, `data-resource`, `name="days_synced"`, `name="include_resource"`)

		r = b.client.post(t, "/console/webhooks", url.Values{
			"name": {"  "}, "url": {"ftp://example.com"}, "events_mode": {"specific"},
		})
		wantStatus(t, "POST invalid", r, http.StatusBadRequest)
		for field, want := range map[string]string{
			"name":   "This field may not be blank.",
			"url":    "Enter a valid URL.",
			"events": "This list may not be empty.",
		} {
			if got := fieldError(r.body, field); !strings.Contains(got, want) {
				t.Errorf("%s error: got %q, want %q", field, got, want)
			}
		}
		wantContains(t, "invalid form", r.body, `aria-describedby="name-error"`, `value="ftp://example.com"`)

		// The egress policy's message appears next to the URL.
		r = b.client.post(t, "/console/webhooks", url.Values{
			"name": {"Metadata"}, "url": {"http://169.254.169.254/latest"}, "events_mode": {"all"},
		})
		wantStatus(t, "POST disallowed URL", r, http.StatusBadRequest)
		if got, want := fieldError(r.body, "url"), "Destination address not allowed."; got != want {
			t.Errorf("url error: got %q, want %q", got, want)
		}
		if got := fieldError(r.body, "name"); got != "" {
			t.Errorf("name error: got %q, want none", got)
		}

		// Config errors appear next to the options.
		r = b.client.post(t, "/console/webhooks", url.Values{
			"name": {"Sync"}, "url": {"https://example.com/hook"}, "events_mode": {"specific"},
			"events": {"activities.partially_synced"}, "days_synced": {"0"},
		})
		wantStatus(t, "POST bad days", r, http.StatusBadRequest)
		if got, want := fieldError(r.body, "config"), "days_synced must be an integer from 1 to 3650."; got != want {
			t.Errorf("config error: got %q, want %q", got, want)
		}
		wantContains(t, "bad days form", r.body, `value="activities.partially_synced" checked`)

		r = b.client.post(t, "/console/webhooks", url.Values{
			"name": {"Mixed"}, "url": {"https://example.com/hook"}, "events_mode": {"specific"},
			"events": {"accounts.added", "activities.added"}, "include_resource": {"1"},
		})
		wantStatus(t, "POST include_resource with activities", r, http.StatusBadRequest)
		if got, want := fieldError(r.body, "config"), "include_resource is only allowed for"; !strings.Contains(got, want) {
			t.Errorf("config error: got %q, want it to contain %q", got, want)
		}

		hooks, _, _ := b.store.FindWebhooks(context.Background(), hookd.WebhookFilter{TenantID: b.tenantID, Page: hookd.Page{Limit: 10}})
		if len(hooks) != 0 {
			t.Errorf("webhooks after invalid posts: got %d, want 0", len(hooks))
		}
	})

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// days_synced counts only for *.partially_synced events, so mixing
		// in another event is refused next to the options.
		r := b.client.post(t, "/console/webhooks", url.Values{
			"name": {"Sync"}, "url": {"https://example.com/hook"}, "secret": {"my little secret"},
			"events_mode": {"specific"}, "events": {"payouts.partially_synced", "accounts.connected"},
			"days_synced": {"60"},
		})
		wantStatus(t, "POST days_synced with accounts.connected", r, http.StatusBadRequest)
		if got, want := fieldError(r.body, "config"), "days_synced is only allowed for"; !strings.Contains(got, want) {
			t.Errorf("config error: got %q, want it to contain %q", got, want)
		}
		r = b.client.post(t, "/console/webhooks", url.Values{
			"name": {"Sync"}, "url": {"https://example.com/hook"}, "secret": {"my little secret"},
			"events_mode": {"specific"}, "events": {"payouts.partially_synced", "activities.partially_synced"},
			"days_synced": {"60"}, "include_resource": {"1"},
		})
		wantStatus(t, "POST create", r, http.StatusSeeOther)
		hooks, _, _ := b.store.FindWebhooks(context.Background(), hookd.WebhookFilter{TenantID: b.tenantID, Page: hookd.Page{Limit: 10}})
		if len(hooks) != 1 {
			t.Fatalf("webhooks: got %d, want 1", len(hooks))
		}
		w := hooks[0]
		if got, want := r.location, "/console/webhooks/"+w.ID; got != want {
			t.Errorf("redirect: got %q, want %q", got, want)
		}
		// Catalogue order, whatever order the form sent.
		if got, want := strings.Join(w.Events, ","), "activities.partially_synced,payouts.partially_synced"; got != want {
			t.Errorf("events: got %s, want %s", got, want)
		}
		if w.Config.DaysSynced == nil || *w.Config.DaysSynced != 60 || w.Config.IncludeResource != nil {
			t.Errorf("config: got %+v, want days_synced 60 only (include_resource applies to no chosen event)", w.Config)
		}
		if w.Status != hookd.WebhookEnabled || w.TenantID != b.tenantID || !hookd.IsUUID(w.ID) || w.CreatedAt.IsZero() {
			t.Errorf("webhook: got %+v", w)
		}

		page := b.client.get(t, r.location)
		wantStatus(t, "GET created", page, http.StatusOK)
		wantContains(t, "first view", page.body, `value="my little secret"`, "shown in full only once")
		page = b.client.get(t, r.location)
		if strings.Contains(page.body, "my little secret") {
			t.Errorf("second view shows the secret in full")
		}
		wantContains(t, "second view", page.body, hookd.MaskSecret("my little secret"))

		list := b.client.get(t, "/console/webhooks")
		wantContains(t, "list", list.body, "Sync", "https://example.com/hook", "enabled", "2 events")
	})

	t.Run("AllEvents", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := b.client.post(t, "/console/webhooks", url.Values{
			"name": {"All"}, "url": {"https://example.com/all"}, "events_mode": {"all"},
			"events": {"activities.partially_synced"}, "days_synced": {"60"},
		})
		wantStatus(t, "POST create", r, http.StatusSeeOther)
		hooks, _, _ := b.store.FindWebhooks(context.Background(), hookd.WebhookFilter{TenantID: b.tenantID, Page: hookd.Page{Limit: 10}})
		if len(hooks) != 1 || len(hooks[0].Events) != 1 || hooks[0].Events[0] != "*" || !hooks[0].Config.IsZero() || hooks[0].Secret != "" {
			t.Fatalf("webhook: got %+v, want one with events [*], no config and no secret", hooks)
		}
	})
}

func TestWebhookEdit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.store.addWebhook(b.tenantID, "Old", "https://example.com/old", "accounts.added")
	ctx := context.Background()

	r := b.client.get(t, "/console/webhooks/"+w.ID+"/edit")
	wantStatus(t, "GET edit", r, http.StatusOK)
	wantContains(t, "edit form", r.body, `value="Old"`, `value="accounts.added" checked`, "Leave blank to keep "+hookd.MaskSecret(w.Secret))

	r = b.client.post(t, "/console/webhooks/"+w.ID, url.Values{"name": {""}, "url": {"https://example.com/new"}, "events_mode": {"all"}})
	wantStatus(t, "POST edit invalid", r, http.StatusBadRequest)
	if got, want := fieldError(r.body, "name"), "This field may not be blank."; got != want {
		t.Errorf("name error: got %q, want %q", got, want)
	}

	r = b.client.post(t, "/console/webhooks/"+w.ID, url.Values{
		"name": {"New"}, "url": {"https://example.com/new"}, "events_mode": {"specific"},
		"events": {"accounts.added", "accounts.failed"}, "include_resource": {"1"},
	})
	wantStatus(t, "POST edit", r, http.StatusSeeOther)
	got, _ := b.store.FindWebhookByID(ctx, b.tenantID, w.ID)
	if got.Name != "New" || got.URL != "https://example.com/new" || len(got.Events) != 2 || got.Secret != w.Secret ||
		got.Config.IncludeResource == nil || !*got.Config.IncludeResource {
		t.Errorf("after edit: got %+v", got)
	}

	r = b.client.post(t, "/console/webhooks/"+w.ID+"/status", url.Values{"status": {"disabled"}})
	wantStatus(t, "POST disable", r, http.StatusSeeOther)
	got, _ = b.store.FindWebhookByID(ctx, b.tenantID, w.ID)
	if got.Status != hookd.WebhookDisabled || got.DisabledReason != hookd.DisabledManual {
		t.Errorf("after disable: got %s (%s)", got.Status, got.DisabledReason)
	}
	r = b.client.post(t, "/console/webhooks/"+w.ID+"/status", url.Values{"status": {"enabled"}})
	wantStatus(t, "POST enable", r, http.StatusSeeOther)
	got, _ = b.store.FindWebhookByID(ctx, b.tenantID, w.ID)
	if got.Status != hookd.WebhookEnabled || got.DisabledReason != "" {
		t.Errorf("after enable: got %s (%s)", got.Status, got.DisabledReason)
	}

	r = b.client.post(t, "/console/webhooks/"+w.ID+"/rotate", nil)
	wantStatus(t, "POST rotate", r, http.StatusSeeOther)
	got, _ = b.store.FindWebhookByID(ctx, b.tenantID, w.ID)
	if got.Secret == w.Secret || got.PreviousSecret != w.Secret || got.PreviousSecretExpiresAt == nil {
		t.Errorf("after rotate: secret %q previous %q", got.Secret, got.PreviousSecret)
	}
	page := b.client.get(t, r.location)
	wantContains(t, "after rotate", page.body, `value="`+got.Secret+`"`, "previous secret signs until")
	page = b.client.get(t, r.location)
	if strings.Contains(page.body, got.Secret) {
		t.Errorf("the rotated secret is shown twice")
	}
}

func TestWebhookDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.store.addWebhook(b.tenantID, "Doomed", "https://example.com/doomed", "accounts.added")
	b.store.addDelivery(w, "accounts.added", 200)

	r := b.client.get(t, "/console/webhooks/"+w.ID+"/delete")
	wantStatus(t, "GET delete confirmation", r, http.StatusOK)
	wantContains(t, "confirmation", r.body, "Doomed", "cannot be undone", `action="/console/webhooks/`+w.ID+`/delete"`)
	if _, err := b.store.FindWebhookByID(context.Background(), b.tenantID, w.ID); err != nil {
		t.Fatalf("the confirmation page deleted the webhook: %v", err)
	}

	r = b.client.post(t, "/console/webhooks/"+w.ID+"/delete", nil)
	wantStatus(t, "POST delete", r, http.StatusSeeOther)
	if got, want := r.location, "/console/webhooks"; got != want {
		t.Errorf("redirect: got %q, want %q", got, want)
	}
	_, err := b.store.FindWebhookByID(context.Background(), b.tenantID, w.ID)
	if got, want := hookd.ErrorCode(err), hookd.ENOTFOUND; got != want {
		t.Errorf("after delete: got %q, want %q", got, want)
	}
	list := b.client.get(t, "/console/webhooks")
	wantContains(t, "list after delete", list.body, `Webhook &#34;Doomed&#34; deleted.`, "No webhooks yet")
	wantStatus(t, "GET deleted", b.client.get(t, "/console/webhooks/"+w.ID), http.StatusNotFound)
	wantStatus(t, "POST delete again", b.client.post(t, "/console/webhooks/"+w.ID+"/delete", nil), http.StatusNotFound)
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.store.addWebhook(b.tenantID, "Log", "https://example.com/log", "*")
	ok := b.store.addDelivery(w, "accounts.added", 200)
	bad := b.store.addDelivery(w, "activities.added", 503)

	r := b.client.get(t, "/console/deliveries")
	wantStatus(t, "GET deliveries", r, http.StatusOK)
	wantContains(t, "log", r.body, ok.ID, bad.ID, "Log")

	r = b.client.get(t, "/console/deliveries?status=failed")
	if !strings.Contains(r.body, bad.ID) || strings.Contains(r.body, ok.ID) {
		t.Errorf("status=failed: want only %s", bad.ID)
	}
	r = b.client.get(t, "/console/deliveries?event=accounts.added&webhook="+w.ID)
	if !strings.Contains(r.body, ok.ID) || strings.Contains(r.body, bad.ID) {
		t.Errorf("event=accounts.added: want only %s", ok.ID)
	}

	r = b.client.get(t, "/console/deliveries/"+ok.ID)
	wantStatus(t, "GET delivery", r, http.StatusOK)
	wantContains(t, "delivery", html.UnescapeString(r.body), "webhook-id", ok.ID, "webhook-signature", "X-Argyle-Signature",
		"webhook-timestamp", `"event": "accounts.added"`, `"name": "Log"`, `{"ok":true}`, "200", "12 ms")

	r = b.client.post(t, "/console/deliveries/"+bad.ID+"/redeliver", nil)
	wantStatus(t, "POST redeliver", r, http.StatusSeeOther)
	got, _ := b.store.FindDeliveryByID(context.Background(), b.tenantID, bad.ID)
	if got.Status != hookd.DeliveryPending || got.RetryBase != 1 {
		t.Errorf("after redeliver: got %s base %d, want pending base 1", got.Status, got.RetryBase)
	}

	b.store.addDelivery(w, "accounts.failed", 500)
	r = b.client.post(t, "/console/webhooks/"+w.ID+"/recover", url.Values{"since": {time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")}})
	wantStatus(t, "POST recover", r, http.StatusSeeOther)
	page := b.client.get(t, r.location)
	wantContains(t, "after recover", page.body, "1 failed delivery queued for redelivery.")

	r = b.client.get(t, "/console/webhooks")
	wantContains(t, "list", r.body, "67%", "of 3")
}

func TestOverview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.store.addWebhook(b.tenantID, "Chart", "https://example.com/chart", "*")
	b.store.addDelivery(w, "accounts.added", 200)
	b.store.addDelivery(w, "accounts.added", 500)

	r := b.client.get(t, "/console/")
	wantStatus(t, "GET overview", r, http.StatusOK)
	wantContains(t, "overview", r.body, `hx-trigger="every 5s"`, `hx-get="/console/overview/live"`, "<svg", `class="bar fail"`,
		"2 deliveries, 1 failing.", `/console/assets/htmx.min.js`)
	r = b.client.get(t, "/console/overview/live")
	wantStatus(t, "GET live", r, http.StatusOK)
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="live"`) {
		t.Errorf("live fragment: want the chart alone, got:\n%s", r.body)
	}
	for _, asset := range []string{"/console/assets/htmx.min.js", "/console/assets/console.css"} {
		wantStatus(t, "GET "+asset, b.client.get(t, asset), http.StatusOK)
	}
	wantStatus(t, "GET missing page", b.client.get(t, "/console/nope"), http.StatusNotFound)
}

// fakeSandbox records the sandbox calls it gets.
type fakeSandbox struct{ calls []string }

func (f *fakeSandbox) Connect(ctx context.Context, tenantID, employer string, days, activities int, fail bool) (string, error) {
	f.calls = append(f.calls, "connect "+tenantID+" "+employer)
	return "acc-1", nil
}

func (f *fakeSandbox) Refresh(ctx context.Context, tenantID, accountID string, added, updated, removed int) error {
	if accountID != "acc-1" {
		return hookd.Errorf(hookd.ENOTFOUND, "Not found.")
	}
	f.calls = append(f.calls, "refresh "+accountID)
	return nil
}

func (f *fakeSandbox) Remove(ctx context.Context, tenantID, accountID string) error {
	return errors.New("boom")
}

func TestSandbox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.client.get(t, "/console/sandbox")
	wantStatus(t, "GET sandbox without one", r, http.StatusNotFound)
	if strings.Contains(r.body, `href="/console/sandbox"`) {
		t.Errorf("the nav links to the sandbox when there is none")
	}

	sb := &fakeSandbox{}
	b = setup(t, func(h *console.Handler) { h.Sandbox = sb })
	r = b.client.get(t, "/console/sandbox")
	wantStatus(t, "GET sandbox", r, http.StatusOK)
	wantContains(t, "sandbox", r.body, `href="/console/sandbox"`, `<label for="employer">`)
	r = b.client.post(t, "/console/sandbox/connect", url.Values{"employer": {"Whole Goods"}, "days": {"30"}})
	wantStatus(t, "POST connect", r, http.StatusSeeOther)
	r = b.client.post(t, "/console/sandbox/refresh", url.Values{"account": {"missing"}, "added": {"2"}})
	wantStatus(t, "POST refresh missing", r, http.StatusSeeOther)
	wantContains(t, "after refresh", b.client.get(t, r.location).body, "No such account.")
	r = b.client.post(t, "/console/sandbox/refresh", url.Values{"account": {"acc-1"}, "added": {"-1"}})
	wantContains(t, "after bad refresh", b.client.get(t, r.location).body, "whole numbers")
	if got, want := strings.Join(sb.calls, "; "), "connect "+b.tenantID+" Whole Goods"; got != want {
		t.Errorf("calls: got %q, want %q", got, want)
	}
	wantStatus(t, "POST remove failing", b.client.post(t, "/console/sandbox/remove", url.Values{"account": {"acc-1"}}), http.StatusInternalServerError)
}

func TestWebhookSendTest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The fake worker answers every due delivery with a 204 at once.
	b.store.setDue(func(id string) {
		_ = b.store.CompleteDeliveries(context.Background(), []hookd.AttemptResult{{
			DeliveryID: id, Status: hookd.DeliverySucceeded,
			Attempt: hookd.Attempt{Number: 1, StartedAt: hookd.Now(), StatusCode: 204, Latency: 3 * time.Millisecond},
		}})
	})
	w := b.store.addWebhook(b.tenantID, "Tested", "https://example.com/t", "activities.added")

	r := b.client.post(t, "/console/webhooks/"+w.ID+"/test", nil)
	wantStatus(t, "POST test", r, http.StatusSeeOther)
	if !strings.HasPrefix(r.location, "/console/deliveries/") {
		t.Fatalf("redirect: got %q, want a delivery page", r.location)
	}
	page := b.client.get(t, r.location)
	wantStatus(t, "GET delivery", page, http.StatusOK)
	wantContains(t, "delivery after test", page.body, "Test event delivered: 204 in 3 ms.", "activities.added", "#1")

	b.client.post(t, "/console/webhooks/"+w.ID+"/status", url.Values{"status": {"disabled"}})
	r = b.client.post(t, "/console/webhooks/"+w.ID+"/test", nil)
	wantStatus(t, "POST test disabled", r, http.StatusSeeOther)
	if got, want := r.location, "/console/webhooks/"+w.ID; got != want {
		t.Errorf("redirect: got %q, want %q", got, want)
	}
	wantContains(t, "webhook after refused test", b.client.get(t, r.location).body, "The webhook is disabled")
}

func TestZeroHandler(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	h := &console.Handler{TenantService: s, WebhookService: s, EventService: s, DeliveryService: s}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL)
	wantStatus(t, "GET /console", c.get(t, "/console"), http.StatusSeeOther)
	wantStatus(t, "GET /console/signin", c.get(t, "/console/signin"), http.StatusOK)
}
