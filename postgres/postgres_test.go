package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/postgres/pgtest"
	"github.com/hookd/hookd/storetest"
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

// MustSchemaURL returns a URL on a fresh schema; see pgtest.MustSchemaURL.
func MustSchemaURL(tb testing.TB) string {
	tb.Helper()
	return pgtest.MustSchemaURL(tb)
}

func TestDB_Open(t *testing.T) {
	t.Run("Migrations", func(t *testing.T) {
		db := MustOpenDB(t)
		ctx := context.Background()
		got, err := db.AppliedMigrations(ctx)
		if err != nil {
			t.Fatalf("AppliedMigrations: %v", err)
		}
		if want := []string{"0001_init.sql", "0002_sandbox.sql", "0003_fair_claim.sql", "0004_queue.sql"}; fmt.Sprint(got) != fmt.Sprint(want) {
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
		if want := []string{"0001_init.sql", "0002_sandbox.sql", "0003_fair_claim.sql", "0004_queue.sql"}; fmt.Sprint(got) != fmt.Sprint(want) {
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
