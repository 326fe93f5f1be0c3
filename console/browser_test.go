package console_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
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
// answers 200, or the status set with failWith.
type receiver struct {
	mu     sync.Mutex
	status int
	reqs   []receivedRequest
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, receivedRequest{header: r.Header.Clone(), body: b})
	status := rc.status
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"received": false}`)
		return
	}
	_, _ = io.WriteString(w, `{"received": true}`)
}

// failWith makes the receiver answer status from now on.
func (rc *receiver) failWith(status int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = status
}

func (rc *receiver) requests() []receivedRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedRequest(nil), rc.reqs...)
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

	// The receiver starts first so it outlives the worker delivering to it.
	recv := &receiver{}
	recvSrv := listen127(t, recv)
	stack := newRealStack(t)
	tenantID, keyID, secret := stack.addTenant(t, "acme")
	otherID, _, _ := stack.addTenant(t, "other")
	otherHook := stack.addWebhook(t, otherID, "Other tenant's hook", recvSrv.URL+"/other", "accounts.added")
	base := stack.url

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
	do("open console", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("api_key_id")))
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

	// Another tenant's webhook is not found, and not listed.
	resp, err := chromedp.RunResponse(bctx, chromedp.Navigate(base+"/console/webhooks/"+otherHook.ID))
	if err != nil {
		t.Fatalf("open the other tenant's webhook: %v", err)
	}
	if got, want := resp.Status, int64(404); got != want {
		t.Errorf("the other tenant's webhook page: got status %d, want %d", got, want)
	}
	if got := text("main"); strings.Contains(got, otherHook.Name) || strings.Contains(got, otherHook.URL) {
		t.Errorf("the other tenant's webhook page shows it: %q", got)
	}
	do("webhooks of acme", chromedp.Navigate(base+"/console/webhooks"), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := text("main"); strings.Contains(got, otherHook.Name) {
		t.Errorf("acme's webhook list shows the other tenant's webhook: %q", got)
	}

	// Create a webhook through the form.
	do("new webhook", chromedp.Navigate(base+"/console/webhooks/new"), chromedp.WaitVisible(chromedp.ID("name")))
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
	resp, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`.webhook-form button[type=submit]`)))
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

	do("deliveries", chromedp.Navigate(base+"/console/deliveries"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	shoot("deliveries")
	do("webhooks", chromedp.Navigate(base+"/console/webhooks"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	if got := text("table.list"); !strings.Contains(got, "Local receiver") || !strings.Contains(got, "0%") {
		t.Errorf("webhook list: got %q", got)
	}
	shoot("webhooks")
	do("overview", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS("svg.chart rect.bar")))
	if got, want := text("#live .stat .num"), "1"; got != want {
		t.Errorf("deliveries in the last hour: got %q, want %q", got, want)
	}
	// htmx polls the live part every 5 s: a failing delivery shows up
	// without a reload.
	// The receiver now fails, so the worker records a failing attempt.
	hooks, _, err := stack.webhooks.FindWebhooks(ctx, hookd.WebhookFilter{TenantID: tenantID, Page: hookd.Page{Limit: 1}})
	if err != nil || len(hooks) != 1 {
		t.Fatalf("find acme's webhook: got %d (%v), want 1", len(hooks), err)
	}
	recv.failWith(http.StatusInternalServerError)
	stack.publish(t, hooks[0], "accounts.added")
	live, err := chromedp.Run(bctx, chromedp.Poll[bool](
		`document.querySelector("#live .stat .num").textContent === "2" && document.querySelector("svg.chart rect.bar.fail") !== null`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || !live {
		t.Errorf("overview after polling: got %v (%v), want the new delivery counted", live, err)
	}
	shoot("overview")
	do("sandbox", chromedp.Navigate(base+"/console/sandbox"), chromedp.WaitVisible(chromedp.ID("employer")))
	shoot("sandbox")

	// Delete the webhook, through its confirmation page.
	do("webhook", chromedp.Navigate(base+"/console/webhooks"), chromedp.WaitVisible(chromedp.CSS("table.list a")))
	submit("open webhook", "table.list td a")
	submit("delete", "#delete")
	shoot("delete-confirm")
	submit("confirm delete", "#confirm-delete")
	if got := text(".flash"); !strings.Contains(got, `Webhook "Local receiver" deleted.`) {
		t.Errorf("flash after delete: got %q", got)
	}
	hooks, _, err = stack.webhooks.FindWebhooks(ctx, hookd.WebhookFilter{TenantID: tenantID, Page: hookd.Page{Limit: 10}})
	if err != nil || len(hooks) != 0 {
		t.Errorf("webhooks after delete: got %d (%v), want 0", len(hooks), err)
	}
	if _, err := stack.webhooks.FindWebhookByID(ctx, otherID, otherHook.ID); err != nil {
		t.Errorf("the other tenant's webhook after acme's delete: %v", err)
	}
	t.Logf("screenshots in %s", artifacts)
}
