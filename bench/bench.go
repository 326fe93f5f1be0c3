// Package bench is hookd's load tool, behind `hookd bench`: a sink that
// receives deliveries on 127.0.0.1, verifies their X-Argyle-Signature and
// timestamps their arrival; a bare HTTP sender that signs and posts the same
// deliveries with no queue (the ceiling of the machine); a launcher that
// starts a hookd child process on a temporary database; and the scenarios
// that measure hookd against that ceiling in the same run (throughput,
// latency, fan-out, ingest, isolation, backlog).
//
// Every scenario prints a table and writes DIR/SCENARIO.json; the latency
// and backlog scenarios also write SVG charts of latency over time, and
// DIR/results.json gathers everything with a description of the machine.
// All traffic stays on loopback, and every loop is bounded in count and time.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Scenario names, in the order "all" runs them. The ceiling always runs
// first, since every other scenario is compared with it.
const (
	ScenarioCeiling    = "ceiling"
	ScenarioThroughput = "throughput"
	ScenarioLatency    = "latency"
	ScenarioFanout     = "fanout"
	ScenarioIngest     = "ingest"
	ScenarioIsolation  = "isolation"
	ScenarioBacklog    = "backlog"
)

// Scenarios lists every scenario in the order "all" runs them.
var Scenarios = []string{
	ScenarioCeiling, ScenarioThroughput, ScenarioLatency, ScenarioFanout,
	ScenarioIngest, ScenarioIsolation, ScenarioBacklog,
}

// smokeNote heads and ends a smoke run's output.
const smokeNote = "smoke run: tiny sizes, a check that the tool works end to end; its numbers are not measurements, and no target is judged (run without --smoke to measure)"

