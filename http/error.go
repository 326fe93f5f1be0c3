package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hookd/hookd"
)

// codes maps hookd error codes to HTTP statuses.
var codes = map[string]int{
	hookd.EINVALID:      http.StatusBadRequest,
	hookd.EUNAUTHORIZED: http.StatusUnauthorized,
	hookd.ENOTFOUND:     http.StatusNotFound,
	hookd.ENOTALLOWED:   http.StatusMethodNotAllowed,
	hookd.ECONFLICT:     http.StatusConflict,
	hookd.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	hookd.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	hookd.ERATELIMITED:  http.StatusTooManyRequests,
	hookd.EUNAVAILABLE:  http.StatusServiceUnavailable,
	hookd.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatusCode returns the HTTP status for a hookd error code, 500 for an
// unknown one.
func ErrorStatusCode(code string) int {
	if v, ok := codes[code]; ok {
		return v
	}
	return http.StatusInternalServerError
}

// Error writes err as Argyle (Django REST framework) does: a 400 with
// messages keyed by field when err carries field errors, else
// {"detail": message}. Internal errors are logged and shown only as
// "Internal error."; a cancelled or timed-out context is a 503 instead. A
// 401 carries WWW-Authenticate and a 503 Retry-After.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	var be *batchError
	if errors.As(err, &be) {
		writeJSON(w, http.StatusBadRequest, map[string]any{be.field: be.items})
		return
	}

	code, msg := hookd.ErrorCode(err), hookd.ErrorMessage(err)
	if code == hookd.EINTERNAL && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The client went away or a bound ran out: not a server fault.
		loggerFrom(r.Context()).Debug("http request cut short", "method", r.Method, "path", r.URL.Path, "error", err)
		code, msg = hookd.EUNAVAILABLE, "The request timed out or was cancelled; try again."
	}
	status := ErrorStatusCode(code)
	if code == hookd.EINTERNAL || status == http.StatusInternalServerError {
		loggerFrom(r.Context()).Error("http error", "method", r.Method, "path", r.URL.Path, "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal error."})
		return
	}
	if code == hookd.ENOTFOUND {
		msg = "Not found." // as Argyle says it, whatever the store said
	}
	switch code {
	case hookd.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Basic realm="api"`)
	case hookd.EUNAVAILABLE:
		w.Header().Set("Retry-After", "1")
	}
	var e *hookd.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		writeJSON(w, status, e.Fields)
		return
	}
	writeJSON(w, status, map[string]string{"detail": msg})
}

// batchError reports invalid items of a list field, keyed by index as
// DRF's ListField does: {"events": {"3": {"data": ["..."]}}}.
type batchError struct {
	field string
	items map[string]map[string][]string
}

func (e *batchError) Error() string { return "invalid " + e.field }

// writeJSON writes v as the JSON answer with status, without HTML escaping.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the package's own answer types are encoded; this is a bug.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"detail":"Internal error."}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// requestInfo travels in each request's context.
type requestInfo struct {
	logger   *slog.Logger
	tenantID string
}

type contextKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(contextKey{}).(*requestInfo)
	return ri
}

func loggerFrom(ctx context.Context) *slog.Logger {
	if ri := infoFrom(ctx); ri != nil && ri.logger != nil {
		return ri.logger
	}
	return slog.Default()
}

// TenantIDFromContext returns the ID of the tenant that authenticated the
// request whose context is ctx, or "" when none did.
func TenantIDFromContext(ctx context.Context) string {
	if ri := infoFrom(ctx); ri != nil {
		return ri.tenantID
	}
	return ""
}
