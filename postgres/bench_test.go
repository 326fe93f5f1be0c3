package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/storetest"
)

// The benchmarks mirror the sqlite package's, so that the two stores'
// numbers compare. They need TEST_DATABASE_URL, like the tests.

// benchData is a typical small payload.
var benchData = json.RawMessage(`{"account":"0190a7c2-0000-7000-8000-000000000001","user":"0190a7c2-0000-7000-8000-000000000002","available_from":"2025-01-01T00:00:00Z","available_to":"2025-03-01T00:00:00Z","available_count":324}`)

// benchSetup opens a DB on a fresh schema with a tenant subscribed fanOut
// times to accounts.added.
func benchSetup(b *testing.B, fanOut int) (*postgres.DB, *hookd.Tenant) {
	b.Helper()
	ctx := context.Background()
	db := MustOpenDB(b)
	tn, err := postgres.NewTenantService(db).EnsureTenant(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ws := postgres.NewWebhookService(db)
	now := hookd.Now()
	for i := range fanOut {
		w := &hookd.Webhook{ID: hookd.NewID(), TenantID: tn.ID, Name: fmt.Sprint("hook ", i), Events: []string{"accounts.added"},
			URL: "http://127.0.0.1:9/hook", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
		if err := ws.CreateWebhook(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	return db, tn
}

func benchEvents(tenantID string, n int, now time.Time) []*hookd.Event {
	events := make([]*hookd.Event, n)
	for i := range events {
		events[i] = &hookd.Event{ID: hookd.NewID(), TenantID: tenantID, Type: "accounts.added", Data: benchData, CreatedAt: now}
	}
	return events
}

// BenchmarkPublish measures ingest: one event per call from one goroutine
// (Single), from many goroutines at once, which group commit batches
// (Parallel), and 100 events per call (Batch100).
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	for _, fanOut := range []int{1, 10} {
		b.Run(fmt.Sprintf("Single/FanOut%d", fanOut), func(b *testing.B) {
			db, tn := benchSetup(b, fanOut)
			es := postgres.NewEventService(db)
			now := hookd.Now()
			b.ResetTimer()
			for range b.N {
				if _, err := es.PublishEvents(ctx, benchEvents(tn.ID, 1, now)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(fmt.Sprintf("Parallel/FanOut%d", fanOut), func(b *testing.B) {
			db, tn := benchSetup(b, fanOut)
			es := postgres.NewEventService(db)
			now := hookd.Now()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := es.PublishEvents(ctx, benchEvents(tn.ID, 1, now)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(fmt.Sprintf("Batch100/FanOut%d", fanOut), func(b *testing.B) {
			db, tn := benchSetup(b, fanOut)
			es := postgres.NewEventService(db)
			now := hookd.Now()
			b.ResetTimer()
			for range b.N {
				if _, err := es.PublishEvents(ctx, benchEvents(tn.ID, 100, now)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkClaimComplete measures the worker's store round: claim 100 due
// deliveries, then record 100 successes in one call.
func BenchmarkClaimComplete(b *testing.B) {
	ctx := context.Background()
	db, tn := benchSetup(b, 10)
	es, ds := postgres.NewEventService(db), postgres.NewDeliveryService(db)
	now := hookd.Now()
	// 10 events fan out to 100 deliveries: one claim's worth per iteration.
	for left := 10 * b.N; left > 0; left -= 100 {
		if _, err := es.PublishEvents(ctx, benchEvents(tn.ID, min(left, 100), now)); err != nil {
			b.Fatal(err)
		}
	}
	results := make([]hookd.AttemptResult, 0, 100)
	b.ResetTimer()
	for range b.N {
		tasks, err := ds.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: now, Limit: 100, Lease: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if len(tasks) != 100 {
			b.Fatalf("claimed %d, want 100", len(tasks))
		}
		results = storetest.AppendSuccesses(results[:0], tasks, now)
		if err := ds.CompleteDeliveries(ctx, results); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
