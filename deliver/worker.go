package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
)

// ErrClosed is returned by ProcessBatch on a worker that is not open.
var ErrClosed = errors.New("deliver: worker not open")

// leaseMargin is how much of its lease a queued delivery must have left,
// beyond Timeout, to be started. One with less is let go: its lease runs
// out and it is claimed again, so it is never sent twice at once.
const leaseMargin = 5 * time.Second

// Worker claims due deliveries from Store and sends them. Set its fields,
// then call Open; change nothing after. NewWorker fills in every default;
// Open fills in those still zero, except PollInterval.
type Worker struct {
	// Store is the queue and the delivery log.
	Store hookd.DeliveryService
	// Now returns the current time. Defaults to hookd.Now.
	Now func() time.Time
	// PollInterval is how often the worker looks for due deliveries when
	// nothing wakes it (Wake, freed capacity). NewWorker sets 1 s. Zero
	// runs no background loop: the caller drives the worker with
	// ProcessBatch (tests do).
	PollInterval time.Duration
	// Policy schedules retries. Defaults to Schedule{} (Standard Webhooks
	// schedule, ±20 % jitter).
	Policy RetryPolicy
	// BodyFormat is hookd.BodyIndented or hookd.BodyCompact (the default).
	BodyFormat string
	// Egress decides where deliveries may connect. The zero value refuses
	// private and special-purpose addresses.
	Egress Egress
	// Timeout bounds each attempt, from connect to the end of the response
	// body. Defaults to 15 s.
	Timeout time.Duration
	// Concurrency bounds the attempts in flight. Defaults to 256.
	Concurrency int
	// PerWebhookConcurrency bounds one webhook's attempts in flight once
	// they succeed. Defaults to 32.
	PerWebhookConcurrency int
	// StartConcurrency bounds them until one succeeds, and again after
	// one fails: an endpoint that has not answered yet, or fails, holds
	// fewer of the worker's slots. Defaults to 8, and to
	// PerWebhookConcurrency when that is less.
	StartConcurrency int
	// Lease is how long a claim holds a delivery. Defaults to Timeout+30 s,
	// which is also what Open sets when Lease is under Timeout+10 s (as
	// when Timeout was raised after NewWorker).
	Lease time.Duration
	// BatchSize is the most deliveries one claim takes. Defaults to 100.
	BatchSize int
	// Breaker tunes each webhook's circuit breaker.
	Breaker BreakerConfig
	// FlushInterval is the longest an attempt result waits before it is
	// written. Defaults to 5 ms.
	FlushInterval time.Duration
	// FlushSize is how many waiting results are written at once, without
	// waiting for FlushInterval; a write takes up to 4 x FlushSize when
	// more are waiting. Defaults to 256.
	FlushSize int
	// Logger receives the worker's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Metrics, when set, records attempts, latency, in-flight attempts and
	// open breakers.
	Metrics *Metrics

	mu          sync.Mutex
	parker      hookd.DeliveryParker // Store, when it parks deliveries
	opened      bool
	closed      bool
	sender      sender
	transport   *http.Transport
	hooks       map[string]*hookState
	ring        []*hookState // webhooks with queued jobs, served round-robin
	cursor      int
	inflight    int // attempts being sent
	queued      int // claimed, waiting for a slot
	outstanding int // claimed, result not yet written (or let go)
	unwritten   int // results handed to the writer, not yet written
	idle        []chan struct{}
	wake        chan struct{}
	results     chan hookd.AttemptResult
	cancel      context.CancelFunc
	loopDone    chan struct{}
	flushed     chan struct{}
	sends       sync.WaitGroup
	closeOnce   sync.Once
}

