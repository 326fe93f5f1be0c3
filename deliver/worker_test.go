package deliver

import (
	"context"
	"encoding/base64"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/signature"
)

const accountData = `{"account":"018f4f9e-0000-7000-8000-000000000001","user":"018f4f9e-0000-7000-8000-000000000002"}`

// testBundle is a worker over a memStore with a fixed clock, no background
// loop, no jitter, and private targets allowed (the receivers are on
// 127.0.0.1).
type testBundle struct {
	store *memStore
	clock *clock
	w     *Worker
}

func setup(t *testing.T, configure func(w *Worker)) *testBundle {
	t.Helper()
	return setupOn(t, nil, configure)
}

// setupOn is setup with the worker on store (a parkingStore over the
// bundle's memStore) when it is not nil.
func setupOn(t *testing.T, store *parkingStore, configure func(w *Worker)) *testBundle {
	t.Helper()
	// Whole seconds, so that HTTP-date Retry-After values are exact.
	b := &testBundle{store: newMemStore(), clock: newClock(time.Now().Truncate(time.Second))}
	var ds hookd.DeliveryService = b.store
	if store != nil {
		b.store, ds = store.memStore, store
	}
	w := NewWorker(ds)
	w.Now = b.clock.Now
	w.PollInterval = 0
	w.Timeout = 5 * time.Second
	w.Egress.AllowPrivate = true
	w.Policy = Schedule{Rand: func() float64 { return 0.5 }} // no jitter
	w.Logger = slog.New(slog.DiscardHandler)
	if configure != nil {
		configure(w)
	}
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	b.w = w
	return b
}

// run processes batches until none is claimed, waiting for each batch's
// results to be written.
func (b *testBundle) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 1000 {
		n, err := b.w.ProcessBatch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.w.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("deliveries never ran out")
}

// drain waits for every claimed delivery's result to be written.
func (b *testBundle) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := b.w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// failCompletes makes the store's CompleteDeliveries fail with err, or
// succeed again when err is nil.
func (b *testBundle) failCompletes(err error) {
	b.store.mu.Lock()
	b.store.completeErr = err
	b.store.mu.Unlock()
}

// flakyServer is an endpoint that answers 503 while failing is set (as
// it is at first), and 200 after; calls counts the requests.
func flakyServer(t *testing.T) (srv *httptest.Server, failing *atomic.Bool, calls *atomic.Int32) {
	failing, calls = new(atomic.Bool), new(atomic.Int32)
	failing.Store(true)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, failing, calls
}

// holdCompletes holds the store's CompleteDeliveries until release is
// called, or the test ends (before the worker closes).
func (b *testBundle) holdCompletes(t *testing.T) (release func()) {
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	b.store.mu.Lock()
	b.store.completeGate = gate
	b.store.mu.Unlock()
	return release
}

// deliverTo publishes one accounts.added to a webhook at url, changed by
// mod, runs the worker, and returns the delivery and webhook as stored.
func (b *testBundle) deliverTo(t *testing.T, url string, mod func(w *hookd.Webhook, d *hookd.Delivery)) (hookd.Delivery, hookd.Webhook) {
	t.Helper()
	wh := &hookd.Webhook{URL: url, Secret: "s3cret"}
	d := &hookd.Delivery{}
	if mod != nil {
		mod(wh, d)
	}
	b.store.addWebhook(wh)
	pd := b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	b.store.update(pd.ID, func(sd *hookd.Delivery) {
		sd.AttemptCount, sd.RetryBase = d.AttemptCount, d.RetryBase
	})
	b.run(t)
	got := b.store.delivery(pd.ID)
	if len(got.Attempts) == 0 {
		t.Fatalf("delivery %s has no attempts", pd.ID)
	}
	return got, b.store.webhook(wh.ID)
}

// request is what a receiver saw.
type request struct {
	header http.Header
	body   []byte
}

