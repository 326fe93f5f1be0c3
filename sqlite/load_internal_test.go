package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
)

// BenchmarkLoadEvents measures what a claim pays for events the row cache
// does not hold: reading 100 of them back by ID, in a read transaction.
func BenchmarkLoadEvents(b *testing.B) {
	ctx := context.Background()
	db := NewDB(filepath.Join(b.TempDir(), "hookd.db"))
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tn, err := NewTenantService(db).EnsureTenant(ctx, "acme")
	if err != nil {
		b.Fatal(err)
	}
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
