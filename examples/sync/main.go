// Command sync is an example webhook receiver that implements the guide's
// use case, "keeping all activities on your system in sync", against
// hookd's sandbox: it keeps a copy of every activity in its own SQLite file
// and follows the webhooks to keep it equal to /v1/activities.
//
// # Running it
//
// Start hookd with fixed sandbox credentials:
//
//	go run ./cmd/hookd dev --api-key-id sandbox_key --api-key-secret sandbox_secret
//
// Start the receiver, letting it subscribe itself (-subscribe creates a
// webhook for the activities.* events it handles, signed with -secret):
//
//	go run ./examples/sync -subscribe \
//	    -api-key-id sandbox_key -api-key-secret sandbox_secret \
//	    -secret my-webhook-secret -addr 127.0.0.1:4243 -db sync.db
//
// Make a simulated account connect, then refresh it:
//
//	curl -s -u sandbox_key:sandbox_secret -H 'Content-Type: application/json' \
//	    -d '{"days": 90, "activities": 120}' http://127.0.0.1:8080/v1/sandbox/accounts
//	curl -s -u sandbox_key:sandbox_secret -H 'Content-Type: application/json' \
//	    -d '{"added": 5, "updated": 3, "removed": 2}' \
//	    http://127.0.0.1:8080/v1/sandbox/accounts/ACCOUNT_ID/refresh
//
// The receiver logs each event it applies; sqlite3 sync.db 'SELECT
// count(*) FROM activities' then equals the count of
// /v1/activities?account=ACCOUNT_ID.
//
// # What it does
//
// On activities.fully_synced it queries
// /v1/activities?account=…&from_start_date=available_from&to_start_date=available_to,
// following next; on activities.added the same with added_from and
// added_to; on activities.updated it refetches the updated range
// (updated_from, updated_to), which holds every ID in updated_activities;
// on activities.removed it deletes removed_activities; on accounts.removed
// the account's activities. It verifies X-Argyle-Signature over the exact
// body bytes (package signature) and answers 200 once the event is
// applied, or 500 so that hookd retries.
//
// # Configuration
//
// Flags, or the environment variables in brackets:
//
//	-addr            listen address [SYNC_ADDR] (127.0.0.1:4243)
//	-db              the receiver's SQLite file [SYNC_DB] (sync.db)
//	-hookd-url       hookd's base URL [HOOKD_URL] (http://127.0.0.1:8080)
//	-api-key-id      API key id [HOOKD_API_KEY_ID]
//	-api-key-secret  API key secret [HOOKD_API_KEY_SECRET]
//	-secret          webhook secret [SYNC_WEBHOOK_SECRET]
//	-subscribe       create the webhook on start [SYNC_SUBSCRIBE]
//	-url             the URL hookd delivers to, for -subscribe (http://ADDR/)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Events is what the receiver subscribes to with -subscribe.
var Events = []string{"activities.fully_synced", "activities.added", "activities.updated", "activities.removed", "accounts.removed"}

// Config is the receiver's configuration.
type Config struct {
	Addr, DB, HookdURL     string
	APIKeyID, APIKeySecret string
	Secret                 string
	Subscribe              bool
	URL                    string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sync:", err)
		}
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// parseConfig reads the flags in args over the environment's defaults.
func parseConfig(args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", envOr("SYNC_ADDR", "127.0.0.1:4243"), "listen address (env SYNC_ADDR)")
	fs.StringVar(&c.DB, "db", envOr("SYNC_DB", "sync.db"), "the receiver's SQLite file (env SYNC_DB)")
	fs.StringVar(&c.HookdURL, "hookd-url", envOr("HOOKD_URL", "http://127.0.0.1:8080"), "hookd's base URL (env HOOKD_URL)")
	fs.StringVar(&c.APIKeyID, "api-key-id", envOr("HOOKD_API_KEY_ID", ""), "API key id (env HOOKD_API_KEY_ID)")
	fs.StringVar(&c.APIKeySecret, "api-key-secret", envOr("HOOKD_API_KEY_SECRET", ""), "API key secret (env HOOKD_API_KEY_SECRET)")
	fs.StringVar(&c.Secret, "secret", envOr("SYNC_WEBHOOK_SECRET", ""), "webhook secret verifying X-Argyle-Signature (env SYNC_WEBHOOK_SECRET)")
	fs.BoolVar(&c.Subscribe, "subscribe", envOr("SYNC_SUBSCRIBE", "") == "true", "create the webhook on start (env SYNC_SUBSCRIBE=true)")
	fs.StringVar(&c.URL, "url", "", "the URL hookd delivers to, for -subscribe (default http://ADDR/)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.APIKeyID == "" || c.APIKeySecret == "" {
		return c, errors.New("-api-key-id and -api-key-secret (or HOOKD_API_KEY_ID and HOOKD_API_KEY_SECRET) are required")
	}
	return c, nil
}

// run serves the receiver until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	db, err := OpenDB(cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	s := &Syncer{API: cfg.HookdURL, KeyID: cfg.APIKeyID, KeySecret: cfg.APIKeySecret, Secret: cfg.Secret, DB: db, Logger: logger}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("receiving webhooks", "addr", ln.Addr().String(), "db", cfg.DB, "hookd", cfg.HookdURL, "verifying", cfg.Secret != "")

	if cfg.URL == "" {
		cfg.URL = "http://" + ln.Addr().String() + "/"
	}
	if cfg.Subscribe {
		id, err := Subscribe(ctx, cfg.HookdURL, cfg.APIKeyID, cfg.APIKeySecret, cfg.URL, cfg.Secret)
		if err != nil {
			srv.Close()
			return err
		}
		logger.Info("subscribed", "webhook", id, "url", cfg.URL, "events", strings.Join(Events, ","))
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// Subscribe creates a webhook on hookd for Events, delivering to target and
// signed with secret (none when empty), and returns its ID.
func Subscribe(ctx context.Context, api, keyID, keySecret, target, secret string) (string, error) {
	body := map[string]any{"name": "sync example", "events": Events, "url": target}
	if secret != "" {
		body["secret"] = secret
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(api, "/")+"/v1/webhooks", bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	req.SetBasicAuth(keyID, keySecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("subscribe: %s: %s", resp.Status, out)
	}
	var w struct{ ID string }
	if err := json.Unmarshal(out, &w); err != nil {
		return "", fmt.Errorf("subscribe: decode: %w", err)
	}
	return w.ID, nil
}
