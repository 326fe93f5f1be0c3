package http_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/http"
	"github.com/hookd/hookd/mock"
)

// Test credentials: two tenants and a revoked key.
const (
	keyA, secretA, tenantA = "key-a", "secret-a", "tenant-a"
	keyB, secretB, tenantB = "key-b", "secret-b", "tenant-b"
	keyRevoked             = "key-revoked"
)

// fixedNow is the server's clock in tests.
var fixedNow = time.Date(2024, 3, 5, 10, 11, 12, 345678000, time.UTC)

// testServer is a Server on mocks.
type testServer struct {
	*hookdhttp.Server
	Tenants    *mock.TenantService
	Webhooks   *mock.WebhookService
	Events     *mock.EventService
	Deliveries *mock.DeliveryService

	mu      sync.Mutex
	keys    map[string]*hookd.APIKey
	keyGets atomic.Int64
}

// newTestServer returns a server on mocks whose only behaviour is
// authentication; tests set the mock functions they expect to be called.
// The server is not listening; see MustOpenServer.
func newTestServer(tb testing.TB) *testServer {
	tb.Helper()
	ts := &testServer{
		Server:     hookdhttp.NewServer(),
		Tenants:    &mock.TenantService{},
		Webhooks:   &mock.WebhookService{},
		Events:     &mock.EventService{},
		Deliveries: &mock.DeliveryService{},
		keys:       map[string]*hookd.APIKey{},
	}
	revokedAt := fixedNow
	for _, k := range []struct {
		id, secret, tenant string
		revoked            *time.Time
	}{{keyA, secretA, tenantA, nil}, {keyB, secretB, tenantB, nil}, {keyRevoked, "secret-r", tenantA, &revokedAt}} {
		ts.keys[k.id] = &hookd.APIKey{ID: k.id, TenantID: k.tenant, SecretHash: hookd.HashSecret(k.secret), RevokedAt: k.revoked}
	}
	ts.Tenants.FindAPIKeyByIDFunc = func(ctx context.Context, id string) (*hookd.APIKey, error) {
		ts.keyGets.Add(1)
		ts.mu.Lock()
		defer ts.mu.Unlock()
		k, ok := ts.keys[id]
		if !ok {
			return nil, hookd.Errorf(hookd.ENOTFOUND, "API key not found.")
		}
		c := *k
		return &c, nil
	}
	ts.Addr = "127.0.0.1:0"
	ts.TenantService, ts.WebhookService, ts.EventService, ts.DeliveryService = ts.Tenants, ts.Webhooks, ts.Events, ts.Deliveries
	ts.Now = func() time.Time { return fixedNow }
	ts.Logger = slog.New(slog.DiscardHandler)
	return ts
}

// MustOpenServer returns a server on mocks listening on 127.0.0.1, closed
// when the test ends.
func MustOpenServer(tb testing.TB) *testServer {
	tb.Helper()
	ts := newTestServer(tb)
	if err := ts.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := ts.Close(); err != nil {
			tb.Error(err)
		}
	})
	return ts
}

// request describes one test request. Auth defaults to tenant A's key;
// ContentType defaults to application/json when Body is set.
type request struct {
	Method, Path, Body string
	ContentType        *string
	NoAuth             bool
	User, Pass         string
	Header             http.Header
}

// response is a test response with its body decoded when it is JSON.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

func (ts *testServer) do(tb testing.TB, req request) *response {
	tb.Helper()
	if ts.URL() == "" {
		tb.Fatal("server not open")
	}
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, req.Method, ts.URL()+req.Path, body)
	if err != nil {
		tb.Fatal(err)
	}
	for k, vs := range req.Header {
		r.Header[k] = vs
	}
	switch {
	case req.ContentType != nil:
		if *req.ContentType != "" {
			r.Header.Set("Content-Type", *req.ContentType)
		}
	case req.Body != "":
		r.Header.Set("Content-Type", "application/json")
	}
	if !req.NoAuth {
		user, pass := keyA, secretA
		if req.User != "" {
			user, pass = req.User, req.Pass
		}
		r.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	res := &response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &res.JSON); err != nil {
			// lists and other shapes are checked through Raw
			res.JSON = nil
		}
	}
	return res
}

// mustStatus fails the test unless the response has status want.
func (res *response) mustStatus(tb testing.TB, want int) *response {
	tb.Helper()
	if res.Status != want {
		tb.Fatalf("status: got %d, want %d; body %s", res.Status, want, res.Raw)
	}
	return res
}