// Options configures a bench run. Zero fields take the defaults of a full
// run, or of a smoke run when Smoke is set (see WithDefaults).
type Options struct {
	// Scenarios to run; empty or "all" runs every one.
	Scenarios []string
	// Events is how many deliveries each throughput variant and the
	// isolation run make. Defaults to 100,000 (smoke: 200).
	Events int
	// Rate is the latency scenario's offered load in events per second.
	// Defaults to 1,000 (smoke: 100).
	Rate int
	// Duration is how long the latency scenario offers load. Defaults to
	// 30s (smoke: 2s).
	Duration time.Duration
	// IngestDuration is how long each ingest mode publishes. Defaults to
	// 10s (smoke: 1s).
	IngestDuration time.Duration
	// Fanout is how many webhooks one event fans out to in the fan-out
	// scenario, FanoutRounds how many such events it publishes one after
	// the other. Default 1,000 and 5 (smoke: 20 and 1).
	Fanout, FanoutRounds int
	// Backlog is how many pending deliveries the backlog scenario drains,
	// spread over BacklogHooks webhooks. Default 1,000,000 over 100
	// (smoke: 1,000 over 10).
	Backlog, BacklogHooks int
	// Concurrency is how many requests the single-request publishers and
	// the bare sender keep in flight. Defaults to 64.
	Concurrency int
	// Publishers is how many batch publishers run at once; BatchSize the
	// events in each batch. Default 4 and 100.
	Publishers, BatchSize int

	// Out is the directory for JSON, SVG and profiles. Defaults to
	// "bench-out".
	Out string
	// Hookd is the hookd binary to start. Defaults to the running
	// executable.
	Hookd string
	// DB is the database of the hookd started: empty for SQLite in a
	// temporary directory, or a postgres:// URL.
	DB string
	// Nodes is how many hookd processes share DB (a postgres:// URL when
	// more than 1): the first serves the API and delivers, the others run
	// --role worker. Default 1.
	Nodes int
	// Target, when set, is the URL of a running hookd to measure instead
	// of starting one; APIKeyID and APIKeySecret authenticate to it. The
	// backlog scenario needs its own hookd and is skipped then.
	Target, APIKeyID, APIKeySecret string
	// Profile takes CPU and allocation profiles, for ProfileSeconds each
	// (default 10), of the hookd started during each throughput run and the
	// half-bad isolation run, and of the hookd draining the backlog.
	Profile        bool
	ProfileSeconds int
	// Smoke makes every default tiny, for a quick check that the tool works;
	// its results keep their targets but no verdict (see Result.unjudge).
	Smoke bool

	// Stdout receives tables and the summary; Stderr the live progress
	// line. Default io.Discard.
	Stdout, Stderr io.Writer
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	def := func(p *int, full, smoke int) {
		if *p <= 0 {
			*p = full
			if o.Smoke {
				*p = smoke
			}
		}
	}
	defDur := func(p *time.Duration, full, smoke time.Duration) {
		if *p <= 0 {
			*p = full
			if o.Smoke {
				*p = smoke
			}
		}
	}
	def(&o.Events, 100_000, 200)
	def(&o.Rate, 1000, 100)
	defDur(&o.Duration, 30*time.Second, 2*time.Second)
	defDur(&o.IngestDuration, 10*time.Second, time.Second)
	def(&o.Fanout, 1000, 20)
	def(&o.FanoutRounds, 5, 1)
	def(&o.Backlog, 1_000_000, 1000)
	def(&o.BacklogHooks, 100, 10)
	def(&o.Concurrency, 64, 16)
	def(&o.Publishers, 4, 2)
	def(&o.BatchSize, 100, 50)
	def(&o.ProfileSeconds, 10, 2)
	if o.Out == "" {
		o.Out = "bench-out"
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if len(o.Scenarios) == 0 || slices.Contains(o.Scenarios, "all") {
		o.Scenarios = slices.Clone(Scenarios)
	}
	return o
}

// Report is everything a run measured, as written to results.json.
type Report struct {
	Machine Machine   `json:"machine"`
	Options any       `json:"options"`
	Started time.Time `json:"started"`
	Results []*Result `json:"results"`
}

// Machine describes where the numbers were measured.
type Machine struct {
	CPU        string  `json:"cpu"`
	CPUs       int     `json:"cpus"`
	MemoryMB   int64   `json:"memory_mb"`
	Kernel     string  `json:"kernel"`
	GoVersion  string  `json:"go_version"`
	LoadBefore string  `json:"loadavg_before"`
	LoadAfter  string  `json:"loadavg_after"`
	Hookd      string  `json:"hookd"`
	Elapsed    float64 `json:"elapsed_s"`
}

// env is the state shared by a run's scenarios.
type env struct {
	o      Options
	secret string
	sink   *Sink
	proc   *Process   // nil with Target
	extra  []*Process // worker-only nodes beside proc (Options.Nodes)
	procs  []*Process // every hookd started, for CPU accounting
	client *Client
	tmp    string
	prog   *progress

	nextRun int
	ceiling ceiling
}

// ceiling is what the bare sender achieved in this run.
type ceiling struct {
	rate          float64 // deliveries/s
	p50, p99      float64 // ms, open loop at Options.Rate
	openLoop      []Sample
	openLoopStart time.Time
}

// Run runs the scenarios o asks for and returns their results. It returns
// an error only when the run cannot start; a scenario that fails records
// its error in its Result.
func Run(ctx context.Context, o Options) ([]*Result, error) {
	o = o.WithDefaults()
	if o.Nodes < 1 {
		o.Nodes = 1
	}
	if o.Nodes > 1 && !strings.HasPrefix(o.DB, "postgres://") && !strings.HasPrefix(o.DB, "postgresql://") {
		return nil, errors.New("--nodes above 1 needs --db postgres://…: nodes share one PostgreSQL database")
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return nil, fmt.Errorf("unknown scenario %q (want all or one of %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	start := time.Now()
	report := Report{Machine: describeMachine(), Options: o.public(), Started: start.UTC()}

	e := &env{o: o, secret: "bench_" + randomHex(16)}
	tmp, err := os.MkdirTemp("", "hookd-bench-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	e.tmp = tmp
	defer os.RemoveAll(tmp)

	e.sink = NewSink(e.secret)
	if err := e.sink.Open(); err != nil {
		return nil, err
	}
	defer e.sink.Close()

	if o.Target != "" {
		if o.APIKeyID == "" || o.APIKeySecret == "" {
			return nil, errors.New("--target needs --api-key-id and --api-key-secret")
		}
		e.client = NewClient(o.Target, o.APIKeyID, o.APIKeySecret, o.Concurrency)
		report.Machine.Hookd = "running at " + o.Target
		if needsHookd(o.Scenarios) {
			// Fail before the ceiling's minute, not in every scenario after it.
			if err := e.preflight(ctx); err != nil {
				return nil, fmt.Errorf("--target %s: %w", o.Target, err)
			}
		}
	} else if needsHookd(o.Scenarios) {
		if err := e.startMain(ctx); err != nil {
			return nil, err
		}
		defer e.proc.Stop()
		defer func() {
			for _, p := range e.extra {
				p.Stop()
			}
		}()
		report.Machine.Hookd = fmt.Sprintf("%s serve (pid %d), db %s", e.proc.Bin, e.proc.PID(), redact(e.proc.DB))
		if engine := e.proc.Engine(); engine != "" {
			report.Machine.Hookd += " (" + engine + ")"
		}
		if len(e.extra) > 0 {
			report.Machine.Hookd += fmt.Sprintf(", plus %d --role worker nodes on the same database", len(e.extra))
		}
	}
	if e.client != nil {
		defer e.client.Close()
	}

	e.prog = newProgress(o.Stderr)
	defer e.prog.close()

	names := o.Scenarios
	if !slices.Contains(names, ScenarioCeiling) {
		names = append([]string{ScenarioCeiling}, names...)
	}
	if o.Smoke {
		fmt.Fprintln(o.Stdout, smokeNote)
	}
	var results []*Result
	for _, name := range orderScenarios(names) {
		if ctx.Err() != nil {
			break
		}
		r := e.run(ctx, name)
		PrintTable(o.Stdout, r)
		if err := writeJSON(o.Out, name+".json", r); err != nil {
			r.Notef("%v", err)
		}
		results = append(results, r)
	}
	report.Results = results
	report.Machine.LoadAfter = readLoad()
	report.Machine.Elapsed = round(time.Since(start).Seconds())
	if err := writeJSON(o.Out, "results.json", report); err != nil {
		return results, err
	}
	PrintSummary(o.Stdout, results)
	if o.Smoke {
		fmt.Fprintln(o.Stdout, smokeNote)
	}
	fmt.Fprintf(o.Stdout, "results: %s\n", filepath.Join(o.Out, "results.json"))
	return results, ctx.Err()
}

// preflight checks that the hookd at --target answers, takes the key, and
// may send to the bench's sink on 127.0.0.1.
func (e *env) preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.client.Check(ctx); err != nil {
		return err
	}
	url := e.sink.URL() + "/preflight"
	id, err := e.client.CreateWebhook(ctx, "bench preflight", url, []string{"accounts.added"}, e.secret)
	if err != nil {
		return fmt.Errorf("a webhook to the bench's sink, %s: %w (a hookd sends to loopback addresses only when started with --allow-private)", url, err)
	}
	return e.client.DeleteWebhook(ctx, id)
}

func needsHookd(names []string) bool {
	for _, n := range names {
		if n != ScenarioCeiling {
			return true
		}
	}
	return false
}

func orderScenarios(names []string) []string {
	var out []string
	for _, s := range Scenarios {
		if slices.Contains(names, s) {
			out = append(out, s)
		}
	}
	return out
}

// startMain starts the hookd that every scenario but backlog measures.
func (e *env) startMain(ctx context.Context) error {
	bin := e.o.Hookd
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find hookd binary: %w (use --hookd)", err)
		}
		bin = exe
	}
	db := e.o.DB
	if db == "" {
		db = filepath.Join(e.tmp, "main", "hookd.db")
		if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
			return fmt.Errorf("create database directory: %w", err)
		}
	}
	e.o.Hookd = bin
	id, secret, err := CreateKey(ctx, bin, db, "bench-"+randomHex(4))
	if err != nil {
		return err
	}
	p, err := e.launch(ctx, LaunchOptions{Bin: bin, DB: db, LogPath: filepath.Join(e.o.Out, "hookd.log"), Pprof: e.o.Profile})
	if err != nil {
		return err
	}
	p.KeyID, p.KeySecret = id, secret
	e.proc = p
	e.client = NewClient(p.URL, id, secret, e.o.Concurrency)
	for i := 1; i < e.o.Nodes; i++ {
		w, err := e.launch(ctx, LaunchOptions{Bin: bin, DB: db, Role: "worker", LogPath: filepath.Join(e.o.Out, fmt.Sprintf("hookd-node%d.log", i+1))})
		if err != nil {
			return fmt.Errorf("start node %d: %w", i+1, err)
		}
		e.extra = append(e.extra, w)
	}
	return nil
}