// hookState is what a worker knows of one webhook: attempts in flight,
// claimed deliveries waiting for a slot, and its breaker.
type hookState struct {
	id       string
	inflight int
	queue    []*job
	inRing   bool
	breaker  breaker
	counted  bool // counted in the breakers-open gauge
	// healthy reports that the last attempt that finished succeeded: such
	// a webhook may have PerWebhookConcurrency attempts in flight and hold
	// a full batch, a slow or dead one StartConcurrency and two sets of
	// slots, so it cannot hoard the worker's room.
	healthy bool
	// progressAt is when an attempt last finished, or when the first of
	// the attempts in flight started: all slots waiting on the endpoint
	// and no progress for stallAfter is a stall. handing counts the
	// attempts in flight that have finished and wait to hand over their
	// results, which waits for the store: a slow store is not a stalled
	// endpoint.
	progressAt time.Time
	handing    atomic.Int32
	// latency is the endpoint's usual time to answer: a moving average
	// of its answered attempts' latencies, 0 before the first.
	latency time.Duration
	// parked reports that the store parks the webhook's new deliveries
	// (see parkLocked); probed, that a delivery was unparked for the probe
	// of the current half-open period.
	parked, probed bool
}

// Bounds on how long a webhook's attempts may fill all its slots with none
// finishing before its new deliveries are parked, as for an open breaker
// (a hanging endpoint would otherwise take a whole timeout to be noticed):
// stallFactor times the endpoint's usual latency, within minStall and
// maxStall, and minStall before it has answered at all. While its
// deliveries are not parked, every one published is written in full: a
// second at the publish rates of hookd bench's isolation scenario put some
// 3,500 rows per hanging webhook into each run. An endpoint parked only
// because it is slow is unparked when its attempts finish, its deliveries
// parked meanwhile made pending then: it costs the store a little, and
// loses nothing.
const (
	minStall    = 250 * time.Millisecond
	maxStall    = time.Second
	stallFactor = 4
)

// stallAfter is how long h's attempts may fill its slots with none
// finishing before h counts as stalled.
func (h *hookState) stallAfter() time.Duration {
	if h.latency == 0 {
		return minStall
	}
	return min(max(stallFactor*h.latency, minStall), maxStall)
}

// noteLatency adds an answered attempt's latency to h's moving average.
func (h *hookState) noteLatency(d time.Duration) {
	if h.latency == 0 {
		h.latency = max(d, 1)
		return
	}
	h.latency += (d - h.latency) / 8
}

// stalledLocked reports whether attempts waiting on h's endpoint fill all
// its slots and none has finished for h.stallAfter().
func (w *Worker) stalledLocked(h *hookState, now time.Time) bool {
	waiting := h.inflight - int(h.handing.Load())
	return waiting >= w.limitLocked(h) && now.Sub(h.progressAt) >= h.stallAfter()
}

// job is a claimed delivery waiting for, or holding, a slot.
type job struct {
	task     *hookd.Task
	leaseEnd time.Time
}

// NewWorker returns a worker over store with every default filled in.
func NewWorker(store hookd.DeliveryService) *Worker {
	w := &Worker{Store: store, PollInterval: time.Second}
	w.setDefaults()
	return w
}

