package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestIsolation points half of 20 webhooks at a receiver that hangs until
// the test ends, and checks that the other half still receive every event,
// with their latency logged beside a run where nothing hangs.
func TestIsolation(t *testing.T) {
	t.Parallel()
	const webhooks, events = 20, 100

	run := func(t *testing.T, hang bool) []time.Duration {
		m := MustRunMain(t, ModeDev, func(c *Config) { c.Timeout = 5 * time.Second })
		c := &client{tb: t, base: m.HTTPServer.URL(), id: testKeyID, secret: testKeySecret}

		release := make(chan struct{})
		hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(hung.Close)
		t.Cleanup(func() { close(release) }) // runs before hung.Close

		var mu sync.Mutex
		var latencies []time.Duration
		sent := map[int]time.Time{}
		healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var env struct {
				Data struct{ Seq int } `json:"data"`
			}
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &env); err == nil {
				mu.Lock()
				latencies = append(latencies, time.Since(sent[env.Data.Seq]))
				mu.Unlock()
			}
		}))
		t.Cleanup(healthy.Close)

		for i := 0; i < webhooks; i++ {
			url := healthy.URL
			if hang && i%2 == 0 {
				url = hung.URL
			}
			c.json("POST", "/v1/webhooks", fmt.Sprintf(`{"name":"w%d","events":["*"],"url":"%s"}`, i, url), http.StatusCreated, nil)
		}
		for seq := 0; seq < events; seq++ {
			mu.Lock()
			sent[seq] = time.Now()
			mu.Unlock()
			c.json("POST", "/v1/events", fmt.Sprintf(`{"event":"activities.added","data":{"account":"a","user":"u","seq":%d}}`, seq), http.StatusAccepted, nil)
			time.Sleep(2 * time.Millisecond)
		}
		want := events * webhooks / 2
		if !hang {
			want = events * webhooks
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			n := len(latencies)
			mu.Unlock()
			if n >= want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("healthy webhooks got %d of %d deliveries while others hung", n, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), latencies...)
	}

	quantiles := func(d []time.Duration) string {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return fmt.Sprintf("p50 %v p99 %v (n=%d)", d[len(d)/2].Round(time.Microsecond), d[len(d)*99/100].Round(time.Microsecond), len(d))
	}
	base := run(t, false)
	withHung := run(t, true)
	summary := fmt.Sprintf("isolation (10 of 20 webhooks hang): publish-to-receipt at healthy webhooks: none hanging %s; half hanging %s", quantiles(base), quantiles(withHung))
	t.Log(summary)
	writeArtifact(t, "isolation.txt", summary+"\n")
}
