package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd/postgres/pgtest"
)

const (
	testKeyID     = "test_key_id"
	testKeySecret = "test_key_secret"
)

// MustRunMain runs a whole hookd server in mode on 127.0.0.1:0 with a fresh
// SQLite file, and closes it when the test ends.
func MustRunMain(tb testing.TB, mode string, configure ...func(*Config)) *Main {
	tb.Helper()
	m := NewMain(mode)
	m.Stdout = io.Discard
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DB = filepath.Join(tb.TempDir(), "hookd.db")
	m.Config.APIKeyID, m.Config.APIKeySecret = testKeyID, testKeySecret
	m.Config.LogFormat = "text"
	for _, f := range configure {
		f(&m.Config)
	}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatalf("run main: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("close main: %v", err)
		}
	})
	return m
}

// receiver is a real HTTP receiver on 127.0.0.1 that records deliveries.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	arrived  chan struct{}
}

type recorded struct {
	header http.Header
	body   []byte
}

func newReceiver(tb testing.TB) *receiver {
	r := &receiver{arrived: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, recorded{req.Header.Clone(), b})
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok")
		r.arrived <- struct{}{}
	}))
	tb.Cleanup(r.Close)
	return r
}

func (r *receiver) wait(tb testing.TB, n int) []recorded {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.requests)
		reqs := append([]recorded(nil), r.requests...)
		r.mu.Unlock()
		if got >= n {
			return reqs
		}
		select {
		case <-r.arrived:
		case <-deadline:
			tb.Fatalf("receiver got %d deliveries, want %d", got, n)
		}
	}
}

// client calls the API as one tenant.
type client struct {
	tb         testing.TB
	base       string
	id, secret string
}

