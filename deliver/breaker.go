package deliver

import "time"

// BreakerConfig tunes the circuit breaker each webhook has in a worker. The
// zero value is the default.
type BreakerConfig struct {
	// Threshold is how many consecutive failures open the breaker.
	// Defaults to 5.
	Threshold int
	// Cooldown is how long the breaker stays open before it lets one probe
	// attempt through. It doubles each time a probe fails, up to
	// MaxCooldown. Defaults to 30 s.
	Cooldown time.Duration
	// MaxCooldown bounds Cooldown. Defaults to 10 min.
	MaxCooldown time.Duration
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.Threshold <= 0 {
		c.Threshold = 5
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 30 * time.Second
	}
	if c.MaxCooldown <= 0 {
		c.MaxCooldown = 10 * time.Minute
	}
	c.MaxCooldown = max(c.MaxCooldown, c.Cooldown)
	return c
}

// Breaker states.
const (
	breakerClosed   = "closed"    // attempts flow
	breakerOpen     = "open"      // no attempts until the cool-down ends
	breakerHalfOpen = "half-open" // one probe attempt at a time
)

// breaker is one webhook's circuit breaker. It counts failures that hold a
// worker or signal a dead endpoint (network errors, timeouts, 5xx, 408,
// 429); after Threshold in a row it opens, and the worker stops claiming the
// webhook's deliveries, which wait in the store. After the cool-down one
// probe goes through: success closes it, failure opens it for twice as
// long. It is not safe for concurrent use; the worker guards it.
type breaker struct {
	cfg       BreakerConfig
	state     string
	failures  int       // consecutive, while closed
	openUntil time.Time // while open
	cooldown  time.Duration
}

func newBreaker(cfg BreakerConfig) breaker {
	return breaker{cfg: cfg, state: breakerClosed}
}

// allow reports whether the breaker lets attempts through at now, moving
// from open to half-open once the cool-down has passed.
func (b *breaker) allow(now time.Time) bool {
	if b.state == breakerOpen && !now.Before(b.openUntil) {
		b.state = breakerHalfOpen
	}
	return b.state != breakerOpen
}

// record takes the outcome of an attempt and reports whether the breaker
// opened because of it.
func (b *breaker) record(failed bool, now time.Time) (opened bool) {
	if !failed {
		b.state, b.failures, b.cooldown = breakerClosed, 0, 0
		return false
	}
	switch b.state {
	case breakerClosed:
		b.failures++
		if b.failures < b.cfg.Threshold {
			return false
		}
		b.cooldown = b.cfg.Cooldown
	case breakerHalfOpen:
		b.cooldown = min(2*b.cooldown, b.cfg.MaxCooldown)
	case breakerOpen:
		return false // a straggler that started before the breaker opened
	}
	b.state, b.failures, b.openUntil = breakerOpen, 0, now.Add(b.cooldown)
	return true
}

// idle reports whether the breaker holds no state worth keeping.
func (b *breaker) idle() bool {
	return b.state == breakerClosed && b.failures == 0
}