// recorder is a receiver that records requests and answers status.
func recorder(t *testing.T, status int) (*httptest.Server, chan request) {
	t.Helper()
	ch := make(chan request, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- request{r.Header.Clone(), body}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func TestWorker_Headers(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	srv, reqs := recorder(t, http.StatusOK)
	key := make([]byte, 24)
	for i := range key {
		key[i] = byte(i)
	}
	previous := "whsec_" + base64.StdEncoding.EncodeToString(key)
	expires := b.clock.Now().Add(time.Hour)
	d, _ := b.deliverTo(t, srv.URL, func(w *hookd.Webhook, _ *hookd.Delivery) {
		w.Secret, w.PreviousSecret, w.PreviousSecretExpiresAt = "new secret", previous, &expires
	})
	if d.Status != hookd.DeliverySucceeded {
		t.Fatalf("status got %q, want succeeded (attempt %+v)", d.Status, d.Attempts[0])
	}
	r := <-reqs
	for _, h := range []struct{ name, want string }{
		{"Content-Type", "application/json"},
		{"User-Agent", "hookd/" + hookd.Version},
		{"webhook-id", d.ID},
		{"webhook-timestamp", strconv.FormatInt(b.clock.Now().Unix(), 10)},
		{"X-Argyle-Signature", signature.Argyle("new secret", r.body)},
	} {
		if got := r.header.Get(h.name); got != h.want {
			t.Errorf("header %s got %q, want %q", h.name, got, h.want)
		}
	}
	if !signature.VerifyArgyle("new secret", r.body, r.header.Get("X-Argyle-Signature")) {
		t.Error("X-Argyle-Signature does not verify with the newest secret")
	}
	if got := strings.Count(r.header.Get("webhook-signature"), "v1,"); got != 2 {
		t.Errorf("webhook-signature entries got %d, want 2 (%q)", got, r.header.Get("webhook-signature"))
	}
	// Both the new (raw) and the previous (whsec_) secret verify with the
	// official Standard Webhooks library.
	raw, err := standardwebhooks.NewWebhookRaw([]byte("new secret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Verify(r.body, r.header); err != nil {
		t.Errorf("official library, new secret: %v", err)
	}
	prev, err := standardwebhooks.NewWebhook(previous)
	if err != nil {
		t.Fatal(err)
	}
	if err := prev.Verify(r.body, r.header); err != nil {
		t.Errorf("official library, previous secret: %v", err)
	}
	if err := signature.VerifyStandard([]string{previous}, r.header, r.body, 0); err != nil {
		t.Errorf("VerifyStandard, previous secret: %v", err)
	}
}

func TestWorker_HeadersExpiredPreviousSecret(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	srv, reqs := recorder(t, http.StatusOK)
	expired := b.clock.Now().Add(-time.Second)
	b.deliverTo(t, srv.URL, func(w *hookd.Webhook, _ *hookd.Delivery) {
		w.Secret, w.PreviousSecret, w.PreviousSecretExpiresAt = "new", "old", &expired
	})
	r := <-reqs
	if got := strings.Count(r.header.Get("webhook-signature"), "v1,"); got != 1 {
		t.Errorf("webhook-signature entries got %d, want 1", got)
	}
}

func TestWorker_NoSecret(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	srv, reqs := recorder(t, http.StatusOK)
	d, _ := b.deliverTo(t, srv.URL, func(w *hookd.Webhook, _ *hookd.Delivery) { w.Secret = "" })
	r := <-reqs
	for _, name := range []string{"X-Argyle-Signature", "webhook-signature"} {
		if v, ok := r.header[http.CanonicalHeaderKey(name)]; ok {
			t.Errorf("header %s got %q, want absent", name, v)
		}
	}
	if got := r.header.Get("webhook-id"); got != d.ID {
		t.Errorf("webhook-id got %q, want %q", got, d.ID)
	}
	if got := r.header.Get("webhook-timestamp"); got == "" {
		t.Error("webhook-timestamp missing")
	}
}

func TestWorker_Body(t *testing.T) {
	t.Parallel()
	resource := `{"id":"018f4f9e-0000-7000-8000-000000000001","status":"connected","note":"<&>"}`
	yes, no := true, false
	tests := []struct {
		name     string
		format   string
		include  *bool
		typ      string
		resource bool // whether the body must carry the resource
	}{
		{"Compact", hookd.BodyCompact, nil, "accounts.added", false},
		{"Indented", hookd.BodyIndented, nil, "accounts.added", false},
		{"IncludeResource", hookd.BodyCompact, &yes, "accounts.added", true},
		{"IncludeResourceIndented", hookd.BodyIndented, &yes, "accounts.connected", true},
		{"IncludeResourceFalse", hookd.BodyCompact, &no, "accounts.added", false},
		{"AlwaysResource", hookd.BodyCompact, nil, "users.fully_synced", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w *Worker) { w.BodyFormat = tt.format })
			srv, reqs := recorder(t, http.StatusOK)
			wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL, Name: "My <hook>", Config: hookd.WebhookConfig{IncludeResource: tt.include}})
			b.store.publish(wh, tt.typ, accountData, resource, b.clock.Now())
			b.run(t)
			r := <-reqs
			var res []byte
			if tt.resource {
				res = []byte(resource)
			}
			want := hookd.AppendEnvelope(nil, tt.typ, "My <hook>", []byte(accountData), res, tt.format == hookd.BodyIndented)
			if string(r.body) != string(want) {
				t.Errorf("body got\n%s\nwant\n%s", r.body, want)
			}
			if got := strings.Contains(string(r.body), `"resource"`); got != tt.resource {
				t.Errorf("body has resource got %v, want %v", got, tt.resource)
			}
			if got, want := strings.Contains(string(r.body), "\n  \"event\": "), tt.format == hookd.BodyIndented; got != want {
				t.Errorf("body indented got %v, want %v:\n%s", got, want, r.body)
			}
			if strings.HasSuffix(string(r.body), "\n") {
				t.Error("body ends with a newline")
			}
			if !strings.Contains(string(r.body), "<hook>") {
				t.Errorf("body HTML-escaped: %s", r.body)
			}
		})
	}
}

