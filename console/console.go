// Package console is hookd's web console: the pages where a tenant signs in
// with an API key and manages webhooks (Argyle Console's Webhooks tab),
// reads the delivery log, redelivers, watches the queue and, when the server
// runs a sandbox, drives simulated accounts.
//
// Handler serves every path under /console. Pages are html/template
// templates and the assets (a small stylesheet and a vendored htmx 2.0.11)
// are embedded, so the console needs nothing at run time beyond the hookd
// services it is given.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

//go:embed html/*.html
var htmlFS embed.FS

//go:embed assets
var assetsFS embed.FS

// Prefix is the path the console is mounted at. The handler receives full
// paths, starting with Prefix.
const Prefix = "/console"

// SendTestTimeout bounds how long "Send test event" waits for the attempt.
const SendTestTimeout = 20 * time.Second

// Handler serves the console. Set the four services before serving; the
// other fields are optional. It is safe for concurrent use once serving.
type Handler struct {
	// TenantService authenticates sign-ins (API key id and secret).
	TenantService hookd.TenantService
	// WebhookService, EventService and DeliveryService hold the tenant's
	// data.
	WebhookService  hookd.WebhookService
	EventService    hookd.EventService
	DeliveryService hookd.DeliveryService

	// URLPolicy checks a webhook URL against the server's egress policy
	// when a webhook is created or edited. Nil allows every URL that
	// validates.
	URLPolicy func(string) error

	// BodyFormat is the server's body format, hookd.BodyIndented or
	// hookd.BodyCompact, used to show the exact request of a delivery.
	// Defaults to hookd.BodyIndented.
	BodyFormat string

	// Sandbox, when set, adds the Sandbox page that connects, refreshes and
	// removes simulated accounts. Nil hides it.
	Sandbox SandboxActions

	// Now returns the current time. Defaults to hookd.Now.
	Now func() time.Time
	// Logger receives internal errors. Defaults to slog.Default().
	Logger *slog.Logger
	// Secure sets the Secure flag on cookies; set it when served over HTTPS.
	Secure bool

	once     sync.Once
	sessions *sessionStore
	mux      *http.ServeMux
	pages    map[string]*template.Template
}

// NewHandler returns a Handler with its defaults filled in and its routes
// and templates ready. Assign the services before serving.
func NewHandler() *Handler {
	h := &Handler{
		BodyFormat: hookd.BodyIndented,
		Now:        hookd.Now,
		Logger:     slog.Default(),
	}
	h.once.Do(h.init)
	return h
}

func (h *Handler) init() {
	h.sessions = newSessionStore()
	h.mux = http.NewServeMux()
	h.pages = parsePages()
	h.routes()
}

// ServeHTTP implements http.Handler for every path under /console.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init) // a Handler made without NewHandler works too
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) routes() {
	m := h.mux
	sub, _ := fs.Sub(assetsFS, "assets")
	assets := http.StripPrefix(Prefix+"/assets/", http.FileServerFS(sub))
	m.Handle("GET "+Prefix+"/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		assets.ServeHTTP(w, r)
	}))
	m.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix+"/signin", h.handleSignInForm)
	m.HandleFunc("POST "+Prefix+"/signin", h.handleSignIn)
	m.HandleFunc("POST "+Prefix+"/signout", h.auth(h.handleSignOut))

	m.HandleFunc("GET "+Prefix+"/{$}", h.auth(h.handleOverview))
	m.HandleFunc("GET "+Prefix+"/overview/live", h.auth(h.handleOverviewLive))

	m.HandleFunc("GET "+Prefix+"/webhooks", h.auth(h.handleWebhookList))
	m.HandleFunc("GET "+Prefix+"/webhooks/new", h.auth(h.handleWebhookNew))
	m.HandleFunc("POST "+Prefix+"/webhooks", h.auth(h.handleWebhookCreate))
	m.HandleFunc("GET "+Prefix+"/webhooks/{id}", h.auth(h.handleWebhookView))
	m.HandleFunc("GET "+Prefix+"/webhooks/{id}/edit", h.auth(h.handleWebhookEdit))
	m.HandleFunc("POST "+Prefix+"/webhooks/{id}", h.auth(h.handleWebhookUpdate))
	m.HandleFunc("GET "+Prefix+"/webhooks/{id}/delete", h.auth(h.handleWebhookDeleteConfirm))
	m.HandleFunc("POST "+Prefix+"/webhooks/{id}/delete", h.auth(h.handleWebhookDelete))
	m.HandleFunc("POST "+Prefix+"/webhooks/{id}/status", h.auth(h.handleWebhookStatus))
	m.HandleFunc("POST "+Prefix+"/webhooks/{id}/rotate", h.auth(h.handleWebhookRotate))
	m.HandleFunc("POST "+Prefix+"/webhooks/{id}/test", h.auth(h.handleWebhookTest))
	m.HandleFunc("POST "+Prefix+"/webhooks/{id}/recover", h.auth(h.handleWebhookRecover))

	m.HandleFunc("GET "+Prefix+"/deliveries", h.auth(h.handleDeliveryList))
	m.HandleFunc("GET "+Prefix+"/deliveries/{id}", h.auth(h.handleDeliveryView))
	m.HandleFunc("POST "+Prefix+"/deliveries/{id}/redeliver", h.auth(h.handleDeliveryRedeliver))

	m.HandleFunc("GET "+Prefix+"/sandbox", h.auth(h.handleSandbox))
	m.HandleFunc("POST "+Prefix+"/sandbox/connect", h.auth(h.handleSandboxConnect))
	m.HandleFunc("POST "+Prefix+"/sandbox/refresh", h.auth(h.handleSandboxRefresh))
	m.HandleFunc("POST "+Prefix+"/sandbox/remove", h.auth(h.handleSandboxRemove))

	m.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
	})
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return hookd.Now()
	}
	return h.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.Default()
	}
	return h.Logger
}

