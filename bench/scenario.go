package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Event types per scenario, so that one scenario's webhooks never receive
// another's events even on a shared hookd.
const (
	eventThroughput1   = "activities.added"
	eventThroughput100 = "activities.updated"
	eventLatency       = "payouts.added"
	eventFanout        = "profiles.added"
	eventIngest        = "vehicles.removed" // nothing subscribes: publish only
	eventIsolationBase = "documents.added"
	eventIsolationBad  = "documents.updated"
	eventBacklog       = "activities.removed"
)

// Targets from the issue, on a 2-core machine.
const (
	targetDeliveries  = 10_000 // deliveries/s
	targetShare       = 50     // % of the ceiling
	targetP99         = 25     // ms at 1,000 events/s
	targetIngestBatch = 20_000 // events/s
	targetIngestOne   = 5_000  // events/s
	targetIsolation   = 90     // % of the all-healthy rate
	targetBacklogRSS  = 250    // MB
)

// runCeiling measures the bare sender: closed-loop throughput at a few
// concurrencies (the best is the ceiling) and open-loop latency at Rate.
func (e *env) runCeiling(ctx context.Context, r *Result) error {
	r.Title = "bare Go HTTP sender, same signing, no queue, into the same sink"
	levels := []int{16, 64, 256}
	if e.o.Smoke {
		levels = []int{e.o.Concurrency}
	}
	n := int64(e.o.Events)
	r.Params["deliveries_per_level"] = n
	r.Params["concurrency_levels"] = levels
	best, bestC := 0.0, 0
	for _, c := range levels {
		rate, lat, cpu, err := e.ceilingRun(ctx, r, c, n)
		if err != nil {
			return err
		}
		r.Add(fmt.Sprintf("deliveries/s, %d senders", c), rate, "/s")
		r.Add(fmt.Sprintf("send-to-receipt p99, %d senders", c), lat.P99, "ms")
		r.Add(fmt.Sprintf("sender and sink CPU per delivery, %d senders", c), cpu, "µs")
		if rate > best {
			best, bestC = rate, c
		}
	}
	e.ceiling.rate = best
	r.Add("ceiling deliveries/s", best, "/s").Head()
	r.Params["best_concurrency"] = bestC

	// Open loop at the latency scenario's rate, for its comparison.
	dur := min(e.o.Duration, 10*time.Second)
	total := int64(float64(e.o.Rate) * dur.Seconds())
	run, t := e.begin(1, total, total)
	defer e.sink.End(run)
	s := &Sender{Secret: e.secret, Concurrency: bestC}
	defer s.Close()
	url := e.sink.HookURL(run, KindOK, 0)
	var sendErrs atomic.Int64
	lag := NewRecorder(int(total))
	e.prog.set(func() string {
		return fmt.Sprintf("ceiling open loop %d/s: %s delivered %d", e.o.Rate, bar(t.Received.Load(), total), t.Received.Load())
	})
	openLoop(ctx, e.o.Rate, total, bestC, func(seq int64, due time.Time) {
		lag.Add(Sample{Latency: time.Since(due).Nanoseconds()})
		if err := s.Send(ctx, url, eventLatency, "bench ceiling", seq, due.UnixNano()); err != nil {
			sendErrs.Add(1)
		}
	})
	if err := t.Wait(ctx, 30*time.Second, waitLimit(total)); err != nil {
		return err
	}
	r.AddError("send_errors", sendErrs.Load())
	addTallyErrors(r, t, "")
	samples := t.Samples()
	lat := Summarize(latencies(samples))
	e.ceiling.p50, e.ceiling.p99 = lat.P50, lat.P99
	e.ceiling.openLoop, e.ceiling.openLoopStart = samples, t.Start
	r.Add(fmt.Sprintf("open loop %d/s p50", e.o.Rate), lat.P50, "ms")
	r.Add(fmt.Sprintf("open loop %d/s p99", e.o.Rate), lat.P99, "ms").Head()
	r.Add(fmt.Sprintf("open loop %d/s p99.9", e.o.Rate), lat.P999, "ms")
	r.Add("open loop: bench dispatch lag p99", Summarize(latencies(lag.Samples())).P99, "ms")
	r.Notef("dispatch lag is how late the bench's own scheduler started a send; it is part of every open-loop latency and grows when the machine is busy")
	return nil
}

