package deliver

import (
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBreaker(BreakerConfig{Threshold: 3, Cooldown: 10 * time.Second, MaxCooldown: 30 * time.Second}.withDefaults())
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		name   string
		do     func() bool // returns what is checked against want
		want   bool
		wantSt string
	}
	steps := []step{
		{"Allow", func() bool { return b.allow(at(0)) }, true, breakerClosed},
		{"Failure1", func() bool { return b.record(true, at(0)) }, false, breakerClosed},
		{"Failure2", func() bool { return b.record(true, at(0)) }, false, breakerClosed},
		{"SuccessResets", func() bool { return b.record(false, at(0)) }, false, breakerClosed},
		{"Failure1Again", func() bool { return b.record(true, at(0)) }, false, breakerClosed},
		{"Failure2Again", func() bool { return b.record(true, at(0)) }, false, breakerClosed},
		{"Failure3Opens", func() bool { return b.record(true, at(0)) }, true, breakerOpen},
		{"OpenRefuses", func() bool { return b.allow(at(9 * time.Second)) }, false, breakerOpen},
		{"StragglerIgnored", func() bool { return b.record(true, at(9*time.Second)) }, false, breakerOpen},
		{"CooldownOver", func() bool { return b.allow(at(10 * time.Second)) }, true, breakerHalfOpen},
		{"ProbeFailsReopens", func() bool { return b.record(true, at(10*time.Second)) }, true, breakerOpen},
		{"DoubledCooldown", func() bool { return b.allow(at(29 * time.Second)) }, false, breakerOpen},
		{"SecondProbe", func() bool { return b.allow(at(30 * time.Second)) }, true, breakerHalfOpen},
		{"ProbeFailsAgain", func() bool { return b.record(true, at(30*time.Second)) }, true, breakerOpen},
		{"CooldownCapped", func() bool { return b.allow(at(60 * time.Second)) }, true, breakerHalfOpen},
		{"ProbeSucceedsCloses", func() bool { return b.record(false, at(60*time.Second)) }, false, breakerClosed},
		{"Idle", func() bool { return b.idle() }, true, breakerClosed},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want || b.state != s.wantSt {
			t.Fatalf("%s: got %v in state %s, want %v in state %s", s.name, got, b.state, s.want, s.wantSt)
		}
	}
	// After closing, the cool-down starts over.
	for range 3 {
		b.record(true, at(time.Minute))
	}
	if b.allow(at(time.Minute+9*time.Second)) || !b.allow(at(time.Minute+10*time.Second)) {
		t.Error("cool-down after closing got not reset to 10s")
	}
}
