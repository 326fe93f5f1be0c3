package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/console"
	"github.com/hookd/hookd/deliver"
	"github.com/hookd/hookd/http"
	"github.com/hookd/hookd/sandbox"
)

// SandboxTenant is the tenant dev creates and prints a key for.
const SandboxTenant = "sandbox"

// Main is a running hookd server: its database, API server and delivery
// worker. Tests run the whole service through it.
type Main struct {
	Config Config

	Store      *Store
	HTTPServer *http.Server
	Worker     *deliver.Worker
	Logger     *slog.Logger

	// Stdout receives the startup banner.
	Stdout io.Writer

	// SandboxKeyID and SandboxKeySecret are dev's API key, set by Run.
	SandboxKeyID, SandboxKeySecret string

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewMain returns a Main with the defaults of mode.
func NewMain(mode string) *Main {
	return &Main{Config: DefaultConfig(mode), Stdout: os.Stdout}
}

// ParseFlags reads the server flags in args into m.Config.
func (m *Main) ParseFlags(args []string, stderr io.Writer) error {
	fs := newFlagSet(m.Config.Mode, m.Config.Mode+" [flags]", stderr)
	m.Config.bindFlags(fs)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	return m.Config.Validate()
}

// Run opens the database, starts the worker and the API server, and returns
// once they are serving. Close stops them.
func (m *Main) Run(ctx context.Context) error {
	cfg := &m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	if m.Logger == nil {
		m.Logger = newLogger(cfg.LogFormat, os.Stderr)
	}
	st, err := OpenStore(cfg.DB)
	if err != nil {
		return err
	}
	m.Store = st
	tenants, webhooks, events, deliveries := st.Tenants, st.Webhooks, st.Events, st.Deliveries

	if cfg.Mode == ModeDev {
		if err := m.ensureSandboxKey(ctx, tenants); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(deliver.NewQueueCollector(deliveries, hookd.Now))

	egress := deliver.Egress{AllowPrivate: cfg.AllowPrivate, Allow: cfg.EgressAllow}
	if cfg.EgressProxy != "" {
		egress.Proxy, _ = url.Parse(cfg.EgressProxy) // validated by Config.Validate
	}

	if cfg.Role != RoleAPI {
		m.Worker = deliver.NewWorker(deliveries)
		m.Worker.BodyFormat = cfg.BodyFormat
		m.Worker.Egress = egress
		m.Worker.Timeout = cfg.Timeout
		if cfg.Lease > 0 {
			m.Worker.Lease = cfg.Lease
		}
		m.Worker.Logger = m.Logger
		m.Worker.Metrics = deliver.NewMetrics(reg)
		if st.Kind == "postgres" {
			// Other nodes' publishes don't wake this worker: poll often.
			m.Worker.PollInterval = 200 * time.Millisecond
		}
		st.OnWork(m.Worker.WakeFor)
		if err := m.Worker.Open(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
	}

	c := console.NewHandler()
	c.TenantService, c.WebhookService, c.EventService, c.DeliveryService = tenants, webhooks, events, deliveries
	c.BodyFormat = cfg.BodyFormat
	c.Logger = m.Logger

	s := http.NewServer()
	s.Addr = cfg.Addr
	s.TenantService, s.WebhookService, s.EventService, s.DeliveryService = tenants, webhooks, events, deliveries
	s.Logger = m.Logger
	s.Console = c
	s.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	s.Ready = st.Ping
	s.OpsOnly = cfg.Role == RoleWorker
	if cfg.Sandbox {
		store := st.Sandbox
		seed := cfg.SandboxSeed
		if seed == 0 {
			seed = time.Now().UnixNano()
		}
		sim := &sandbox.Simulator{Store: store, Events: events, Webhooks: webhooks, Seed: seed}
		s.Sandbox = &http.SandboxHandler{Store: store, Simulator: sim, Logger: m.Logger}
		c.Sandbox = consoleSandbox{sim}
	}
	if !cfg.AllowPrivate {
		s.URLPolicy = egress.CheckURL
		c.URLPolicy = egress.CheckURL
	}
	m.HTTPServer = s
	if err := s.Open(); err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}

	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if cfg.Role != RoleAPI {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.retain(ctx, deliveries) }()
	}
	m.printBanner()
	return nil
}

// Close stops accepting requests, lets in-flight deliveries finish, and
// closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.cancel != nil {
		m.cancel()
	}
	if m.HTTPServer != nil {
		errs = append(errs, m.HTTPServer.Close())
	}
	if m.Worker != nil {
		errs = append(errs, m.Worker.Close())
	}
	m.wg.Wait()
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