// mustBody fails unless the JSON body equals want (given as JSON).
func (res *response) mustBody(tb testing.TB, want string) {
	tb.Helper()
	var got, exp any
	if err := json.Unmarshal(res.Raw, &got); err != nil {
		tb.Fatalf("body %q: %v", res.Raw, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		tb.Fatalf("want %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		tb.Fatalf("body: got %s, want %s", res.Raw, want)
	}
}

// keys returns the sorted member names of a JSON object.
func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func ptr[T any](v T) *T { return &v }

func TestHealthz(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	res := ts.do(t, request{Method: "GET", Path: "/healthz", NoAuth: true}).mustStatus(t, 200)
	res.mustBody(t, `{"status":"ok"}`)
	if got, want := res.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type: got %q, want %q", got, want)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t)
		ts.Ready = func(ctx context.Context) error { return nil }
		mustOpen(t, ts)
		ts.do(t, request{Method: "GET", Path: "/readyz", NoAuth: true}).mustStatus(t, 200).mustBody(t, `{"status":"ok"}`)
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t)
		ts.Ready = func(ctx context.Context) error { return errors.New("db down") }
		mustOpen(t, ts)
		ts.do(t, request{Method: "GET", Path: "/readyz", NoAuth: true}).mustStatus(t, 503).mustBody(t, `{"status":"unavailable"}`)
	})
}

func mustOpen(tb testing.TB, ts *testServer) {
	tb.Helper()
	if err := ts.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ts.Close() })
}

func TestMounts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics "+r.URL.Path) })
	ts.Console = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "console "+r.URL.Path) })
	ts.Sandbox = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "sandbox "+r.URL.Path+" "+hookdhttp.TenantIDFromContext(r.Context()))
	})
	mustOpen(t, ts)
	for _, tt := range []struct {
		path   string
		noAuth bool
		want   string
	}{
		{"/metrics", true, "metrics /metrics"},
		{"/console", true, "console /console"},
		{"/console/webhooks/x", true, "console /console/webhooks/x"},
		{"/v1/accounts/123", false, "sandbox /v1/accounts/123 " + tenantA},
		{"/v1/sandbox/accounts", false, "sandbox /v1/sandbox/accounts " + tenantA},
	} {
		res := ts.do(t, request{Method: "GET", Path: tt.path, NoAuth: tt.noAuth}).mustStatus(t, 200)
		if got := string(res.Raw); got != tt.want {
			t.Errorf("GET %s: got %q, want %q", tt.path, got, tt.want)
		}
	}
	// The sandbox is behind API authentication.
	ts.do(t, request{Method: "GET", Path: "/v1/activities", NoAuth: true}).mustStatus(t, 401)
}

