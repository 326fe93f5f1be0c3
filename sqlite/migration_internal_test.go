package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// TestMigration0005 upgrades a file made with migrations 0001-0004, holding
// a delivered event: the deliveries keep their rows and attempts and lose
// their foreign key to events and their event_id index, on every
// connection of the DB that migrated, and retention still finds an event's
// deliveries.
func TestMigration0005(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	created := hookd.Now().Add(-48 * time.Hour)
	at := micros(created)
	db := upgrade(t, path, "0005", at,
		`INSERT INTO deliveries (id, tenant_id, webhook_id, event_id, event_type, status, attempt_count, created_at, last_attempt_at)
			VALUES ('d1', 't1', 'w1', 'e1', 'accounts.added', 'succeeded', 1, ?1, ?1)`,
		`INSERT INTO attempts (delivery_id, number, started_at, status_code, latency_us, response_body, error)
			VALUES ('d1', 1, ?1, 200, 1000, '', '')`)
	applied, err := db.AppliedMigrations(ctx)
	if err != nil || !slices.Contains(applied, "0005_deliveries_event_id.sql") {
		t.Fatalf("applied %v (err %v), want 0005_deliveries_event_id.sql among them", applied, err)
	}
	var fks, indexes, attempts int
	if err := db.reader.QueryRow(`SELECT count(*) FROM pragma_foreign_key_list('deliveries') WHERE "table" = 'events'`).Scan(&fks); err != nil {
		t.Fatal(err)
	}
	if err := db.reader.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries_event_id'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if fks != 0 || indexes != 0 {
		t.Errorf("after 0005: %d foreign keys from deliveries to events and %d deliveries_event_id indexes, want none", fks, indexes)
	}
	ds, _, err := NewDeliveryService(db).FindDeliveries(ctx, hookd.DeliveryFilter{TenantID: "t1", EventID: "e1", Page: hookd.Page{Limit: 10}})
	if err != nil || len(ds) != 1 || ds[0].ID != "d1" || len(ds[0].Attempts) != 1 {
		t.Fatalf("the event's deliveries after 0005: %+v (err %v), want d1 with its attempt", ds, err)
	}

	// The writer, which deletes events, no longer checks the key either:
	// it opened its connection after the migration.
	err = db.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(insertDelivery, "d2", "t1", "w1", "no-such-event", "accounts.added", at, at)
		return err
	})
	if err != nil {
		t.Errorf("writer after 0005: insert of a delivery of no event failed (%v); its connection still has the foreign key", err)
	}
	n, err := NewDeliveryService(db).DeleteDeliveriesBefore(ctx, created.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteDeliveriesBefore deleted %d (err %v), want 1", n, err)
	}
	var events int
	if err := db.reader.QueryRow(`SELECT count(*) FROM attempts`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if err := db.reader.QueryRow(`SELECT count(*) FROM events`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if attempts != 0 || events != 0 {
		t.Errorf("after retention: %d attempts and %d events left, want none", attempts, events)
	}
}

// TestMigration0006 upgrades a file made with migrations 0001-0005 whose
// delivery has its first attempt in attempts: the attempt is still read
// from there, a second one is added beside it, and a delivery published
// after the upgrade keeps its first attempt in its own row.
func TestMigration0006(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	t0 := hookd.Now().Add(-time.Hour)
	db := upgrade(t, path, "0006", micros(t0),
		`INSERT INTO deliveries (id, tenant_id, webhook_id, event_id, event_type, status, attempt_count, next_attempt_at, created_at, last_attempt_at)
			VALUES ('d1', 't1', 'w1', 'e1', 'accounts.added', 'pending', 1, ?1, ?1, ?1)`,
		`INSERT INTO attempts (delivery_id, number, started_at, status_code, latency_us, response_body, error)
			VALUES ('d1', 1, ?1, 500, 1000, 'oops', 'status 500')`)
	deliveries := NewDeliveryService(db)
	second := hookd.AttemptResult{DeliveryID: "d1", WebhookID: "w1", Status: hookd.DeliverySucceeded,
		Attempt: hookd.Attempt{Number: 2, StartedAt: t0.Add(time.Minute), StatusCode: 200, Latency: time.Millisecond, ResponseBody: "ok"}}
	if err := deliveries.CompleteDeliveries(ctx, []hookd.AttemptResult{second}); err != nil {
		t.Fatal(err)
	}
	d, err := deliveries.FindDeliveryByID(ctx, "t1", "d1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Attempts) != 2 || d.Attempts[0].Number != 1 || d.Attempts[0].StatusCode != 500 || d.Attempts[0].ResponseBody != "oops" ||
		d.Attempts[1].Number != 2 || d.Attempts[1].StatusCode != 200 || !d.Attempts[1].StartedAt.Equal(second.Attempt.StartedAt) {
		t.Errorf("the upgraded delivery's attempts: %+v, want the first from before the upgrade and the second", d.Attempts)
	}

	events, err := NewEventService(db).PublishEvents(ctx, []*hookd.Event{{ID: hookd.NewID(), TenantID: "t1", Type: "accounts.added",
		Data: []byte(`{}`), CreatedAt: hookd.Now()}})
	if err != nil || len(events) != 1 || events[0].Deliveries != 1 {
		t.Fatalf("publish after the upgrade: %+v (err %v), want one delivery", events, err)
	}
	ds, _, err := deliveries.FindDeliveries(ctx, hookd.DeliveryFilter{TenantID: "t1", EventID: events[0].EventID, Page: hookd.Page{Limit: 10}})
	if err != nil || len(ds) != 1 {
		t.Fatalf("the new event's deliveries: %+v (err %v), want one", ds, err)
	}
	first := hookd.AttemptResult{DeliveryID: ds[0].ID, WebhookID: "w1", Status: hookd.DeliverySucceeded,
		Attempt: hookd.Attempt{Number: 1, StartedAt: hookd.Now(), StatusCode: 204, Latency: 2 * time.Millisecond}}
	if err := deliveries.CompleteDeliveries(ctx, []hookd.AttemptResult{first}); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.reader.QueryRow(`SELECT count(*) FROM attempts WHERE delivery_id = ?`, ds[0].ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if d, err = deliveries.FindDeliveryByID(ctx, "t1", ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if rows != 0 || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 204 || d.Attempts[0].Latency != 2*time.Millisecond {
		t.Errorf("a new delivery's first attempt: %d rows in attempts, read back %+v; want none there and the attempt from its row", rows, d.Attempts)
	}
}

// TestMigration0005_Unexpected: a deliveries table whose definition reads
// otherwise than 0001 wrote it is left as it was, and Open says why.
func TestMigration0005_Unexpected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	m := migrateBefore(t, path, "0005")
	for _, q := range []string{
		`PRAGMA writable_schema = ON`,
		`UPDATE sqlite_schema SET sql = replace(sql, 'event_id        TEXT', 'event_id TEXT') WHERE name = 'deliveries'`,
		`PRAGMA writable_schema = OFF`,
	} {
		if _, err := m.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	db := NewDB(path)
	err := db.Open()
	if err == nil {
		db.Close()
		t.Fatal("Open succeeded on a deliveries table 0005 cannot edit")
	}
	if !strings.Contains(err.Error(), "0005") || !strings.Contains(err.Error(), "not the one migration 0001 wrote") {
		t.Errorf("Open: %v, want it to name migration 0005 and the unexpected definition", err)
	}
	m, err = openDB(path, roleReader)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var indexes int
	if err := m.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries_event_id'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 1 {
		t.Errorf("after the failed migration %d deliveries_event_id indexes, want it kept", indexes)
	}
}

// upgrade applies the migrations before the one named prefix to a new file
// at path, adds a tenant t1 with a webhook w1 subscribed to accounts.added
// and an event e1 of that type, then runs stmts, with ?1 bound to at in
// each, and opens the file with every migration.
func upgrade(t *testing.T, path, prefix string, at int64, stmts ...string) *DB {
	t.Helper()
	m := migrateBefore(t, path, prefix)
	for _, q := range append([]string{
		`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'acme', ?1)`,
		`INSERT INTO webhooks (id, tenant_id, name, events, url, config, status, created_at, updated_at)
			VALUES ('w1', 't1', 'hook', '["accounts.added"]', 'https://example.com', '{}', 'enabled', ?1, ?1)`,
		`INSERT INTO webhook_events (tenant_id, event, webhook_id) VALUES ('t1', 'accounts.added', 'w1')`,
		`INSERT INTO events (id, tenant_id, type, data, deliveries, created_at) VALUES ('e1', 't1', 'accounts.added', '{}', 1, ?1)`,
	}, stmts...) {
		if _, err := m.Exec(q, at); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	db := NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// migrateBefore applies the migrations before the one named prefix to a
// new file at path, and returns the connection it used.
func migrateBefore(t *testing.T, path, prefix string) *sql.DB {
	t.Helper()
	old := &DB{Path: path, Now: hookd.Now}
	m, err := openDB(path, roleWriter)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	m.SetMaxOpenConns(1)
	if _, err := m.Exec(`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	for _, name := range names {
		if filepath.Base(name) >= prefix {
			break
		}
		if err := old.migrateFile(context.Background(), m, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return m
}
