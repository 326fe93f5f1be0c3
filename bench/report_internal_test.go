package bench

import (
	"strings"
	"testing"
)

func TestMetStatus(t *testing.T) {
	t.Parallel()
	r := &Result{}
	r.Add("rate", 12, "/s").AtLeast(10)
	r.Add("p99", 30, "ms").Below(25)
	r.Add("p50", 1, "ms")
	for i, want := range []string{"met", "MISSED", ""} {
		if got := metStatus(r.Metrics[i]); got != want {
			t.Errorf("%s: status %q, want %q", r.Metrics[i].Name, got, want)
		}
	}

	r.unjudge()
	for i, want := range []string{"not judged", "not judged", ""} {
		m := r.Metrics[i]
		if got := metStatus(m); got != want {
			t.Errorf("unjudged %s: status %q, want %q", m.Name, got, want)
		}
		if m.Met != nil {
			t.Errorf("unjudged %s: Met = %v, want nil", m.Name, *m.Met)
		}
	}
	if got, want := r.Metrics[0].Target, ">= 10.0"; got != want {
		t.Errorf("unjudged target %q, want %q (kept)", got, want)
	}
}

func TestPrintSummaryFailed(t *testing.T) {
	t.Parallel()
	ok := &Result{Scenario: "ceiling"}
	ok.Add("ceiling deliveries/s", 20000, "/s").Head()
	var b strings.Builder
	PrintSummary(&b, []*Result{ok})
	if !strings.Contains(b.String(), "errors: none (every delivery verified") {
		t.Errorf("clean run's summary:\n%s", b.String())
	}

	failed := &Result{Scenario: "throughput", Err: "1 webhook: create webhook 0: answered 400"}
	b.Reset()
	PrintSummary(&b, []*Result{ok, failed})
	if s := b.String(); strings.Contains(s, "every delivery verified") || !strings.Contains(s, "did not finish: throughput") {
		t.Errorf("summary with a failed scenario:\n%s", s)
	}

	failed.AddError("bad_signatures", 2)
	b.Reset()
	PrintSummary(&b, []*Result{ok, failed})
	if s := b.String(); !strings.Contains(s, "did not finish: throughput") || !strings.Contains(s, "throughput bad_signatures=2") {
		t.Errorf("summary with a failed scenario and an error count:\n%s", s)
	}
}
