package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// begin starts a sink tally for a new run and returns its number.
func (e *env) begin(hooks int, keys, expected int64) (int, *Tally) {
	e.nextRun = (e.nextRun + 1) % maxRuns
	return e.nextRun, e.sink.Begin(e.nextRun, hooks, keys, expected)
}

// waitLimit bounds how long a run waits for n deliveries: two minutes plus
// 2 ms per delivery, at most 40 minutes.
func waitLimit(n int64) time.Duration {
	return min(2*time.Minute+time.Duration(n)*2*time.Millisecond, 40*time.Minute)
}

// createHooks creates one webhook per entry of kinds, subscribed to
// eventType and pointing at the sink's endpoint of that kind for run. It
// returns the ids created, even on error, so the caller can delete them.
func (e *env) createHooks(ctx context.Context, c *Client, run int, label string, kinds []byte, eventType string) ([]string, error) {
	ids := make([]string, len(kinds))
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(16, len(kinds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(kinds) || ctx.Err() != nil {
					return
				}
				name := fmt.Sprintf("bench %s %d", label, i)
				id, err := c.CreateWebhook(ctx, name, e.sink.HookURL(run, kinds[i], i), []string{eventType}, e.secret)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("create webhook %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				ids[i] = id
			}
		}()
	}
	wg.Wait()
	var out []string
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return out, firstErr
}

// deleteHooks deletes webhooks, so that nothing more is delivered for a
// finished run. It gives up after a minute.
func (e *env) deleteHooks(c *Client, ids []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(16, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				_ = c.DeleteWebhook(ctx, ids[i])
			}
		}()
	}
	wg.Wait()
}

// mkdirFor creates the directory that will hold the file at path.
func mkdirFor(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	return nil
}

func repeatKind(k byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = k
	}
	return b
}

// publishStats is what a publisher achieved.
type publishStats struct {
	accepted   atomic.Int64 // events accepted
	deliveries atomic.Int64 // deliveries the accepted events fanned out to
	requests   atomic.Int64
	failures   atomic.Int64 // failed requests
	firstErr   atomic.Pointer[error]
	elapsed    time.Duration
	lat        *Recorder // request latencies
}

func newPublishStats(capacity int) *publishStats {
	return &publishStats{lat: NewRecorder(capacity)}
}

func (p *publishStats) fail(err error) {
	p.failures.Add(1)
	p.firstErr.CompareAndSwap(nil, &err)
}

func (p *publishStats) err() error {
	if e := p.firstErr.Load(); e != nil {
		return *e
	}
	return nil
}

func (p *publishStats) record(r *Result, prefix string) {
	r.AddError(prefix+"failed_requests", p.failures.Load())
	if err := p.err(); err != nil {
		r.Notef("%sfirst publish error: %v", prefix, err)
	}
}

// publishBatches publishes events events of eventType, numbered from 0, in
// batches from workers concurrent publishers, as fast as hookd accepts them,
// and counts them in ps.
func (e *env) publishBatches(ctx context.Context, c *Client, ps *publishStats, eventType string, events int64, workers, batch int) *publishStats {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, batch*512)
			for ctx.Err() == nil {
				first := next.Add(int64(batch)) - int64(batch)
				if first >= events {
					return
				}
				n := min(int64(batch), events-first)
				sent := time.Now()
				buf = AppendBatch(buf[:0], eventType, first, n, sent.UnixNano())
				accepted, deliveries, err := c.PublishBatch(ctx, buf)
				ps.lat.Add(Sample{At: sent.Sub(start).Nanoseconds(), Latency: time.Since(sent).Nanoseconds()})
				ps.requests.Add(1)
				if err != nil {
					ps.fail(err)
					continue
				}
				if int64(accepted) != n {
					ps.fail(fmt.Errorf("batch of %d: %d accepted", n, accepted))
				}
				ps.accepted.Add(int64(accepted))
				ps.deliveries.Add(int64(deliveries))
			}
		}()
	}
	wg.Wait()
	ps.elapsed = time.Since(start)
	return ps
}

// openLoop calls send for total jobs at rate per second, each at its
// scheduled time, from workers goroutines, whatever the answers' latency
// (an open-loop load). It returns when every job has run or ctx ends.
func openLoop(ctx context.Context, rate int, total int64, workers int, send func(seq int64, due time.Time)) time.Duration {
	type job struct {
		seq int64
		due time.Time
	}
	jobs := make(chan job, 1<<16)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				send(j.seq, j.due)
			}
		}()
	}
	start := time.Now()
	interval := time.Second / time.Duration(max(rate, 1))
	timer := time.NewTimer(0)
	<-timer.C
loop:
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		select {
		case jobs <- job{i, due}:
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	return time.Since(start)
}

// rssSampler records a process's RSS over time.
type rssSampler struct {
	points []Point // seconds since start, MB
	peak   int64
	stop   chan struct{}
	done   chan struct{}
}

// sampleRSS samples p's RSS every interval until stopped; p may be nil.
func sampleRSS(p *Process, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	if p == nil {
		close(s.done)
		return s
	}
	start := time.Now()
	sample := func() {
		if rss, err := p.RSS(); err == nil {
			s.peak = max(s.peak, rss)
			if len(s.points) < 200_000 {
				s.points = append(s.points, Point{time.Since(start).Seconds(), float64(rss) / (1 << 20)})
			}
		}
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		sample()
		for {
			select {
			case <-s.stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return s
}

// Stop stops sampling and returns the peak RSS in MB.
func (s *rssSampler) Stop() float64 {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return float64(s.peak) / (1 << 20)
}

// rate returns n per second over d.
func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// span returns the time from start to the tally's last delivery.
func span(t *Tally, start time.Time) time.Duration {
	last := t.Last.Load()
	if last == 0 {
		return 0
	}
	return time.Unix(0, last).Sub(start)
}

func addTallyErrors(r *Result, t *Tally, prefix string) {
	for name, n := range t.Errors() {
		r.AddError(prefix+name, n)
	}
}
