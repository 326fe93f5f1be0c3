package console_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/console"
	"github.com/hookd/hookd/deliver"
	hookdhttp "github.com/hookd/hookd/http"
	"github.com/hookd/hookd/sandbox"
	"github.com/hookd/hookd/sqlite"
)

// realStack is hookd wired as cmd/hookd wires it: a SQLite file, the
// delivery worker woken by the store, and the console mounted on the API
// server, listening on 127.0.0.1. Egress to private addresses is allowed,
// as in `hookd dev`, so deliveries reach receivers on 127.0.0.1.
type realStack struct {
	db         *sqlite.DB
	tenants    *sqlite.TenantService
	webhooks   *sqlite.WebhookService
	events     *sqlite.EventService
	deliveries *sqlite.DeliveryService
	worker     *deliver.Worker
	console    *console.Handler
	server     *hookdhttp.Server

	// url is the server's base URL; the console is at url+"/console/".
	url string
}

// newRealStack starts a real stack over a fresh database in t.TempDir().
// Cleanup stops the server, then the worker, then closes the database.
func newRealStack(t *testing.T) *realStack {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := &realStack{db: sqlite.NewDB(filepath.Join(t.TempDir(), "hookd.db"))}
	if err := s.db.Open(); err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() {
		if err := s.db.Close(); err != nil {
			t.Errorf("close database: %v", err)
		}
	})
	s.tenants = sqlite.NewTenantService(s.db)
	s.webhooks = sqlite.NewWebhookService(s.db)
	s.events = sqlite.NewEventService(s.db)
	s.deliveries = sqlite.NewDeliveryService(s.db)

	s.worker = deliver.NewWorker(s.deliveries)
	s.worker.BodyFormat = hookd.BodyIndented
	s.worker.Egress = deliver.Egress{AllowPrivate: true}
	s.worker.Logger = logger
	s.db.OnWork = s.worker.WakeFor
	if err := s.worker.Open(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(func() {
		if err := s.worker.Close(); err != nil {
			t.Errorf("close worker: %v", err)
		}
	})

	s.console = console.NewHandler()
	s.console.TenantService, s.console.WebhookService = s.tenants, s.webhooks
	s.console.EventService, s.console.DeliveryService = s.events, s.deliveries
	s.console.BodyFormat = hookd.BodyIndented
	s.console.Logger = logger
	s.console.Sandbox = sandboxActions{&sandbox.Simulator{
		Store: sqlite.NewSandboxStore(s.db), Events: s.events, Webhooks: s.webhooks, Seed: 1}}

	s.server = hookdhttp.NewServer()
	s.server.Addr = "127.0.0.1:0"
	s.server.TenantService, s.server.WebhookService = s.tenants, s.webhooks
	s.server.EventService, s.server.DeliveryService = s.events, s.deliveries
	s.server.Logger = logger
	s.server.Console = s.console
	s.server.Ready = s.db.Ping
	if err := s.server.Open(); err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.server.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	s.url = s.server.URL()
	return s
}

// addTenant creates the tenant name with one API key and returns the
// tenant's ID and the key's id and secret.
func (s *realStack) addTenant(t *testing.T, name string) (tenantID, keyID, secret string) {
	t.Helper()
	ctx := context.Background()
	tenant, err := s.tenants.EnsureTenant(ctx, name)
	if err != nil {
		t.Fatalf("create tenant %s: %v", name, err)
	}
	key, secret := hookd.NewAPIKey(tenant.ID)
	if err := s.tenants.CreateAPIKey(ctx, key); err != nil {
		t.Fatalf("create API key for %s: %v", name, err)
	}
	return tenant.ID, key.ID, secret
}

// addWebhook stores an enabled webhook of the tenant for events.
func (s *realStack) addWebhook(t *testing.T, tenantID, name, url string, events ...string) *hookd.Webhook {
	t.Helper()
	now := hookd.Now()
	w := &hookd.Webhook{ID: hookd.NewID(), TenantID: tenantID, Name: name, URL: url, Events: events,
		Secret: "whsec-test-secret", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
	if err := w.Validate(); err != nil {
		t.Fatalf("webhook %s: %v", name, err)
	}
	if err := s.webhooks.CreateWebhook(context.Background(), w); err != nil {
		t.Fatalf("create webhook %s: %v", name, err)
	}
	return w
}

// publish publishes a sample event of type typ to the webhook w only, as an
// API client would, and returns the event's ID. The worker delivers it.
func (s *realStack) publish(t *testing.T, w *hookd.Webhook, typ string) string {
	t.Helper()
	now := hookd.Now()
	e, err := hookd.SampleEvent(typ, now)
	if err != nil {
		t.Fatalf("sample %s: %v", typ, err)
	}
	e.ID, e.TenantID, e.CreatedAt, e.Webhooks = hookd.NewID(), w.TenantID, now, []string{w.ID}
	r, err := hookd.PublishEvent(context.Background(), s.events, e)
	if err != nil {
		t.Fatalf("publish %s: %v", typ, err)
	}
	if got, want := r.Deliveries, 1; got != want {
		t.Fatalf("publish %s: got %d deliveries, want %d", typ, got, want)
	}
	return e.ID
}

// sandboxActions lets the console drive the real sandbox simulator, as
// cmd/hookd's adapter does.
type sandboxActions struct{ sim *sandbox.Simulator }

func (a sandboxActions) Connect(ctx context.Context, tenantID, employer string, days, activities int, fail bool) (string, error) {
	req := sandbox.ConnectRequest{Employer: employer, Fail: fail}
	if days > 0 {
		req.Days = &days
	}
	if activities > 0 {
		req.Activities = &activities
	}
	acc, err := a.sim.Connect(ctx, tenantID, req)
	if err != nil {
		return "", err
	}
	return acc.ID, nil
}

func (a sandboxActions) Refresh(ctx context.Context, tenantID, accountID string, added, updated, removed int) error {
	_, err := a.sim.Refresh(ctx, tenantID, accountID, sandbox.RefreshRequest{Added: added, Updated: updated, Removed: removed})
	return err
}

func (a sandboxActions) Remove(ctx context.Context, tenantID, accountID string) error {
	return a.sim.Remove(ctx, tenantID, accountID)
}