// launch starts a hookd and remembers it for CPU accounting.
func (e *env) launch(ctx context.Context, o LaunchOptions) (*Process, error) {
	p, err := StartHookd(ctx, o)
	if err == nil {
		e.procs = append(e.procs, p)
	}
	return p, err
}

// cpuSnapshot is the CPU time used so far, in clock ticks.
type cpuSnapshot struct {
	busy, total, hookd, self int64
}

// minus returns the ticks spent from a to s.
func (s cpuSnapshot) minus(a cpuSnapshot) cpuSnapshot {
	return cpuSnapshot{busy: s.busy - a.busy, total: s.total - a.total, hookd: s.hookd - a.hookd, self: s.self - a.self}
}

// plus adds the ticks of two spans.
func (s cpuSnapshot) plus(b cpuSnapshot) cpuSnapshot {
	return cpuSnapshot{busy: s.busy + b.busy, total: s.total + b.total, hookd: s.hookd + b.hookd, self: s.self + b.self}
}

func (e *env) cpuSnapshot() cpuSnapshot {
	var s cpuSnapshot
	s.busy, s.total, _ = machineTicks()
	for _, p := range e.procs {
		s.hookd += p.CPUTicks()
	}
	s.self, _ = readCPUTicks(os.Getpid())
	return s
}