func (w *Worker) setDefaults() {
	if w.Now == nil {
		w.Now = hookd.Now
	}
	if w.Policy == nil {
		w.Policy = Schedule{}
	}
	if w.BodyFormat == "" {
		w.BodyFormat = hookd.BodyCompact
	}
	if w.Timeout <= 0 {
		w.Timeout = 15 * time.Second
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 256
	}
	if w.PerWebhookConcurrency <= 0 {
		w.PerWebhookConcurrency = 32
	}
	if w.StartConcurrency <= 0 || w.StartConcurrency > w.PerWebhookConcurrency {
		w.StartConcurrency = min(8, w.PerWebhookConcurrency)
	}
	if w.Lease < w.Timeout+2*leaseMargin {
		w.Lease = w.Timeout + 30*time.Second
	}
	if w.BatchSize <= 0 {
		w.BatchSize = 100
	}
	w.Breaker = w.Breaker.withDefaults()
	if w.FlushInterval <= 0 {
		w.FlushInterval = 5 * time.Millisecond
	}
	if w.FlushSize <= 0 {
		w.FlushSize = 256
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
}

// Open starts the worker: the result writer and, when PollInterval is set,
// the loop that claims and sends due deliveries.
func (w *Worker) Open() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.opened {
		return errors.New("deliver: worker already opened")
	}
	if w.Store == nil {
		return errors.New("deliver: worker has no store")
	}
	w.setDefaults()
	if w.BodyFormat != hookd.BodyCompact && w.BodyFormat != hookd.BodyIndented {
		return fmt.Errorf("deliver: unknown body format %q", w.BodyFormat)
	}
	w.transport = w.Egress.Transport()
	w.transport.ResponseHeaderTimeout = w.Timeout
	w.transport.MaxIdleConnsPerHost = max(w.transport.MaxIdleConnsPerHost, w.PerWebhookConcurrency)
	w.sender.client = &http.Client{
		Transport: w.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	if w.Egress.Proxy == nil {
		w.sender.h1 = &h1Client{
			dial:        w.Egress.dialer().DialContext,
			maxIdle:     w.transport.MaxIdleConnsPerHost,
			idleTimeout: w.transport.IdleConnTimeout,
		}
	}
	w.parker, _ = w.Store.(hookd.DeliveryParker)
	w.hooks = make(map[string]*hookState)
	w.results = make(chan hookd.AttemptResult, max(4*w.FlushSize, 2*w.Concurrency))
	w.flushed = make(chan struct{})
	go w.complete()
	if w.PollInterval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		w.cancel, w.loopDone = cancel, make(chan struct{})
		go w.loop(ctx)
	}
	w.opened = true
	return nil
}

// Close stops claiming, lets the attempts in flight finish, writes every
// result, and returns. Deliveries claimed but not started are let go: their
// leases run out and they are claimed again. Close is idempotent.
func (w *Worker) Close() error {
	w.mu.Lock()
	opened := w.opened
	w.mu.Unlock()
	if !opened {
		return nil
	}
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		n := w.queued
		for _, h := range w.ring {
			h.queue, h.inRing = nil, false
		}
		for _, h := range w.hooks {
			if h.parked {
				h.parked = false
				w.parker.UnparkWebhook(h.id)
			}
		}
		w.ring, w.queued = nil, 0
		w.releaseLocked(n)
		w.mu.Unlock()
		if w.cancel != nil {
			w.cancel()
			<-w.loopDone
		}
		w.sends.Wait()
		close(w.results)
		<-w.flushed
		w.transport.CloseIdleConnections()
		if w.sender.h1 != nil {
			w.sender.h1.closeIdle()
		}
	})
	return nil
}

