package bench

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// Sample is one delivery as the sink saw it: when it arrived and how long
// after its publish, both in nanoseconds. At is measured from the start of
// the run that recorded it.
type Sample struct {
	At      int64 `json:"at_ns"`
	Latency int64 `json:"latency_ns"`
}

// Published returns the sample's publish time, from the start of its run.
func (s Sample) Published() int64 { return s.At - s.Latency }

// Recorder collects samples from many goroutines without locks into a slice
// allocated once. Samples beyond its capacity are counted but not kept.
type Recorder struct {
	samples []Sample
	n       atomic.Int64
}

// NewRecorder returns a Recorder that keeps up to capacity samples.
func NewRecorder(capacity int) *Recorder {
	return &Recorder{samples: make([]Sample, max(capacity, 0))}
}

// Add records one sample.
func (r *Recorder) Add(s Sample) {
	i := r.n.Add(1) - 1
	if i < int64(len(r.samples)) {
		r.samples[i] = s
	}
}

// Count returns how many samples were added, kept or not.
func (r *Recorder) Count() int64 { return r.n.Load() }

// Samples returns a copy of the kept samples. Call it once writers are done.
func (r *Recorder) Samples() []Sample {
	n := min(r.n.Load(), int64(len(r.samples)))
	return slices.Clone(r.samples[:n])
}

// Latencies summarises a set of durations.
type Latencies struct {
	Count int     `json:"count"`
	Min   float64 `json:"min_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Summarize returns the percentiles of ns, durations in nanoseconds. It
// sorts ns in place.
func Summarize(ns []int64) Latencies {
	if len(ns) == 0 {
		return Latencies{}
	}
	slices.Sort(ns)
	var sum float64
	for _, v := range ns {
		sum += float64(v)
	}
	return Latencies{
		Count: len(ns),
		Min:   ms(ns[0]),
		P50:   ms(quantile(ns, 0.50)),
		P90:   ms(quantile(ns, 0.90)),
		P99:   ms(quantile(ns, 0.99)),
		P999:  ms(quantile(ns, 0.999)),
		Max:   ms(ns[len(ns)-1]),
		Mean:  sum / float64(len(ns)) / 1e6,
	}
}

// quantile returns the q-quantile of sorted by the nearest-rank method.
func quantile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// latencies returns the latencies of samples.
func latencies(samples []Sample) []int64 {
	out := make([]int64, len(samples))
	for i, s := range samples {
		out[i] = s.Latency
	}
	return out
}

// steadyRate returns the delivery rate between the arrivals of the lo and hi
// fractions of samples (for example 0.1 and 0.9), which leaves out the
// ramp-up and the tail. It returns 0 when there are too few samples.
func steadyRate(samples []Sample, lo, hi float64) float64 {
	if len(samples) < 20 {
		return 0
	}
	at := make([]int64, len(samples))
	for i, s := range samples {
		at[i] = s.At
	}
	slices.Sort(at)
	i, j := int(lo*float64(len(at))), int(hi*float64(len(at)))-1
	if j <= i || at[j] <= at[i] {
		return 0
	}
	return float64(j-i) / time.Duration(at[j]-at[i]).Seconds()
}

// window is one slice of time in a time series.
type window struct {
	start float64 // seconds
	lat   []int64
}

// latencySeries buckets samples into windows of width by publish time (or
// arrival time when byArrival) and returns p50, p99 and max latency per
// window in milliseconds, and the deliveries per second of each window.
func latencySeries(samples []Sample, width time.Duration, byArrival bool) (p50, p99, maxs, rate []Point) {
	if len(samples) == 0 || width <= 0 {
		return nil, nil, nil, nil
	}
	var last int64
	key := func(s Sample) int64 {
		if byArrival {
			return s.At
		}
		return s.Published()
	}
	for _, s := range samples {
		last = max(last, key(s))
	}
	n := int(last/int64(width)) + 1
	if n > 100000 {
		n = 100000
	}
	ws := make([][]int64, n)
	for _, s := range samples {
		i := min(max(int(key(s)/int64(width)), 0), n-1)
		ws[i] = append(ws[i], s.Latency)
	}
	for i, w := range ws {
		if len(w) == 0 {
			continue
		}
		x := (float64(i) + 0.5) * width.Seconds()
		slices.Sort(w)
		p50 = append(p50, Point{x, ms(quantile(w, 0.5))})
		p99 = append(p99, Point{x, ms(quantile(w, 0.99))})
		maxs = append(maxs, Point{x, ms(w[len(w)-1])})
		rate = append(rate, Point{x, float64(len(w)) / width.Seconds()})
	}
	return p50, p99, maxs, rate
}