func TestMountsUnset(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	for _, p := range []string{"/metrics", "/console", "/console/", "/v1/accounts"} {
		ts.do(t, request{Method: "GET", Path: p}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	for _, p := range []string{"/", "/v1", "/v1/nope", "/v1/webhooks/not-a-uuid", "/v1/webhooks/x/y/z", "/v1/deliveries/123", "/v2/webhooks"} {
		ts.do(t, request{Method: "GET", Path: p}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
	}
	// Unknown paths answer 404 even without credentials.
	ts.do(t, request{Method: "GET", Path: "/nope", NoAuth: true}).mustStatus(t, 404)
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	id := hookd.NewID()
	for _, tt := range []struct{ method, path, allow string }{
		{"PUT", "/v1/webhooks/" + id, "DELETE, GET, HEAD, PATCH"},
		{"DELETE", "/v1/webhooks", "GET, HEAD, POST"},
		{"GET", "/v1/events", "POST"},
		{"GET", "/v1/webhooks/" + id + "/test", "POST"},
		{"POST", "/v1/deliveries/" + id, "GET, HEAD"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		res := ts.do(t, request{Method: tt.method, Path: tt.path}).mustStatus(t, 405)
		res.mustBody(t, `{"detail":"Method \"`+tt.method+`\" not allowed."}`)
		if got := res.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow: got %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	// As in DRF, authentication comes first.
	ts.do(t, request{Method: "PUT", Path: "/v1/webhooks", NoAuth: true}).mustStatus(t, 401)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	ts.Webhooks.FindWebhooksFunc = func(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
		return nil, false, nil
	}
	const notProvided = `{"detail":"Authentication credentials were not provided."}`
	const invalid = `{"detail":"Invalid username/password."}`
	for _, tt := range []struct {
		name   string
		req    request
		status int
		body   string
	}{
		{"OK", request{}, 200, `{"next":null,"previous":null,"results":[]}`},
		{"TenantB", request{User: keyB, Pass: secretB}, 200, `{"next":null,"previous":null,"results":[]}`},
		{"ErrMissing", request{NoAuth: true}, 401, notProvided},
		{"ErrBearer", request{NoAuth: true, Header: http.Header{"Authorization": {"Bearer abc"}}}, 401, notProvided},
		{"ErrBadBase64", request{NoAuth: true, Header: http.Header{"Authorization": {"Basic !!!"}}}, 401, `{"detail":"Invalid basic header. Credentials not correctly base64 encoded."}`},
		{"ErrWrongSecret", request{User: keyA, Pass: "nope"}, 401, invalid},
		{"ErrOtherKeySecret", request{User: keyA, Pass: secretB}, 401, invalid},
		{"ErrUnknownKey", request{User: "nobody", Pass: secretA}, 401, invalid},
		{"ErrRevoked", request{User: keyRevoked, Pass: "secret-r"}, 401, invalid},
		{"ErrEmptyUser", request{NoAuth: true, Header: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(":x"))}}}, 401, invalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Method, tt.req.Path = "GET", "/v1/webhooks"
			res := ts.do(t, tt.req).mustStatus(t, tt.status)
			res.mustBody(t, tt.body)
			if tt.status == 401 {
				if got, want := res.Header.Get("WWW-Authenticate"), `Basic realm="api"`; got != want {
					t.Errorf("WWW-Authenticate: got %q, want %q", got, want)
				}
			}
		})
	}
}

func TestAuthCache(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	ts.Webhooks.FindWebhooksFunc = func(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
		return nil, false, nil
	}
	const n = 20
	for i := 0; i < n; i++ {
		ts.do(t, request{Method: "GET", Path: "/v1/webhooks"}).mustStatus(t, 200)
	}
	if got := ts.keyGets.Load(); got >= n {
		t.Errorf("key look-ups for %d requests: got %d, want fewer (cached)", n, got)
	}

	// Revoke key A: within 1 s it no longer authenticates.
	ts.mu.Lock()
	ts.keys[keyA].RevokedAt = ptr(fixedNow)
	ts.mu.Unlock()
	time.Sleep(time.Second)
	ts.do(t, request{Method: "GET", Path: "/v1/webhooks"}).mustStatus(t, 401)
}

func TestAuthStoreError(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	ts.Tenants.FindAPIKeyByIDFunc = func(ctx context.Context, id string) (*hookd.APIKey, error) {
		return nil, errors.New("database is locked: secret detail")
	}
	res := ts.do(t, request{Method: "GET", Path: "/v1/webhooks"}).mustStatus(t, 500)
	res.mustBody(t, `{"detail":"Internal error."}`)
}

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	ts.Webhooks.FindWebhooksFunc = func(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
		panic("boom")
	}
	ts.do(t, request{Method: "GET", Path: "/v1/webhooks"}).mustStatus(t, 500).mustBody(t, `{"detail":"Internal error."}`)
	// The server still serves.
	ts.do(t, request{Method: "GET", Path: "/healthz", NoAuth: true}).mustStatus(t, 200)
}

