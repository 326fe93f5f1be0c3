package http_test

import (
	"net/http"
	"testing"
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
