package deliver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hookd/hookd"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	b := setup(t, func(w *Worker) { w.Metrics = m })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(srv.Close)
	ok := b.store.addWebhook(&hookd.Webhook{URL: srv.URL + "/ok"})
	fail := b.store.addWebhook(&hookd.Webhook{URL: srv.URL + "/fail"})
	off := b.store.addWebhook(&hookd.Webhook{URL: srv.URL + "/ok", Status: hookd.WebhookDisabled})
	for _, wh := range []*hookd.Webhook{ok, ok, fail, off} {
		b.store.publish(wh, "accounts.added", accountData, "", b.clock.Now())
	}
	b.run(t)
	for outcome, want := range map[string]float64{OutcomeSuccess: 2, OutcomeHTTPError: 1, OutcomeDisabled: 1, OutcomeTimeout: 0} {
		if got := testutil.ToFloat64(m.attempts.WithLabelValues(outcome)); got != want {
			t.Errorf("attempts{outcome=%q} got %v, want %v", outcome, got, want)
		}
	}
	if got := testutil.ToFloat64(m.inFlight); got != 0 {
		t.Errorf("in flight got %v, want 0", got)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range families {
		if h := f.GetMetric()[0].GetHistogram(); h != nil {
			counts[f.GetName()] = h.GetSampleCount()
		}
	}
	if got := counts["hookd_delivery_attempt_duration_seconds"]; got != 3 {
		t.Errorf("attempt duration samples got %d, want 3 (attempts sent)", got)
	}
	if got := counts["hookd_delivery_latency_seconds"]; got != 2 {
		t.Errorf("delivery latency samples got %d, want 2 (successes)", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint got %v, %v, want none", problems, err)
	}
}

func TestQueueCollector(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	wh := store.addWebhook(&hookd.Webhook{URL: "https://example.com"})
	store.publish(wh, "accounts.added", accountData, "", now.Add(-30*time.Second))
	store.publish(wh, "accounts.added", accountData, "", now)
	store.publish(wh, "accounts.added", accountData, "", now.Add(time.Minute))
	c := NewQueueCollector(store, func() time.Time { return now })
	want := `
# HELP hookd_queue_due Pending deliveries due now.
# TYPE hookd_queue_due gauge
hookd_queue_due 2
# HELP hookd_queue_oldest_due_age_seconds How long the longest-waiting due delivery has been due.
# TYPE hookd_queue_oldest_due_age_seconds gauge
hookd_queue_oldest_due_age_seconds 30
# HELP hookd_queue_pending Pending deliveries, due or not.
# TYPE hookd_queue_pending gauge
hookd_queue_pending 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