// TestWorker_Outcomes covers every class of answer and failure: the attempt
// recorded, the delivery's status, and the next attempt's time.
func TestWorker_Outcomes(t *testing.T) {
	t.Parallel()
	const big = 200 << 10
	retryDate := func(b *testBundle) string { return b.clock.Now().Add(10 * time.Minute).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name    string
		handler func(b *testBundle) http.HandlerFunc
		// url, when set, replaces the server's URL.
		url       func(t *testing.T, srv *httptest.Server) string
		tls       bool
		status    string
		code      int
		err       string // exact, or prefix when it ends in "*"
		body      string
		bodyLen   int
		delay     time.Duration // the next attempt, after the attempt's end
		disable   string
		configure func(w *Worker)
	}{
		{name: "200", handler: status(200, "ok"), status: hookd.DeliverySucceeded, code: 200, body: "ok"},
		{name: "204", handler: status(204, ""), status: hookd.DeliverySucceeded, code: 204},
		{name: "Redirect", handler: func(*testBundle) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/moved" {
					t.Error("redirect followed")
				}
				http.Redirect(w, r, "/moved", http.StatusFound)
			}
		}, status: hookd.DeliveryPending, code: 302, err: "redirect not followed", delay: 5 * time.Second},
		{name: "400", handler: status(400, `{"error":"bad"}`), status: hookd.DeliveryPending, code: 400, err: "HTTP 400 Bad Request", body: `{"error":"bad"}`, delay: 5 * time.Second},
		{name: "410", handler: status(410, ""), status: hookd.DeliveryFailed, code: 410, err: "HTTP 410 Gone", disable: hookd.DisabledGone},
		{name: "500", handler: status(500, "boom"), status: hookd.DeliveryPending, code: 500, err: "HTTP 500 Internal Server Error", body: "boom", delay: 5 * time.Second},
		{name: "429RetryAfterSeconds", handler: retryAfter(429, func(*testBundle) string { return "120" }), status: hookd.DeliveryPending, code: 429, err: "HTTP 429 Too Many Requests", delay: 120 * time.Second},
		{name: "429RetryAfterShort", handler: retryAfter(429, func(*testBundle) string { return "1" }), status: hookd.DeliveryPending, code: 429, err: "HTTP 429 Too Many Requests", delay: 5 * time.Second},
		{name: "429RetryAfterCapped", handler: retryAfter(429, func(*testBundle) string { return "7200" }), status: hookd.DeliveryPending, code: 429, err: "HTTP 429 Too Many Requests", delay: time.Hour},
		{name: "503RetryAfterDate", handler: retryAfter(503, retryDate), status: hookd.DeliveryPending, code: 503, err: "HTTP 503 Service Unavailable", delay: 10 * time.Minute},
		{name: "500RetryAfterIgnored", handler: retryAfter(500, func(*testBundle) string { return "600" }), status: hookd.DeliveryPending, code: 500, err: "HTTP 500 Internal Server Error", delay: 5 * time.Second},
		{name: "OversizedResponse", handler: func(*testBundle) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(strings.Repeat("x", big)))
			}
		}, status: hookd.DeliverySucceeded, code: 200, bodyLen: hookd.MaxResponseBody},
		{name: "ConnectionRefused", url: func(t *testing.T, _ *httptest.Server) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return "http://" + addr + "/hook"
		}, status: hookd.DeliveryPending, err: "connection refused", delay: 5 * time.Second},
		{name: "Reset", url: func(t *testing.T, _ *httptest.Server) string { return resetServer(t) },
			status: hookd.DeliveryPending, err: "connection *", delay: 5 * time.Second},
		{name: "Hang", handler: func(*testBundle) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // so that the server notices the client leave
				<-r.Context().Done()
			}
		}, configure: func(w *Worker) { w.Timeout = time.Second },
			status: hookd.DeliveryPending, err: "timeout: no complete response within 1s", delay: 5 * time.Second},
		{name: "HangAfterHeaders", handler: func(*testBundle) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(500)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}
		}, configure: func(w *Worker) { w.Timeout = time.Second },
			status: hookd.DeliveryPending, code: 500, err: "HTTP 500 Internal Server Error", delay: 5 * time.Second},
		{name: "TLSUntrusted", handler: status(200, "ok"), tls: true, status: hookd.DeliveryPending, err: "tls: *", delay: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.configure)
			var hits atomic.Int32
			var srv *httptest.Server
			if tt.handler != nil {
				h := tt.handler(b)
				wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					h(w, r)
				})
				srv = httptest.NewUnstartedServer(wrapped)
				srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the TLS case's handshake error
				if tt.tls {
					srv.StartTLS()
				} else {
					srv.Start()
				}
				t.Cleanup(srv.Close)
			}
			url := ""
			if srv != nil {
				url = srv.URL + "/hook"
			}
			if tt.url != nil {
				url = tt.url(t, srv)
			}
			d, wh := b.deliverTo(t, url, nil)
			a := d.Attempts[0]
			if d.Status != tt.status {
				t.Errorf("status got %q, want %q (attempt %+v)", d.Status, tt.status, a)
			}
			if a.Number != 1 || !a.StartedAt.Equal(b.clock.Now()) {
				t.Errorf("attempt number, start got %d, %v, want 1, %v", a.Number, a.StartedAt, b.clock.Now())
			}
			if a.StatusCode != tt.code {
				t.Errorf("status code got %d, want %d", a.StatusCode, tt.code)
			}
			if p, ok := strings.CutSuffix(tt.err, "*"); ok {
				if !strings.HasPrefix(a.Error, p) {
					t.Errorf("error got %q, want prefix %q", a.Error, p)
				}
			} else if a.Error != tt.err {
				t.Errorf("error got %q, want %q", a.Error, tt.err)
			}
			if tt.bodyLen > 0 {
				if len(a.ResponseBody) != tt.bodyLen {
					t.Errorf("response body length got %d, want %d", len(a.ResponseBody), tt.bodyLen)
				}
			} else if a.ResponseBody != tt.body {
				t.Errorf("response body got %q, want %q", a.ResponseBody, tt.body)
			}
			if a.Latency <= 0 {
				t.Errorf("latency got %v, want > 0", a.Latency)
			}
			if tt.status == hookd.DeliveryPending {
				want := hookd.Truncate(a.StartedAt.Add(a.Latency).Add(tt.delay))
				if d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(want) {
					t.Errorf("next attempt got %v, want %v", d.NextAttemptAt, want)
				}
			} else if d.NextAttemptAt != nil {
				t.Errorf("next attempt got %v, want none", d.NextAttemptAt)
			}
			if wh.DisabledReason != tt.disable {
				t.Errorf("webhook disabled reason got %q, want %q", wh.DisabledReason, tt.disable)
			}
			if tt.tls && hits.Load() != 0 {
				t.Errorf("TLS receiver handled %d requests, want 0", hits.Load())
			}
		})
	}
}

