// Package http is hookd's HTTP API: the Argyle-shaped /v1/webhooks
// endpoints, hookd's extensions (events, deliveries, test sends, secret
// rotation, recovery), health and readiness checks, and mount points for the
// console and the Prometheus handler.
//
// Answers follow Argyle's Django REST framework conventions: JSON bodies,
// 400s keyed by field, {"detail": "..."} for everything else, and nothing a
// client sends ever produces a 500.
package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// MaxBodySize is the largest request body the API reads; larger ones are
// answered 413.
const MaxBodySize = 1 << 20

// DefaultShutdownTimeout bounds how long Close waits for in-flight requests.
const DefaultShutdownTimeout = 10 * time.Second

// Server is the API server. Set its fields, then call Open; or use Handler
// directly in tests.
type Server struct {
	// Addr is the TCP address to listen on, for example "127.0.0.1:8080"
	// or ":0" for any free port.
	Addr string

	// Services the handlers use. All four are required by the /v1 routes.
	TenantService   hookd.TenantService
	WebhookService  hookd.WebhookService
	EventService    hookd.EventService
	DeliveryService hookd.DeliveryService

	// URLPolicy checks a webhook URL against the egress policy when a
	// webhook is created or its URL changed. An error answers 400 with the
	// error's text under "url". Nil allows every URL.
	URLPolicy func(rawURL string) error

	// Console, when set, serves /console and everything under /console/,
	// without API authentication (it does its own).
	Console http.Handler

	// Metrics, when set, serves /metrics without authentication.
	Metrics http.Handler

	// Sandbox, when set, serves the sandbox data and simulation routes
	// (/v1/users, /v1/accounts, /v1/activities, /v1/payouts, /v1/profiles,
	// /v1/sandbox and everything under them) after API authentication;
	// TenantIDFromContext gives it the authenticated tenant.
	Sandbox http.Handler

	// Ready reports whether the server can serve traffic, for /readyz.
	// Nil means always ready.
	Ready func(ctx context.Context) error

	// Logger receives internal errors and recovered panics. Defaults to
	// slog.Default().
	Logger *slog.Logger

	// Now returns the current time. Defaults to hookd.Now.
	Now func() time.Time

	// ShutdownTimeout bounds Close's graceful shutdown. Defaults to
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// TestTimeout bounds POST /v1/webhooks/{id}/test. Defaults to 20s.
	TestTimeout time.Duration

	ln     net.Listener
	server *http.Server
	auth   authCache
	once   sync.Once
	routes []route

	// OpsOnly serves only /healthz, /readyz and /metrics: the API, the
	// console and the sandbox answer 404. A worker-only node sets it.
	OpsOnly bool
}

// NewServer returns a Server with its defaults filled in.
func NewServer() *Server {
	return &Server{
		Logger:          slog.Default(),
		Now:             hookd.Now,
		ShutdownTimeout: DefaultShutdownTimeout,
		TestTimeout:     20 * time.Second,
	}
}

// Open starts listening on Addr and serves in the background until Close.
func (s *Server) Open() error {
	if s.ln != nil {
		return fmt.Errorf("open server: already open")
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.server = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger().Error("http serve", "error", err)
		}
	}()
	return nil
}

// URL returns the base URL the server listens on, such as
// "http://127.0.0.1:43121". An unspecified listen address is given as
// 127.0.0.1. It is "" before Open.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Close stops accepting connections and waits, up to ShutdownTimeout, for
// in-flight requests to finish, then closes the rest.
func (s *Server) Close() error {
	if s.server == nil {
		return nil
	}
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.server.Shutdown(ctx); err != nil {
		_ = s.server.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil // the bound was reached; the rest were cut off
		}
		return fmt.Errorf("shutdown http server: %w", err)
	}
	return nil
}

// Handler returns the server's handler: every route, authentication, and
// panic recovery. Open serves it; tests may call it directly.
func (s *Server) Handler() http.Handler {
	s.once.Do(s.registerRoutes)
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// now returns the current time in UTC at microsecond precision.
func (s *Server) now() time.Time {
	if s.Now == nil {
		return hookd.Now()
	}
	return hookd.Truncate(s.Now())
}

// route is one method and path pattern. Pattern segments written {name}
// match any one segment, available to the handler as r.PathValue(name).
type route struct {
	method  string
	pattern []string
	handler http.HandlerFunc
	// public routes skip API authentication.
	public bool
}

func (s *Server) handle(method, pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, route{method: method, pattern: splitPath(pattern), handler: h})
}

func (s *Server) handlePublic(method, pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, route{method: method, pattern: splitPath(pattern), handler: h, public: true})
}

func (s *Server) registerRoutes() {
	s.handlePublic(http.MethodGet, "/healthz", s.handleHealthz)
	s.handlePublic(http.MethodGet, "/readyz", s.handleReadyz)
	if s.OpsOnly {
		return
	}
	s.registerWebhookRoutes()
	s.registerEventRoutes()
	s.registerDeliveryRoutes()
}

// sandboxPrefixes are the first segments after /v1 that Sandbox serves.
var sandboxPrefixes = map[string]bool{
	"users": true, "accounts": true, "activities": true, "payouts": true, "profiles": true, "sandbox": true,
}

// serveHTTP routes a request: the mounted handlers first, then the route
// table, answering 404 for unknown paths and 405 for known paths with
// another method. Panics become a logged 500.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithValue(r.Context(), contextKey{}, &requestInfo{logger: s.logger()}))
	defer s.recoverPanic(w, r)

	p := r.URL.Path
	switch {
	case p == "/metrics" && s.Metrics != nil:
		s.Metrics.ServeHTTP(w, r)
		return
	case (p == "/console" || strings.HasPrefix(p, "/console/")) && s.Console != nil && !s.OpsOnly:
		s.Console.ServeHTTP(w, r)
		return
	}

	segs := splitPath(p)
	if s.Sandbox != nil && !s.OpsOnly && len(segs) >= 2 && segs[0] == "v1" && sandboxPrefixes[segs[1]] {
		s.authenticate(w, r, s.Sandbox.ServeHTTP)
		return
	}

	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var allowed []string
	var public bool
	for _, rt := range s.routes {
		params, ok := matchPath(rt.pattern, segs)
		if !ok {
			continue
		}
		public = rt.public
		if rt.method != method {
			allowed = append(allowed, rt.method)
			continue
		}
		for name, v := range params {
			r.SetPathValue(name, v)
		}
		if rt.public {
			rt.handler(w, r)
		} else {
			s.authenticate(w, r, rt.handler)
		}
		return
	}
	if allowed == nil {
		Error(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	notAllowed := func(w http.ResponseWriter, r *http.Request) {
		if contains(allowed, http.MethodGet) {
			allowed = append(allowed, http.MethodHead)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		Error(w, r, hookd.Errorf(hookd.ENOTALLOWED, "Method %q not allowed.", r.Method))
	}
	if public {
		notAllowed(w, r)
	} else {
		// DRF authenticates before it checks the method.
		s.authenticate(w, r, notAllowed)
	}
}

func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.logger().Error("http panic", "method", r.Method, "path", r.URL.Path, "panic", v)
	// Best effort: if the handler already wrote headers this adds nothing.
	writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal error."})
}

// splitPath splits an URL path into its segments, ignoring the leading and
// one trailing slash: "/v1/webhooks/" gives ["v1", "webhooks"].
func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func matchPath(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = make(map[string]string, 1)
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// handleHealthz handles the "GET /healthz" route: always 200 while the
// process serves HTTP.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz handles the "GET /readyz" route: 200 when Ready reports no
// error, else 503.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			s.logger().Warn("not ready", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
