package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Modes hookd's server runs in.
const (
	ModeDev   = "dev"
	ModeServe = "serve"
)

// Node roles, for several nodes on one database.
const (
	RoleAll    = "all"
	RoleAPI    = "api"
	RoleWorker = "worker"
)

// DefaultDB is the database every subcommand uses unless --db or HOOKD_DB
// says otherwise.
const DefaultDB = "./hookd-data/hookd.db"

// Config configures a hookd server. DefaultConfig gives each field's default
// for a mode; flags override it and HOOKD_* environment variables override
// the defaults of flags.
type Config struct {
	// Mode is ModeDev or ModeServe.
	Mode string
	// Addr is the listen address. Defaults to 127.0.0.1:8080 in dev and
	// :8080 in serve.
	Addr string
	// DB is a SQLite file path or a postgres:// URL.
	DB string
	// BodyFormat is hookd.BodyIndented (dev's default, as Argyle sends) or
	// hookd.BodyCompact (serve's default).
	BodyFormat string
	// APIKeyID and APIKeySecret, in dev, fix the sandbox tenant's key.
	APIKeyID, APIKeySecret string
	// AllowPrivate allows delivery to loopback and private addresses.
	// Always true in dev.
	AllowPrivate bool
	// EgressAllow lists prefixes allowed even when private addresses are
	// not.
	EgressAllow []netip.Prefix
	// EgressProxy, when set, is the HTTP proxy every delivery goes through.
	EgressProxy string
	// Sandbox enables the /v1/sandbox routes. Always true in dev.
	Sandbox bool
	// SandboxSeed seeds the simulated data; 0 picks one from the clock.
	SandboxSeed int64
	// Role is RoleAll (default), RoleAPI or RoleWorker.
	Role string
	// Retention is how long finished deliveries are kept. Defaults to 30 days.
	Retention time.Duration
	// Timeout bounds one delivery attempt. Defaults to 15s.
	Timeout time.Duration
	// Lease is how long a claimed delivery is held before another worker
	// (or this one, restarted) may claim it again. Defaults to Timeout+30s.
	Lease time.Duration
	// LogFormat is "json" (serve's default) or "text" (dev's default).
	LogFormat string
}

// DefaultConfig returns the defaults for mode.
func DefaultConfig(mode string) Config {
	c := Config{
		Mode:       mode,
		Addr:       ":8080",
		DB:         DefaultDB,
		BodyFormat: hookd.BodyCompact,
		Role:       RoleAll,
		Retention:  30 * 24 * time.Hour,
		Timeout:    15 * time.Second,
		LogFormat:  "json",
	}
	if mode == ModeDev {
		c.Addr = "127.0.0.1:8080"
		c.BodyFormat = hookd.BodyIndented
		c.AllowPrivate = true
		c.Sandbox = true
		c.LogFormat = "text"
	}
	return c
}

// Sentinel errors that ConfigValidationError wraps.
var (
	ErrInvalidChoice = errors.New("invalid choice")
	ErrRequired      = errors.New("required")
	ErrInvalidValue  = errors.New("invalid value")
)

// ConfigValidationError names the setting that is wrong.
type ConfigValidationError struct {
	Field string
	Err   error
}

func (e *ConfigValidationError) Error() string { return fmt.Sprintf("--%s: %v", e.Field, e.Err) }
func (e *ConfigValidationError) Unwrap() error { return e.Err }

// Validate checks c.
func (c *Config) Validate() error {
	bad := func(field string, err error, detail string) error {
		return &ConfigValidationError{Field: field, Err: fmt.Errorf("%w: %s", err, detail)}
	}
	switch c.BodyFormat {
	case hookd.BodyIndented, hookd.BodyCompact:
	default:
		return bad("body-format", ErrInvalidChoice, fmt.Sprintf("%q (want indented or compact)", c.BodyFormat))
	}
	switch c.Role {
	case RoleAll, RoleAPI, RoleWorker:
	default:
		return bad("role", ErrInvalidChoice, fmt.Sprintf("%q (want all, api or worker)", c.Role))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return bad("log-format", ErrInvalidChoice, fmt.Sprintf("%q (want json or text)", c.LogFormat))
	}
	if c.DB == "" {
		return bad("db", ErrRequired, "a SQLite path")
	}
	if (c.APIKeyID == "") != (c.APIKeySecret == "") {
		return bad("api-key-secret", ErrRequired, "--api-key-id and --api-key-secret go together")
	}
	if c.APIKeyID != "" && (len(c.APIKeyID) > 128 || len(c.APIKeySecret) > 256 || strings.ContainsAny(c.APIKeyID, ": \t\n")) {
		return bad("api-key-id", ErrInvalidValue, "at most 128 characters, no colon or spaces")
	}
	if c.EgressProxy != "" {
		u, err := url.Parse(c.EgressProxy)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") || u.Host == "" {
			return bad("egress-proxy", ErrInvalidValue, fmt.Sprintf("%q is not an http(s) or socks5 URL", c.EgressProxy))
		}
	}
	if c.Retention < time.Hour {
		return bad("retention", ErrInvalidValue, "at least 1h")
	}
	if c.Lease != 0 && c.Lease < c.Timeout+10*time.Second {
		return bad("lease", ErrInvalidValue, "must be at least --timeout + 10s, so a lease never runs out during an attempt")
	}
	if c.Timeout < 100*time.Millisecond || c.Timeout > 5*time.Minute {
		return bad("timeout", ErrInvalidValue, "between 100ms and 5m")
	}
	return nil
}

