package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
	"github.com/hookd/hookd/storetest"
)

// benchData is a typical small payload.
var benchData = json.RawMessage(`{"account":"0190a7c2-0000-7000-8000-000000000001","user":"0190a7c2-0000-7000-8000-000000000002","available_from":"2025-01-01T00:00:00Z","available_to":"2025-03-01T00:00:00Z","available_count":324}`)

// benchSetup opens a DB with a tenant subscribed fanOut times to
// accounts.added.
func benchSetup(b *testing.B, fanOut int) (*sqlite.DB, *hookd.Tenant) {
	b.Helper()
	ctx := context.Background()
	db := MustOpenDB(b)
	tn, err := sqlite.NewTenantService(db).EnsureTenant(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ws := sqlite.NewWebhookService(db)
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
	for _, fanOut := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("Single/FanOut%d", fanOut), func(b *testing.B) {
			db, tn := benchSetup(b, fanOut)
			es := sqlite.NewEventService(db)
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
			es := sqlite.NewEventService(db)
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
		// Parked subscribers (hookd.DeliveryParker): none, all, or as many
		// again as the fan-out, as in hookd bench's isolation scenario.
		for _, v := range []struct {
			suffix        string
			hooks, parked int
		}{
			{"", fanOut, 0},
			{"Parked", fanOut, fanOut},
			{fmt.Sprintf("Plus%dParked", fanOut), 2 * fanOut, fanOut},
		} {
			b.Run(fmt.Sprintf("Batch100/FanOut%d%s", fanOut, v.suffix), func(b *testing.B) {
				db, tn := benchSetup(b, v.hooks)
				es := sqlite.NewEventService(db)
				if v.parked > 0 {
					all, _, err := sqlite.NewWebhookService(db).FindWebhooks(ctx, hookd.WebhookFilter{TenantID: tn.ID, Page: hookd.Page{Limit: 200}})
					if err != nil {
						b.Fatal(err)
					}
					for _, w := range all[:v.parked] {
						sqlite.NewDeliveryService(db).ParkWebhook(w.ID)
					}
				}
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
}

// BenchmarkClaimComplete measures the worker's store round: claim 100 due
// deliveries, then record their successes in one call; with 10 webhooks,
// 100, and 100 of which the claims exclude half (as for open breakers),
// which makes every claim walk the webhooks' lanes (16 of them).
func BenchmarkClaimComplete(b *testing.B) {
	for _, c := range []struct {
		name           string
		webhooks, skip int
		eventsPerRound int
	}{
		{"Webhooks10", 10, 0, 10},
		{"Webhooks100", 100, 0, 1},
		{"Webhooks100Excluding50", 100, 50, 4},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			db, tn := benchSetup(b, c.webhooks)
			es, ds := sqlite.NewEventService(db), sqlite.NewDeliveryService(db)
			hooks, _, err := sqlite.NewWebhookService(db).FindWebhooks(ctx, hookd.WebhookFilter{TenantID: tn.ID, Page: hookd.Page{Limit: 200}})
			if err != nil {
				b.Fatal(err)
			}
			var exclude []string
			for _, w := range hooks[:c.skip] {
				exclude = append(exclude, w.ID)
			}
			now := hookd.Now()
			for range b.N {
				if _, err := es.PublishEvents(ctx, benchEvents(tn.ID, c.eventsPerRound, now)); err != nil {
					b.Fatal(err)
				}
			}
			results := make([]hookd.AttemptResult, 0, 100)
			claimed := 0
			b.ResetTimer()
			for range b.N {
				tasks, err := ds.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: now, Limit: 100, Lease: time.Minute, ExcludeWebhooks: exclude})
				if err != nil {
					b.Fatal(err)
				}
				if len(tasks) == 0 {
					b.Fatal("claimed nothing")
				}
				claimed += len(tasks)
				results = storetest.AppendSuccesses(results[:0], tasks, now)
				if err := ds.CompleteDeliveries(ctx, results); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(claimed)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkClaim measures one claim of 100 due deliveries alone: each
// round publishes 100 events to 1 webhook (Webhooks1) or 1 event to 100
// webhooks (Webhooks100) just before the claim, as while delivering, and
// records the results after it; only the claim is timed.
func BenchmarkClaim(b *testing.B) {
	for _, c := range []struct {
		name           string
		webhooks       int
		eventsPerRound int
	}{
		{"Webhooks1", 1, 100},
		{"Webhooks100", 100, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			db, tn := benchSetup(b, c.webhooks)
			es, ds := sqlite.NewEventService(db), sqlite.NewDeliveryService(db)
			results := make([]hookd.AttemptResult, 0, 100)
			claimed := 0
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				now := hookd.Now()
				if _, err := es.PublishEvents(ctx, benchEvents(tn.ID, c.eventsPerRound, now)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				tasks, err := ds.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: now, Limit: 100, Lease: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if len(tasks) != 100 {
					b.Fatalf("claimed %d deliveries, want 100", len(tasks))
				}
				claimed += len(tasks)
				results = storetest.AppendSuccesses(results[:0], tasks, now)
				if err := ds.CompleteDeliveries(ctx, results); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(claimed), "µs/delivery")
		})
	}
}
