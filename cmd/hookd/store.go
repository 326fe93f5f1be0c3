package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/sandbox"
	"github.com/hookd/hookd/sqlite"
)

// Store is the database a command runs on, SQLite or PostgreSQL, behind the
// domain's service interfaces.
type Store struct {
	// Kind is "sqlite" or "postgres".
	Kind string
	// Engine says which SQLite build a "sqlite" store runs on (see
	// sqlite.Driver); empty for PostgreSQL.
	Engine     string
	Tenants    hookd.TenantService
	Webhooks   hookd.WebhookService
	Events     hookd.EventService
	Deliveries hookd.DeliveryService
	Sandbox    sandbox.Store
	// Encrypted reports whether webhook secrets are sealed at rest.
	Encrypted bool

	exclusive func(context.Context, string, func(context.Context) error) (bool, error)
	ping      func(context.Context) error
	applied   func(context.Context) ([]string, error)
	setOnWork func(func(webhooks []string))
	close     func() error
}

// OpenStore opens dsn, a SQLite path or a postgres:// URL, applying pending
// migrations. Webhook secrets are sealed at rest when HOOKD_ENCRYPTION_KEY
// is set.
func OpenStore(dsn string) (*Store, error) {
	box, err := secretBoxFromEnv()
	if err != nil {
		return nil, err
	}
	if isPostgresURL(dsn) {
		db := postgres.NewDB(dsn)
		db.Secrets = box
		if err := db.Open(); err != nil {
			return nil, fmt.Errorf("open database %s: %w", redactURL(dsn), err)
		}
		return &Store{
			Kind: "postgres", Tenants: postgres.NewTenantService(db), Webhooks: postgres.NewWebhookService(db),
			Events: postgres.NewEventService(db), Deliveries: postgres.NewDeliveryService(db),
			Sandbox: postgres.NewSandboxStore(db), Encrypted: box != nil,
			ping: db.Ping, applied: db.AppliedMigrations, setOnWork: func(f func([]string)) { db.OnWork = func() { f(nil) } }, close: db.Close,
			exclusive: db.Exclusive,
		}, nil
	}
	db := sqlite.NewDB(dsn)
	db.Secrets = box
	if err := db.Open(); err != nil {
		return nil, fmt.Errorf("open database %s: %w", dsn, err)
	}
	return &Store{
		Kind: "sqlite", Engine: sqlite.Driver, Tenants: sqlite.NewTenantService(db), Webhooks: sqlite.NewWebhookService(db),
		Events: sqlite.NewEventService(db), Deliveries: sqlite.NewDeliveryService(db),
		Sandbox: sqlite.NewSandboxStore(db), Encrypted: box != nil,
		ping: db.Ping, applied: db.AppliedMigrations, setOnWork: func(f func([]string)) { db.OnWork = f }, close: db.Close,
		// One server runs on a SQLite file, so its maintenance is never
		// contended.
		exclusive: func(ctx context.Context, _ string, fn func(context.Context) error) (bool, error) {
			return true, fn(ctx)
		},
	}, nil
}

// Exclusive runs fn unless another node runs work of the same name on this
// database right now, and reports whether it ran: maintenance is done by
// one elected node at a time.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	return s.exclusive(ctx, name, fn)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.ping(ctx) }

// AppliedMigrations lists the migrations the database has.
func (s *Store) AppliedMigrations(ctx context.Context) ([]string, error) { return s.applied(ctx) }

// OnWork sets the function called after a commit that makes deliveries
// due, with the webhooks they are for when the store says (else nil).
func (s *Store) OnWork(f func(webhooks []string)) { s.setOnWork(f) }

// Close closes the database.
func (s *Store) Close() error { return s.close() }

// secretBoxFromEnv returns the box that seals webhook secrets at rest when
// HOOKD_ENCRYPTION_KEY is set (an environment variable only, so the key
// never shows in a process list), and nil otherwise.
func secretBoxFromEnv() (*hookd.SecretBox, error) {
	key := os.Getenv("HOOKD_ENCRYPTION_KEY")
	if key == "" {
		return nil, nil
	}
	box, err := hookd.NewSecretBox(key)
	if err != nil {
		return nil, fmt.Errorf("HOOKD_ENCRYPTION_KEY: %w", err)
	}
	return box, nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}