// bindFlags registers c's fields on fs, with defaults from HOOKD_* variables.
func (c *Config) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", envOr("HOOKD_ADDR", c.Addr), "listen address (env HOOKD_ADDR)")
	fs.StringVar(&c.DB, "db", envOr("HOOKD_DB", c.DB), "SQLite database path or postgres:// URL (env HOOKD_DB)")
	fs.StringVar(&c.BodyFormat, "body-format", envOr("HOOKD_BODY_FORMAT", c.BodyFormat), "delivery body JSON: indented or compact (env HOOKD_BODY_FORMAT)")
	fs.StringVar(&c.Role, "role", envOr("HOOKD_ROLE", c.Role), "what this node does: all, api or worker (env HOOKD_ROLE)")
	fs.DurationVar(&c.Retention, "retention", envDuration("HOOKD_RETENTION", c.Retention), "how long finished deliveries are kept (env HOOKD_RETENTION)")
	fs.DurationVar(&c.Timeout, "timeout", envDuration("HOOKD_TIMEOUT", c.Timeout), "timeout of one delivery attempt (env HOOKD_TIMEOUT)")
	fs.DurationVar(&c.Lease, "lease", envDuration("HOOKD_LEASE", c.Lease), "how long a claimed delivery is held before it may be claimed again after a crash (default timeout+30s; env HOOKD_LEASE)")
	fs.StringVar(&c.LogFormat, "log-format", envOr("HOOKD_LOG_FORMAT", c.LogFormat), "log format: json or text (env HOOKD_LOG_FORMAT)")
	fs.Int64Var(&c.SandboxSeed, "sandbox-seed", 0, "seed for simulated sandbox data: the same seed gives the same accounts (0: from the clock)")
	fs.StringVar(&c.EgressProxy, "egress-proxy", envOr("HOOKD_EGRESS_PROXY", c.EgressProxy), "HTTP proxy URL for every delivery, for static egress IPs (env HOOKD_EGRESS_PROXY)")
	if c.Mode == ModeDev {
		fs.StringVar(&c.APIKeyID, "api-key-id", envOr("HOOKD_API_KEY_ID", ""), "fixed sandbox API key id (env HOOKD_API_KEY_ID)")
		fs.StringVar(&c.APIKeySecret, "api-key-secret", envOr("HOOKD_API_KEY_SECRET", ""), "fixed sandbox API key secret (env HOOKD_API_KEY_SECRET)")
		return
	}
	fs.BoolVar(&c.AllowPrivate, "allow-private", envBool("HOOKD_ALLOW_PRIVATE", false), "allow delivery to loopback, private and link-local addresses (env HOOKD_ALLOW_PRIVATE)")
	fs.Func("egress-allow", "comma-separated CIDR prefixes allowed even when private addresses are not (env HOOKD_EGRESS_ALLOW)", func(s string) error {
		p, err := parsePrefixes(s)
		c.EgressAllow = append(c.EgressAllow, p...)
		return err
	})
	if v := envOr("HOOKD_EGRESS_ALLOW", ""); v != "" {
		if p, err := parsePrefixes(v); err == nil {
			c.EgressAllow = p
		}
	}
	fs.BoolVar(&c.Sandbox, "sandbox", envBool("HOOKD_SANDBOX", false), "enable the /v1/sandbox simulation routes (env HOOKD_SANDBOX)")
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return out, fmt.Errorf("%q is not an IP prefix like 10.0.0.0/8", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(envOr(key, "")); err == nil {
		return d
	}
	return def
}

func envBool(key string, def bool) bool {
	if b, err := strconv.ParseBool(envOr(key, "")); err == nil {
		return b
	}
	return def
}
