package http_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/hookd/hookd"
)

// BenchmarkPublish measures the HTTP layer of POST /v1/events (auth through
// the cache, decoding, validation, normalisation, answer) on a mock store.
func BenchmarkPublish(b *testing.B) {
	_, h := newFuzzServer(b)
	body := []byte(`{"event":"activities.added","data":{"user":"u","account":"a","added_count":3,"added_from":"2024-01-01T00:00:00Z","added_to":"2024-01-02T00:00:00Z"},"idempotency_key":"k"}`)
	b.ReportAllocs()
	for b.Loop() {
		if rec := serve(h, "POST", "/v1/events", "application/json", body); rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkWebhookList measures GET /v1/webhooks with two results and a
// next link on a mock store.
func BenchmarkWebhookList(b *testing.B) {
	_, h := newFuzzServer(b)
	b.ReportAllocs()
	for b.Loop() {
		if rec := serve(h, "GET", "/v1/webhooks", "", nil); rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkPublishBatch measures the HTTP layer of POST /v1/events/batch
// with 100 events like hookd bench's (about 350 bytes of data each) on a
// mock store that only answers.
func BenchmarkPublishBatch(b *testing.B) {
	ts, h := newFuzzServer(b)
	ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
		rs := make([]hookd.PublishResult, len(es))
		for i, e := range es {
			rs[i] = hookd.PublishResult{EventID: e.ID, Deliveries: 1}
		}
		return rs, nil
	}
	body := []byte(`{"events":[`)
	for i := range 100 {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"event":"activities.added","data":{"account":"0187c66e-e7e5-811c-b006-2232f00f426a","user":"0187c66e-e7e4-b4cb-8e9d-6c6d09c4a2b1","available_from":"2025-11-23T00:00:00Z","available_to":"2026-11-22T00:00:00Z","available_count":214,"added_from":"2026-11-20T00:00:00Z","added_to":"2026-11-22T00:00:00Z","added_count":3,"bench_seq":%d,"bench_ts":1764892800000000000}}`, i)
	}
	body = append(body, "]}"...)
	b.ReportAllocs()
	for b.Loop() {
		if rec := serve(h, "POST", "/v1/events/batch", "application/json", body); rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100)/1000, "µs/event")
}