func status(code int, body string) func(*testBundle) http.HandlerFunc {
	return func(*testBundle) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			w.Write([]byte(body))
		}
	}
}

func retryAfter(code int, value func(*testBundle) string) func(*testBundle) http.HandlerFunc {
	return func(b *testBundle) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", value(b))
			w.WriteHeader(code)
		}
	}
}

// resetServer returns the URL of a server that reads the request and then
// resets the connection.
func resetServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String() + "/hook"
}

func TestWorker_DisabledWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	srv, reqs := recorder(t, http.StatusOK)
	d, _ := b.deliverTo(t, srv.URL, func(w *hookd.Webhook, _ *hookd.Delivery) {
		w.Status, w.DisabledReason = hookd.WebhookDisabled, hookd.DisabledManual
	})
	if d.Status != hookd.DeliveryFailed || d.Attempts[0].Error != "webhook disabled" {
		t.Errorf("delivery got %q with error %q, want failed with %q", d.Status, d.Attempts[0].Error, "webhook disabled")
	}
	if len(reqs) != 0 {
		t.Errorf("requests got %d, want 0", len(reqs))
	}
}

func TestWorker_FailingDisable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		failingFor   time.Duration
		wantStatus   string
		wantDisabled string
	}{
		{"FiveDays", hookd.FailingDisableAfter, hookd.DeliveryFailed, hookd.DisabledFailing},
		{"FourDays", 4 * 24 * time.Hour, hookd.DeliveryPending, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			srv, _ := recorder(t, http.StatusInternalServerError)
			since := b.clock.Now().Add(-tt.failingFor)
			d, wh := b.deliverTo(t, srv.URL, func(w *hookd.Webhook, _ *hookd.Delivery) { w.FailingSince = &since })
			if d.Status != tt.wantStatus || wh.DisabledReason != tt.wantDisabled {
				t.Errorf("delivery, disabled reason got %q, %q, want %q, %q", d.Status, wh.DisabledReason, tt.wantStatus, tt.wantDisabled)
			}
		})
	}
}

func TestWorker_RetryPosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		count, base     int
		wantStatus      string
		wantDelay       time.Duration
		wantAttemptNumb int
	}{
		{"SecondAttempt", 1, 0, hookd.DeliveryPending, 5 * time.Minute, 2},
		{"LastAttempt", 9, 0, hookd.DeliveryFailed, 0, 10},
		{"AfterRedeliver", 12, 10, hookd.DeliveryPending, 30 * time.Minute, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			srv, _ := recorder(t, http.StatusInternalServerError)
			d, _ := b.deliverTo(t, srv.URL, func(_ *hookd.Webhook, d *hookd.Delivery) { d.AttemptCount, d.RetryBase = tt.count, tt.base })
			a := d.Attempts[0]
			if a.Number != tt.wantAttemptNumb {
				t.Errorf("attempt number got %d, want %d", a.Number, tt.wantAttemptNumb)
			}
			if d.Status != tt.wantStatus {
				t.Fatalf("status got %q, want %q", d.Status, tt.wantStatus)
			}
			if tt.wantStatus == hookd.DeliveryPending {
				if want := hookd.Truncate(a.StartedAt.Add(a.Latency + tt.wantDelay)); !d.NextAttemptAt.Equal(want) {
					t.Errorf("next attempt got %v, want %v", d.NextAttemptAt, want)
				}
			}
		})
	}
}