// ceilingRun sends n deliveries from c concurrent senders as fast as the
// sink takes them, and returns the rate, the latencies and the bench's CPU
// per delivery (sender and sink), in µs.
func (e *env) ceilingRun(ctx context.Context, r *Result, c int, n int64) (float64, Latencies, float64, error) {
	run, t := e.begin(1, n, n)
	defer e.sink.End(run)
	s := &Sender{Secret: e.secret, Concurrency: c}
	defer s.Close()
	url := e.sink.HookURL(run, KindOK, 0)
	e.prog.set(func() string {
		return fmt.Sprintf("ceiling, %d senders: %s %d/%d", c, bar(t.Received.Load(), n), t.Received.Load(), n)
	})
	var next, sendErrs atomic.Int64
	var wg sync.WaitGroup
	cpu0 := e.cpuSnapshot()
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				seq := next.Add(1) - 1
				if seq >= n {
					return
				}
				if err := s.Send(ctx, url, eventThroughput1, "bench ceiling", seq, time.Now().UnixNano()); err != nil {
					sendErrs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r.AddError("send_errors", sendErrs.Load())
	if err := t.Wait(ctx, 30*time.Second, waitLimit(n)); err != nil {
		return 0, Latencies{}, 0, err
	}
	_, self := cpuPer(cpu0, e.cpuSnapshot(), t.Received.Load())
	addTallyErrors(r, t, "")
	return rate(t.Received.Load(), span(t, start)), Summarize(latencies(t.Samples())), self, nil
}

// runThroughput publishes Events deliveries' worth of events to 1 webhook,
// then to 100 webhooks, and measures the sustained delivery rate.
func (e *env) runThroughput(ctx context.Context, r *Result) error {
	r.Title = "sustained deliveries/s, events published in batches while delivering"
	r.Params["deliveries"] = e.o.Events
	r.Params["batch_size"] = e.o.BatchSize
	r.Params["publishers"] = e.o.Publishers
	for _, v := range []struct {
		hooks     int
		eventType string
		label     string
	}{
		{1, eventThroughput1, "1 webhook"},
		{100, eventThroughput100, "100 webhooks"},
	} {
		if err := e.throughputRun(ctx, r, v.hooks, v.eventType, v.label, e.o.Profile); err != nil {
			return fmt.Errorf("%s: %w", v.label, err)
		}
	}
	return nil
}

func (e *env) throughputRun(ctx context.Context, r *Result, hooks int, eventType, label string, profile bool) error {
	events := int64(max(e.o.Events/hooks, 1))
	expected := events * int64(hooks)
	run, t := e.begin(hooks, expected, expected)
	defer e.sink.End(run)
	ids, err := e.createHooks(ctx, e.client, run, "throughput", repeatKind(KindOK, hooks), eventType)
	defer e.deleteHooks(e.client, ids)
	if err != nil {
		return err
	}
	rss := sampleRSS(e.proc, 250*time.Millisecond)
	defer rss.Stop()

	var published atomic.Pointer[publishStats]
	start := time.Now()
	e.prog.set(func() string {
		n := t.Received.Load()
		return fmt.Sprintf("throughput, %s: %s %d/%d delivered, %.0f/s", label, bar(n, expected), n, expected, rate(n, time.Since(start)))
	})
	var prof *profiler
	if profile && e.proc != nil {
		prof = e.startProfiles(ctx, e.proc, fmt.Sprintf("throughput-%d", hooks))
	}
	cpu0 := e.cpuSnapshot()
	go func() {
		published.Store(e.publishBatches(ctx, e.client, newPublishStats(int(events)/e.o.BatchSize+64), eventType, events, e.o.Publishers, e.o.BatchSize))
	}()
	werr := t.Wait(ctx, 30*time.Second, waitLimit(expected))
	for published.Load() == nil && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	hookdCPU, benchCPU := cpuPer(cpu0, e.cpuSnapshot(), t.Received.Load())
	prof.wait(r)
	peak := rss.Stop()
	if ps := published.Load(); ps != nil {
		ps.record(r, label+": ")
		r.Add("publish events/s, "+label, rate(ps.accepted.Load(), ps.elapsed), "/s")
		if d := ps.deliveries.Load(); d != expected {
			r.Notef("%s: hookd reported %d deliveries for %d expected", label, d, expected)
		}
	}
	addTallyErrors(r, t, label+": ")
	if werr != nil {
		return werr
	}
	samples := t.Samples()
	d := span(t, start)
	got := rate(t.Received.Load(), d)
	r.Add("deliveries/s, "+label, got, "/s").AtLeast(targetDeliveries).Share(e.ceiling.rate).Head()
	if e.ceiling.rate > 0 {
		r.Add("share of ceiling, "+label, 100*got/e.ceiling.rate, "%").AtLeast(targetShare).Head()
	}
	r.Add("steady deliveries/s (10-90%), "+label, steadyRate(samples, 0.1, 0.9), "/s")
	r.Add("time to last delivery, "+label, d.Seconds(), "s")
	lat := Summarize(latencies(samples))
	r.Add("publish-to-receipt p50 (saturated), "+label, lat.P50, "ms")
	r.Add("publish-to-receipt p99 (saturated), "+label, lat.P99, "ms")
	if e.proc != nil {
		r.Add("hookd CPU per delivery, "+label, hookdCPU, "µs")
		r.Add("hookd peak RSS, "+label, peak, "MB")
	}
	r.Add("bench CPU per delivery (publishers and sink), "+label, benchCPU, "µs")
	return nil
}

// runLatency offers Rate single-event publishes per second to 1 webhook for
// Duration and measures publish-to-receipt latency.
func (e *env) runLatency(ctx context.Context, r *Result) error {
	r.Title = fmt.Sprintf("open loop, %d events/s offered for %s, 1 webhook", e.o.Rate, e.o.Duration)
	total := int64(float64(e.o.Rate) * e.o.Duration.Seconds())
	r.Params["rate"] = e.o.Rate
	r.Params["duration_s"] = e.o.Duration.Seconds()
	r.Params["events"] = total
	run, t := e.begin(1, total, total)
	defer e.sink.End(run)
	ids, err := e.createHooks(ctx, e.client, run, "latency", []byte{KindOK}, eventLatency)
	defer e.deleteHooks(e.client, ids)
	if err != nil {
		return err
	}
	rss := sampleRSS(e.proc, 250*time.Millisecond)
	defer rss.Stop()
	ps := newPublishStats(int(total))
	lag := NewRecorder(int(total))
	e.prog.set(func() string {
		return fmt.Sprintf("latency %d/s: published %d, %s delivered %d/%d", e.o.Rate, ps.accepted.Load(), bar(t.Received.Load(), total), t.Received.Load(), total)
	})
	workers := max(e.o.Concurrency, 16)
	bufs := sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
	elapsed := openLoop(ctx, e.o.Rate, total, workers, func(seq int64, due time.Time) {
		bp := bufs.Get().(*[]byte)
		body := AppendEvent((*bp)[:0], eventLatency, seq, due.UnixNano())
		sent := time.Now()
		lag.Add(Sample{Latency: sent.Sub(due).Nanoseconds()})
		n, err := e.client.Publish(ctx, body)
		ps.lat.Add(Sample{At: sent.Sub(t.Start).Nanoseconds(), Latency: time.Since(sent).Nanoseconds()})
		*bp = body[:0]
		bufs.Put(bp)
		if err != nil {
			ps.fail(err)
			return
		}
		if n != 1 {
			ps.fail(fmt.Errorf("event %d fanned out to %d deliveries, want 1", seq, n))
		}
		ps.accepted.Add(1)
	})
	ps.record(r, "")
	werr := t.Wait(ctx, 30*time.Second, waitLimit(total))
	peak := rss.Stop()
	addTallyErrors(r, t, "")
	if werr != nil {
		return werr
	}
	samples := t.Samples()
	lat := Summarize(latencies(samples))
	api := Summarize(latencies(ps.lat.Samples()))
	r.Add("offered events/s", rate(total, elapsed), "/s")
	r.Add("delivered", float64(t.Received.Load()), "")
	r.Add("publish-to-receipt p50", lat.P50, "ms").Times(e.ceiling.p50, "p50").Head()
	r.Add("publish-to-receipt p90", lat.P90, "ms")
	r.Add("publish-to-receipt p99", lat.P99, "ms").Below(targetP99).Times(e.ceiling.p99, "p99").Head()
	r.Add("publish-to-receipt p99.9", lat.P999, "ms").Head()
	r.Add("publish-to-receipt max", lat.Max, "ms")
	r.Add("POST /v1/events p50", api.P50, "ms")
	r.Add("POST /v1/events p99", api.P99, "ms")
	r.Add("bench dispatch lag p99", Summarize(latencies(lag.Samples())).P99, "ms")
	if e.proc != nil {
		r.Add("hookd peak RSS", peak, "MB")
	}

	width := time.Second
	if e.o.Duration < 10*time.Second {
		width = 100 * time.Millisecond
	}
	p50, p99, maxs, perSec := latencySeries(samples, width, false)
	_, cp99, _, _ := latencySeries(e.ceiling.openLoop, width, false)
	chart := &Chart{
		Title: fmt.Sprintf("hookd publish-to-receipt latency at %d events/s offered (%s windows, by publish time)", e.o.Rate, width),
		Panels: []Panel{
			{Title: "latency (ms, log scale)", YLabel: "ms", LogY: true, Threshold: targetP99, Series: []Series{
				{"hookd p50", p50}, {"hookd p99", p99}, {"hookd max", maxs}, {"bare sender p99", cp99},
			}},
			{Title: "deliveries per second", YLabel: "deliveries/s", Series: []Series{{"hookd", perSec}}},
		},
	}
	if err := writeChart(e.o.Out, "latency.svg", chart); err != nil {
		return err
	}
	r.Charts = append(r.Charts, "latency.svg")
	return nil
}

// runFanout publishes one event to Fanout webhooks, FanoutRounds times one
// after the other, and measures how long each takes to reach every webhook.
func (e *env) runFanout(ctx context.Context, r *Result) error {
	hooks, rounds := e.o.Fanout, e.o.FanoutRounds
	r.Title = fmt.Sprintf("1 event to %d webhooks, %d rounds one after the other", hooks, rounds)
	r.Params["webhooks"] = hooks
	r.Params["rounds"] = rounds
	expected := int64(hooks * rounds)
	run, t := e.begin(hooks, expected, expected)
	defer e.sink.End(run)
	e.prog.set(func() string { return fmt.Sprintf("fanout: creating %d webhooks", hooks) })
	ids, err := e.createHooks(ctx, e.client, run, "fanout", repeatKind(KindOK, hooks), eventFanout)
	defer e.deleteHooks(e.client, ids)
	if err != nil {
		return err
	}
	rss := sampleRSS(e.proc, 250*time.Millisecond)
	defer rss.Stop()
	e.prog.set(func() string {
		return fmt.Sprintf("fanout: %s %d/%d delivered", bar(t.Received.Load(), expected), t.Received.Load(), expected)
	})
	var completions, firsts []int64
	var total time.Duration
	for round := range rounds {
		before := t.Received.Load()
		published := time.Now()
		n, err := e.client.Publish(ctx, AppendEvent(nil, eventFanout, int64(round), published.UnixNano()))
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		if n != hooks {
			r.Notef("round %d: hookd reported %d deliveries, want %d", round, n, hooks)
		}
		if err := waitCount(ctx, t, before+int64(hooks), 30*time.Second, waitLimit(int64(hooks))); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		d := time.Unix(0, t.Last.Load()).Sub(published)
		completions = append(completions, d.Nanoseconds())
		total += d
	}
	peak := rss.Stop()
	addTallyErrors(r, t, "")
	samples := t.Samples()
	for round := range rounds {
		var first int64 = -1
		for _, s := range samples[round*hooks : min((round+1)*hooks, len(samples))] {
			if first < 0 || s.Latency < first {
				first = s.Latency
			}
		}
		firsts = append(firsts, first)
	}
	comp := Summarize(completions)
	got := rate(expected, total)
	r.Add("deliveries/s", got, "/s").Share(e.ceiling.rate).Head()
	r.Add("publish to last delivery, median round", comp.P50, "ms").Head()
	r.Add("publish to last delivery, worst round", comp.Max, "ms")
	r.Add("publish to first delivery, median round", Summarize(firsts).P50, "ms")
	lat := Summarize(latencies(samples))
	r.Add("publish-to-receipt p50", lat.P50, "ms")
	r.Add("publish-to-receipt p99", lat.P99, "ms")
	if e.proc != nil {
		r.Add("hookd peak RSS", peak, "MB")
	}
	return nil
}

// waitCount waits until t has received n deliveries, with the bounds of
// Tally.Wait.
func waitCount(ctx context.Context, t *Tally, n int64, stall, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	last, lastChange := t.Received.Load(), time.Now()
	for {
		got := t.Received.Load()
		if got >= n {
			return nil
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("wait for deliveries: %w (%d of %d arrived)", ctx.Err(), got, n)
		case time.Now().After(deadline):
			return fmt.Errorf("wait for deliveries: gave up after %s (%d of %d arrived)", limit, got, n)
		case time.Since(lastChange) > stall:
			return fmt.Errorf("wait for deliveries: none for %s (%d of %d arrived)", stall, got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runIngest publishes events nobody subscribes to, as single requests and
// then in batches, for IngestDuration each.
func (e *env) runIngest(ctx context.Context, r *Result) error {
	r.Title = "publish only (no subscriber), single requests and batches"
	r.Params["duration_s"] = e.o.IngestDuration.Seconds()
	r.Params["single_concurrency"] = e.o.Concurrency
	r.Params["batch_publishers"] = e.o.Publishers * 2
	r.Params["batch_size"] = e.o.BatchSize
	rss := sampleRSS(e.proc, 250*time.Millisecond)
	defer rss.Stop()

	run := func(label string, workers, batch int) *publishStats {
		ps := newPublishStats(500_000)
		start := time.Now()
		e.prog.set(func() string {
			return fmt.Sprintf("ingest, %s: %d events accepted, %.0f/s", label, ps.accepted.Load(), rate(ps.accepted.Load(), time.Since(start)))
		})
		ctx, cancel := context.WithTimeout(ctx, e.o.IngestDuration)
		defer cancel()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 0, batch*512)
				for ctx.Err() == nil && next.Load() < 100_000_000 {
					first := next.Add(int64(batch)) - int64(batch)
					sent := time.Now()
					var accepted int
					var err error
					if batch == 1 {
						buf = AppendEvent(buf[:0], eventIngest, first, sent.UnixNano())
						_, err = e.client.Publish(ctx, buf)
						accepted = 1
					} else {
						buf = AppendBatch(buf[:0], eventIngest, first, int64(batch), sent.UnixNano())
						accepted, _, err = e.client.PublishBatch(ctx, buf)
					}
					if ctx.Err() != nil {
						return // cut off by the end of the run, not a failure
					}
					ps.lat.Add(Sample{At: sent.Sub(start).Nanoseconds(), Latency: time.Since(sent).Nanoseconds()})
					ps.requests.Add(1)
					if err != nil {
						ps.fail(err)
						continue
					}
					ps.accepted.Add(int64(accepted))
				}
			}()
		}
		wg.Wait()
		ps.elapsed = time.Since(start)
		return ps
	}

	single := run("single requests", e.o.Concurrency, 1)
	single.record(r, "single: ")
	got := rate(single.accepted.Load(), single.elapsed)
	lat := Summarize(latencies(single.lat.Samples()))
	r.Add("events/s, single requests", got, "/s").AtLeast(targetIngestOne).Share(e.ceiling.rate).Head()
	r.Add("POST /v1/events p50", lat.P50, "ms")
	r.Add("POST /v1/events p99", lat.P99, "ms")

	batches := run(fmt.Sprintf("batches of %d", e.o.BatchSize), e.o.Publishers*2, e.o.BatchSize)
	batches.record(r, "batches: ")
	got = rate(batches.accepted.Load(), batches.elapsed)
	lat = Summarize(latencies(batches.lat.Samples()))
	r.Add(fmt.Sprintf("events/s, batches of %d", e.o.BatchSize), got, "/s").AtLeast(targetIngestBatch).Share(e.ceiling.rate).Head()
	r.Add("POST /v1/events/batch p50", lat.P50, "ms")
	r.Add("POST /v1/events/batch p99", lat.P99, "ms")
	if e.proc != nil {
		r.Add("hookd peak RSS", rss.Stop(), "MB")
	}
	if e.o.IngestDuration < 5*time.Second {
		r.Notef("runs of %s are too short for a sustained rate", e.o.IngestDuration)
	}
	return nil
}

// runIsolation measures healthy deliveries with 10 healthy webhooks alone,
// and with 10 more that hang (5) or answer 500 (5) on every event, each
// four times, interleaved; a condition's rate is its deliveries over its
// runs' time together.
func (e *env) runIsolation(ctx context.Context, r *Result) error {
	const healthy = 10
	events := int64(max(e.o.Events/healthy, 1))

	type outcome struct {
		received int64
		lat      []int64
		hung     int64
		failed   int64
		duration time.Duration
		cpu      cpuSnapshot // CPU ticks spent, while delivering
	}
	// Each condition runs four times, interleaved and mirrored (healthy,
	// half bad, half bad, healthy, twice), so that a steady change of the
	// machine's speed during the scenario weighs on both alike instead of
	// on the one measured last, and a passing one is diluted.
	type condition struct {
		label, eventType string
		kinds            []byte
		sum              outcome // its runs together
		rates            []float64
	}
	conds := [2]*condition{
		{label: "all healthy", eventType: eventIsolationBase, kinds: repeatKind(KindOK, healthy)},
		{label: "half bad", eventType: eventIsolationBad,
			kinds: append(repeatKind(KindOK, healthy), append(repeatKind(KindHang, 5), repeatKind(KindFail, 5)...)...)},
	}
	order := []int{0, 1, 1, 0, 0, 1, 1, 0}
	labels := make([]string, len(order))
	for i, ci := range order {
		labels[i] = conds[ci].label
	}
	runs := strings.Join(labels, ", ")
	r.Title = fmt.Sprintf("%d healthy webhooks alone, and beside 5 hanging and 5 failing (500) ones, in the order %s; %d events each run",
		healthy, runs, events)
	r.Params["healthy_webhooks"] = healthy
	r.Params["bad_webhooks"] = "5 hang, 5 answer 500"
	r.Params["events"] = events
	r.Params["runs"] = runs

	do := func(label string, kinds []byte, eventType string, profile bool) (outcome, error) {
		keys := events * int64(len(kinds))
		expected := events * healthy
		run, t := e.begin(len(kinds), keys, expected)
		defer e.sink.End(run)
		ids, err := e.createHooks(ctx, e.client, run, "isolation "+label, kinds, eventType)
		defer e.deleteHooks(e.client, ids)
		if err != nil {
			return outcome{}, err
		}
		start := time.Now()
		e.prog.set(func() string {
			n := t.Received.Load()
			return fmt.Sprintf("isolation, %s: %s %d/%d healthy delivered, %.0f/s; %d hung, %d failed",
				label, bar(n, expected), n, expected, rate(n, time.Since(start)), t.Hung.Load(), t.Failed.Load())
		})
		var prof *profiler
		if profile {
			prof = e.startProfiles(ctx, e.proc, "isolation")
		}
		cpu0 := e.cpuSnapshot()
		var ps *publishStats
		done := make(chan struct{})
		go func() {
			defer close(done)
			ps = e.publishBatches(ctx, e.client, newPublishStats(int(events)/e.o.BatchSize+64), eventType, events, e.o.Publishers, e.o.BatchSize)
		}()
		werr := t.Wait(ctx, 30*time.Second, waitLimit(expected))
		<-done
		cpu := e.cpuSnapshot().minus(cpu0)
		prof.wait(r)
		ps.record(r, label+": ")
		addTallyErrors(r, t, label+": ")
		if werr != nil {
			return outcome{}, werr
		}
		return outcome{
			received: t.Received.Load(), lat: latencies(t.Samples()),
			hung: t.Hung.Load(), failed: t.Failed.Load(), duration: span(t, start), cpu: cpu,
		}, nil
	}

	for i, ci := range order {
		c := conds[ci]
		profile := e.o.Profile && i == 1 // the first half-bad run
		o, err := do(fmt.Sprintf("%s (run %d of %d)", c.label, i+1, len(order)), c.kinds, c.eventType, profile)
		if err != nil {
			return fmt.Errorf("%s, run %d: %w", c.label, i+1, err)
		}
		c.sum.received += o.received
		c.sum.lat = append(c.sum.lat, o.lat...)
		c.sum.hung += o.hung
		c.sum.failed += o.failed
		c.sum.duration += o.duration
		c.sum.cpu = c.sum.cpu.plus(o.cpu)
		c.rates = append(c.rates, rate(o.received, o.duration))
	}
	base, bad := conds[0].sum, conds[1].sum
	baseRate, badRate := rate(base.received, base.duration), rate(bad.received, bad.duration)
	r.Add("healthy deliveries/s, all healthy", baseRate, "/s").Share(e.ceiling.rate)
	r.Add("healthy deliveries/s, half bad", badRate, "/s").Share(e.ceiling.rate).Head()
	if baseRate > 0 {
		r.Add("half bad vs all healthy", 100*badRate/baseRate, "%").AtLeast(targetIsolation).Head()
	}
	for _, c := range conds {
		for j, v := range c.rates {
			r.Add(fmt.Sprintf("healthy deliveries/s, %s, run %d", c.label, j+1), v, "/s")
		}
	}
	for _, c := range conds {
		hookdCPU, benchCPU := cpuPer(cpuSnapshot{}, c.sum.cpu, c.sum.received)
		if e.proc != nil {
			r.Add("hookd CPU per healthy delivery, "+c.label, hookdCPU, "µs")
		}
		r.Add("bench CPU per healthy delivery (publishers and sink), "+c.label, benchCPU, "µs")
	}
	baseLat, badLat := Summarize(base.lat), Summarize(bad.lat)
	r.Add("healthy p50, all healthy", baseLat.P50, "ms")
	r.Add("healthy p50, half bad", badLat.P50, "ms")
	r.Add("healthy p99, all healthy", baseLat.P99, "ms")
	r.Add("healthy p99, half bad", badLat.P99, "ms").Head()
	r.Add("requests to hanging endpoints", float64(bad.hung), "")
	r.Add("requests to failing endpoints", float64(bad.failed), "")
	r.Notef("each condition ran %d times, in the order above, so that a steady drift of the machine's speed weighs on both alike; its rate is its deliveries over its runs' time together", len(order)/len(conds))
	r.Notef("hanging endpoints hold each request until hookd's attempt timeout; they were released when the run ended")
	return nil
}

// runBacklog fills a fresh database with Backlog pending deliveries through
// an API-only hookd, then starts a full hookd on it and measures the drain:
// rate, latency and RSS over time.
func (e *env) runBacklog(ctx context.Context, r *Result) error {
	hooks := e.o.BacklogHooks
	events := int64(max(e.o.Backlog/hooks, 1))
	expected := events * int64(hooks)
	r.Title = fmt.Sprintf("%d pending deliveries (%d events x %d webhooks) drained by a fresh hookd", expected, events, hooks)
	r.Params["pending"] = expected
	r.Params["webhooks"] = hooks
	r.Params["events"] = events
	if e.o.Target != "" {
		r.Notef("skipped: the backlog scenario starts and stops its own hookd, so it cannot use --target")
		return nil
	}
	db := e.o.DB
	if db != "" && e.proc != nil {
		// The main hookd shares this database; its worker would deliver
		// the backlog while it fills. Backlog runs last, so stop it.
		if err := e.proc.Stop(); err != nil {
			return err
		}
	}
	if db == "" {
		db = filepath.Join(e.tmp, "backlog", "hookd.db")
		if err := mkdirFor(db); err != nil {
			return err
		}
	}
	keyID, keySecret, err := CreateKey(ctx, e.o.Hookd, db, "bench-backlog-"+randomHex(4))
	if err != nil {
		return err
	}
	logPath := filepath.Join(e.o.Out, "hookd-backlog.log")

	// Fill: an API-only node accepts the events; nothing delivers them.
	api, err := e.launch(ctx, LaunchOptions{Bin: e.o.Hookd, DB: db, LogPath: logPath, Role: "api"})
	if err != nil {
		return fmt.Errorf("start API-only hookd: %w", err)
	}
	c := NewClient(api.URL, keyID, keySecret, e.o.Concurrency)
	run, t := e.begin(hooks, expected, expected)
	defer e.sink.End(run)
	_, err = e.createHooks(ctx, c, run, "backlog", repeatKind(KindOK, hooks), eventBacklog)
	if err != nil {
		c.Close()
		_ = api.Stop()
		return err
	}
	ps := newPublishStats(int(events)/e.o.BatchSize + 64)
	e.prog.set(func() string {
		n := ps.deliveries.Load()
		return fmt.Sprintf("backlog: filling %s %d/%d pending deliveries", bar(n, expected), n, expected)
	})
	e.publishBatches(ctx, c, ps, eventBacklog, events, e.o.Publishers, max(e.o.BatchSize, 1000/max(hooks, 1)))
	c.Close()
	ps.record(r, "fill: ")
	if err := api.Stop(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	pending := ps.deliveries.Load()
	r.Add("pending deliveries", float64(pending), "")
	r.Add("fill: deliveries enqueued/s", rate(pending, ps.elapsed), "/s")
	r.Add("fill: events accepted/s", rate(ps.accepted.Load(), ps.elapsed), "/s")
	if pending != expected {
		r.Notef("hookd enqueued %d deliveries, want %d", pending, expected)
	}
	if got := t.Received.Load(); got > 0 {
		r.Notef("%d deliveries arrived while only the API node ran", got)
	}

	// Drain.
	drainStart := time.Now()
	p, err := e.launch(ctx, LaunchOptions{Bin: e.o.Hookd, DB: db, LogPath: logPath, Pprof: e.o.Profile})
	if err != nil {
		return fmt.Errorf("start draining hookd: %w", err)
	}
	defer p.Stop()
	prof := e.startProfiles(ctx, p, "backlog")
	rss := sampleRSS(p, 250*time.Millisecond)
	defer rss.Stop()
	e.prog.set(func() string {
		n := t.Received.Load()
		mb := 0.0
		if v, err := p.RSS(); err == nil {
			mb = float64(v) / (1 << 20)
		}
		return fmt.Sprintf("backlog drain: %s %d/%d, %.0f/s, RSS %.0f MB", bar(n, expected), n, expected, rate(n, time.Since(drainStart)), mb)
	})
	werr := waitCount(ctx, t, pending, 60*time.Second, waitLimit(pending))
	prof.wait(r)
	peak := rss.Stop()
	addTallyErrors(r, t, "")
	samples := t.Samples()
	offset := drainStart.Sub(t.Start).Nanoseconds()
	for i := range samples {
		samples[i].At -= offset
	}
	drained := t.Received.Load()
	first := time.Unix(0, t.First.Load())
	d := span(t, drainStart)
	r.Add("drained deliveries", float64(drained), "")
	r.Add("drain deliveries/s (start to last)", rate(drained, d), "/s").AtLeast(targetDeliveries).Share(e.ceiling.rate).Head()
	if !first.IsZero() && t.First.Load() > 0 {
		r.Add("drain deliveries/s (first to last)", rate(drained, time.Unix(0, t.Last.Load()).Sub(first)), "/s")
		r.Add("hookd start to first delivery", first.Sub(drainStart).Seconds()*1000, "ms")
	}
	r.Add("steady drain deliveries/s (10-90%)", steadyRate(samples, 0.1, 0.9), "/s")
	r.Add("peak RSS while draining", peak, "MB").Below(targetBacklogRSS).Head()
	if n := len(rss.points); n > 0 {
		r.Add("RSS at end of drain", rss.points[n-1].Y, "MB")
	}

	width := time.Second
	if d < 20*time.Second {
		width = max(d/40, 50*time.Millisecond)
	}
	p50, p99, _, perSec := latencySeries(samples, width, true)
	chart := &Chart{
		Title: fmt.Sprintf("hookd draining %d pending deliveries (%s windows, by arrival time)", pending, width),
		Panels: []Panel{
			{Title: "deliveries per second", YLabel: "deliveries/s", Series: []Series{{"drain rate", perSec}}},
			{Title: "RSS of the draining hookd (MB)", YLabel: "MB", Threshold: targetBacklogRSS, Series: []Series{{"VmRSS", rss.points}}},
			{Title: "publish-to-receipt latency (ms, log scale; includes the time spent queued)", YLabel: "ms", LogY: true, Series: []Series{
				{"p50", p50}, {"p99", p99},
			}},
		},
	}
	if err := writeChart(e.o.Out, "backlog.svg", chart); err != nil {
		return err
	}
	r.Charts = append(r.Charts, "backlog.svg")
	if werr != nil {
		return werr
	}
	return nil
}
