package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd/signature"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// MaxBodySize bounds the webhook bodies the receiver reads.
const MaxBodySize = 5 << 20

// maxPages bounds how many list pages one sync reads (200 activities each).
const maxPages = 10_000

// schema is the receiver's own database: its copy of the activities, and
// the IDs of removed ones, so that a late or retried delivery whose query
// still saw an activity cannot bring it back.
const schema = `
CREATE TABLE IF NOT EXISTS activities (
	id         TEXT PRIMARY KEY,
	account    TEXT NOT NULL,
	start_date INTEGER NOT NULL, -- unix seconds
	updated_at INTEGER NOT NULL, -- unix microseconds
	doc        TEXT NOT NULL     -- the activity as the API answered it
);
CREATE INDEX IF NOT EXISTS activities_account ON activities (account, start_date);
CREATE TABLE IF NOT EXISTS removed_activities (
	id      TEXT PRIMARY KEY,
	account TEXT NOT NULL
);
`

// OpenDB opens (creating it if needed) the receiver's SQLite database at
// path.
func OpenDB(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection: writes are serialised, and SQLite never answers BUSY.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return db, nil
}

// Syncer keeps a copy of Argyle activities (served by hookd's sandbox) in
// its database, driven by webhooks, as the guide's use case describes:
//
//   - activities.fully_synced (and .partially_synced): fetch
//     /v1/activities?account=…&from_start_date=available_from&to_start_date=available_to
//   - activities.added: the same with added_from and added_to
//   - activities.updated: the same with updated_from and updated_to, which
//     contain every ID in updated_activities
//   - activities.removed: delete removed_activities
//   - accounts.removed: delete the account's activities
//
// Deliveries may come more than once and in any order. Every fetch stores
// the activities as the API has them now, an older version never replaces
// a newer one (updated_at), and a removed activity is never stored again,
// so the copy converges whatever the order.
type Syncer struct {
	// API is hookd's base URL, such as "http://127.0.0.1:8080".
	API string
	// KeyID and KeySecret authenticate to the API (HTTP Basic).
	KeyID, KeySecret string
	// Secret verifies X-Argyle-Signature. When empty, deliveries are not
	// verified (only for a webhook created without a secret).
	Secret string
	// DB is the receiver's database, from OpenDB.
	DB *sql.DB
	// Client makes the API calls. Defaults to a client with a 30 s timeout.
	Client *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// envelope is a webhook body.
type envelope struct {
	Event string          `json:"event"`
	Name  string          `json:"name"`
	Data  json.RawMessage `json:"data"`
}

// payload holds the members of an event's data the syncer reads.
type payload struct {
	Account           string   `json:"account"`
	AvailableFrom     *string  `json:"available_from"`
	AvailableTo       *string  `json:"available_to"`
	AddedFrom         *string  `json:"added_from"`
	AddedTo           *string  `json:"added_to"`
	UpdatedFrom       *string  `json:"updated_from"`
	UpdatedTo         *string  `json:"updated_to"`
	UpdatedActivities []string `json:"updated_activities"`
	RemovedActivities []string `json:"removed_activities"`
}

// ServeHTTP receives one webhook delivery: it verifies the signature,
// applies the event and answers 200, or 401 for a bad signature, 400 for a
// body that is not an event, and 500 when applying failed (hookd retries).
func (s *Syncer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if s.Secret != "" && !signature.VerifyArgyle(s.Secret, body, r.Header.Get("X-Argyle-Signature")) {
		s.logger().Warn("bad signature", "webhook_id", r.Header.Get("webhook-id"))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Event == "" {
		http.Error(w, "not a webhook event", http.StatusBadRequest)
		return
	}
	if err := s.Handle(r.Context(), env.Event, env.Data); err != nil {
		s.logger().Error("sync failed", "event", env.Event, "webhook_id", r.Header.Get("webhook-id"), "error", err)
		http.Error(w, "sync failed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Handle applies one event to the copy. Events it does not act on are
// ignored.
func (s *Syncer) Handle(ctx context.Context, event string, data json.RawMessage) error {
	var p payload
	if len(data) > 0 {
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("%s: decode data: %w", event, err)
		}
	}
	var err error
	switch event {
	case "activities.fully_synced", "activities.partially_synced":
		err = s.syncRange(ctx, p.Account, p.AvailableFrom, p.AvailableTo)
	case "activities.added":
		err = s.syncRange(ctx, p.Account, p.AddedFrom, p.AddedTo)
	case "activities.updated":
		err = s.syncRange(ctx, p.Account, p.UpdatedFrom, p.UpdatedTo)
	case "activities.removed":
		err = s.remove(ctx, p.Account, p.RemovedActivities)
	case "accounts.removed":
		err = s.removeAccount(ctx, p.Account)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s of account %s: %w", event, p.Account, err)
	}
	s.logger().Info("synced", "event", event, "account", p.Account)
	return nil
}

// syncRange fetches the account's activities whose start_date lies in
// [from, to] and stores them. A null bound (nothing available) syncs
// nothing.
func (s *Syncer) syncRange(ctx context.Context, account string, from, to *string) error {
	if account == "" || from == nil || to == nil {
		return nil
	}
	q := url.Values{"account": {account}, "from_start_date": {*from}, "to_start_date": {*to}, "limit": {"200"}}
	first := strings.TrimSuffix(s.API, "/") + "/v1/activities?" + q.Encode()
	// v1 lists page by offset: if activities of the range are removed
	// while we page, the later pages shift and we would skip some. Within
	// a past range nothing is added (new activities are newer), so a
	// change of count reveals a shift; then read the range again.
	for range maxRestarts {
		done, err := s.syncPages(ctx, first)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("the range kept changing while it was read, %d times", maxRestarts)
}

// maxRestarts bounds how often syncRange reads a range again.
const maxRestarts = 10

// syncPages stores every page of the list at first, following next. It
// reports false when the list's count changed between pages.
func (s *Syncer) syncPages(ctx context.Context, first string) (bool, error) {
	next, count := first, -1
	for range maxPages {
		page, err := s.get(ctx, next)
		if err != nil {
			return false, err
		}
		if count >= 0 && page.Count != count {
			return false, nil
		}
		count = page.Count
		if err := s.store(ctx, page.Results); err != nil {
			return false, err
		}
		if page.Next == nil {
			return true, nil
		}
		next = *page.Next
	}
	return false, fmt.Errorf("more than %d pages", maxPages)
}

// listPage is one page of a v1 list.
type listPage struct {
	Count    int               `json:"count"`
	Next     *string           `json:"next"`
	Previous *string           `json:"previous"`
	Results  []json.RawMessage `json:"results"`
}

// get reads one list page.
func (s *Syncer) get(ctx context.Context, u string) (*listPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	req.SetBasicAuth(s.KeyID, s.KeySecret)
	req.Header.Set("Accept", "application/json")
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s: %.200s", u, resp.Status, body)
	}
	var p listPage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("get %s: decode: %w", u, err)
	}
	return &p, nil
}

// activityKey holds the members of an activity the copy indexes.
type activityKey struct {
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	StartDate time.Time `json:"start_date"`
	UpdatedAt time.Time `json:"updated_at"`
}

// store upserts activities as the API answered them, keeping a stored
// version that is newer and skipping removed ones, in one transaction.
func (s *Syncer) store(ctx context.Context, activities []json.RawMessage) error {
	if len(activities) == 0 {
		return nil
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	for _, raw := range activities {
		var k activityKey
		if err := json.Unmarshal(raw, &k); err != nil || k.ID == "" {
			return fmt.Errorf("store: bad activity %.100s", raw)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO activities (id, account, start_date, updated_at, doc)
			SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM removed_activities WHERE id = ?)
			ON CONFLICT (id) DO UPDATE SET account = excluded.account, start_date = excluded.start_date,
				updated_at = excluded.updated_at, doc = excluded.doc
			WHERE excluded.updated_at >= activities.updated_at`,
			k.ID, k.Account, k.StartDate.Unix(), k.UpdatedAt.UnixMicro(), string(raw), k.ID)
		if err != nil {
			return fmt.Errorf("store activity %s: %w", k.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// remove deletes activities and remembers them as removed.
func (s *Syncer) remove(ctx context.Context, account string, ids []string) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	defer tx.Rollback()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO removed_activities (id, account) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, account); err != nil {
			return fmt.Errorf("remove activity %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM activities WHERE id = ?`, id); err != nil {
			return fmt.Errorf("remove activity %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return nil
}

// removeAccount deletes every activity of the account.
func (s *Syncer) removeAccount(ctx context.Context, account string) error {
	if account == "" {
		return nil
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove account: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO removed_activities (id, account)
		SELECT id, account FROM activities WHERE account = ? ON CONFLICT DO NOTHING`, account); err != nil {
		return fmt.Errorf("remove account: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM activities WHERE account = ?`, account); err != nil {
		return fmt.Errorf("remove account: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove account: %w", err)
	}
	return nil
}

// Activity is one activity of the copy.
type Activity struct {
	ID        string
	UpdatedAt time.Time
	// Doc is the activity as the API answered it.
	Doc json.RawMessage
}

// Activities returns the copy's activities of the account, newest
// start_date first (then by ID, descending), as /v1/activities orders them.
func (s *Syncer) Activities(ctx context.Context, account string) ([]Activity, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, updated_at, doc FROM activities WHERE account = ?
		ORDER BY start_date DESC, id DESC`, account)
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	defer rows.Close()
	var out []Activity
	for rows.Next() {
		var a Activity
		var us int64
		var doc string
		if err := rows.Scan(&a.ID, &us, &doc); err != nil {
			return nil, fmt.Errorf("activities: %w", err)
		}
		a.UpdatedAt, a.Doc = time.UnixMicro(us).UTC(), json.RawMessage(doc)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	return out, nil
}

func (s *Syncer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
