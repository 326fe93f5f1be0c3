package deliver

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd"
)

// Attempt outcomes, the values of the outcome label of
// hookd_delivery_attempts_total.
const (
	// OutcomeSuccess is a 2xx.
	OutcomeSuccess = "success"
	// OutcomeHTTPError is any other status but a 3xx.
	OutcomeHTTPError = "http_error"
	// OutcomeRedirect is a 3xx, which is not followed.
	OutcomeRedirect = "redirect"
	// OutcomeTimeout is no complete answer within the timeout.
	OutcomeTimeout = "timeout"
	// OutcomeNetworkError is a refused or reset connection, a failed DNS
	// lookup, a connection closed early, ....
	OutcomeNetworkError = "network_error"
	// OutcomeTLSError is a failed handshake or certificate check.
	OutcomeTLSError = "tls_error"
	// OutcomeRefused is a connection the egress policy refused.
	OutcomeRefused = "refused"
	// OutcomeDisabled is a delivery of a disabled webhook, completed
	// without sending.
	OutcomeDisabled = "disabled"
)

var outcomes = []string{OutcomeSuccess, OutcomeHTTPError, OutcomeRedirect, OutcomeTimeout,
	OutcomeNetworkError, OutcomeTLSError, OutcomeRefused, OutcomeDisabled}

// Metrics are a worker's Prometheus metrics. None is labelled by webhook or
// tenant. A nil *Metrics records nothing.
type Metrics struct {
	attempts        *prometheus.CounterVec
	attemptDuration prometheus.Histogram
	latency         prometheus.Histogram
	inFlight        prometheus.Gauge
	breakersOpen    prometheus.Gauge
	completeErrors  prometheus.Counter
}

// NewMetrics creates the worker metrics and registers them with reg (when
// not nil); it panics if they are already registered there:
//
//   - hookd_delivery_attempts_total{outcome}: attempts by outcome (see the
//     Outcome constants)
//   - hookd_delivery_attempt_duration_seconds: the HTTP exchange of each
//     attempt that was sent
//   - hookd_delivery_latency_seconds: from a delivery's creation (the
//     publish) to its successful attempt
//   - hookd_delivery_in_flight: attempts being sent now
//   - hookd_delivery_breakers_open: webhooks whose breaker is open or half-open
//   - hookd_delivery_complete_errors_total: failed writes of attempt results
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_delivery_attempts_total",
			Help: "Delivery attempts by outcome.",
		}, []string{"outcome"}),
		attemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_delivery_attempt_duration_seconds",
			Help:    "Duration of each delivery attempt's HTTP exchange.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_delivery_latency_seconds",
			Help:    "Time from an event's publish to its successful delivery.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookd_delivery_in_flight",
			Help: "Delivery attempts being sent now.",
		}),
		breakersOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookd_delivery_breakers_open",
			Help: "Webhooks whose circuit breaker is open or half-open.",
		}),
		completeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_delivery_complete_errors_total",
			Help: "Failed writes of attempt results to the store (they are retried).",
		}),
	}
	for _, o := range outcomes {
		m.attempts.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.attemptDuration, m.latency, m.inFlight, m.breakersOpen, m.completeErrors)
	}
	return m
}

func (m *Metrics) attempt(outcome string, sent bool, d time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(outcome).Inc()
	if sent {
		m.attemptDuration.Observe(d.Seconds())
	}
}

func (m *Metrics) delivered(latency time.Duration) {
	if m != nil {
		m.latency.Observe(max(latency, 0).Seconds())
	}
}

func (m *Metrics) addInFlight(n int) {
	if m != nil {
		m.inFlight.Add(float64(n))
	}
}

func (m *Metrics) addBreakersOpen(n int) {
	if m != nil {
		m.breakersOpen.Add(float64(n))
	}
}

func (m *Metrics) completeError() {
	if m != nil {
		m.completeErrors.Inc()
	}
}

// QueueCollector is a prometheus.Collector that reads the delivery queue
// from the store at each scrape:
//
//   - hookd_queue_pending: pending deliveries, due or not
//   - hookd_queue_due: pending deliveries due now
//   - hookd_queue_oldest_due_age_seconds: how long the longest-waiting due
//     delivery has been due (0 when none is)
//
// A failed read yields no samples for that scrape.
type QueueCollector struct {
	store                hookd.DeliveryService
	now                  func() time.Time
	pending, due, oldest *prometheus.Desc
}

// NewQueueCollector returns a collector over store's QueueStats at now()
// (hookd.Now when nil). Register it with the same registry as the metrics.
func NewQueueCollector(store hookd.DeliveryService, now func() time.Time) *QueueCollector {
	if now == nil {
		now = hookd.Now
	}
	return &QueueCollector{
		store:   store,
		now:     now,
		pending: prometheus.NewDesc("hookd_queue_pending", "Pending deliveries, due or not.", nil, nil),
		due:     prometheus.NewDesc("hookd_queue_due", "Pending deliveries due now.", nil, nil),
		oldest:  prometheus.NewDesc("hookd_queue_oldest_due_age_seconds", "How long the longest-waiting due delivery has been due.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.due
	ch <- c.oldest
}

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := c.now()
	s, err := c.store.QueueStats(ctx, now)
	if err != nil {
		return
	}
	age := 0.0
	if s.OldestDue != nil {
		age = max(now.Sub(*s.OldestDue), 0).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(s.Due))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