// pageFiles are the templates; each is parsed with layout.html.
var pageFiles = []string{
	"signin.html", "overview.html", "webhooks.html", "webhook.html", "webhook_form.html",
	"webhook_delete.html", "deliveries.html", "delivery.html", "sandbox.html", "error.html",
}

func parsePages() map[string]*template.Template {
	pages := make(map[string]*template.Template, len(pageFiles))
	for _, f := range pageFiles {
		t := template.New(f).Funcs(funcs)
		pages[strings.TrimSuffix(f, ".html")] = template.Must(t.ParseFS(htmlFS, "html/layout.html", "html/"+f))
	}
	return pages
}

var funcs = template.FuncMap{
	"time": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return "—"
	},
	"iso":  func(t time.Time) string { return hookd.FormatTime(t) },
	"mask": hookd.MaskSecret,
	"ms":   formatLatency,
	"join": strings.Join,
	"allEvents": func(events []string) bool {
		return len(events) == 1 && events[0] == hookd.Wildcard
	},
	"title": func(name string) string {
		if t, ok := hookd.LookupEvent(name); ok {
			return t.Title
		}
		if name == hookd.Wildcard {
			return "All events"
		}
		return name
	},
	"groupTitle": func(g string) string {
		g = strings.ReplaceAll(g, "_", " ")
		return strings.ToUpper(g[:1]) + g[1:]
	},
	"statusClass": func(code int) string {
		switch {
		case code == 0:
			return "bad"
		case code >= 200 && code < 300:
			return "ok"
		default:
			return "bad"
		}
	},
	"percent": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"prefix":  func() string { return Prefix },
}

// formatLatency shows an attempt's latency in whole milliseconds.
func formatLatency(d time.Duration) string {
	if d < time.Millisecond {
		return "<1 ms"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// page is what every template receives.
type page struct {
	Title   string
	Nav     string // "overview", "webhooks", "deliveries", "sandbox"
	Session *session
	CSRF    string
	Sandbox bool
	Flash   *flash
	Data    any
}

// render executes the named page with data, buffering so that a template
// error becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	h.renderTemplate(w, r, status, name, "layout", p)
}

func (h *Handler) renderTemplate(w http.ResponseWriter, r *http.Request, status int, name, tmpl string, p page) {
	if s := sessionFrom(r.Context()); s != nil {
		p.Session, p.CSRF = s, s.CSRF
		if p.Flash == nil && tmpl == "layout" { // fragments never show it
			p.Flash = h.sessions.takeFlash(s.ID)
		}
	}
	p.Sandbox = h.Sandbox != nil
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, tmpl, p); err != nil {
		h.logger().Error("console: render", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows err as a page: 404 for ENOTFOUND, 400 for EINVALID and
// so on, and "Internal error." (logged) for anything unexpected.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := hookd.ErrorMessage(err)
	switch hookd.ErrorCode(err) {
	case hookd.ENOTFOUND:
		status, msg = http.StatusNotFound, "Not found."
	case hookd.EINVALID:
		status = http.StatusBadRequest
	case hookd.ECONFLICT:
		status = http.StatusConflict
	case hookd.EUNAUTHORIZED:
		status = http.StatusForbidden
	case hookd.EUNAVAILABLE, hookd.ERATELIMITED:
		status = http.StatusServiceUnavailable
	default:
		if errors.Is(err, context.Canceled) {
			return
		}
		h.logger().Error("console: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.render(w, r, status, "error", page{Title: http.StatusText(status), Data: msg})
}

// redirect answers a form post with 303 See Other to path, which htmx and
// browsers both follow with a GET.
func redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}