// Wake makes the worker look for due deliveries now instead of at its next
// poll, for example right after a publish. It never blocks, and is safe to
// call from any goroutine on a worker made by NewWorker or opened.
func (w *Worker) Wake() {
	if w.wake == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// WakeFor is Wake for deliveries just made due for the webhooks named, or
// for any webhook when webhooks is nil. It does not wake the worker when
// each of them is excluded from claims right now (busy, its breaker open,
// stalled): a claim would skip their deliveries, and a webhook that stops
// being busy wakes the worker itself. In a throughput run to 1 webhook,
// claims that found nothing fell from 186-274 a second to 148-172
// (BENCHMARKS.md, "What changed" of 384f6f0).
func (w *Worker) WakeFor(webhooks []string) {
	if webhooks == nil || !w.allExcluded(webhooks) {
		w.Wake()
	}
}

// allExcluded reports whether the worker is open and claims would exclude
// each of webhooks now.
func (w *Worker) allExcluded(webhooks []string) bool {
	now := w.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.opened || w.closed {
		return false
	}
	for _, id := range webhooks {
		if h := w.hooks[id]; h == nil || !w.excludedLocked(h, now) {
			return false
		}
	}
	return true
}

// Drain waits until every delivery claimed so far has been attempted and
// its result written (or let go), or until ctx ends.
func (w *Worker) Drain(ctx context.Context) error {
	w.mu.Lock()
	if w.outstanding == 0 {
		w.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	w.idle = append(w.idle, ch)
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ProcessBatch claims one batch of due deliveries, as many as the worker
// has room for, and starts sending them; it returns how many it claimed.
// Attempts continue in the background; Drain waits for them.
func (w *Worker) ProcessBatch(ctx context.Context) (int, error) {
	return w.claim(ctx)
}

// loop claims and dispatches until ctx ends: again at once after a claim
// that took any deliveries, otherwise on Wake or every PollInterval,
// backing off on errors. A claim may take fewer than it could while more
// are due (the SQLite store's lane walks reach 16 webhooks each), so only
// a claim that takes none lets the loop wait.
func (w *Worker) loop(ctx context.Context) {
	defer close(w.loopDone)
	ticker := time.NewTicker(w.PollInterval)
	defer ticker.Stop()
	var backoff time.Duration
	for {
		n, err := w.claim(ctx)
		switch {
		case ctx.Err() != nil || errors.Is(err, ErrClosed):
			return
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			w.Logger.Error("deliver: claim failed", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-ticker.C:
		}
	}
}

// claim claims as many due deliveries as there is room for, dispatches
// them, and returns how many it claimed.
func (w *Worker) claim(ctx context.Context) (int, error) {
	now := w.Now()
	w.mu.Lock()
	if !w.opened || w.closed {
		w.mu.Unlock()
		return 0, ErrClosed
	}
	limit := min(w.BatchSize, w.roomLocked())
	if limit <= 0 {
		w.mu.Unlock()
		return 0, nil
	}
	var exclude, blocked, probe []string
	for id, h := range w.hooks {
		if w.parkLocked(h, now) {
			probe = append(probe, id)
		}
		if w.excludedLocked(h, now) {
			exclude = append(exclude, id)
			if w.blockedLocked(h, now) {
				blocked = append(blocked, id)
			}
		} else if w.staleLocked(h, now) {
			w.forgetLocked(h)
		}
	}
	w.probe(probe)
	w.sends.Add(1) // Close waits for this claim's results
	w.mu.Unlock()
	defer w.sends.Done()

	tasks, err := w.Store.ClaimDeliveries(ctx, hookd.ClaimRequest{
		Now:             now,
		Limit:           limit,
		Lease:           w.Lease,
		ExcludeWebhooks: exclude,
		Blocked:         blocked,
	})
	if err != nil {
		return 0, fmt.Errorf("claim deliveries: %w", err)
	}
	w.mu.Lock()
	disabled := w.enqueueLocked(tasks, now)
	w.dispatchLocked(now, false)
	w.mu.Unlock()
	for _, t := range disabled {
		w.handOff(w.unsent(t, now))
	}
	return len(tasks), nil
}

// enqueueLocked queues tasks claimed at now behind their webhooks, and
// returns those that are not to be sent (disabled webhook).
func (w *Worker) enqueueLocked(tasks []*hookd.Task, now time.Time) (unsent []*hookd.Task) {
	leaseEnd := now.Add(w.Lease)
	w.outstanding += len(tasks)
	for _, t := range tasks {
		switch {
		case w.closed:
			w.releaseLocked(1)
		case t.Webhook.Status == hookd.WebhookDisabled || t.Event == nil:
			unsent = append(unsent, t)
		default:
			h := w.hookLocked(t.Webhook.ID)
			if !h.breaker.allow(now) {
				w.releaseLocked(1) // opened since the claim began
				continue
			}
			h.queue = append(h.queue, &job{task: t, leaseEnd: leaseEnd})
			w.queued++
			if !h.inRing {
				h.inRing = true
				w.ring = append(w.ring, h)
			}
		}
	}
	return unsent
}

// unsent completes a task that is not sent: its webhook is disabled (or
// its event is missing).
func (w *Worker) unsent(t *hookd.Task, now time.Time) hookd.AttemptResult {
	msg := "webhook disabled"
	if t.Event == nil {
		msg = "event not found"
	}
	w.Metrics.attempt(OutcomeDisabled, false, 0)
	return hookd.AttemptResult{
		DeliveryID: t.Delivery.ID,
		WebhookID:  t.Delivery.WebhookID,
		Attempt:    hookd.Attempt{Number: t.Delivery.AttemptCount + 1, StartedAt: now, Error: msg},
		Status:     hookd.DeliveryFailed,
	}
}

func (w *Worker) hookLocked(id string) *hookState {
	h := w.hooks[id]
	if h == nil {
		h = &hookState{id: id, breaker: newBreaker(w.Breaker)}
		w.hooks[id] = h
	}
	return h
}

// staleLocked reports whether h is a half-open breaker that has had
// nothing to probe with for longer than MaxCooldown, as when its webhook
// was deleted or disabled while the breaker was open.
func (w *Worker) staleLocked(h *hookState, now time.Time) bool {
	return h.breaker.state == breakerHalfOpen && h.inflight == 0 && len(h.queue) == 0 &&
		now.Sub(h.breaker.openUntil) > w.Breaker.MaxCooldown
}

// forgetLocked drops what the worker knows of an idle webhook.
func (w *Worker) forgetLocked(h *hookState) {
	if h.parked {
		h.parked = false
		w.parker.UnparkWebhook(h.id)
	}
	if h.counted {
		h.counted = false
		w.Metrics.addBreakersOpen(-1)
	}
	delete(w.hooks, h.id)
}

// parkLocked has the store park h's new deliveries while h's breaker is
// not closed or its attempts have stalled, and unpark them once neither
// holds, when the store parks (hookd.DeliveryParker): a dead endpoint's
// deliveries then cost the store almost nothing, and leave the writer's
// time to healthy webhooks' deliveries. It reports whether h, half-open
// and parked, needs a delivery unparked to probe with (see probe).
func (w *Worker) parkLocked(h *hookState, now time.Time) (probe bool) {
	if w.parker == nil {
		return false
	}
	h.breaker.allow(now) // open to half-open, when due
	switch park := h.breaker.state != breakerClosed || w.stalledLocked(h, now); {
	case park && !h.parked:
		h.parked = true
		w.parker.ParkWebhook(h.id)
	case !park && h.parked:
		h.parked = false
		w.parker.UnparkWebhook(h.id)
	}
	if h.parked && h.breaker.state == breakerHalfOpen && !h.probed && h.inflight == 0 && len(h.queue) == 0 {
		h.probed = true
		return true
	}
	return false
}

// probe unparks one delivery of each webhook in ids, in the background,
// so that a half-open breaker has something to probe with.
func (w *Worker) probe(ids []string) {
	for _, id := range ids {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if n, err := w.parker.UnparkDeliveries(ctx, id, 1); err != nil {
				w.Logger.Error("deliver: unparking a delivery to probe with", "webhook", id, "err", err)
			} else if n > 0 {
				w.Wake()
			}
		}()
	}
}

// limitLocked is how many attempts h may have in flight: one probe while
// its breaker is half-open, StartConcurrency until an attempt succeeds,
// PerWebhookConcurrency while they do. On loopback, 32 in flight instead
// of 8 raised one webhook's share of the bare sender's rate from 45.5 to
// 51.7 % on average (BENCHMARKS.md, "What changed").
func (w *Worker) limitLocked(h *hookState) int {
	switch {
	case h.breaker.state == breakerHalfOpen:
		return 1
	case h.healthy:
		return w.PerWebhookConcurrency
	}
	return w.StartConcurrency
}

// excludedLocked reports whether the next claim must skip h's deliveries:
// its breaker is open, or it already holds enough work: a full set of
// slots and as many queued behind them or, while its attempts succeed, a
// full batch if that is more, so that a busy healthy webhook is claimed for
// in whole batches.
func (w *Worker) excludedLocked(h *hookState, now time.Time) bool {
	if !h.breaker.allow(now) {
		return true
	}
	held := h.inflight + len(h.queue)
	if h.breaker.state == breakerHalfOpen {
		return held >= 1
	}
	limit := 2 * w.limitLocked(h)
	if h.healthy {
		limit = max(limit, w.BatchSize)
	}
	return held >= limit
}

// blockedLocked reports whether h, excluded from claims, will stay so for
// a while: its breaker is not closed, or its endpoint has stalled (see
// hookd.ClaimRequest.Blocked). A webhook merely busy is not: its slots
// free up within moments.
func (w *Worker) blockedLocked(h *hookState, now time.Time) bool {
	return h.breaker.state != breakerClosed || w.stalledLocked(h, now)
}

// dispatchLocked starts queued jobs while there are free slots, taking one
// job per webhook in turn so that no webhook's backlog starves the others.
// With keep, the first job is not started but returned, with its slot
// taken, for the calling send's goroutine to run next: a goroutine of its
// own would start on a small stack and grow it on every attempt.
func (w *Worker) dispatchLocked(now time.Time, keep bool) (kh *hookState, kj *job) {
	blocked := 0
	for !w.closed && w.inflight < w.Concurrency && len(w.ring) > 0 && blocked < len(w.ring) {
		if w.cursor >= len(w.ring) {
			w.cursor = 0
		}
		h := w.ring[w.cursor]
		if len(h.queue) == 0 {
			w.removeFromRingLocked(w.cursor)
			continue
		}
		if !h.breaker.allow(now) || h.inflight >= w.limitLocked(h) {
			w.cursor++
			blocked++
			continue
		}
		blocked = 0
		j := h.queue[0]
		h.queue[0] = nil
		h.queue = h.queue[1:]
		w.queued--
		if len(h.queue) == 0 {
			w.removeFromRingLocked(w.cursor)
		} else {
			w.cursor++
		}
		if now.Add(w.Timeout + leaseMargin).After(j.leaseEnd) {
			w.releaseLocked(1) // too little lease left to send it safely
			continue
		}
		if h.inflight == 0 {
			h.progressAt = now
		}
		h.inflight++
		w.inflight++
		w.Metrics.addInFlight(1)
		w.sends.Add(1)
		if keep && kj == nil {
			kh, kj = h, j
			continue
		}
		go w.run(h, j)
	}
	return kh, kj
}

func (w *Worker) removeFromRingLocked(i int) {
	w.ring[i].inRing = false
	w.ring = slices.Delete(w.ring, i, i+1)
}

// roomLocked is how many more deliveries the worker takes on: up to
// Concurrency in flight and as many waiting. Results waiting to be written
// take no room, so that sending does not wait for the store's latency;
// their number is bounded all the same, by the results channel and the
// writer's batch (see complete), and a store that cannot record results
// stops the claiming once both are full and every slot waits to hand its
// result over.
func (w *Worker) roomLocked() int {
	return 2*w.Concurrency - (w.outstanding - w.unwritten)
}

// wakeForRoomLocked wakes the loop when room, which was before, has just
// grown to a full batch.
func (w *Worker) wakeForRoomLocked(before int) {
	if before < w.BatchSize && w.roomLocked() >= w.BatchSize {
		w.Wake()
	}
}

// handOff passes a result to the writer; from then on its delivery takes
// no room (see roomLocked).
func (w *Worker) handOff(res hookd.AttemptResult) {
	w.results <- res
	w.mu.Lock()
	w.handedOffLocked()
	w.mu.Unlock()
}

// handedOffLocked counts one result passed to the writer.
func (w *Worker) handedOffLocked() {
	before := w.roomLocked()
	w.unwritten++
	w.wakeForRoomLocked(before)
}

// writtenLocked marks n results handed to the writer as written (or given
// up on).
func (w *Worker) writtenLocked(n int) {
	w.unwritten -= n
	w.releaseLocked(n)
}

// releaseLocked marks n claimed deliveries as done with: their results are
// written, or they were let go and will be claimed again when their leases
// run out. It wakes the loop when that makes room for a full batch.
func (w *Worker) releaseLocked(n int) {
	before := w.roomLocked()
	w.outstanding -= n
	w.wakeForRoomLocked(before)
	if w.outstanding == 0 {
		for _, ch := range w.idle {
			close(ch)
		}
		w.idle = nil
	}
}

// run sends one job, hands its result to the writer, frees its slot, and
// goes on with the next job dispatched then, if any.
func (w *Worker) run(h *hookState, j *job) {
	for h != nil {
		h, j = w.runOne(h, j)
	}
}

// runOne sends j, hands its result to the writer, frees h's slot, and
// returns the next job for this goroutine to run, or nil.
func (w *Worker) runOne(h *hookState, j *job) (*hookState, *job) {
	defer w.sends.Done()
	res, x := w.attempt(j.task)
	h.handing.Add(1)
	w.results <- res

	now := w.Now()
	w.mu.Lock()
	w.handedOffLocked()
	wasExcluded := w.excludedLocked(h, now)
	h.inflight--
	h.handing.Add(-1)
	w.inflight--
	w.Metrics.addInFlight(-1)
	h.healthy = res.Status == hookd.DeliverySucceeded
	h.progressAt = now
	if x.status != 0 {
		h.noteLatency(x.latency)
	}
	if h.breaker.record(x.breakerFailure, now) {
		h.probed = false
		w.Logger.Warn("deliver: circuit breaker opened", "webhook", h.id, "cooldown", h.breaker.cooldown)
		n := len(h.queue)
		h.queue = nil
		w.queued -= n
		w.releaseLocked(n)
	}
	if open := h.breaker.state != breakerClosed; open != h.counted {
		h.counted = open
		if open {
			w.Metrics.addBreakersOpen(1)
		} else {
			w.Metrics.addBreakersOpen(-1)
		}
	}
	probe := w.parkLocked(h, now)
	// Wake the loop when this frees a slot of a webhook it skipped.
	wake := wasExcluded && !w.excludedLocked(h, now)
	nh, nj := w.dispatchLocked(now, true)
	if h.inflight == 0 && len(h.queue) == 0 && !h.inRing && h.breaker.idle() {
		w.forgetLocked(h)
	}
	w.mu.Unlock()
	if probe {
		w.probe([]string{h.id})
	}
	if wake {
		w.Wake()
	}
	return nh, nj
}

// attempt sends t once and returns the result to record.
func (w *Worker) attempt(t *hookd.Task) (hookd.AttemptResult, exchange) {
	d, wh := t.Delivery, t.Webhook
	now := w.Now()
	x := w.sender.send(t, w.BodyFormat, w.Timeout, now)
	a := hookd.Attempt{
		Number:       d.AttemptCount + 1,
		StartedAt:    now,
		StatusCode:   x.status,
		Latency:      x.latency,
		ResponseBody: x.body,
		Error:        x.err,
	}
	res := hookd.AttemptResult{DeliveryID: d.ID, WebhookID: wh.ID, Attempt: a}
	w.Metrics.attempt(x.outcome, true, x.latency)
	switch {
	case x.outcome == OutcomeSuccess:
		res.Status = hookd.DeliverySucceeded
		w.Metrics.delivered(now.Add(x.latency).Sub(d.CreatedAt))
	case x.status == http.StatusGone:
		res.Status, res.DisableWebhook = hookd.DeliveryFailed, hookd.DisabledGone
		w.Logger.Warn("deliver: endpoint answered 410 Gone; disabling the webhook", "webhook", wh.ID, "delivery", d.ID)
	case wh.FailingSince != nil && now.Sub(*wh.FailingSince) >= hookd.FailingDisableAfter:
		res.Status, res.DisableWebhook = hookd.DeliveryFailed, hookd.DisabledFailing
		w.Logger.Warn("deliver: no success for too long; disabling the webhook", "webhook", wh.ID, "delivery", d.ID, "failing_since", hookd.FormatTime(*wh.FailingSince), "err", x.err)
	default:
		if next, ok := w.Policy.NextAttempt(d, a, x.retryAfter); ok {
			res.Status, res.NextAttemptAt = hookd.DeliveryPending, next
		} else {
			res.Status = hookd.DeliveryFailed
		}
	}
	if w.Logger.Enabled(context.Background(), slog.LevelDebug) {
		w.Logger.Debug("deliver: attempt", "delivery", d.ID, "webhook", wh.ID, "attempt", a.Number,
			"outcome", x.outcome, "status", x.status, "latency", x.latency, "err", x.err, "result", res.Status)
	}
	return res, x
}

// complete writes results in batches: every FlushInterval, or at once when
// FlushSize are waiting, taking with them whatever else is waiting, up to
// maxBatch. A failed write is retried with backoff, keeping its results
// and taking more, up to maxBatch; then it takes no more, so the channel
// fills, the attempts wait to hand over their results, and claiming stops.
// When the channel closes, what is left is written.
func (w *Worker) complete() {
	maxBatch := 4 * w.FlushSize
	defer close(w.flushed)
	var batch []hookd.AttemptResult
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var backoff time.Duration
	var retryAt time.Time
	flush := func() {
		// Take what else is waiting, up to maxBatch: while the store is
		// slower than the attempts, results pile up in the channel, and
		// one larger transaction costs less per result than several (a
		// commit, and the hand-offs to and from the store's writer).
		for n := len(w.results); n > 0 && len(batch) < maxBatch; n-- {
			batch = append(batch, <-w.results)
		}
		if err := w.write(batch); err != nil {
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			retryAt = time.Now().Add(backoff)
			w.Metrics.completeError()
			w.Logger.Error("deliver: recording attempt results failed", "results", len(batch), "err", err, "retry_in", backoff)
			timer.Reset(backoff)
			return
		}
		backoff, retryAt = 0, time.Time{}
		w.mu.Lock()
		w.writtenLocked(len(batch))
		w.mu.Unlock()
		// The next batch reuses the array (stores keep no results).
		clear(batch)
		batch = batch[:0]
	}
	for {
		if len(batch) == 0 {
			r, ok := <-w.results
			if !ok {
				return
			}
			batch = append(batch, r)
			timer.Reset(w.FlushInterval)
		}
		in := w.results
		if len(batch) >= maxBatch {
			in = nil
		}
		select {
		case r, ok := <-in:
			if !ok {
				timer.Stop()
				w.finalFlush(batch)
				return
			}
			batch = append(batch, r)
			if len(batch) >= w.FlushSize && !time.Now().Before(retryAt) {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

// finalFlush writes the last results at Close, trying for up to 10 s.
func (w *Worker) finalFlush(batch []hookd.AttemptResult) {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 50 * time.Millisecond; len(batch) > 0; wait *= 2 {
		err := w.write(batch)
		if err == nil {
			break
		}
		w.Metrics.completeError()
		if time.Now().Add(wait).After(deadline) {
			w.Logger.Error("deliver: results lost at close; their deliveries will be retried when their leases run out", "results", len(batch), "err", err)
			break
		}
		time.Sleep(wait)
	}
	w.mu.Lock()
	w.writtenLocked(len(batch))
	w.mu.Unlock()
}

func (w *Worker) write(batch []hookd.AttemptResult) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Store.CompleteDeliveries(ctx, batch); err != nil {
		return fmt.Errorf("complete deliveries: %w", err)
	}
	return nil
}