// CPUUse says where the machine's CPU went during a scenario, in cores
// (1.0 is one core busy the whole time).
type CPUUse struct {
	Hookd float64 `json:"hookd_cores"`
	Bench float64 `json:"bench_cores"`
	Other float64 `json:"other_processes_cores"`
	Idle  float64 `json:"idle_cores"`
}

func cpuUse(a, b cpuSnapshot, cpus int) *CPUUse {
	total := float64(b.total - a.total)
	if total <= 0 {
		return nil
	}
	cores := func(ticks int64) float64 { return round(float64(cpus) * float64(ticks) / total) }
	busy := b.busy - a.busy
	hookd, self := b.hookd-a.hookd, b.self-a.self
	return &CPUUse{
		Hookd: cores(hookd),
		Bench: cores(self),
		Other: cores(max(busy-hookd-self, 0)),
		Idle:  cores(b.total - a.total - busy),
	}
}

// cpuPer returns the CPU time hookd and the bench process used between a
// and b, in microseconds per item (clock ticks are 1/100 s): what each
// delivery cost the shared cores. Set beside the bare sender's cost per
// delivery it shows how much of the ceiling hookd can reach while the
// cores are busy.
func cpuPer(a, b cpuSnapshot, n int64) (hookd, bench float64) {
	if n <= 0 {
		return 0, 0
	}
	per := func(ticks int64) float64 { return round(float64(ticks) * 1e4 / float64(n)) }
	return per(b.hookd - a.hookd), per(b.self - a.self)
}

// run runs one scenario and fills in its timing and errors.
func (e *env) run(ctx context.Context, name string) *Result {
	r := &Result{Scenario: name, Started: time.Now().UTC(), Params: map[string]any{}}
	r.Params["loadavg_before"] = readLoad()
	cpu0 := e.cpuSnapshot()
	start := time.Now()
	var err error
	switch name {
	case ScenarioCeiling:
		err = e.runCeiling(ctx, r)
	case ScenarioThroughput:
		err = e.runThroughput(ctx, r)
	case ScenarioLatency:
		err = e.runLatency(ctx, r)
	case ScenarioFanout:
		err = e.runFanout(ctx, r)
	case ScenarioIngest:
		err = e.runIngest(ctx, r)
	case ScenarioIsolation:
		err = e.runIsolation(ctx, r)
	case ScenarioBacklog:
		err = e.runBacklog(ctx, r)
	}
	e.prog.set(nil)
	r.Params["loadavg_after"] = readLoad()
	r.CPU = cpuUse(cpu0, e.cpuSnapshot(), runtime.NumCPU())
	if err != nil {
		r.Err = err.Error()
	}
	r.Elapsed = round(time.Since(start).Seconds())
	if e.o.Smoke {
		r.unjudge()
	}
	return r
}

// public returns the options worth recording, without the secret.
func (o Options) public() map[string]any {
	return map[string]any{
		"scenarios": o.Scenarios, "events": o.Events, "rate": o.Rate,
		"duration": o.Duration.String(), "ingest_duration": o.IngestDuration.String(),
		"fanout": o.Fanout, "fanout_rounds": o.FanoutRounds,
		"backlog": o.Backlog, "backlog_hooks": o.BacklogHooks,
		"concurrency": o.Concurrency, "publishers": o.Publishers, "batch_size": o.BatchSize,
		"db": redact(o.DB), "nodes": o.Nodes, "target": o.Target, "profile": o.Profile, "smoke": o.Smoke,
	}
}

func redact(db string) string {
	if i := strings.Index(db, "@"); i >= 0 && strings.Contains(db, "://") {
		return db[:strings.Index(db, "://")+3] + "…" + db[i:]
	}
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: readLoad()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryMB = kb >> 10
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return m
}

func readLoad() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