// TestWorker_RetryThenSucceed follows one delivery through failures, the
// schedule, and a success, keeping its webhook-id.
func TestWorker_RetryThenSucceed(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var calls atomic.Int32
	ids := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids <- r.Header.Get("webhook-id")
		if calls.Add(1) < 3 {
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(srv.Close)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	d := b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	b.run(t)
	for _, step := range []time.Duration{5 * time.Second, 5 * time.Minute} {
		b.run(t) // not due yet
		if got := calls.Load(); got != int32(len(b.store.delivery(d.ID).Attempts)) {
			t.Fatalf("calls got %d, want one per attempt", got)
		}
		b.clock.Add(step + time.Second)
		b.run(t)
	}
	got := b.store.delivery(d.ID)
	if got.Status != hookd.DeliverySucceeded || got.AttemptCount != 3 {
		t.Errorf("delivery got %q after %d attempts, want succeeded after 3", got.Status, got.AttemptCount)
	}
	if wh := b.store.webhook(wh.ID); wh.FailingSince != nil {
		t.Errorf("webhook failing since got %v, want nil after a success", wh.FailingSince)
	}
	close(ids)
	for id := range ids {
		if id != d.ID {
			t.Errorf("webhook-id got %q, want %q on every attempt", id, d.ID)
		}
	}
}

// TestWorker_Breaker opens the breaker of a failing webhook, keeps its
// deliveries in the store while open, probes after the cool-down, and
// closes on success.
func TestWorker_Breaker(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	b := setup(t, func(w *Worker) {
		w.PerWebhookConcurrency = 1
		w.Breaker = BreakerConfig{Threshold: 3, Cooldown: 5 * time.Minute}
		w.Metrics = m
	})
	srv, failing, calls := flakyServer(t)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	other := b.store.addWebhook(&hookd.Webhook{URL: srv.URL + "/other"})
	for range 10 {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	}
	b.run(t)
	if got := calls.Load(); got != 3 {
		t.Fatalf("calls got %d, want 3 (the breaker opens after 3 failures)", got)
	}
	if got := testutil.ToFloat64(m.breakersOpen); got != 1 {
		t.Errorf("breakers open got %v, want 1", got)
	}

	// After the leases run out the remaining deliveries are due, but the
	// webhook is excluded while its breaker is open; others still flow.
	b.clock.Add(b.w.Lease + time.Second)
	failing.Store(false)
	b.store.publish(other, "accounts.added", accountData, "", b.clock.Now())
	b.run(t)
	if got := b.store.lastClaim().ExcludeWebhooks; len(got) != 1 || got[0] != wh.ID {
		t.Errorf("excluded webhooks got %v, want [%s]", got, wh.ID)
	}
	if got := b.store.lastClaim().Blocked; len(got) != 1 || got[0] != wh.ID {
		t.Errorf("blocked webhooks got %v, want [%s]: its breaker is open", got, wh.ID)
	}
	if got := b.store.countStatus(other.ID, hookd.DeliverySucceeded); got != 1 {
		t.Errorf("other webhook's deliveries succeeded got %d, want 1", got)
	}
	if got := calls.Load(); got != 4 {
		t.Fatalf("calls got %d, want 4 (none to the open webhook)", got)
	}

	// After the cool-down one probe goes; its success closes the breaker
	// and the rest follow.
	b.clock.Add(5 * time.Minute)
	b.run(t)
	if got := b.store.countStatus(wh.ID, hookd.DeliverySucceeded); got != 10 {
		t.Errorf("deliveries succeeded got %d, want 10", got)
	}
	if got := calls.Load(); got != 14 {
		t.Errorf("calls got %d, want 14", got)
	}
	if got := testutil.ToFloat64(m.breakersOpen); got != 0 {
		t.Errorf("breakers open got %v, want 0", got)
	}
}

// limited configures a worker for the concurrency tests: quick polls, a
// timeout no test reaches, and the two per-webhook limits.
func limited(perWebhook, start int) func(*Worker) {
	return func(w *Worker) {
		w.PollInterval = 5 * time.Millisecond
		w.Timeout = time.Minute
		w.PerWebhookConcurrency = perWebhook
		w.StartConcurrency = start
	}
}

// TestWorker_Isolation: with half of 20 webhooks hanging, the other half
// still get every delivery, and no webhook exceeds its concurrency limit:
// StartConcurrency for the hanging ones, none of whose attempts succeeded.
func TestWorker_Isolation(t *testing.T) {
	t.Parallel()
	const perWebhook, start = 4, 2
	b := setup(t, func(w *Worker) {
		limited(perWebhook, start)(w)
		w.Concurrency = 64
	})
	release := make(chan struct{})
	var mu sync.Mutex
	current, peak := map[string]int{}, map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		current[r.URL.Path]++
		peak[r.URL.Path] = max(peak[r.URL.Path], current[r.URL.Path])
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.URL.Path, "/hang") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		mu.Lock()
		current[r.URL.Path]--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close and the worker's Close
	var good []*hookd.Webhook
	for i := range 20 {
		path := "/ok" + strconv.Itoa(i)
		if i%2 == 0 {
			path = "/hang" + strconv.Itoa(i)
		}
		wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL + path})
		if i%2 == 1 {
			good = append(good, wh)
		}
		for range 3 * perWebhook {
			b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
		}
	}
	b.w.Wake()
	waitFor(t, "every delivery to the healthy webhooks", func() bool {
		for _, wh := range good {
			if b.store.countStatus(wh.ID, hookd.DeliverySucceeded) != 3*perWebhook {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	for path, n := range peak {
		limit := perWebhook
		if strings.HasPrefix(path, "/hang") {
			limit = start
		}
		if n > limit {
			t.Errorf("peak concurrency of %s got %d, want at most %d", path, n, limit)
		}
	}
}

// TestWorker_ConcurrencyGrows: a webhook starts with StartConcurrency
// attempts in flight and gets PerWebhookConcurrency once one succeeds.
func TestWorker_ConcurrencyGrows(t *testing.T) {
	t.Parallel()
	const perWebhook, start = 6, 2
	b := setup(t, limited(perWebhook, start))
	gate := make(chan struct{}) // one receive lets one request answer
	var mu sync.Mutex
	current, peak := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		current++
		peak = max(peak, current)
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		mu.Lock()
		current--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(gate) })
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL + "/grow"})
	for range 20 {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	}
	b.w.Wake()
	inFlight := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return current == n }
	}
	waitFor(t, "StartConcurrency attempts in flight", inFlight(start))
	time.Sleep(50 * time.Millisecond) // room for a wrong extra one to arrive
	mu.Lock()
	if peak != start {
		t.Errorf("before any success: peak %d in flight, want %d", peak, start)
	}
	mu.Unlock()
	gate <- struct{}{}
	waitFor(t, "PerWebhookConcurrency attempts in flight after a success", inFlight(perWebhook))
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if peak != perWebhook {
		t.Errorf("after a success: peak %d in flight, want %d", peak, perWebhook)
	}
}

