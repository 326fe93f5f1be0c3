package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/bench"
	"github.com/hookd/hookd/signature"
)

func TestAppendData(t *testing.T) {
	t.Parallel()
	// The sink reads bench fields from compact and indented bodies alike.
	data := bench.AppendData(nil, 42, 1700000000123456789)
	compact := hookd.AppendEnvelope(nil, "activities.added", "n", data, nil, false)
	indented := hookd.AppendEnvelope(nil, "activities.added", "n", data, nil, true)
	for _, body := range [][]byte{compact, indented} {
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("envelope is not JSON: %v\n%s", err, body)
		}
	}
	if !bytes.Contains(indented, []byte(`"bench_seq": 42`)) {
		t.Fatalf("indented body lacks spaced bench_seq:\n%s", indented)
	}
}

// mustOpenSink starts a sink that the test closes.
func mustOpenSink(tb testing.TB, secret string) *bench.Sink {
	tb.Helper()
	s := bench.NewSink(secret)
	s.HangLimit = 5 * time.Second
	if err := s.Open(); err != nil {
		tb.Fatalf("open sink: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func post(tb testing.TB, url string, body []byte, header map[string]string) int {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("post %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestSink(t *testing.T) {
	t.Parallel()
	const secret = "sink-test-secret"
	s := mustOpenSink(t, secret)
	const run, hooks = 7, 3
	tally := s.Begin(run, hooks, 10*hooks, 4)

	ctx := context.Background()
	sender := &bench.Sender{Secret: secret, Concurrency: 2}
	defer sender.Close()
	published := time.Now().Add(-5 * time.Millisecond).UnixNano()
	// Four distinct deliveries: events 0 and 1 to hooks 0 and 2.
	for _, d := range []struct {
		seq  int64
		hook int
	}{{0, 0}, {0, 2}, {1, 0}, {1, 2}} {
		if err := sender.Send(ctx, s.HookURL(run, bench.KindOK, d.hook), "activities.added", "n", d.seq, published); err != nil {
			t.Fatalf("send %v: %v", d, err)
		}
	}
	select {
	case <-tally.Done():
	default:
		t.Fatalf("tally not done after 4 of 4 deliveries; received %d", tally.Received.Load())
	}

	// A repeat is counted as a duplicate, not a delivery.
	if err := sender.Send(ctx, s.HookURL(run, bench.KindOK, 2), "activities.added", "n", 1, published); err != nil {
		t.Fatalf("send duplicate: %v", err)
	}
	// A bad signature is refused.
	body := hookd.AppendEnvelope(nil, "activities.added", "n", bench.AppendData(nil, 5, published), nil, false)
	if got, want := post(t, s.HookURL(run, bench.KindOK, 1), body, map[string]string{
		signature.ArgyleHeader:    signature.Argyle("wrong secret", body),
		signature.IDHeader:        hookd.NewID(),
		signature.TimestampHeader: "1700000000",
	}), http.StatusBadRequest; got != want {
		t.Errorf("bad signature answered %d, want %d", got, want)
	}
	// Failing endpoints answer 500; unknown runs 404.
	if got, want := post(t, s.HookURL(run, bench.KindFail, 1), body, nil), http.StatusInternalServerError; got != want {
		t.Errorf("fail endpoint answered %d, want %d", got, want)
	}
	if got, want := post(t, s.HookURL(run+1, bench.KindOK, 1), body, nil), http.StatusNotFound; got != want {
		t.Errorf("unknown run answered %d, want %d", got, want)
	}
	// A hanging endpoint answers once its run is released.
	hung := make(chan int, 1)
	go func() { hung <- post(t, s.HookURL(run, bench.KindHang, 1), body, nil) }()
	for i := 0; tally.Hung.Load() == 0 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	tally.Release()
	select {
	case code := <-hung:
		if code != http.StatusServiceUnavailable {
			t.Errorf("released hang answered %d, want 503", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hanging request not released")
	}

	if got, want := tally.Received.Load(), int64(4); got != want {
		t.Errorf("received %d, want %d", got, want)
	}
	if got, want := tally.Duplicates.Load(), int64(1); got != want {
		t.Errorf("duplicates %d, want %d", got, want)
	}
	if got, want := tally.BadSignatures.Load(), int64(1); got != want {
		t.Errorf("bad signatures %d, want %d", got, want)
	}
	if got, want := tally.Failed.Load(), int64(1); got != want {
		t.Errorf("failed %d, want %d", got, want)
	}
	if got, want := s.Stray.Load(), int64(1); got != want {
		t.Errorf("stray %d, want %d", got, want)
	}
	samples := tally.Samples()
	if got, want := len(samples), 4; got != want {
		t.Fatalf("samples %d, want %d", got, want)
	}
	for _, smp := range samples {
		if smp.Latency < (5 * time.Millisecond).Nanoseconds() {
			t.Errorf("latency %dns, want at least the 5ms since publish", smp.Latency)
		}
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	ns := make([]int64, 1000)
	for i := range ns {
		ns[len(ns)-1-i] = int64(i+1) * 1e6 // 1..1000 ms, reversed
	}
	got := bench.Summarize(ns)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", got.P50, 500}, {"p99", got.P99, 990}, {"p99.9", got.P999, 999},
		{"max", got.Max, 1000}, {"min", got.Min, 1}, {"mean", got.Mean, 500.5},
	} {
		if c.got != c.want {
			t.Errorf("%s got %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := bench.Summarize(nil); got.Count != 0 || got.P99 != 0 {
		t.Errorf("Summarize(nil) got %+v, want zero", got)
	}
}

func TestChartSVG(t *testing.T) {
	t.Parallel()
	c := &bench.Chart{Title: "latency <&> test", Panels: []bench.Panel{
		{Title: "ms", YLabel: "ms", LogY: true, Threshold: 25, Series: []bench.Series{
			{Name: "p50", Points: []bench.Point{{0.5, 1.2}, {1.5, 3}, {2.5, 0.8}}},
			{Name: "p99", Points: []bench.Point{{0.5, 12}, {1.5, 30}, {2.5, 8}}},
		}},
		{Title: "rate", YLabel: "/s", Series: []bench.Series{{Name: "rate", Points: []bench.Point{{0.5, 900}, {1.5, 1100}}}}},
		{Title: "empty", YLabel: "x"},
	}}
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	polylines := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if got, want := polylines, 3; got != want {
		t.Errorf("polylines %d, want %d", got, want)
	}
}

func readReport(tb testing.TB, dir string) bench.Report {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		tb.Fatalf("read results.json: %v", err)
	}
	var r bench.Report
	if err := json.Unmarshal(b, &r); err != nil {
		tb.Fatalf("parse results.json: %v", err)
	}
	return r
}

// checkResults fails the test for a failed scenario, an error count, or a
// headline metric that is not positive.
func checkResults(tb testing.TB, results []*bench.Result) {
	tb.Helper()
	for _, r := range results {
		if r.Err != "" {
			tb.Errorf("%s failed: %s", r.Scenario, r.Err)
		}
		for name, n := range r.Errors {
			tb.Errorf("%s: %s = %d, want 0", r.Scenario, name, n)
		}
		for _, m := range r.Metrics {
			if m.Headline && m.Value <= 0 {
				tb.Errorf("%s: %s = %v, want > 0", r.Scenario, m.Name, m.Value)
			}
		}
	}
}

func TestRunCeilingSmoke(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	var stdout bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results, err := bench.Run(ctx, bench.Options{Scenarios: []string{"ceiling"}, Smoke: true, Out: out, Stdout: &stdout})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	if got, want := len(results), 1; got != want {
		t.Fatalf("results %d, want %d", got, want)
	}
	checkResults(t, results)
	if m := results[0].Metric("ceiling deliveries/s"); m == nil || m.Value <= 0 {
		t.Errorf("ceiling deliveries/s = %+v, want > 0", m)
	}
	if !strings.Contains(stdout.String(), "== summary") {
		t.Errorf("output lacks the summary:\n%s", stdout.String())
	}
	if r := readReport(t, out); len(r.Results) != 1 || r.Machine.CPUs == 0 {
		t.Errorf("results.json got %d results and %d CPUs, want 1 and > 0", len(r.Results), r.Machine.CPUs)
	}
	if _, err := os.Stat(filepath.Join(out, "ceiling.json")); err != nil {
		t.Errorf("ceiling.json: %v", err)
	}
}

// mustBuildHookd builds cmd/hookd into a temporary directory.
func mustBuildHookd(tb testing.TB) string {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin := filepath.Join(tb.TempDir(), "hookd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/hookd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build hookd: %v\n%s", err, out)
	}
	return bin
}

// TestRunSmoke runs every scenario at tiny sizes against a hookd child
// process: it proves the tool works end to end, and measures nothing.
func TestRunSmoke(t *testing.T) {
	t.Parallel()
	bin := mustBuildHookd(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	results, err := bench.Run(ctx, bench.Options{Smoke: true, Hookd: bin, Out: out, Profile: true, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	if got, want := len(results), len(bench.Scenarios); got != want {
		t.Fatalf("results %d, want %d", got, want)
	}
	checkResults(t, results)
	for _, name := range []string{"hookd CPU per delivery, 1 webhook", "bench CPU per delivery (publishers and sink), 100 webhooks"} {
		if m := results[1].Metric(name); m == nil || m.Value < 0 {
			t.Errorf("throughput %q = %+v, want a value >= 0", name, m)
		}
	}
	// Tiny sizes say nothing about the targets: a smoke run names them
	// without a verdict, and says so.
	targets := 0
	for _, r := range results {
		for _, m := range r.Metrics {
			if m.Target != "" {
				targets++
			}
			if m.Met != nil {
				t.Errorf("%s: %s judged (%v) in a smoke run", r.Scenario, m.Name, *m.Met)
			}
		}
	}
	if targets == 0 {
		t.Error("no metric names a target")
	}
	if out := stdout.String(); !strings.HasPrefix(out, "smoke run:") || !strings.Contains(out, "not judged") || strings.Contains(out, "MISSED") {
		t.Errorf("output does not say the smoke run judges nothing:\n%s", out)
	}
	for _, f := range []string{"throughput.json", "latency.svg", "backlog.svg", "throughput-1-cpu.pprof", "throughput-100-allocs.pprof", "backlog-cpu.pprof"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", stdout.String())
		if b, err := os.ReadFile(filepath.Join(out, "hookd.log")); err == nil {
			t.Logf("hookd.log (tail):\n%s", tail(b, 3000))
		}
	}
}

// TestRunTargetSmoke measures a hookd that is already running (--target),
// which the bench neither starts nor stops.
func TestRunTargetSmoke(t *testing.T) {
	t.Parallel()
	bin := mustBuildHookd(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "hookd.db")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id, secret, err := bench.CreateKey(ctx, bin, db, "target")
	if err != nil {
		t.Fatal(err)
	}
	p, err := bench.StartHookd(ctx, bench.LaunchOptions{Bin: bin, DB: db, LogPath: filepath.Join(dir, "hookd.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if got := p.Engine(); !strings.HasPrefix(got, "sqlite: SQLite 3.") {
		t.Errorf("Engine() = %q, want the banner's sqlite: SQLite 3.x...", got)
	}
	// A target that does not answer, refuses the key, or may not send to
	// loopback addresses stops the run before any scenario.
	strictDB := filepath.Join(dir, "strict.db")
	strictID, strictSecret, err := bench.CreateKey(ctx, bin, strictDB, "strict")
	if err != nil {
		t.Fatal(err)
	}
	strict, err := bench.StartHookd(ctx, bench.LaunchOptions{Bin: bin, DB: strictDB, LogPath: filepath.Join(dir, "strict.log"), Args: []string{"--allow-private=false"}})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Stop()
	for _, c := range []struct{ url, id, secret, want string }{
		{"http://127.0.0.1:1", id, secret, "connection refused"},
		{p.URL, id, "wrong", "answered 401"},
		{strict.URL, strictID, strictSecret, "--allow-private"},
	} {
		results, err := bench.Run(ctx, bench.Options{
			Scenarios: []string{"throughput"}, Smoke: true, Out: t.TempDir(),
			Target: c.url, APIKeyID: c.id, APIKeySecret: c.secret,
		})
		if err == nil || !strings.Contains(err.Error(), "--target "+c.url) || !strings.Contains(err.Error(), c.want) || len(results) != 0 {
			t.Errorf("target %s, secret %q: %d results, error %v; want none and an error with %q", c.url, c.secret, len(results), err, c.want)
		}
	}

	var stdout bytes.Buffer
	results, err := bench.Run(ctx, bench.Options{
		Scenarios: []string{"throughput", "backlog"}, Smoke: true, Out: t.TempDir(), Stdout: &stdout,
		Target: p.URL, APIKeyID: id, APIKeySecret: secret,
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	checkResults(t, results)
	if got, want := len(results), 3; got != want {
		t.Fatalf("results %d, want %d (ceiling, throughput, backlog)", got, want)
	}
	if m := results[1].Metric("deliveries/s, 1 webhook"); m == nil || m.Value <= 0 {
		t.Errorf("deliveries/s, 1 webhook = %+v, want > 0", m)
	}
	if got := results[2].Notes; len(got) == 0 || !strings.Contains(got[0], "skipped") {
		t.Errorf("backlog notes %q, want it skipped with --target", got)
	}
	for _, name := range []string{"hookd peak RSS, 1 webhook", "hookd CPU per delivery, 1 webhook"} {
		if m := results[1].Metric(name); m != nil {
			t.Errorf("%q reported for a hookd the bench did not start: %+v", name, m)
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