func TestBodyErrors(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	id := hookd.NewID()
	big := `{"name":"` + strings.Repeat("a", hookdhttp.MaxBodySize) + `"}`
	for _, tt := range []struct {
		name   string
		req    request
		status int
		body   string
	}{
		{"TooLarge", request{Method: "POST", Path: "/v1/webhooks", Body: big}, 413, `{"detail":"Request body too large (limit 1 MiB)."}`},
		{"TextPlain", request{Method: "POST", Path: "/v1/webhooks", Body: `{}`, ContentType: ptr("text/plain")}, 415, `{"detail":"Unsupported media type \"text/plain\" in request."}`},
		{"Form", request{Method: "POST", Path: "/v1/events", Body: `a=b`, ContentType: ptr("application/x-www-form-urlencoded")}, 415, `{"detail":"Unsupported media type \"application/x-www-form-urlencoded\" in request."}`},
		{"MissingContentType", request{Method: "PATCH", Path: "/v1/webhooks/" + id, Body: `{}`, ContentType: ptr("")}, 415, `{"detail":"Unsupported media type \"\" in request."}`},
		{"ParseError", request{Method: "POST", Path: "/v1/webhooks", Body: `{"name": `}, 400, ""},
		{"List", request{Method: "POST", Path: "/v1/webhooks", Body: `[1,2]`}, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
		{"String", request{Method: "POST", Path: "/v1/events", Body: `"x"`}, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]}`},
		{"Null", request{Method: "POST", Path: "/v1/webhooks/" + id + "/rotate_secret", Body: `null`}, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got NoneType."]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.do(t, tt.req).mustStatus(t, tt.status)
			if tt.body != "" {
				res.mustBody(t, tt.body)
			}
		})
	}
	t.Run("ParseErrorDetail", func(t *testing.T) {
		res := ts.do(t, request{Method: "POST", Path: "/v1/webhooks", Body: `{"name": `}).mustStatus(t, 400)
		if got, _ := res.JSON["detail"].(string); !strings.HasPrefix(got, "JSON parse error - ") {
			t.Errorf("detail: got %q, want prefix %q", got, "JSON parse error - ")
		}
		if got, want := keys(res.JSON), []string{"detail"}; !reflect.DeepEqual(got, want) {
			t.Errorf("keys: got %v, want %v", got, want)
		}
	})
	t.Run("JSONWithParams", func(t *testing.T) {
		ts.Webhooks.CreateWebhookFunc = func(ctx context.Context, w *hookd.Webhook) error { return nil }
		ts.do(t, request{Method: "POST", Path: "/v1/webhooks", ContentType: ptr("application/json; charset=utf-8"),
			Body: `{"name":"n","events":["*"],"url":"https://example.com/h"}`}).mustStatus(t, 201)
	})
}

func TestOpenClose(t *testing.T) {
	t.Parallel()
	s := hookdhttp.NewServer()
	if got := s.URL(); got != "" {
		t.Errorf("URL before Open: got %q, want \"\"", got)
	}
	s.Addr = ":0"
	s.Logger = slog.New(slog.DiscardHandler)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if got := s.URL(); !strings.HasPrefix(got, "http://127.0.0.1:") {
		t.Errorf("URL: got %q, want http://127.0.0.1:port", got)
	}
	resp, err := http.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL() + "/healthz"); err == nil {
		t.Error("GET after Close: got nil error, want a connection error")
	}
}

func TestHandlerNoHTMLEscape(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.Webhooks.CreateWebhookFunc = func(ctx context.Context, w *hookd.Webhook) error { return nil }
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/webhooks", strings.NewReader(`{"name":"<a&b>","events":["*"],"url":"https://example.com/?a=1&b=2"}`))
	r.Header.Set("Content-Type", "application/json")
	r.SetBasicAuth(keyA, secretA)
	ts.Handler().ServeHTTP(rec, r)
	if got, want := rec.Code, 201; got != want {
		t.Fatalf("status: got %d, want %d; %s", got, want, rec.Body)
	}
	for _, want := range []string{`"name":"<a&b>"`, `"url":"https://example.com/?a=1&b=2"`} {
		if !bytes.Contains(rec.Body.Bytes(), []byte(want)) {
			t.Errorf("body %s: want %s", rec.Body, want)
		}
	}
}

func TestErrorContextCancelled(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	ts.Webhooks.FindWebhooksFunc = func(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
		return nil, false, fmt.Errorf("find webhooks: %w", context.DeadlineExceeded)
	}
	res := ts.do(t, request{Method: "GET", Path: "/v1/webhooks"}).mustStatus(t, 503)
	if got, want := res.Header.Get("Retry-After"), "1"; got != want {
		t.Errorf("Retry-After: got %q, want %q", got, want)
	}
	if got, want := keys(res.JSON), []string{"detail"}; !reflect.DeepEqual(got, want) {
		t.Errorf("keys: got %v, want %v", got, want)
	}
}

func TestServer_OpsOnly(t *testing.T) {
	t.Parallel()
	s := hookdhttp.NewServer()
	s.OpsOnly = true
	s.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics") })
	s.Console = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "console") })
	h := s.Handler()
	for path, want := range map[string]int{"/healthz": 200, "/metrics": 200, "/v1/webhooks": 404, "/v1/events": 404, "/console/": 404} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s on an ops-only server got %d, want %d", path, rec.Code, want)
		}
	}
}
