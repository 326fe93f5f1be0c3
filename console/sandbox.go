package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
)

// SandboxActions drives the simulated Argyle data for a tenant, as the
// /v1/sandbox routes do. cmd/hookd adapts the sandbox package to it.
type SandboxActions interface {
	// Connect creates a simulated account for employer with days of
	// history and activities activities, connecting (or failing, when
	// fail is set) with the realistic event sequence, and returns the
	// account ID. Blank employer and zero days or activities take the
	// sandbox's defaults.
	Connect(ctx context.Context, tenantID, employer string, days, activities int, fail bool) (accountID string, err error)

	// Refresh adds, updates and removes activities of the tenant's account
	// and emits the matching events. Returns ENOTFOUND if the account does
	// not exist.
	Refresh(ctx context.Context, tenantID, accountID string, added, updated, removed int) error

	// Remove deletes the tenant's account and its data and emits
	// accounts.removed. Returns ENOTFOUND if the account does not exist.
	Remove(ctx context.Context, tenantID, accountID string) error
}

// handleSandbox handles GET /console/sandbox.
func (h *Handler) handleSandbox(w http.ResponseWriter, r *http.Request) {
	if h.Sandbox == nil {
		h.renderError(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	h.render(w, r, http.StatusOK, "sandbox", page{Title: "Sandbox", Nav: "sandbox", Data: r.URL.Query().Get("account")})
}

// handleSandboxConnect handles POST /console/sandbox/connect.
func (h *Handler) handleSandboxConnect(w http.ResponseWriter, r *http.Request) {
	if h.Sandbox == nil {
		h.renderError(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	days, ok1 := formInt(r, "days")
	activities, ok2 := formInt(r, "activities")
	if !ok1 || !ok2 {
		h.sandboxDone(w, r, "", hookd.Errorf(hookd.EINVALID, "Days and activities must be whole numbers, 0 or more."))
		return
	}
	id, err := h.Sandbox.Connect(r.Context(), sessionFrom(r.Context()).TenantID,
		strings.TrimSpace(r.PostFormValue("employer")), days, activities, r.PostFormValue("fail") != "")
	if err == nil {
		h.flashNext(r, &flash{Message: "Account " + id + " is connecting; watch its events under Deliveries."})
	}
	h.sandboxDone(w, r, id, err)
}

// handleSandboxRefresh handles POST /console/sandbox/refresh.
func (h *Handler) handleSandboxRefresh(w http.ResponseWriter, r *http.Request) {
	if h.Sandbox == nil {
		h.renderError(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	id := strings.TrimSpace(r.PostFormValue("account"))
	added, ok1 := formInt(r, "added")
	updated, ok2 := formInt(r, "updated")
	removed, ok3 := formInt(r, "removed")
	if !ok1 || !ok2 || !ok3 {
		h.sandboxDone(w, r, id, hookd.Errorf(hookd.EINVALID, "Added, updated and removed must be whole numbers, 0 or more."))
		return
	}
	err := h.Sandbox.Refresh(r.Context(), sessionFrom(r.Context()).TenantID, id, added, updated, removed)
	if err == nil {
		h.flashNext(r, &flash{Message: "Account " + id + " refreshed."})
	}
	h.sandboxDone(w, r, id, err)
}

// handleSandboxRemove handles POST /console/sandbox/remove.
func (h *Handler) handleSandboxRemove(w http.ResponseWriter, r *http.Request) {
	if h.Sandbox == nil {
		h.renderError(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	id := strings.TrimSpace(r.PostFormValue("account"))
	err := h.Sandbox.Remove(r.Context(), sessionFrom(r.Context()).TenantID, id)
	if err == nil {
		h.flashNext(r, &flash{Message: "Account " + id + " removed."})
		id = ""
	}
	h.sandboxDone(w, r, id, err)
}

// sandboxDone returns to the sandbox page, showing a client error there
// and any other error as an error page.
func (h *Handler) sandboxDone(w http.ResponseWriter, r *http.Request, account string, err error) {
	switch hookd.ErrorCode(err) {
	case "":
	case hookd.EINVALID, hookd.ENOTFOUND, hookd.ECONFLICT:
		msg := hookd.ErrorMessage(err)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			msg = "No such account."
		}
		h.flashNext(r, &flash{Message: msg, Error: true})
	default:
		h.renderError(w, r, fmt.Errorf("sandbox: %w", err))
		return
	}
	to := Prefix + "/sandbox"
	if account != "" {
		to += "?account=" + url.QueryEscape(account)
	}
	redirect(w, r, to)
}

func formInt(r *http.Request, name string) (int, bool) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}
