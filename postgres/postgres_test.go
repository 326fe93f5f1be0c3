package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/storetest"
	"github.com/jackc/pgx/v5"
)

// TestStore runs the conformance suite, each case on a schema of its own.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		return stores(MustOpenDB(t))
	})
}

// TestStoreEncrypted runs the conformance suite with secrets sealed at rest:
// encryption must be invisible to every caller.
func TestStoreEncrypted(t *testing.T) {
	box, err := hookd.NewSecretBox("test-encryption-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := postgres.NewDB(MustSchemaURL(t))
		db.Secrets = box
		if err := db.Open(); err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return stores(db)
	})
}

func stores(db *postgres.DB) storetest.Stores {
	return storetest.Stores{
		Tenants:    postgres.NewTenantService(db),
		Webhooks:   postgres.NewWebhookService(db),
		Events:     postgres.NewEventService(db),
		Deliveries: postgres.NewDeliveryService(db),
	}
}

// MustOpenDB opens a DB on a fresh schema of the server TEST_DATABASE_URL
// names, and closes it and drops the schema when tb ends. It skips tb when
// TEST_DATABASE_URL is not set.
func MustOpenDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	db := postgres.NewDB(MustSchemaURL(tb))
	if err := db.Open(); err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustSchemaURL creates a fresh, empty schema on the server TEST_DATABASE_URL
// names, drops it when tb ends, and returns a URL whose connections use it
// (the search_path runtime parameter). Several DBs opened on the URL share
// the schema, as nodes share a database.
func MustSchemaURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		tb.Skip("TEST_DATABASE_URL not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	schema := "hookd_test_" + hookd.RandomToken(8)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestDB_Open(t *testing.T) {
	t.Run("Migrations", func(t *testing.T) {
		db := MustOpenDB(t)
		ctx := context.Background()
		got, err := db.AppliedMigrations(ctx)
		if err != nil {
			t.Fatalf("AppliedMigrations: %v", err)
		}
		if want := []string{"0001_init.sql", "0002_sandbox.sql", "0003_fair_claim.sql"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("AppliedMigrations got %q, want %q", got, want)
		}
		if err := db.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})

	// Nodes starting together on an empty database apply each migration
	// once: the advisory lock makes the others wait and find it done.
	t.Run("Concurrent", func(t *testing.T) {
		u := MustSchemaURL(t)
		const nodes = 4
		dbs := make([]*postgres.DB, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range dbs {
			dbs[i] = postgres.NewDB(u)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = dbs[i].Open()
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Open node %d: %v", i, err)
			}
			defer dbs[i].Close()
		}
		got, err := dbs[0].AppliedMigrations(context.Background())
		if err != nil {
			t.Fatalf("AppliedMigrations: %v", err)
		}
		if want := []string{"0001_init.sql", "0002_sandbox.sql", "0003_fair_claim.sql"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("AppliedMigrations got %q, want %q", got, want)
		}
	})

	t.Run("ErrBadURL", func(t *testing.T) {
		if err := postgres.NewDB("").Open(); err == nil {
			t.Errorf("Open with no URL: got nil error, want one")
		}
		if err := postgres.NewDB("postgres://nobody@127.0.0.1:1/x?connect_timeout=2").Open(); err == nil {
			t.Errorf("Open with an unreachable server: got nil error, want one")
		}
	})
}
