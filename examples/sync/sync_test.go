package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/deliver"
	hookdhttp "github.com/hookd/hookd/http"
	"github.com/hookd/hookd/sandbox"
	"github.com/hookd/hookd/signature"
	"github.com/hookd/hookd/sqlite"
)

const (
	keyID, keySecret = "sandbox_key", "sandbox_secret"
	webhookSecret    = "my little secret"
)

var quiet = slog.New(slog.DiscardHandler)

// MustOpenSyncer returns a Syncer on a fresh database in tb's temporary
// directory, talking to api.
func MustOpenSyncer(tb testing.TB, api string) *Syncer {
	tb.Helper()
	db, err := OpenDB(filepath.Join(tb.TempDir(), "sync.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return &Syncer{API: api, KeyID: keyID, KeySecret: keySecret, Secret: webhookSecret, DB: db, Logger: quiet}
}

func TestSyncerRejects(t *testing.T) {
	t.Parallel()
	s := MustOpenSyncer(t, "http://127.0.0.1:1")
	body := []byte(`{"event": "accounts.added", "name": "n", "data": {"account": "a", "user": "u"}}`)
	for _, tt := range []struct {
		name, method, sig string
		body              []byte
		want              int
	}{
		{"OK", "POST", signature.Argyle(webhookSecret, body), body, 200},
		{"NoSignature", "POST", "", body, 401},
		{"WrongSecret", "POST", signature.Argyle("other", body), body, 401},
		{"Reserialised", "POST", signature.Argyle(webhookSecret, body), bytes.ReplaceAll(body, []byte(": "), []byte(":")), 401},
		{"NotJSON", "POST", signature.Argyle(webhookSecret, []byte("hello")), []byte("hello"), 400},
		{"GET", "GET", "", nil, 405},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", bytes.NewReader(tt.body))
			if tt.sig != "" {
				r.Header.Set("X-Argyle-Signature", tt.sig)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status: got %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
		})
	}
}

// TestSyncerConverges applies, out of order, what concurrent deliveries
// may: a stale fetch after a newer one, and a fetch that still saw an
// activity after its removal.
func TestSyncerConverges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenSyncer(t, "http://127.0.0.1:1")
	doc := func(id string, updated time.Time) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"id":%q,"account":"acct","start_date":"2026-11-01T10:00:00Z","updated_at":%q}`, id, hookd.FormatTime(updated)))
	}
	t0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	if err := s.store(ctx, []json.RawMessage{doc("a", t1), doc("b", t0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.store(ctx, []json.RawMessage{doc("a", t0)}); err != nil { // stale
		t.Fatal(err)
	}
	if err := s.Handle(ctx, "activities.removed", json.RawMessage(`{"account":"acct","removed_activities":["b"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.store(ctx, []json.RawMessage{doc("b", t0)}); err != nil { // saw b before its removal
		t.Fatal(err)
	}
	got, err := s.Activities(ctx, "acct")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "a" || !got[0].UpdatedAt.Equal(t1) {
		t.Errorf("copy: got %+v, want a updated at %v alone", got, t1)
	}
	if err := s.Handle(ctx, "accounts.removed", json.RawMessage(`{"account":"acct","user":"u"}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Activities(ctx, "acct"); len(got) != 0 {
		t.Errorf("after accounts.removed: %d activities left", len(got))
	}
	// Nothing available: nothing to fetch (the API is unreachable).
	if err := s.Handle(ctx, "activities.fully_synced", json.RawMessage(`{"account":"acct","available_from":null,"available_to":null,"available_count":0}`)); err != nil {
		t.Errorf("empty fully_synced: %v", err)
	}
	if err := s.Handle(ctx, "activities.added", json.RawMessage(`{"account":"acct","added_from":"2026-11-01T00:00:00Z","added_to":"2026-11-02T00:00:00Z"}`)); err == nil {
		t.Error("added with the API down: got nil error, want one (so that hookd retries)")
	}
}

// hookdBundle is a real hookd, assembled from its packages as cmd/hookd
// does in dev: SQLite, the delivery worker, the API with the sandbox.
type hookdBundle struct {
	db     *sqlite.DB
	server *hookdhttp.Server
	worker *deliver.Worker
}

func mustRunHookd(tb testing.TB) *hookdBundle {
	tb.Helper()
	ctx := context.Background()
	db := sqlite.NewDB(filepath.Join(tb.TempDir(), "hookd.db"))
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tenants := sqlite.NewTenantService(db)
	webhooks := sqlite.NewWebhookService(db)
	events := sqlite.NewEventService(db)
	deliveries := sqlite.NewDeliveryService(db)
	tn, err := tenants.EnsureTenant(ctx, "sandbox")
	if err != nil {
		tb.Fatal(err)
	}
	key := &hookd.APIKey{ID: keyID, TenantID: tn.ID, SecretHash: hookd.HashSecret(keySecret), CreatedAt: hookd.Now()}
	if err := tenants.PutAPIKey(ctx, key); err != nil {
		tb.Fatal(err)
	}

	w := deliver.NewWorker(deliveries)
	w.BodyFormat = hookd.BodyIndented // as dev sends them
	w.Egress = deliver.Egress{AllowPrivate: true}
	w.Logger = quiet
	db.OnWork = w.WakeFor
	if err := w.Open(); err != nil {
		tb.Fatal(err)
	}

	store := sqlite.NewSandboxStore(db)
	s := hookdhttp.NewServer()
	s.Addr = "127.0.0.1:0"
	s.TenantService, s.WebhookService, s.EventService, s.DeliveryService = tenants, webhooks, events, deliveries
	s.Logger = quiet
	s.Sandbox = &hookdhttp.SandboxHandler{
		Store:     store,
		Simulator: &sandbox.Simulator{Store: store, Events: events, Webhooks: webhooks},
		Logger:    quiet,
	}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
		if err := w.Close(); err != nil {
			tb.Error(err)
		}
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return &hookdBundle{db: db, server: s, worker: w}
}

// call makes an API request to hookd and decodes its JSON answer into out
// (when not nil), failing unless the status is want.
func (h *hookdBundle) call(tb testing.TB, method, path, body string, want int, out any) {
	tb.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = h.server.URL() + path
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth(keyID, keySecret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != want {
		tb.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// deliveryJSON is the part of a delivery object the test reads.
type deliveryJSON struct {
	ID       string `json:"id"`
	Event    string `json:"event"`
	Status   string `json:"status"`
	Attempts []struct {
		StatusCode   int    `json:"status_code"`
		ResponseBody string `json:"response_body"`
		Error        string `json:"error"`
	} `json:"attempts"`
}

// deliveries returns the webhook's deliveries with status ("" for all).
func (h *hookdBundle) deliveries(tb testing.TB, webhook, status string) []deliveryJSON {
	tb.Helper()
	q := url.Values{"webhook": {webhook}, "limit": {"200"}}
	if status != "" {
		q.Set("status", status)
	}
	var out []deliveryJSON
	next := "/v1/deliveries?" + q.Encode()
	for range 100 {
		var page struct {
			Next    *string        `json:"next"`
			Results []deliveryJSON `json:"results"`
		}
		h.call(tb, "GET", next, "", 200, &page)
		out = append(out, page.Results...)
		if page.Next == nil {
			return out
		}
		next = *page.Next
	}
	tb.Fatal("too many delivery pages")
	return nil
}

// waitDelivered waits until the webhook has no pending delivery, and fails
// if one failed. Deliveries exist once the request that published their
// event was answered, and leave pending only once the receiver answered.
func (h *hookdBundle) waitDelivered(tb testing.TB, webhook string) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pending := h.deliveries(tb, webhook, "pending")
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d deliveries still pending, the first %+v", len(pending), pending[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if failed := h.deliveries(tb, webhook, "failed"); len(failed) > 0 {
		tb.Fatalf("%d deliveries failed, the first %+v", len(failed), failed[0])
	}
}

// activity is the part of an activity the comparison reads.
type activity struct {
	ID        string `json:"id"`
	UpdatedAt string `json:"updated_at"`
	doc       string
}

// apiActivities returns every activity of the account as /v1/activities
// lists them, following next.
func (h *hookdBundle) apiActivities(tb testing.TB, account string) []activity {
	tb.Helper()
	var out []activity
	next := "/v1/activities?" + url.Values{"account": {account}, "limit": {"200"}}.Encode()
	for range 100 {
		var page listPage
		h.call(tb, "GET", next, "", 200, &page)
		for _, raw := range page.Results {
			out = append(out, mustActivity(tb, raw))
		}
		if page.Next == nil {
			if len(out) != page.Count {
				tb.Fatalf("listed %d activities of count %d", len(out), page.Count)
			}
			return out
		}
		next = *page.Next
	}
	tb.Fatal("too many activity pages")
	return nil
}

func mustActivity(tb testing.TB, raw json.RawMessage) activity {
	tb.Helper()
	var a activity
	if err := json.Unmarshal(raw, &a); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		tb.Fatal(err)
	}
	a.doc = buf.String()
	return a
}

// TestSync runs the guide's use case end to end: a real hookd (SQLite,
// worker, API, sandbox) delivers signed, indented webhooks to the receiver,
// which queries /v1/activities as the guide says, through a connect and
// several refreshes; its copy must then equal the API's list exactly.
func TestSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := mustRunHookd(t)
	s := MustOpenSyncer(t, h.server.URL())
	recv := httptest.NewServer(s)
	t.Cleanup(recv.Close)

	webhook, err := Subscribe(ctx, h.server.URL(), keyID, keySecret, recv.URL+"/", webhookSecret)
	if err != nil {
		t.Fatal(err)
	}

	var acct sandbox.Account
	h.call(t, "POST", "/v1/sandbox/accounts", `{"days": 120, "activities": 150}`, 201, &acct)
	want := 150
	for _, r := range []sandbox.RefreshRequest{
		{Added: 7, Updated: 4, Removed: 3},
		{Updated: 10},
		{Added: 3, Removed: 5},
		{Added: 250, Updated: 20, Removed: 10}, // more than one page of added
		{Updated: 30, Removed: 30},
	} {
		body, _ := json.Marshal(r)
		var res sandbox.RefreshResult
		h.call(t, "POST", "/v1/sandbox/accounts/"+acct.ID+"/refresh", string(body), 202, &res)
		if len(res.Added) != r.Added || len(res.Updated) != r.Updated || len(res.Removed) != r.Removed {
			t.Fatalf("refresh %+v changed %d, %d, %d", r, len(res.Added), len(res.Updated), len(res.Removed))
		}
		want += r.Added - r.Removed
	}
	h.waitDelivered(t, webhook)

	// One delivery per event subscribed to: fully_synced, then each
	// refresh's added, updated and removed that were not empty.
	ds := h.deliveries(t, webhook, "succeeded")
	count := make(map[string]int)
	for _, d := range ds {
		count[d.Event]++
	}
	wantCount := map[string]int{"activities.fully_synced": 1, "activities.added": 3, "activities.updated": 4, "activities.removed": 4}
	if fmt.Sprint(count) != fmt.Sprint(wantCount) {
		t.Errorf("deliveries: got %v, want %v", count, wantCount)
	}

	api := h.apiActivities(t, acct.ID)
	if len(api) != want {
		t.Fatalf("API lists %d activities, want %d", len(api), want)
	}
	local, err := s.Activities(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	mine := make([]activity, len(local))
	for i, a := range local {
		mine[i] = mustActivity(t, a.Doc)
		if got := hookd.FormatTime(a.UpdatedAt); got != mine[i].UpdatedAt {
			t.Errorf("activity %s: stored updated_at %s, document says %s", a.ID, got, mine[i].UpdatedAt)
		}
	}
	if !slices.Equal(mine, api) {
		diff := 0
		for i := range min(len(mine), len(api)) {
			if mine[i] != api[i] {
				t.Errorf("activity %d: receiver has %s (updated %s), API %s (updated %s)", i, mine[i].ID, mine[i].UpdatedAt, api[i].ID, api[i].UpdatedAt)
				if diff++; diff == 5 {
					break
				}
			}
		}
		t.Fatalf("receiver holds %d activities, the API %d; they differ", len(mine), len(api))
	}

	// Removing the account empties the copy.
	h.call(t, "DELETE", "/v1/accounts/"+acct.ID, "", 204, nil)
	h.waitDelivered(t, webhook)
	if local, _ := s.Activities(ctx, acct.ID); len(local) != 0 {
		t.Errorf("after DELETE /v1/accounts: the receiver still holds %d activities", len(local))
	}
}

// TestSyncerRereadsShiftedRange serves a range whose second page shifted
// (an activity of the first page was removed meanwhile): the syncer must
// read the range again rather than skip the activity that moved up.
func TestSyncerRereadsShiftedRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	doc := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"account":"acct","start_date":"2026-11-01T10:00:00Z","updated_at":"2026-11-23T07:00:00.000000Z"}`, id)
	}
	var mu sync.Mutex
	var requests []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != keyID || p != keySecret {
			http.Error(w, `{"detail":"Invalid username/password."}`, 401)
			return
		}
		q := r.URL.Query()
		if q.Get("account") != "acct" || q.Get("from_start_date") != "2026-11-01T00:00:00Z" || q.Get("to_start_date") != "2026-11-02T00:00:00Z" {
			http.Error(w, "unexpected query "+r.URL.RawQuery, 400)
			return
		}
		requests = append(requests, q.Get("offset"))
		next := "http://" + r.Host + r.URL.Path + "?" + r.URL.RawQuery + "&offset=2"
		switch {
		case len(requests) == 1: // a, b, c, d: the first page
			fmt.Fprintf(w, `{"count":4,"next":%q,"previous":null,"results":[%s,%s]}`, next, doc("a"), doc("b"))
		case len(requests) == 2: // b was removed: c moved to the first page
			fmt.Fprintf(w, `{"count":3,"next":null,"previous":"x","results":[%s]}`, doc("d"))
		case q.Get("offset") == "": // read again
			fmt.Fprintf(w, `{"count":3,"next":%q,"previous":null,"results":[%s,%s]}`, next, doc("a"), doc("c"))
		default:
			fmt.Fprintf(w, `{"count":3,"next":null,"previous":"x","results":[%s]}`, doc("d"))
		}
	}))
	t.Cleanup(api.Close)
	s := MustOpenSyncer(t, api.URL)
	if err := s.Handle(ctx, "activities.added", json.RawMessage(`{"account":"acct","added_from":"2026-11-01T00:00:00Z","added_to":"2026-11-02T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Activities(ctx, "acct")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	// b is still held: only activities.removed removes.
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(ids, want) {
		t.Errorf("copy: got %v, want %v (requests %q)", ids, want, requests)
	}
	if len(requests) != 4 {
		t.Errorf("requests: got offsets %q, want the range read twice", requests)
	}
}

func TestParseConfig(t *testing.T) {
	t.Setenv("HOOKD_API_KEY_ID", "")
	t.Setenv("HOOKD_API_KEY_SECRET", "")
	t.Setenv("SYNC_WEBHOOK_SECRET", "from-env")
	if _, err := parseConfig(nil, io.Discard); err == nil {
		t.Error("no API key: got nil error")
	}
	c, err := parseConfig([]string{"-api-key-id", "k", "-api-key-secret", "s", "-subscribe"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "127.0.0.1:4243", DB: "sync.db", HookdURL: "http://127.0.0.1:8080", APIKeyID: "k", APIKeySecret: "s", Secret: "from-env", Subscribe: true}
	if c != want {
		t.Errorf("parseConfig: got %+v, want %+v", c, want)
	}
	if _, err := parseConfig([]string{"-api-key-id", "k", "-api-key-secret", "s", "extra"}, io.Discard); err == nil {
		t.Error("extra argument: got nil error")
	}
}

// TestRun runs the command against a real hookd: it subscribes itself and
// syncs a connect.
func TestRun(t *testing.T) {
	h := mustRunHookd(t)
	ctx, cancel := context.WithCancel(context.Background())
	dbPath := filepath.Join(t.TempDir(), "run.db")
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", dbPath, "-hookd-url", h.server.URL(),
			"-api-key-id", keyID, "-api-key-secret", keySecret, "-secret", webhookSecret, "-subscribe"}, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})

	var webhooks struct {
		Results []struct {
			ID     string   `json:"id"`
			Events []string `json:"events"`
		} `json:"results"`
	}
	for i := 0; len(webhooks.Results) == 0; i++ {
		if i == 500 {
			t.Fatal("run did not subscribe")
		}
		select {
		case err := <-done:
			t.Fatalf("run ended: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		h.call(t, "GET", "/v1/webhooks", "", 200, &webhooks)
	}
	if got := webhooks.Results[0].Events; !slices.Equal(got, Events) {
		t.Errorf("subscribed to %v, want %v", got, Events)
	}
	var acct sandbox.Account
	h.call(t, "POST", "/v1/sandbox/accounts", `{"activities": 12}`, 201, &acct)
	h.waitDelivered(t, webhooks.Results[0].ID)

	db, err := OpenDB(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM activities WHERE account = ?`, acct.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 12 {
		t.Errorf("the receiver's file holds %d activities, want 12", n)
	}
}
