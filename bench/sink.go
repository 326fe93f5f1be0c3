package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/signature"
)

// Endpoint behaviours, the third segment of a sink URL path.
const (
	// KindOK answers 200 after verifying the signature.
	KindOK = 'o'
	// KindFail answers 500 at once.
	KindFail = 'f'
	// KindHang holds the request until the sender gives up, the run is
	// released, or Sink.HangLimit passes, then answers 503.
	KindHang = 'h'
)

// maxRuns bounds the run numbers a Sink tracks at once.
const maxRuns = 1024

// maxBody bounds the body a sink reads; larger ones are answered 413.
const maxBody = 1 << 20

// Sink is the receiver deliveries go to: an HTTP server on 127.0.0.1 that
// verifies X-Argyle-Signature, records when each delivery arrives and how
// long after its publish, and counts duplicates.
//
// Deliveries are addressed to /r/RUN/KIND/HOOK, where RUN is a Tally's run
// number (see Begin), KIND one of KindOK, KindFail or KindHang, and HOOK the
// webhook's index within the run. The body's data carries "bench_seq" (the
// event's number within the run) and "bench_ts" (its publish time in unix
// nanoseconds), as written by AppendData.
type Sink struct {
	// Secret is the webhook secret every delivery is signed with.
	Secret string
	// HangLimit bounds how long a KindHang endpoint holds a request.
	// Defaults to 60s.
	HangLimit time.Duration

	// Stray counts requests to an unknown run or path.
	Stray atomic.Int64

	ln     net.Listener
	srv    *http.Server
	runs   [maxRuns]atomic.Pointer[Tally]
	closed chan struct{}
	bufs   sync.Pool
}

// NewSink returns a Sink that expects deliveries signed with secret.
func NewSink(secret string) *Sink {
	return &Sink{Secret: secret, HangLimit: 60 * time.Second, closed: make(chan struct{})}
}

// Open starts the sink on a free port of 127.0.0.1.
func (s *Sink) Open() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sink listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// URL returns the sink's base URL, such as "http://127.0.0.1:40123".
func (s *Sink) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// HookURL returns the URL of webhook hook of run with behaviour kind.
func (s *Sink) HookURL(run int, kind byte, hook int) string {
	return fmt.Sprintf("%s/r/%d/%c/%d", s.URL(), run, kind, hook)
}

// Close releases hanging requests and stops the sink.
func (s *Sink) Close() error {
	if s.srv == nil {
		return nil
	}
	close(s.closed)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("sink shutdown: %w", err)
		}
	}
	return nil
}

// Begin starts counting deliveries for run: hooks webhooks, and expected
// deliveries to its KindOK endpoints, whose keys (seq*hooks + hook) must lie
// below keys. It replaces any earlier tally of run.
func (s *Sink) Begin(run, hooks int, keys, expected int64) *Tally {
	if run < 0 || run >= maxRuns {
		panic(fmt.Sprintf("bench: run %d out of range", run))
	}
	t := &Tally{
		Hooks:    hooks,
		Expected: expected,
		Start:    time.Now(),
		seen:     make([]atomic.Uint64, (keys+63)/64),
		keys:     keys,
		rec:      NewRecorder(int(min(expected, 4_000_000))),
		done:     make(chan struct{}),
		release:  make(chan struct{}),
	}
	if expected <= 0 {
		close(t.done)
	}
	s.runs[run].Store(t)
	return t
}

// End stops counting run and releases its hanging requests.
func (s *Sink) End(run int) {
	if t := s.runs[run].Swap(nil); t != nil {
		t.Release()
	}
}