func (c *client) do(method, path, body string) (int, http.Header, []byte) {
	c.tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(c.id, c.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (c *client) json(method, path, body string, wantStatus int, into any) {
	c.tb.Helper()
	status, _, b := c.do(method, path, body)
	if status != wantStatus {
		c.tb.Fatalf("%s %s got %d %s, want %d", method, path, status, b, wantStatus)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			c.tb.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// TestEndToEnd runs the real server and follows the reference's examples:
// subscribe a local receiver, publish, and receive a correctly signed POST.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	testEndToEnd(t, MustRunMain(t, ModeDev))
}

// TestEndToEndPostgres runs the same on PostgreSQL.
func TestEndToEndPostgres(t *testing.T) {
	t.Parallel()
	testEndToEnd(t, MustRunMain(t, ModeDev, func(c *Config) { c.DB = pgtest.MustSchemaURL(t) }))
}

func testEndToEnd(t *testing.T, m *Main) {
	rcv := newReceiver(t)
	c := &client{tb: t, base: m.HTTPServer.URL(), id: testKeyID, secret: testKeySecret}

	// The reference's create example, with the URL pointed at our receiver.
	var created map[string]any
	c.json("POST", "/v1/webhooks", `{
        "events": ["accounts.connected", "accounts.updated"],
        "name": "name-for-the-webhook-subscription",
        "url": "`+rcv.URL+`",
        "config": { "include_resource": true },
        "secret": "optional-secret"
     }`, http.StatusCreated, &created)
	id, _ := created["id"].(string)
	if created["secret"] != "optional-secret" || created["name"] != "name-for-the-webhook-subscription" {
		t.Fatalf("create answered %v", created)
	}

	var fetched map[string]any
	c.json("GET", "/v1/webhooks/"+id, "", http.StatusOK, &fetched)
	if fetched["secret"] != "********cret" {
		t.Fatalf("GET secret got %v, want masked", fetched["secret"])
	}
	var list struct {
		Next, Previous *string
		Results        []map[string]any
	}
	c.json("GET", "/v1/webhooks?limit=2", "", http.StatusOK, &list)
	if len(list.Results) != 1 || list.Results[0]["id"] != id {
		t.Fatalf("list got %+v", list)
	}

	// Publish: one delivery, indented and signed.
	var published struct {
		ID         string `json:"id"`
		Deliveries int    `json:"deliveries"`
	}
	c.json("POST", "/v1/events", `{"event":"accounts.connected","data":{"user":"u-1","account":"a-1"},"resource":{"id":"a-1"},"idempotency_key":"k1"}`, http.StatusAccepted, &published)
	if published.Deliveries != 1 {
		t.Fatalf("publish fanned out to %d, want 1", published.Deliveries)
	}
	var again struct {
		ID         string `json:"id"`
		Deliveries int    `json:"deliveries"`
	}
	c.json("POST", "/v1/events", `{"event":"accounts.connected","data":{"user":"u-1","account":"a-1"},"idempotency_key":"k1"}`, http.StatusAccepted, &again)
	if again != published {
		t.Fatalf("repeated idempotency key answered %+v, want %+v", again, published)
	}

	got := rcv.wait(t, 1)[0]
	want := "{\n  \"event\": \"accounts.connected\",\n  \"name\": \"name-for-the-webhook-subscription\",\n  \"data\": {\n    \"account\": \"a-1\",\n    \"user\": \"u-1\",\n    \"resource\": {\n      \"id\": \"a-1\"\n    }\n  }\n}"
	if string(got.body) != want {
		t.Fatalf("delivered body got %q, want %q", got.body, want)
	}
	mac := hmac.New(sha512.New, []byte("optional-secret")) // the guide's recipe
	mac.Write(got.body)
	if sig := got.header.Get("X-Argyle-Signature"); sig != hex.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("X-Argyle-Signature %q does not verify", sig)
	}
	wh, err := standardwebhooks.NewWebhookRaw([]byte("optional-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(got.body, got.header); err != nil {
		t.Fatalf("Standard Webhooks verify: %v (headers %v)", err, got.header)
	}
	if ua := got.header.Get("User-Agent"); !strings.HasPrefix(ua, "hookd/") {
		t.Fatalf("User-Agent got %q", ua)
	}

	// The delivery log shows the successful attempt.
	var deliveries struct {
		Results []struct {
			ID           string `json:"id"`
			Status       string `json:"status"`
			AttemptCount int    `json:"attempt_count"`
			Attempts     []struct {
				StatusCode int `json:"status_code"`
			} `json:"attempts"`
		} `json:"results"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.json("GET", "/v1/deliveries?webhook="+id, "", http.StatusOK, &deliveries)
		if len(deliveries.Results) == 1 && deliveries.Results[0].Status == "succeeded" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(deliveries.Results) != 1 || deliveries.Results[0].Status != "succeeded" || deliveries.Results[0].Attempts[0].StatusCode != 200 {
		t.Fatalf("delivery log got %+v", deliveries)
	}
	if webhookID := got.header.Get("webhook-id"); webhookID != deliveries.Results[0].ID {
		t.Fatalf("webhook-id %q is not the delivery id %q", webhookID, deliveries.Results[0].ID)
	}

	// A test send answers once the attempt is done.
	var test struct {
		Status   string `json:"status"`
		Event    string `json:"event"`
		Attempts []struct {
			StatusCode int `json:"status_code"`
		} `json:"attempts"`
	}
	c.json("POST", "/v1/webhooks/"+id+"/test", "", http.StatusOK, &test)
	if test.Event != "accounts.connected" || len(test.Attempts) != 1 || test.Attempts[0].StatusCode != 200 {
		t.Fatalf("test send answered %+v", test)
	}
	rcv.wait(t, 2)

	// Another tenant sees none of it.
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"keys", "create", "--tenant", "acme", "--json", "--db", m.Config.DB}, &out, io.Discard); err != nil {
		t.Fatalf("keys create: %v", err)
	}
	var key map[string]string
	if err := json.Unmarshal(out.Bytes(), &key); err != nil || key["tenant"] != "acme" {
		t.Fatalf("keys create printed %q", out.String())
	}
	other := &client{tb: t, base: c.base, id: key["api_key_id"], secret: key["api_key_secret"]}
	other.json("GET", "/v1/webhooks/"+id, "", http.StatusNotFound, nil)
	var otherList struct{ Results []any }
	other.json("GET", "/v1/webhooks", "", http.StatusOK, &otherList)
	if len(otherList.Results) != 0 {
		t.Fatalf("other tenant lists %d webhooks", len(otherList.Results))
	}

	// Revoking the key stops it within a second.
	if err := Run(context.Background(), []string{"keys", "revoke", key["api_key_id"], "--db", m.Config.DB}, io.Discard, io.Discard); err != nil {
		t.Fatalf("keys revoke: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	other.json("GET", "/v1/webhooks", "", http.StatusUnauthorized, nil)

	c.json("DELETE", "/v1/webhooks/"+id, "", http.StatusNoContent, nil)
	c.json("GET", "/v1/webhooks/"+id, "", http.StatusNotFound, nil)

	// Operations endpoints need no auth.
	resp, err := http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"hookd_queue_pending", `hookd_delivery_attempts_total{outcome="success"} 2`, "hookd_delivery_latency_seconds_bucket", "hookd_queue_oldest_due_age_seconds"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, err := http.Get(c.base + path); err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s got %v, %v", path, resp, err)
		} else {
			resp.Body.Close()
		}
	}
}

// TestEncryptedSecrets runs with HOOKD_ENCRYPTION_KEY set: secrets are sealed
// in the database, and deliveries are still signed with the real secret.
func TestEncryptedSecrets(t *testing.T) {
	t.Setenv("HOOKD_ENCRYPTION_KEY", "a-test-key-of-plenty-characters")
	m := MustRunMain(t, ModeServe, func(c *Config) { c.AllowPrivate = true })
	if !m.Store.Encrypted {
		t.Fatalf("HOOKD_ENCRYPTION_KEY did not enable encryption")
	}
	rcv := newReceiver(t)
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"keys", "create", "--tenant", "enc", "--json", "--db", m.Config.DB}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	json.Unmarshal(out.Bytes(), &key)
	c := &client{tb: t, base: m.HTTPServer.URL(), id: key["api_key_id"], secret: key["api_key_secret"]}
	c.json("POST", "/v1/webhooks", `{"name":"enc","events":["*"],"url":"`+rcv.URL+`","secret":"sealed-secret"}`, http.StatusCreated, nil)
	c.json("POST", "/v1/events", `{"event":"profiles.added","data":{"account":"a","user":"u","profile":"p"}}`, http.StatusAccepted, nil)
	got := rcv.wait(t, 1)[0]
	mac := hmac.New(sha512.New, []byte("sealed-secret"))
	mac.Write(got.body)
	if sig := got.header.Get("X-Argyle-Signature"); sig != hex.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("signature %q does not verify with the real secret", sig)
	}
	raw, err := os.ReadFile(m.Config.DB)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(m.Config.DB + "-wal")
	if bytes.Contains(raw, []byte("sealed-secret")) || bytes.Contains(wal, []byte("sealed-secret")) {
		t.Fatalf("the secret is stored in the clear")
	}
}

// TestServeRefusesPrivateTargets checks serve's strict egress: literal
// loopback and metadata URLs are refused at create.
func TestServeRefusesPrivateTargets(t *testing.T) {
	t.Parallel()
	m := MustRunMain(t, ModeServe, func(c *Config) {})
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"keys", "create", "--tenant", "t", "--json", "--db", m.Config.DB}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	json.Unmarshal(out.Bytes(), &key)
	c := &client{tb: t, base: m.HTTPServer.URL(), id: key["api_key_id"], secret: key["api_key_secret"]}
	for _, u := range []string{"http://127.0.0.1:9/x", "http://localhost/x", "http://169.254.169.254/latest/meta-data"} {
		status, _, b := c.do("POST", "/v1/webhooks", `{"name":"n","events":["*"],"url":"`+u+`"}`)
		if status != http.StatusBadRequest || !strings.Contains(string(b), `"url"`) {
			t.Errorf("create with url %s got %d %s, want 400 keyed by url", u, status, b)
		}
	}
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "x.db")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := run("version"); err != nil || !strings.HasPrefix(out, "hookd ") {
		t.Fatalf("version got %q, %v", out, err)
	}
	for _, cmd := range [][]string{{"dev", "--help"}, {"serve", "--help"}, {"keys", "--help"}, {"migrate", "--help"}, {"listen", "--help"}, {"keys", "create", "--help"}} {
		out, err := run(cmd...)
		if err != nil && err.Error() != "flag: help requested" {
			t.Errorf("%v got error %v", cmd, err)
		}
		if !strings.Contains(out, "Usage: hookd") {
			t.Errorf("%v printed %q, want usage", cmd, out)
		}
	}
	if _, err := run("frobnicate"); err == nil {
		t.Fatalf("unknown command got no error")
	}
	if _, err := run("keys", "create"); err == nil || !strings.Contains(err.Error(), "--tenant") {
		t.Fatalf("keys create without --tenant got %v", err)
	}
	if out, err := run("migrate", "--db", db); err != nil || !strings.Contains(out, "0001") {
		t.Fatalf("migrate got %q, %v", out, err)
	}
	if out, err := run("keys", "create", "--tenant", "acme", "--db", db); err != nil || !strings.Contains(out, "api_key_secret") {
		t.Fatalf("keys create got %q, %v", out, err)
	}
	out, err := run("keys", "list", "--db", db)
	if err != nil || !strings.Contains(out, "acme") || !strings.Contains(out, "active") {
		t.Fatalf("keys list got %q, %v", out, err)
	}
	if _, err := run("keys", "revoke", "nope", "--db", db); err == nil {
		t.Fatalf("revoking an unknown key got no error")
	}
	if out, err := run("trigger", "accounts.added", "--tenant", "acme", "--db", db); err != nil || !strings.Contains(out, "to 0 webhook(s)") {
		t.Fatalf("trigger got %q, %v", out, err)
	}
	if _, err := run("trigger", "accounts.exploded", "--db", db); err == nil || !strings.Contains(err.Error(), "unknown event") {
		t.Fatalf("trigger of an unknown event got %v", err)
	}
	if _, err := run("trigger", "accounts.added", "--webhook", "01a20766-dad9-7a3b-bd4c-a9170edf964f", "--db", db); err == nil {
		t.Fatalf("trigger to a missing webhook got no error")
	}
	if _, err := run("serve", "--body-format", "yaml", "--db", db); err == nil || !strings.Contains(err.Error(), "body-format") {
		t.Fatalf("bad --body-format got %v", err)
	}
	// A negative size would otherwise start a full run with the defaults.
	for _, flag := range []string{"--events", "--duration", "--backlog", "--nodes", "--batch-size"} {
		v := "-5"
		if flag == "--duration" {
			v = "-5s"
		}
		if _, err := run("bench", flag, v, "--scenario", "ceiling"); err == nil || !strings.Contains(err.Error(), flag+" must not be negative") {
			t.Errorf("bench %s %s got %v", flag, v, err)
		}
	}
}

// TestRoles checks what each --role runs: api serves the API without a
// worker; worker delivers and serves only the operations endpoints.
func TestRoles(t *testing.T) {
	t.Parallel()
	get := func(m *Main, path string) int {
		resp, err := http.Get(m.HTTPServer.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	api := MustRunMain(t, ModeServe, func(c *Config) { c.Role = RoleAPI })
	if api.Worker != nil {
		t.Errorf("--role api started a worker")
	}
	if got := get(api, "/v1/webhooks"); got != http.StatusUnauthorized {
		t.Errorf("--role api: GET /v1/webhooks got %d, want 401 (the API is served)", got)
	}
	worker := MustRunMain(t, ModeServe, func(c *Config) { c.Role = RoleWorker })
	if worker.Worker == nil {
		t.Errorf("--role worker started no worker")
	}
	for path, want := range map[string]int{"/v1/webhooks": 404, "/console/": 404, "/healthz": 200, "/metrics": 200} {
		if got := get(worker, path); got != want {
			t.Errorf("--role worker: GET %s got %d, want %d", path, got, want)
		}
	}
}

// TestDevKeyStable checks that dev without fixed credentials makes a key on
// its first run and prints the same, working key on the next.
func TestDevKeyStable(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "data", "hookd.db")
	run := func() (id, secret string) {
		m := NewMain(ModeDev)
		var out bytes.Buffer
		m.Stdout, m.Logger = &out, nil
		m.Config.Addr, m.Config.DB, m.Config.LogFormat = "127.0.0.1:0", db, "text"
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if !strings.Contains(out.String(), m.SandboxKeySecret) || m.SandboxKeyID == "" {
			t.Fatalf("dev banner does not show the sandbox key:\n%s", out.String())
		}
		c := &client{tb: t, base: m.HTTPServer.URL(), id: m.SandboxKeyID, secret: m.SandboxKeySecret}
		c.json("GET", "/v1/webhooks", "", http.StatusOK, nil)
		return m.SandboxKeyID, m.SandboxKeySecret
	}
	id1, secret1 := run()
	id2, secret2 := run()
	if id1 != id2 || secret1 != secret2 {
		t.Fatalf("second dev run printed key %s, want the first run's %s", id2, id1)
	}
}
