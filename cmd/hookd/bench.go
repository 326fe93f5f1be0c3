package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hookd/hookd/bench"
)

// init serves net/http/pprof when HOOKD_PPROF_ADDR names a loopback
// address. hookd bench --profile sets it on the hookd it starts, to take CPU
// and allocation profiles during a throughput run; nothing else sets it.
func init() {
	if addr := os.Getenv(bench.PprofEnv); addr != "" {
		if err := bench.ServePprof(addr); err != nil {
			fmt.Fprintln(os.Stderr, "hookd:", err)
		}
	}
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "bench [--scenario all|NAME,...] [--smoke] [flags]", stderr)
	var o bench.Options
	var scenarios string
	fs.StringVar(&scenarios, "scenario", "all", "comma-separated scenarios: all or "+strings.Join(bench.Scenarios, ", ")+" (the ceiling always runs first)")
	fs.IntVar(&o.Events, "events", 0, "deliveries per throughput run and per isolation run (default 100000; smoke 200)")
	fs.IntVar(&o.Rate, "rate", 0, "latency scenario: offered events per second (default 1000; smoke 100)")
	fs.DurationVar(&o.Duration, "duration", 0, "latency scenario: how long to offer load (default 30s; smoke 2s)")
	fs.DurationVar(&o.IngestDuration, "ingest-duration", 0, "ingest scenario: how long each mode publishes (default 10s; smoke 1s)")
	fs.IntVar(&o.Fanout, "fanout", 0, "fanout scenario: webhooks one event fans out to (default 1000; smoke 20)")
	fs.IntVar(&o.FanoutRounds, "fanout-rounds", 0, "fanout scenario: events published one after the other (default 5; smoke 1)")
	fs.IntVar(&o.Backlog, "backlog", 0, "backlog scenario: pending deliveries to drain (default 1000000; smoke 1000)")
	fs.IntVar(&o.BacklogHooks, "backlog-hooks", 0, "backlog scenario: webhooks the backlog is spread over (default 100; smoke 10)")
	fs.IntVar(&o.Nodes, "nodes", 1, "hookd processes on the one database (needs --db postgres://): the first serves the API, the others run --role worker")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "requests in flight for single-event publishers (default 64; smoke 16)")
	fs.IntVar(&o.Publishers, "publishers", 0, "concurrent batch publishers (default 4; smoke 2)")
	fs.IntVar(&o.BatchSize, "batch-size", 0, "events per batch (default 100; smoke 50)")
	fs.StringVar(&o.Out, "out", "bench-out", "directory for JSON results, SVG charts, profiles and hookd logs")
	fs.StringVar(&o.DB, "db", "", "database of the hookd started: a postgres:// URL (default: SQLite in a temporary directory)")
	fs.StringVar(&o.Hookd, "hookd", "", "hookd binary to start (default: this executable)")
	fs.StringVar(&o.Target, "target", "", "URL of a running hookd to measure instead of starting one (needs --api-key-id and --api-key-secret, and that hookd started with --allow-private: the sink is on 127.0.0.1)")
	fs.StringVar(&o.APIKeyID, "api-key-id", envOr("HOOKD_API_KEY_ID", ""), "API key id for --target (env HOOKD_API_KEY_ID)")
	fs.StringVar(&o.APIKeySecret, "api-key-secret", envOr("HOOKD_API_KEY_SECRET", ""), "API key secret for --target (env HOOKD_API_KEY_SECRET)")
	fs.BoolVar(&o.Profile, "profile", false, "save CPU and allocation profiles of hookd during each throughput run, the half-bad isolation run and the backlog drain")
	fs.IntVar(&o.ProfileSeconds, "profile-seconds", 0, "length of each profile in seconds (default 10)")
	fs.BoolVar(&o.Smoke, "smoke", false, "tiny sizes: a quick check that the tool works, not a measurement; no target is judged")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("bench: unexpected argument %q", rest[0])
	}
	// Zero asks for the default; below zero is a mistake, not a full run.
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"events", o.Events < 0}, {"rate", o.Rate < 0}, {"duration", o.Duration < 0},
		{"ingest-duration", o.IngestDuration < 0}, {"fanout", o.Fanout < 0},
		{"fanout-rounds", o.FanoutRounds < 0}, {"backlog", o.Backlog < 0},
		{"backlog-hooks", o.BacklogHooks < 0}, {"nodes", o.Nodes < 0},
		{"concurrency", o.Concurrency < 0}, {"publishers", o.Publishers < 0},
		{"batch-size", o.BatchSize < 0}, {"profile-seconds", o.ProfileSeconds < 0},
	} {
		if f.bad {
			return usagef("bench: --%s must not be negative (0 takes the default)", f.name)
		}
	}
	for _, s := range strings.Split(scenarios, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.Scenarios = append(o.Scenarios, s)
		}
	}
	o.Stdout, o.Stderr = stdout, stderr

	results, err := bench.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var failed []string
	for _, r := range results {
		if r.Err != "" {
			failed = append(failed, r.Scenario)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench: scenarios failed: %s", strings.Join(failed, ", "))
	}
	return nil
}