// TestWorker_Fairness: a claimed batch is served round-robin across its
// webhooks, so one webhook's backlog does not go first.
func TestWorker_Fairness(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w *Worker) { w.Concurrency = 1 })
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	busy := b.store.addWebhook(&hookd.Webhook{URL: srv.URL + "/busy"})
	quiet := b.store.addWebhook(&hookd.Webhook{URL: srv.URL + "/quiet"})
	for range 5 {
		b.store.publish(busy, "accounts.added", accountData, "", b.clock.Now())
	}
	b.store.publish(quiet, "accounts.added", accountData, "", b.clock.Now())
	// One batch holding both webhooks, the busy one's backlog first.
	tasks, err := b.store.ClaimDeliveries(context.Background(), hookd.ClaimRequest{Now: b.clock.Now(), Limit: 10, Lease: b.w.Lease})
	if err != nil {
		t.Fatal(err)
	}
	b.w.mu.Lock()
	b.w.enqueueLocked(tasks, b.clock.Now())
	b.w.dispatchLocked(b.clock.Now(), false)
	b.w.mu.Unlock()
	b.drain(t)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/busy", "/quiet", "/busy", "/busy", "/busy", "/busy"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("order got %v, want %v", order, want)
	}
}

// TestWorker_CloseFinishesInFlight: Close waits for an attempt in flight
// and records it.
func TestWorker_CloseFinishesInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w *Worker) { w.PollInterval = 5 * time.Millisecond })
	entered, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	t.Cleanup(srv.Close)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	d := b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	b.w.Wake()
	select {
	case <-entered:
	case <-time.After(15 * time.Second):
		t.Fatal("the delivery never arrived")
	}
	closed := make(chan struct{})
	go func() {
		b.w.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while an attempt was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(15 * time.Second):
		t.Fatal("Close never returned")
	}
	if got := b.store.delivery(d.ID); got.Status != hookd.DeliverySucceeded {
		t.Errorf("delivery status got %q, want succeeded", got.Status)
	}
	if err := b.w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.w.ProcessBatch(context.Background()); err != ErrClosed {
		t.Errorf("ProcessBatch after Close got %v, want ErrClosed", err)
	}
}

// TestWorker_CompleteRetries: results survive a failing store and are
// written once it recovers.
func TestWorker_CompleteRetries(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w *Worker) { w.Metrics = NewMetrics(nil) })
	srv, _ := recorder(t, http.StatusOK)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	d := b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	b.failCompletes(io.ErrUnexpectedEOF)
	if _, err := b.w.ProcessBatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed write", func() bool {
		b.w.mu.Lock()
		sent := b.w.inflight == 0 && len(b.w.results) == 0
		b.w.mu.Unlock()
		return sent && testutil.ToFloat64(b.w.Metrics.completeErrors) > 0
	})
	if got := b.store.delivery(d.ID); got.Status != hookd.DeliveryPending {
		t.Fatalf("delivery status got %q, want still pending while writes fail", got.Status)
	}
	b.failCompletes(nil)
	b.drain(t)
	if got := b.store.delivery(d.ID); got.Status != hookd.DeliverySucceeded {
		t.Errorf("delivery status got %q, want succeeded", got.Status)
	}
}

// TestWorker_CompleteTakesWaiting: results that pile up while a write is
// slow go into the next write together, up to 4 x FlushSize, not FlushSize
// at a time.
func TestWorker_CompleteTakesWaiting(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w *Worker) {
		w.Concurrency, w.PerWebhookConcurrency, w.FlushSize = 16, 16, 2
	})
	release := b.holdCompletes(t)
	srv, _ := recorder(t, http.StatusOK)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	const total, maxBatch = 12, 8
	for range total {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	}
	if n, err := b.w.ProcessBatch(context.Background()); err != nil || n != total {
		t.Fatalf("ProcessBatch got %d, %v; want %d", n, err, total)
	}
	// The first write is held at the gate: it took FlushSize results or a
	// few more, and the rest wait in the channel.
	waitFor(t, "the attempts to hand over their results", func() bool {
		b.w.mu.Lock()
		defer b.w.mu.Unlock()
		return b.w.inflight == 0 && b.w.unwritten == total
	})
	release()
	b.drain(t)
	b.store.mu.Lock()
	writes := b.store.writes
	b.store.mu.Unlock()
	if len(writes) == 0 {
		t.Fatal("nothing written")
	}
	want := []int{writes[0]}
	for rest := total - writes[0]; rest > 0; rest -= maxBatch {
		want = append(want, min(rest, maxBatch))
	}
	if !slices.Equal(writes, want) {
		t.Errorf("batches written got %v, want %v: the waiting results, %d at a time", writes, want, maxBatch)
	}
	if got := b.store.countStatus(wh.ID, hookd.DeliverySucceeded); got != total {
		t.Errorf("succeeded deliveries got %d, want %d", got, total)
	}
}

