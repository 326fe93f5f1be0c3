package deliver

import (
	"net/http"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestSchedule_NextAttempt(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := hookd.Attempt{StartedAt: start, Latency: 250 * time.Millisecond}
	end := start.Add(a.Latency)
	tests := []struct {
		name        string
		count, base int
		rand        float64
		retryAfter  time.Duration
		want        time.Duration // after the attempt's end
		wantOK      bool
	}{
		{"First", 0, 0, 0.5, 0, 5 * time.Second, true},
		{"Second", 1, 0, 0.5, 0, 5 * time.Minute, true},
		{"Third", 2, 0, 0.5, 0, 30 * time.Minute, true},
		{"Fourth", 3, 0, 0.5, 0, 2 * time.Hour, true},
		{"Fifth", 4, 0, 0.5, 0, 5 * time.Hour, true},
		{"Sixth", 5, 0, 0.5, 0, 10 * time.Hour, true},
		{"Seventh", 6, 0, 0.5, 0, 14 * time.Hour, true},
		{"Eighth", 7, 0, 0.5, 0, 20 * time.Hour, true},
		{"Ninth", 8, 0, 0.5, 0, 24 * time.Hour, true},
		{"Exhausted", 9, 0, 0.5, 0, 0, false},
		{"JitterLow", 1, 0, 0, 0, 4 * time.Minute, true},
		{"JitterHigh", 1, 0, 0.75, 0, 5*time.Minute + 30*time.Second, true},
		{"AfterRedeliver", 11, 10, 0.5, 0, 5 * time.Minute, true},
		{"RedeliverFirst", 10, 10, 0.5, 0, 5 * time.Second, true},
		{"RetryAfterLonger", 0, 0, 0.5, 90 * time.Second, 90 * time.Second, true},
		{"RetryAfterShorter", 2, 0, 0.5, 90 * time.Second, 30 * time.Minute, true},
		{"RetryAfterCapped", 0, 0, 0.5, 5 * time.Hour, time.Hour, true},
		{"RetryAfterCappedBelowSchedule", 4, 0, 0.5, 9 * time.Hour, 5 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Schedule{Rand: func() float64 { return tt.rand }}
			d := &hookd.Delivery{AttemptCount: tt.count, RetryBase: tt.base}
			got, ok := s.NextAttempt(d, a, tt.retryAfter)
			if ok != tt.wantOK {
				t.Fatalf("NextAttempt ok got %v, want %v", ok, tt.wantOK)
			}
			if ok && !got.Equal(end.Add(tt.want)) {
				t.Errorf("NextAttempt got %v after the attempt, want %v", got.Sub(end), tt.want)
			}
		})
	}
}

// TestSchedule_JitterBounds checks that real randomness stays within ±20 %.
func TestSchedule_JitterBounds(t *testing.T) {
	t.Parallel()
	var s Schedule
	a := hookd.Attempt{StartedAt: time.Unix(0, 0).UTC()}
	d := &hookd.Delivery{AttemptCount: 1}
	for range 1000 {
		got, _ := s.NextAttempt(d, a, 0)
		if delay := got.Sub(a.StartedAt); delay < 4*time.Minute || delay > 6*time.Minute {
			t.Fatalf("delay got %v, want within 5m ± 20%%", delay)
		}
	}
}

func TestSchedule_CustomDelays(t *testing.T) {
	t.Parallel()
	s := Schedule{Delays: []time.Duration{time.Second}, Jitter: -1}
	a := hookd.Attempt{StartedAt: time.Unix(0, 0).UTC()}
	if got, ok := s.NextAttempt(&hookd.Delivery{}, a, 0); !ok || got.Sub(a.StartedAt) != time.Second {
		t.Errorf("first retry got %v, %v, want 1s, true", got.Sub(a.StartedAt), ok)
	}
	if _, ok := s.NextAttempt(&hookd.Delivery{AttemptCount: 1}, a, 0); ok {
		t.Error("second retry got ok, want exhausted")
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 30 ", 30 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"1.5", 0},
		{now.Add(10 * time.Minute).Format(http.TimeFormat), 10 * time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Mon, 23 Nov 2026 09:00:00 GMT", time.Hour},
		{"99999999999999", 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) got %v, want %v", tt.value, got, tt.want)
		}
	}
}
