package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
)

// TestPublish_EventCachedBeforeWake checks that a published event is in the
// row cache by the time its commit wakes the worker, whose claim would
// otherwise read it back from the file.
func TestPublish_EventCachedBeforeWake(t *testing.T) {
	ctx := context.Background()
	var db *DB
	var e *hookd.Event
	var missing []string
	woken := 0
	db, tn := openTenantDB(t, func([]string) {
		woken++
		_, _, _, missing = db.cache.lookup(nil, []string{e.ID})
	})
	now := hookd.Now()
	w := &hookd.Webhook{ID: hookd.NewID(), TenantID: tn.ID, Name: "hook", Events: []string{"accounts.added"},
		URL: "http://127.0.0.1:9/hook", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
	if err := NewWebhookService(db).CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	e = &hookd.Event{ID: hookd.NewID(), TenantID: tn.ID, Type: "accounts.added", Data: json.RawMessage(`{"a":1}`), CreatedAt: now}
	if _, err := NewEventService(db).PublishEvents(ctx, []*hookd.Event{e}); err != nil {
		t.Fatal(err)
	}
	if woken != 1 || len(missing) != 0 {
		t.Errorf("woken %d times, event missing from the cache then: %v; want once, cached", woken, missing)
	}
}

// openTenantDB opens a database in a temporary directory, calling onWork
// after commits that make deliveries due, and returns it with tenant
// "acme". It is closed when the test ends.
func openTenantDB(tb testing.TB, onWork func(webhooks []string)) (*DB, *hookd.Tenant) {
	tb.Helper()
	db := NewDB(filepath.Join(tb.TempDir(), "hookd.db"))
	db.OnWork = onWork
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	tn, err := NewTenantService(db).EnsureTenant(context.Background(), "acme")
	if err != nil {
		tb.Fatal(err)
	}
	return db, tn
}

// BenchmarkLoadEvents measures what a claim pays for events the row cache
// does not hold: reading 100 of them back by ID, in a read transaction.
func BenchmarkLoadEvents(b *testing.B) {
	ctx := context.Background()
	db, tn := openTenantDB(b, nil)
	data := json.RawMessage(`{"account":"0187c66e-e7e5-811c-b006-2232f00f426a","user":"0187c66e-e7e4-b4cb-8e9d-6c6d09c4a2b1","available_from":"2025-11-23T00:00:00Z","available_to":"2026-11-22T00:00:00Z","available_count":214,"added_from":"2026-11-20T00:00:00Z","added_to":"2026-11-22T00:00:00Z","added_count":3,"bench_seq":12345,"bench_ts":1764892800000000000}`)
	var ids []string
	es := NewEventService(db)
	for range 100 {
		batch := make([]*hookd.Event, 100)
		for i := range batch {
			batch[i] = &hookd.Event{ID: hookd.NewID(), TenantID: tn.ID, Type: "accounts.added", Data: data, CreatedAt: hookd.Now()}
			ids = append(ids, batch[i].ID)
		}
		if _, err := es.PublishEvents(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	s := NewDeliveryService(db)
	b.ResetTimer()
	for i := range b.N {
		tx, err := db.reader.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		k := (i * 100) % len(ids)
		got, err := s.loadEvents(ctx, tx, ids[k:k+100])
		if err != nil || len(got) != 100 {
			b.Fatal(err, len(got))
		}
		_ = tx.Rollback()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100)/1000, "µs/event")
}