// TestWorker_FailingStoreBoundsClaims: results waiting to be written take
// no room, but while the store cannot record them the worker still stops
// claiming, with a bounded number of deliveries claimed, and delivers
// everything once the store recovers.
func TestWorker_FailingStoreBoundsClaims(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w *Worker) {
		w.Concurrency, w.PerWebhookConcurrency, w.BatchSize, w.FlushSize = 2, 2, 2, 1
	})
	srv, _ := recorder(t, http.StatusOK)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	const total = 60
	for range total {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	}
	b.failCompletes(io.ErrUnexpectedEOF)

	// In flight and queued: 2 x Concurrency. Waiting to be written: the
	// results channel (4) and the writer's batch (4 x FlushSize).
	const bound = 2*2 + 4 + 4
	claimed := 0
	for range 200 {
		n, err := b.w.ProcessBatch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		claimed += n
		if claimed > bound {
			t.Fatalf("claimed %d deliveries while the store fails, want at most %d", claimed, bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if claimed < bound-2 {
		t.Errorf("claimed %d deliveries while the store fails, want about %d: waiting results should take no room", claimed, bound)
	}

	b.failCompletes(nil)
	b.drain(t)
	b.run(t)
	if got := b.store.countStatus(wh.ID, hookd.DeliverySucceeded); got != total {
		t.Errorf("succeeded deliveries got %d, want %d", got, total)
	}
}

// TestWorker_ParksOpenBreaker: a webhook whose breaker opens is parked, one
// parked delivery is unparked for the probe after the cool-down, and the
// probe's success unparks the rest.
func TestWorker_ParksOpenBreaker(t *testing.T) {
	t.Parallel()
	store := &parkingStore{memStore: newMemStore()}
	b := setupOn(t, store, func(w *Worker) {
		w.PerWebhookConcurrency = 1
		w.Breaker = BreakerConfig{Threshold: 3, Cooldown: 5 * time.Minute}
	})
	srv, failing, calls := flakyServer(t)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	for range 3 {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	}
	b.run(t)
	if got, want := store.callLog(), []string{"park " + wh.ID}; !slices.Equal(got, want) {
		t.Fatalf("after the breaker opened got calls %v, want %v", got, want)
	}
	for range 4 {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now()) // parked
	}
	b.clock.Add(time.Minute)
	b.run(t)
	if got := calls.Load(); got != 3 {
		t.Fatalf("requests while open got %d, want 3", got)
	}

	// After the cool-down the half-open breaker has nothing queued, so one
	// parked delivery is unparked to probe with; the probe (that one or a
	// due retry) succeeds, the breaker closes and the rest are unparked.
	failing.Store(false)
	b.clock.Add(4*time.Minute + time.Second)
	waitFor(t, "every delivery", func() bool {
		b.run(t)
		return b.store.countStatus(wh.ID, hookd.DeliverySucceeded) == 7
	})
	want := []string{"park " + wh.ID, "unpark 1 of " + wh.ID, "unpark " + wh.ID}
	if got := store.callLog(); !slices.Equal(got, want) {
		t.Errorf("calls got %v, want %v", got, want)
	}
}

// TestWorker_ParksStalled: a webhook whose attempts fill its slots and
// finish none for minStall (it has never answered) is parked, and unparked
// once one finishes.
func TestWorker_ParksStalled(t *testing.T) {
	t.Parallel()
	store := &parkingStore{memStore: newMemStore()}
	b := setupOn(t, store, func(w *Worker) { w.PerWebhookConcurrency = 2 })
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	t.Cleanup(srv.Close)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	for range 5 {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	}
	ctx := context.Background()
	if _, err := b.w.ProcessBatch(ctx); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(minStall / 2)
	if _, err := b.w.ProcessBatch(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.callLog(); len(got) != 0 {
		t.Fatalf("calls before a stall got %v, want none", got)
	}
	// Busy, its slots and queue full, but not blocked.
	if req := b.store.lastClaim(); !slices.Equal(req.ExcludeWebhooks, []string{wh.ID}) || len(req.Blocked) != 0 {
		t.Errorf("claim before a stall excluded %v, blocked %v; want [%s] excluded, none blocked", req.ExcludeWebhooks, req.Blocked, wh.ID)
	}
	b.clock.Add(minStall / 2)
	if _, err := b.w.ProcessBatch(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := store.callLog(), []string{"park " + wh.ID}; !slices.Equal(got, want) {
		t.Fatalf("calls after a stall got %v, want %v", got, want)
	}
	if req := b.store.lastClaim(); !slices.Equal(req.Blocked, []string{wh.ID}) {
		t.Errorf("claim after a stall blocked %v, want [%s]", req.Blocked, wh.ID)
	}
	close(release)
	b.drain(t)
	if got, want := store.callLog(), []string{"park " + wh.ID, "unpark " + wh.ID}; !slices.Equal(got, want) {
		t.Errorf("calls once attempts finished got %v, want %v", got, want)
	}
}

// TestHookState_StallAfter: a webhook counts as stalled after four times
// its usual latency, within 250 ms and 1 s, and after 250 ms before it
// has answered.
func TestHookState_StallAfter(t *testing.T) {
	t.Parallel()
	var h hookState
	if got := h.stallAfter(); got != minStall {
		t.Errorf("before any answer got %v, want %v", got, minStall)
	}
	for _, c := range []struct {
		latency time.Duration
		want    time.Duration
	}{
		{10 * time.Millisecond, minStall},
		{100 * time.Millisecond, 400 * time.Millisecond},
		{200 * time.Millisecond, 800 * time.Millisecond},
		{2 * time.Second, maxStall},
	} {
		var h hookState
		for range 50 {
			h.noteLatency(c.latency)
		}
		if got := h.stallAfter(); got != c.want {
			t.Errorf("answering in %v: got %v, want %v", c.latency, got, c.want)
		}
	}
	// The average follows a change of speed, but not at once.
	h.noteLatency(100 * time.Millisecond)
	h.noteLatency(900 * time.Millisecond)
	if got := h.latency; got != 200*time.Millisecond {
		t.Errorf("100 ms then 900 ms: average got %v, want 200ms", got)
	}
}

// TestWorker_SlowStoreIsNoStall: attempts that have finished but wait to
// hand their results to a slow store are progress, not a stalled endpoint.
func TestWorker_SlowStoreIsNoStall(t *testing.T) {
	t.Parallel()
	store := &parkingStore{memStore: newMemStore()}
	b := setupOn(t, store, func(w *Worker) {
		// Small batches, so that the webhook holds few deliveries and
		// claims, which look for stalls, still have room.
		w.Concurrency, w.PerWebhookConcurrency, w.BatchSize, w.FlushSize = 8, 2, 2, 1
	})
	release := b.holdCompletes(t)
	srv, _ := recorder(t, http.StatusOK)
	wh := b.store.addWebhook(&hookd.Webhook{URL: srv.URL})
	const total = 40
	for range total {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	}
	ctx := context.Background()
	// One write is held at the gate, the channel (16) fills, and both
	// slots wait to hand over their results.
	waitFor(t, "both slots to wait on the store", func() bool {
		if _, err := b.w.ProcessBatch(ctx); err != nil {
			t.Fatal(err)
		}
		b.w.mu.Lock()
		defer b.w.mu.Unlock()
		h := b.w.hooks[wh.ID]
		return h != nil && h.inflight == 2 && h.handing.Load() == 2
	})
	b.clock.Add(maxStall)
	if _, err := b.w.ProcessBatch(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.callLog(); len(got) != 0 {
		t.Errorf("calls while the store is slow got %v, want none", got)
	}
	release()
	b.drain(t)
	b.run(t)
	if got := b.store.countStatus(wh.ID, hookd.DeliverySucceeded); got != total {
		t.Errorf("succeeded deliveries got %d, want %d", got, total)
	}
}

// stingyStore claims at most max deliveries whatever the request's limit,
// as the SQLite store's lane walks may (they reach 16 webhooks a claim).
type stingyStore struct {
	*memStore
	max int
}

func (s *stingyStore) ClaimDeliveries(ctx context.Context, req hookd.ClaimRequest) ([]*hookd.Task, error) {
	req.Limit = min(req.Limit, s.max)
	return s.memStore.ClaimDeliveries(ctx, req)
}

// TestWorker_ClaimsUntilNone checks that the loop claims again at once
// after a claim that took fewer deliveries than it asked for, until a
// claim takes none, instead of waiting for its next poll while
// deliveries are due.
func TestWorker_ClaimsUntilNone(t *testing.T) {
	t.Parallel()
	store := &stingyStore{memStore: newMemStore(), max: 3}
	srv, _ := recorder(t, http.StatusOK)
	wh := store.addWebhook(&hookd.Webhook{URL: srv.URL})
	const total = 20
	for range total {
		store.publish(wh, "accounts.added", accountData, "", time.Now())
	}
	w := NewWorker(store)
	w.PollInterval = time.Hour // the loop's first claim, then none but these
	w.Egress.AllowPrivate = true
	w.Logger = slog.New(slog.DiscardHandler)
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	waitFor(t, "every delivery to succeed", func() bool {
		return store.countStatus(wh.ID, hookd.DeliverySucceeded) == total
	})
}

// TestWorker_WakeFor: a commit that made deliveries due only for webhooks
// the next claim would exclude does not wake the worker; one for any
// other webhook, or for webhooks not named, does.
func TestWorker_WakeFor(t *testing.T) {
	t.Parallel()
	w := NewWorker(newMemStore())
	w.opened, w.hooks = true, make(map[string]*hookState)
	woken := func() bool {
		select {
		case <-w.wake:
			return true
		default:
			return false
		}
	}
	w.mu.Lock()
	busy := w.hookLocked("busy")
	busy.inflight = 2 * w.StartConcurrency // slots full, as many queued
	w.mu.Unlock()
	for _, c := range []struct {
		webhooks []string
		want     bool
	}{
		{[]string{"busy"}, false},
		{[]string{"busy", "busy"}, false},
		{[]string{"busy", "other"}, true},
		{[]string{"other"}, true},
		{nil, true},
	} {
		w.WakeFor(c.webhooks)
		if got := woken(); got != c.want {
			t.Errorf("WakeFor(%q) woke the worker: %v, want %v", c.webhooks, got, c.want)
		}
	}
	w.mu.Lock()
	busy.inflight = 1
	w.mu.Unlock()
	w.WakeFor([]string{"busy"})
	if !woken() {
		t.Error("WakeFor a webhook with a free slot did not wake the worker")
	}
}