// ServeHTTP handles one delivery.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	run, kind, hook, ok := parseHookPath(r.URL.Path)
	var t *Tally
	if ok {
		t = s.runs[run].Load()
	}
	if t == nil || r.Method != http.MethodPost {
		s.Stray.Add(1)
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
		w.WriteHeader(http.StatusNotFound)
		return
	}
	switch kind {
	case KindFail:
		t.Failed.Add(1)
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
		w.WriteHeader(http.StatusInternalServerError)
		return
	case KindHang:
		t.Hung.Add(1)
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
		timer := time.NewTimer(s.HangLimit)
		defer timer.Stop()
		select {
		case <-r.Context().Done():
		case <-t.release:
		case <-s.closed:
		case <-timer.C:
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}

	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 4096)
		bp = &b
	}
	defer s.bufs.Put(bp)
	body, err := readBody((*bp)[:0], r)
	*bp = body[:0]
	arrived := time.Now()
	if err != nil {
		t.BadRequests.Add(1)
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	if !signature.VerifyArgyle(s.Secret, body, r.Header.Get(signature.ArgyleHeader)) {
		t.BadSignatures.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if r.Header.Get(signature.IDHeader) == "" || r.Header.Get(signature.TimestampHeader) == "" {
		t.BadRequests.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	seq, ok1 := findInt(body, `"bench_seq":`)
	ts, ok2 := findInt(body, `"bench_ts":`)
	if !ok1 || !ok2 {
		t.BadRequests.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	t.record(seq*int64(t.Hooks)+int64(hook), arrived, ts)
	w.WriteHeader(http.StatusOK)
}

// readBody reads r's body into dst, up to maxBody bytes.
func readBody(dst []byte, r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > maxBody {
		return dst, fmt.Errorf("body of %d bytes", n)
	} else if n > 0 && int64(cap(dst)) < n {
		dst = make([]byte, 0, n)
	}
	for {
		if len(dst) == cap(dst) {
			if len(dst) >= maxBody {
				return dst, fmt.Errorf("body over %d bytes", maxBody)
			}
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Body.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// parseHookPath parses "/r/RUN/KIND/HOOK" without allocating.
func parseHookPath(p string) (run int, kind byte, hook int, ok bool) {
	if len(p) < 8 || p[:3] != "/r/" {
		return 0, 0, 0, false
	}
	p = p[3:]
	run, p, ok = leadingInt(p)
	if !ok || run >= maxRuns || len(p) < 4 || p[0] != '/' || p[2] != '/' {
		return 0, 0, 0, false
	}
	kind = p[1]
	hook, rest, ok := leadingInt(p[3:])
	if !ok || rest != "" {
		return 0, 0, 0, false
	}
	switch kind {
	case KindOK, KindFail, KindHang:
		return run, kind, hook, true
	}
	return 0, 0, 0, false
}

func leadingInt(s string) (int, string, bool) {
	n, i := 0, 0
	for ; i < len(s) && i < 9 && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, s[i:], i > 0
}

// findInt returns the integer after key in body, skipping spaces, as in
// `"bench_ts": 1700000000000000000`.
func findInt(body []byte, key string) (int64, bool) {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return 0, false
	}
	b := body[i+len(key):]
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	j := 0
	for j < len(b) && j < 19 && '0' <= b[j] && b[j] <= '9' {
		j++
	}
	if j == 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return v, err == nil
}

// Tally counts one run's deliveries at the sink.
type Tally struct {
	// Hooks is how many webhooks the run has; a delivery's key is
	// seq*Hooks + hook.
	Hooks int
	// Expected is how many distinct deliveries to KindOK endpoints the run
	// waits for.
	Expected int64
	// Start is when the run began; samples are timed from it.
	Start time.Time

	// Received counts distinct deliveries to KindOK endpoints.
	Received atomic.Int64
	// Duplicates counts repeated deliveries of a key already received.
	Duplicates atomic.Int64
	// OutOfRange counts deliveries whose key is not below the run's keys.
	OutOfRange atomic.Int64
	// BadSignatures counts deliveries whose X-Argyle-Signature did not
	// verify; BadRequests those missing headers or bench fields.
	BadSignatures, BadRequests atomic.Int64
	// Failed and Hung count requests to KindFail and KindHang endpoints.
	Failed, Hung atomic.Int64

	// First and Last are the unix nanoseconds of the first and last
	// distinct delivery.
	First, Last atomic.Int64

	seen        []atomic.Uint64
	keys        int64
	rec         *Recorder
	done        chan struct{}
	release     chan struct{}
	releaseOnce sync.Once
	doneOnce    sync.Once
}

func (t *Tally) record(key int64, arrived time.Time, publishedNs int64) {
	if key < 0 || key >= t.keys {
		t.OutOfRange.Add(1)
		return
	}
	bit := uint64(1) << (key & 63)
	if t.seen[key>>6].Or(bit)&bit != 0 {
		t.Duplicates.Add(1)
		return
	}
	now := arrived.UnixNano()
	t.First.CompareAndSwap(0, now)
	for {
		last := t.Last.Load()
		if now <= last || t.Last.CompareAndSwap(last, now) {
			break
		}
	}
	t.rec.Add(Sample{At: arrived.Sub(t.Start).Nanoseconds(), Latency: now - publishedNs})
	if t.Received.Add(1) == t.Expected {
		t.doneOnce.Do(func() { close(t.done) })
	}
}

// Done is closed once Expected distinct deliveries have arrived.
func (t *Tally) Done() <-chan struct{} { return t.done }

// Release lets the run's hanging requests answer.
func (t *Tally) Release() { t.releaseOnce.Do(func() { close(t.release) }) }

// Samples returns the recorded deliveries.
func (t *Tally) Samples() []Sample { return t.rec.Samples() }

// Errors returns the counts that should be zero in a correct run, by name,
// leaving out the zero ones.
func (t *Tally) Errors() map[string]int64 {
	m := map[string]int64{}
	for name, v := range map[string]int64{
		"duplicates":     t.Duplicates.Load(),
		"out_of_range":   t.OutOfRange.Load(),
		"bad_signatures": t.BadSignatures.Load(),
		"bad_requests":   t.BadRequests.Load(),
	} {
		if v != 0 {
			m[name] = v
		}
	}
	return m
}

// Wait waits until the tally is done, ctx ends, no delivery arrives for
// stall, or limit passes. It returns an error naming how many arrived when
// it stops early.
func (t *Tally) Wait(ctx context.Context, stall, limit time.Duration) error {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := t.Received.Load(), time.Now()
	for {
		select {
		case <-t.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("wait for deliveries: %w (%d of %d arrived)", ctx.Err(), t.Received.Load(), t.Expected)
		case <-deadline.C:
			return fmt.Errorf("wait for deliveries: gave up after %s (%d of %d arrived)", limit, t.Received.Load(), t.Expected)
		case <-tick.C:
			if n := t.Received.Load(); n != last {
				last, lastChange = n, time.Now()
			} else if time.Since(lastChange) > stall {
				return fmt.Errorf("wait for deliveries: none for %s (%d of %d arrived)", stall, n, t.Expected)
			}
		}
	}
}