// retain deletes finished deliveries older than the retention period, once
// at start and then hourly, on one node at a time.
func (m *Main) retain(ctx context.Context, ds hookd.DeliveryService) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		var n int
		ran, err := m.Store.Exclusive(ctx, "retention", func(ctx context.Context) (err error) {
			n, err = ds.DeleteDeliveriesBefore(ctx, hookd.Now().Add(-m.Config.Retention))
			return err
		})
		if err != nil && ctx.Err() == nil {
			m.Logger.Error("retention cleanup", "err", err)
		} else if ran && n > 0 {
			m.Logger.Info("retention cleanup", "deleted_deliveries", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sandboxKeyFile holds dev's generated key next to the database, so every
// `hookd dev` run prints the same working key.
type sandboxKeyFile struct {
	APIKeyID     string `json:"api_key_id"`
	APIKeySecret string `json:"api_key_secret"`
}

// ensureSandboxKey makes sure the sandbox tenant has a working key: the
// fixed one from flags or environment, else the one saved by an earlier run,
// else a new one, which it saves.
func (m *Main) ensureSandboxKey(ctx context.Context, ts hookd.TenantService) error {
	tenant, err := ts.EnsureTenant(ctx, SandboxTenant)
	if err != nil {
		return fmt.Errorf("create sandbox tenant: %w", err)
	}
	if id, secret := m.Config.APIKeyID, m.Config.APIKeySecret; id != "" {
		key := &hookd.APIKey{ID: id, TenantID: tenant.ID, SecretHash: hookd.HashSecret(secret), CreatedAt: hookd.Now()}
		if err := ts.PutAPIKey(ctx, key); err != nil {
			return fmt.Errorf("set sandbox API key: %w", err)
		}
		m.SandboxKeyID, m.SandboxKeySecret = id, secret
		return nil
	}

	path := filepath.Join(filepath.Dir(m.Config.DB), "sandbox-key.json")
	var saved sandboxKeyFile
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &saved) == nil && saved.APIKeyID != "" {
		if k, err := ts.FindAPIKeyByID(ctx, saved.APIKeyID); err == nil && k.RevokedAt == nil && k.TenantID == tenant.ID && k.Matches(saved.APIKeySecret) {
			m.SandboxKeyID, m.SandboxKeySecret = saved.APIKeyID, saved.APIKeySecret
			return nil
		}
	}
	key, secret := hookd.NewAPIKey(tenant.ID)
	if err := ts.CreateAPIKey(ctx, key); err != nil {
		return fmt.Errorf("create sandbox API key: %w", err)
	}
	b, _ := json.MarshalIndent(sandboxKeyFile{key.ID, secret}, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save sandbox API key: %w", err)
	}
	m.SandboxKeyID, m.SandboxKeySecret = key.ID, secret
	return nil
}

func (m *Main) printBanner() {
	cfg, w := &m.Config, m.Stdout
	if w == nil {
		return
	}
	base := m.HTTPServer.URL()
	fmt.Fprintf(w, "hookd %s %s (role %s)\n", hookdVersion(), cfg.Mode, cfg.Role)
	if cfg.Role != RoleWorker {
		fmt.Fprintf(w, "  API       %s/v1\n", base)
		fmt.Fprintf(w, "  Console   %s/console\n", base)
	}
	fmt.Fprintf(w, "  Metrics   %s/metrics\n", base)
	kind := m.Store.Kind
	if m.Store.Engine != "" {
		kind += ": " + m.Store.Engine
	}
	fmt.Fprintf(w, "  Database  %s (%s)\n", redactDSN(cfg.DB), kind)
	fmt.Fprintf(w, "  Bodies    %s JSON\n", cfg.BodyFormat)
	if m.Store.Encrypted {
		fmt.Fprintln(w, "  Secrets   encrypted at rest (HOOKD_ENCRYPTION_KEY)")
	}
	if cfg.Sandbox && cfg.Role != RoleWorker {
		fmt.Fprintf(w, "  Sandbox   %s/v1/sandbox/accounts (simulated Argyle accounts and data)\n", base)
	}
	if cfg.AllowPrivate {
		fmt.Fprintln(w, "  Egress    loopback and private delivery targets are ALLOWED")
	} else {
		fmt.Fprintln(w, "  Egress    loopback, private, link-local and metadata targets are refused")
	}
	if m.SandboxKeyID != "" {
		fmt.Fprintf(w, "\nSandbox API key (tenant %q):\n", SandboxTenant)
		fmt.Fprintf(w, "  api_key_id      %s\n", m.SandboxKeyID)
		fmt.Fprintf(w, "  api_key_secret  %s\n", m.SandboxKeySecret)
		fmt.Fprintf(w, "\nTry: curl -u %s:%s %s/v1/webhooks\n", m.SandboxKeyID, m.SandboxKeySecret, base)
	}
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// redactURL hides a URL's password for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// redactDSN shows a database path as is and a URL without its password.
func redactDSN(s string) string {
	if isPostgresURL(s) {
		return redactURL(s)
	}
	return s
}

func hookdVersion() string { return hookd.Version }

// gcPercent is the garbage collector's target when GOGC is not set. The
// server's live heap is small (tens of MB) while it allocates for every
// request and delivery, so collecting when the heap has grown by 4x its
// live size instead of 1x spends far less CPU on collection, for some tens
// of MB more memory (BENCHMARKS.md has the measurements).
const gcPercent = 400

// runServer runs a server in mode until ctx ends.
func runServer(ctx context.Context, mode string, args []string, stdout, stderr io.Writer) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	m := NewMain(mode)
	m.Stdout = stdout
	if err := m.ParseFlags(args, stderr); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down; finishing in-flight deliveries")
	return m.Close()
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runServer(ctx, ModeDev, args, stdout, stderr)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runServer(ctx, ModeServe, args, stdout, stderr)
}
