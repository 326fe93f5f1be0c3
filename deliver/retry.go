package deliver

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// RetryPolicy decides when a failed delivery is tried again.
type RetryPolicy interface {
	// NextAttempt returns when delivery d is next due after attempt a
	// failed, or false when no retries are left. d is the delivery as
	// claimed: d.AttemptCount does not count a yet. retryAfter is what the
	// receiver asked for with Retry-After on a 429 or 503 (0 when absent),
	// measured from the end of a.
	NextAttempt(d *hookd.Delivery, a hookd.Attempt, retryAfter time.Duration) (time.Time, bool)
}

// StandardSchedule is the Standard Webhooks retry schedule: the delays
// before each retry, measured from the end of the previous failed attempt.
// With the first attempt, a delivery gets len(StandardSchedule)+1 attempts.
var StandardSchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	14 * time.Hour,
	20 * time.Hour,
	24 * time.Hour,
}

// Schedule is a RetryPolicy with a fixed list of delays, jitter and a
// bounded Retry-After. The zero value is the default policy: the Standard
// Webhooks schedule, ±20 % jitter, Retry-After capped at 1 hour.
type Schedule struct {
	// Delays before each retry. Defaults to StandardSchedule.
	Delays []time.Duration
	// Jitter spreads each delay uniformly by ±Jitter (a fraction).
	// Defaults to 0.2; negative means none.
	Jitter float64
	// MaxRetryAfter caps a receiver's Retry-After. Defaults to 1 hour.
	MaxRetryAfter time.Duration
	// Rand returns a number in [0, 1) for the jitter. Defaults to
	// math/rand/v2's Float64; tests fix it.
	Rand func() float64
}

// NextAttempt implements RetryPolicy. The schedule's position is the number
// of attempts since the delivery was last (re)started, d.AttemptCount + 1 -
// d.RetryBase: after the first failure the first delay applies. The next
// attempt waits the longer of the jittered delay and retryAfter (capped).
func (s Schedule) NextAttempt(d *hookd.Delivery, a hookd.Attempt, retryAfter time.Duration) (time.Time, bool) {
	delays := s.Delays
	if delays == nil {
		delays = StandardSchedule
	}
	pos := d.AttemptCount + 1 - d.RetryBase // attempts in this run, a included
	if pos < 1 || pos > len(delays) {
		return time.Time{}, false
	}
	delay := delays[pos-1]
	jitter := s.Jitter
	if jitter == 0 {
		jitter = 0.2
	}
	if jitter > 0 {
		r := s.Rand
		if r == nil {
			r = rand.Float64
		}
		delay = time.Duration(float64(delay) * (1 + jitter*(2*r()-1)))
	}
	maxRA := s.MaxRetryAfter
	if maxRA == 0 {
		maxRA = time.Hour
	}
	delay = max(delay, min(retryAfter, maxRA))
	return hookd.Truncate(a.StartedAt.Add(a.Latency).Add(delay)), true
}

// ParseRetryAfter returns the wait a Retry-After header value asks for at
// now: delay-seconds or an HTTP date. It returns 0 for an absent, invalid
// or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
