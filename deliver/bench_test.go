package deliver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// BenchmarkEnvelopeSign builds and signs one delivery's body, as each
// attempt does: the envelope, X-Argyle-Signature and webhook-signature.
func BenchmarkEnvelopeSign(b *testing.B) {
	now := hookd.Now()
	e, err := hookd.SampleEvent("activities.added", now)
	if err != nil {
		b.Fatal(err)
	}
	t := &hookd.Task{
		Delivery: &hookd.Delivery{ID: hookd.NewID()},
		Webhook:  &hookd.Webhook{Name: "bench", Secret: hookd.RandomToken(32), URL: "http://127.0.0.1/"},
		Event:    e,
	}
	for _, format := range []string{hookd.BodyCompact, hookd.BodyIndented} {
		b.Run(format, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				buf = appendBody(buf[:0], t, format == hookd.BodyIndented)
				_, _ = signatures(t.Webhook, t.Delivery.ID, buf, now)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
	b.Run("NewRequest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewRequest(context.Background(), t, hookd.BodyCompact, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkThroughput delivers b.N deliveries from the in-memory store to a
// local sink that answers 204, and reports deliveries per second.
func BenchmarkThroughput(b *testing.B) {
	cases := []struct {
		webhooks, perWebhook int
	}{
		{1, 0}, {1, 64}, {16, 0},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("webhooks=%d/per_webhook=%d", c.webhooks, c.perWebhook), func(b *testing.B) {
			sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer sink.Close()
			store := newMemStore()
			now := hookd.Now()
			hooks := make([]*hookd.Webhook, c.webhooks)
			for i := range hooks {
				hooks[i] = store.addWebhook(&hookd.Webhook{URL: sink.URL, Secret: hookd.RandomToken(32)})
			}
			data := `{"account":"018f4f9e-0000-7000-8000-000000000001","user":"018f4f9e-0000-7000-8000-000000000002","available_from":"2026-01-01T00:00:00Z","available_to":"2026-11-01T00:00:00Z","available_count":324}`
			for i := range b.N {
				store.publish(hooks[i%len(hooks)], "activities.fully_synced", data, "", now)
			}
			w := NewWorker(store)
			w.Egress.AllowPrivate = true
			w.Logger = slog.New(slog.DiscardHandler)
			w.PerWebhookConcurrency = c.perWebhook
			b.ResetTimer()
			start := time.Now()
			if err := w.Open(); err != nil {
				b.Fatal(err)
			}
			for {
				store.mu.Lock()
				done := store.completed
				store.mu.Unlock()
				if done >= b.N {
					break
				}
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			w.Close()
			if n := store.countStatus("", hookd.DeliverySucceeded); n != b.N {
				b.Fatalf("succeeded got %d, want %d", n, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkBareSender is the ceiling for BenchmarkThroughput: the same
// POSTs from 8 goroutines, no queue, no signing, same transport.
func BenchmarkBareSender(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sink.Close()
	client := &http.Client{Transport: Egress{AllowPrivate: true}.Transport()}
	body := []byte(`{"event":"activities.fully_synced","name":"bench","data":{"account":"018f4f9e-0000-7000-8000-000000000001"}}`)
	b.SetParallelism(4) // 2 cores x 4 = 8 senders
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(sink.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}

// BenchmarkClients posts the same body from 8 goroutines into one net/http
// sink, with net/http's client and with hookd's HTTP/1.1 client (h1Client,
// which the worker uses for plain-http targets), and reports the CPU both
// sides took per request (the sink's share is the same in both).
func BenchmarkClients(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sink.Close()
	body := []byte(`{"event":"activities.fully_synced","name":"bench","data":{"account":"018f4f9e-0000-7000-8000-000000000001"}}`)
	u, err := url.Parse(sink.URL + "/hook")
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, post func() error) {
		b.SetParallelism(4) // 2 cores x 4 = 8 senders
		b.ReportAllocs()
		start, cpu0 := time.Now(), processCPU()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := post(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
		b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/request")
	}
	b.Run("NetHTTP", func(b *testing.B) {
		client := &http.Client{Transport: Egress{AllowPrivate: true}.Transport()}
		defer client.CloseIdleConnections()
		run(b, func() error {
			resp, err := client.Post(u.String(), "application/json", bytes.NewReader(body))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		})
	})
	b.Run("H1", func(b *testing.B) {
		c := &h1Client{dial: Egress{AllowPrivate: true}.dialer().DialContext, maxIdle: 64, idleTimeout: time.Minute}
		defer c.closeIdle()
		run(b, func() error {
			var stack [512]byte
			_, err := c.do(&h1Request{url: u, header: []h1Field{{"Content-Type", "application/json"}}, body: body}, stack[:0], 1024, time.Now().Add(15*time.Second))
			return err
		})
	})
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
