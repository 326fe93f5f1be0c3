package console_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd"
)

// chromiumPath returns the Chromium binary, skipping the test when there is
// none, unless CI is set: there a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set: install it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed; set CI=true to make this a failure")
	return ""
}

// receivedRequest is what the local receiver saw.
type receivedRequest struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint on 127.0.0.1 that records every request and
// answers 200.
type receiver struct {
	mu   sync.Mutex
	reqs []receivedRequest
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, receivedRequest{header: r.Header.Clone(), body: b})
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"received": true}`)
}

func (rc *receiver) requests() []receivedRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedRequest(nil), rc.reqs...)
}

// sender plays the delivery worker for the fake store: it POSTs each due
// delivery to its webhook, as hookd would, and records the attempt.
type sender struct {
	store  *fakeStore
	client *http.Client
	wg     sync.WaitGroup
}

func (s *sender) due(id string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.send(id)
	}()
}

func (s *sender) send(id string) {
	ctx := context.Background()
	s.store.mu.Lock()
	d, ok := s.store.deliveries[id]
	var w *hookd.Webhook
	var e *hookd.Event
	if ok {
		w, e = s.store.webhooks[d.WebhookID], s.store.events[d.EventID]
	}
	s.store.mu.Unlock()
	if !ok || w == nil || e == nil {
		return
	}
	var resource []byte
	if hookd.IncludesResource(e.Type, w) {
		resource = e.Resource
	}
	body := hookd.AppendEnvelope(nil, e.Type, w.Name, e.Data, resource, true)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hookd/"+hookd.Version)
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
	if w.Secret != "" {
		mac := hmac.New(sha512.New, []byte(w.Secret))
		mac.Write(body)
		req.Header.Set("X-Argyle-Signature", hex.EncodeToString(mac.Sum(nil)))
	}
	started := hookd.Now()
	a := hookd.Attempt{StartedAt: started}
	status := hookd.DeliveryFailed
	resp, err := s.client.Do(req)
	if err != nil {
		a.Error = err.Error()
	} else {
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, hookd.MaxResponseBody))
		resp.Body.Close()
		a.StatusCode, a.ResponseBody = resp.StatusCode, string(rb)
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			status = hookd.DeliverySucceeded
		} else {
			a.Error = "unexpected status " + resp.Status
		}
	}
	a.Latency = time.Since(started)
	s.store.mu.Lock()
	if d, ok := s.store.deliveries[id]; ok {
		a.Number = d.AttemptCount + 1
	}
	s.store.mu.Unlock()
	_ = s.store.CompleteDeliveries(ctx, []hookd.AttemptResult{{DeliveryID: id, WebhookID: w.ID, Attempt: a, Status: status}})
}

// listen127 serves h on 127.0.0.1 only.
func listen127(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	artifacts := os.Getenv("HOOKD_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	store := newFakeStore()
	tenantID, keyID, secret := store.addTenant("acme")
	snd := &sender{store: store, client: &http.Client{Timeout: 5 * time.Second}}
	store.setDue(snd.due)
	t.Cleanup(snd.wg.Wait)

	recv := &receiver{}
	recvSrv := listen127(t, recv)
	h := newHandler(store)
	h.Logger = slog.New(slog.DiscardHandler)
	h.Sandbox = &fakeSandbox{}
	srv := listen127(t, h)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// submit clicks sel and waits for the page it leads to.
	submit := func(what string, sel string) {
		t.Helper()
		resp, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status >= 400 {
			t.Fatalf("%s: got status %d", what, resp.Status)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// shoot saves the page at both sizes, scrolled to the first of scrollTo.
	shoot := func(name string, scrollTo ...string) {
		t.Helper()
		for _, vp := range []struct {
			w, h   int64
			mobile bool
		}{{1280, 800, false}, {375, 812, true}} {
			var emulate chromedp.Action[chromedp.Void]
			if vp.mobile {
				emulate = chromedp.EmulateViewport(vp.w, vp.h, chromedp.EmulateMobile, chromedp.EmulatePortrait)
			} else {
				emulate = chromedp.EmulateViewport(vp.w, vp.h)
			}
			do("resize for "+name, emulate)
			for _, sel := range scrollTo {
				do("scroll to "+sel, chromedp.ScrollIntoView(chromedp.CSS(sel)))
			}
			png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			file := filepath.Join(artifacts, fmt.Sprintf("%s-%dx%d.png", name, vp.w, vp.h))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
			full, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("full screenshot %s: %v", name, err)
			}
			file = filepath.Join(artifacts, fmt.Sprintf("%s-%d-full.png", name, vp.w))
			if err := os.WriteFile(file, full, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do("reset viewport", chromedp.EmulateViewport(1280, 800))
	}

	// Sign in.
	do("open console", chromedp.Navigate(srv.URL+"/console/"), chromedp.WaitVisible(chromedp.ID("api_key_id")))
	shoot("signin")
	do("fill sign-in",
		chromedp.SendKeys(chromedp.ID("api_key_id"), keyID),
		chromedp.SendKeys(chromedp.ID("api_key_secret"), secret))
	submit("sign in", `form[action="/console/signin"] button[type=submit]`)
	do("overview", chromedp.WaitVisible(chromedp.ID("live")))
	loaded, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`typeof htmx === "object" && htmx.version === "2.0.11"`))
	if err != nil || !loaded {
		t.Errorf("htmx 2.0.11 loaded: got %v (%v), want true", loaded, err)
	}

	// Create a webhook through the form.
	do("new webhook", chromedp.Navigate(srv.URL+"/console/webhooks/new"), chromedp.WaitVisible(chromedp.ID("name")))
	do("fill webhook",
		chromedp.SendKeys(chromedp.ID("name"), "Local receiver"),
		chromedp.SendKeys(chromedp.ID("url"), recvSrv.URL+"/hooks"),
		chromedp.SendKeys(chromedp.ID("secret"), "my little secret"),
		chromedp.Click(chromedp.ID("mode-specific")),
		chromedp.Click(chromedp.CSS(`input[value="accounts.added"]`)),
		chromedp.Click(chromedp.CSS(`input[value="activities.partially_synced"]`)),
		chromedp.WaitVisible(chromedp.ID("days_synced")),
		chromedp.WaitVisible(chromedp.ID("include_resource")),
	)
	shoot("webhook-form")
	// Days synced is refused with accounts.added; the error shows by the options.
	do("type days", chromedp.SendKeys(chromedp.ID("days_synced"), "45"))
	resp, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`.webhook-form button[type=submit]`)))
	if err != nil {
		t.Fatalf("submit invalid form: %v", err)
	}
	if got, want := resp.Status, int64(400); got != want {
		t.Errorf("invalid form: got status %d, want %d", got, want)
	}
	if got := text("#config-error"); !strings.Contains(got, "days_synced is only allowed for") {
		t.Errorf("config error: got %q", got)
	}
	if got := text(".error-summary"); !strings.Contains(got, "Options") {
		t.Errorf("error summary: got %q, want a link to the options", got)
	}
	shoot("webhook-form-error", "#config-error")
	do("fix form",
		chromedp.Click(chromedp.CSS(`input[value="activities.partially_synced"]`)),
		chromedp.WaitNotVisible(chromedp.ID("days_synced")),
		chromedp.Click(chromedp.ID("include_resource")),
	)
	submit("create webhook", `.webhook-form button[type=submit]`)
	do("webhook page", chromedp.WaitVisible(chromedp.ID("send-test")))
	if got := text("main"); !strings.Contains(got, "Webhook created") {
		t.Fatalf("after create: page shows %q", got)
	}
	shown, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("new-secret").value`))
	if err != nil || shown != "my little secret" {
		t.Errorf("secret shown after create: got %q (%v), want it in full", shown, err)
	}
	shoot("webhook-created")

	// Send a test event: the receiver gets it and the attempt appears.
	submit("send test", "#send-test")
	do("delivery page", chromedp.WaitVisible(chromedp.CSS("#attempts li")))
	if got := text(".flash"); !strings.Contains(got, "Test event delivered: 200") {
		t.Errorf("flash after test: got %q", got)
	}
	if got := text("#attempts"); !strings.Contains(got, "200") {
		t.Errorf("attempts: got %q, want a 200", got)
	}
	reqs := recv.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	mac := hmac.New(sha512.New, []byte("my little secret"))
	mac.Write(reqs[0].body)
	if got, want := reqs[0].header.Get("X-Argyle-Signature"), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("X-Argyle-Signature: got %q, want %q", got, want)
	}
	if !bytes.Contains(reqs[0].body, []byte(`"resource": {`)) {
		t.Errorf("body lacks the resource include_resource asks for:\n%s", reqs[0].body)
	}
	// The page shows the exact body and the signature the receiver got.
	pre := text("pre.body")
	if pre != string(reqs[0].body) {
		t.Errorf("body shown:\n%s\nwant the body sent:\n%s", pre, reqs[0].body)
	}
	if got := text("table.headers"); !strings.Contains(got, reqs[0].header.Get("X-Argyle-Signature")) ||
		!strings.Contains(got, reqs[0].header.Get("webhook-id")) {
		t.Errorf("headers shown: %q lack the signature or webhook-id sent", got)
	}
	shoot("delivery")

	// Redeliver: a second attempt with the same webhook-id.
	submit("redeliver", "#redeliver")
	var n int
	for range 100 {
		do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("attempts")))
		n, err = chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#attempts li").length`))
		if err != nil {
			t.Fatal(err)
		}
		if n >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n != 2 {
		t.Fatalf("attempts after redeliver: got %d, want 2", n)
	}
	reqs = recv.requests()
	if len(reqs) != 2 || reqs[1].header.Get("webhook-id") != reqs[0].header.Get("webhook-id") {
		t.Errorf("redelivery: got %d requests, webhook-ids must match", len(reqs))
	}

	do("deliveries", chromedp.Navigate(srv.URL+"/console/deliveries"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	shoot("deliveries")
	do("webhooks", chromedp.Navigate(srv.URL+"/console/webhooks"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	if got := text("table.list"); !strings.Contains(got, "Local receiver") || !strings.Contains(got, "0%") {
		t.Errorf("webhook list: got %q", got)
	}
	shoot("webhooks")
	do("overview", chromedp.Navigate(srv.URL+"/console/"), chromedp.WaitVisible(chromedp.CSS("svg.chart rect.bar")))
	if got, want := text("#live .stat .num"), "1"; got != want {
		t.Errorf("deliveries in the last hour: got %q, want %q", got, want)
	}
	// htmx polls the live part every 5 s: a failing delivery shows up
	// without a reload.
	hooks, _, _ := store.FindWebhooks(ctx, hookd.WebhookFilter{TenantID: tenantID, Page: hookd.Page{Limit: 1}})
	store.addDelivery(hooks[0], "accounts.added", 500)
	live, err := chromedp.Run(bctx, chromedp.Poll[bool](
		`document.querySelector("#live .stat .num").textContent === "2" && document.querySelector("svg.chart rect.bar.fail") !== null`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || !live {
		t.Errorf("overview after polling: got %v (%v), want the new delivery counted", live, err)
	}
	shoot("overview")
	do("sandbox", chromedp.Navigate(srv.URL+"/console/sandbox"), chromedp.WaitVisible(chromedp.ID("employer")))
	shoot("sandbox")

	// Delete the webhook, through its confirmation page.
	do("webhook", chromedp.Navigate(srv.URL+"/console/webhooks"), chromedp.WaitVisible(chromedp.CSS("table.list a")))
	submit("open webhook", "table.list td a")
	submit("delete", "#delete")
	shoot("delete-confirm")
	submit("confirm delete", "#confirm-delete")
	if got := text(".flash"); !strings.Contains(got, `Webhook "Local receiver" deleted.`) {
		t.Errorf("flash after delete: got %q", got)
	}
	hooks, _, _ = store.FindWebhooks(ctx, hookd.WebhookFilter{TenantID: tenantID, Page: hookd.Page{Limit: 10}})
	if len(hooks) != 0 {
		t.Errorf("webhooks after delete: got %d, want 0", len(hooks))
	}
	t.Logf("screenshots in %s", artifacts)
}
