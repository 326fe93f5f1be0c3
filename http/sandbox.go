package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
)

// MaxOffset bounds the offset query parameter of the sandbox lists.
const MaxOffset = math.MaxInt32

// SandboxHandler serves the sandbox's data and simulation routes, mounted
// as Server.Sandbox (after API authentication):
//
//	GET    /v1/users/{id}
//	GET    /v1/accounts                        ?user
//	GET    /v1/accounts/{id}
//	DELETE /v1/accounts/{id}                   204; accounts.removed
//	GET    /v1/activities                      ?account, user, from_start_date, to_start_date, from_updated_at, to_updated_at
//	GET    /v1/activities/{id}                 when Store is a sandbox.ActivityFinder
//	GET    /v1/payouts                         same filters, on payout_date
//	GET    /v1/profiles                        ?account, user
//	POST   /v1/sandbox/accounts                201; the connect sequence
//	POST   /v1/sandbox/accounts/{id}/refresh   202; activities.added, .updated, .removed, payouts.added
//
// Lists answer v1's offset-paginated shape {"count", "next", "previous",
// "results"} with limit (default 10, capped at 200) and offset; next and
// previous are absolute URLs that repeat the filters. Date filters take an
// ISO 8601 time (as copied from a webhook's available_from) or a date
// YYYY-MM-DD: the start of that day (UTC) for from_…, its end for to_….
type SandboxHandler struct {
	// Store holds the sandbox data. Required.
	Store sandbox.Store
	// Simulator runs the simulation routes and DELETE /v1/accounts/{id}.
	// When nil, the /v1/sandbox routes answer 404 and DELETE removes the
	// account's data without publishing accounts.removed.
	Simulator *sandbox.Simulator
	// Logger records simulations. Defaults to the server's logger.
	Logger *slog.Logger
}

var _ http.Handler = (*SandboxHandler)(nil)

// sandboxRoute is one method and path of the SandboxHandler.
type sandboxRoute struct {
	method  string
	pattern []string
	handle  func(h *SandboxHandler, w http.ResponseWriter, r *http.Request)
	// simulation routes need a Simulator.
	simulation bool
}

var sandboxRoutes = []sandboxRoute{
	{method: http.MethodGet, pattern: splitPath("/v1/users/{id}"), handle: (*SandboxHandler).handleUserGet},
	{method: http.MethodGet, pattern: splitPath("/v1/accounts"), handle: (*SandboxHandler).handleAccountList},
	{method: http.MethodGet, pattern: splitPath("/v1/accounts/{id}"), handle: (*SandboxHandler).handleAccountGet},
	{method: http.MethodDelete, pattern: splitPath("/v1/accounts/{id}"), handle: (*SandboxHandler).handleAccountDelete},
	{method: http.MethodGet, pattern: splitPath("/v1/activities"), handle: (*SandboxHandler).handleActivityList},
	{method: http.MethodGet, pattern: splitPath("/v1/activities/{id}"), handle: (*SandboxHandler).handleActivityGet},
	{method: http.MethodGet, pattern: splitPath("/v1/payouts"), handle: (*SandboxHandler).handlePayoutList},
	{method: http.MethodGet, pattern: splitPath("/v1/profiles"), handle: (*SandboxHandler).handleProfileList},
	{method: http.MethodPost, pattern: splitPath("/v1/sandbox/accounts"), handle: (*SandboxHandler).handleSandboxConnect, simulation: true},
	{method: http.MethodPost, pattern: splitPath("/v1/sandbox/accounts/{id}/refresh"), handle: (*SandboxHandler).handleSandboxRefresh, simulation: true},
}

// ServeHTTP routes a request to its handler, answering 404 for unknown
// paths and 405 (with Allow) for known paths with another method.
func (h *SandboxHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if tenantID(r) == "" {
		Error(w, r, hookd.Errorf(hookd.EUNAUTHORIZED, "Authentication credentials were not provided."))
		return
	}
	segs := splitPath(r.URL.Path)
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var allowed []string
	for _, rt := range sandboxRoutes {
		if rt.simulation && h.Simulator == nil {
			continue
		}
		params, ok := matchPath(rt.pattern, segs)
		if !ok {
			continue
		}
		if rt.method != method {
			allowed = append(allowed, rt.method)
			continue
		}
		for name, v := range params {
			r.SetPathValue(name, v)
		}
		rt.handle(h, w, r)
		return
	}
	if allowed == nil {
		Error(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	if contains(allowed, http.MethodGet) {
		allowed = append(allowed, http.MethodHead)
	}
	sort.Strings(allowed)
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	Error(w, r, hookd.Errorf(hookd.ENOTALLOWED, "Method %q not allowed.", r.Method))
}

func (h *SandboxHandler) logger(r *http.Request) *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return loggerFrom(r.Context())
}

// offsetList is the shape of the sandbox lists, as v1 (DRF's
// LimitOffsetPagination) answers them.
type offsetList struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  any     `json:"results"`
}

// queryOffset returns the offset parameter: 0 when absent, else an
// integer from 0 to MaxOffset.
func queryOffset(q *listQuery) int {
	s := q.values.Get("offset")
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		q.fe.Add("offset", msgInteger)
	case n < 0:
		q.fe.Add("offset", "Ensure this value is greater than or equal to 0.")
	case n > MaxOffset || err != nil:
		q.fe.Add("offset", fmt.Sprintf("Ensure this value is less than or equal to %d.", MaxOffset))
	default:
		return int(n)
	}
	return 0
}

// writeOffsetList answers a page of n results (results must marshal as a
// JSON array) of a list of count items read at limit and offset, with links
// to the neighbouring pages that repeat the request's query.
func writeOffsetList(w http.ResponseWriter, r *http.Request, q *listQuery, results any, n, count, limit, offset int) {
	link := func(offset int) *string {
		v := url.Values{}
		for k, vs := range q.values {
			v[k] = vs
		}
		v.Set("limit", strconv.Itoa(limit))
		if offset > 0 {
			v.Set("offset", strconv.Itoa(offset))
		} else {
			v.Del("offset")
		}
		u := url.URL{Scheme: requestScheme(r), Host: r.Host, Path: r.URL.Path, RawQuery: v.Encode()}
		s := u.String()
		return &s
	}
	ans := offsetList{Count: count, Results: results}
	if offset+n < count && n > 0 {
		ans.Next = link(offset + limit)
	}
	if offset > 0 {
		ans.Previous = link(min(offset, count) - limit)
	}
	writeJSON(w, http.StatusOK, ans)
}

// nonNil returns s, or an empty slice for nil, so that it marshals as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// handleUserGet handles the "GET /v1/users/{id}" route.
func (h *SandboxHandler) handleUserGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	u, err := h.Store.FindUserByID(r.Context(), tenantID(r), id)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// handleAccountList handles the "GET /v1/accounts" route: the tenant's
// accounts, oldest first, filtered by user.
func (h *SandboxHandler) handleAccountList(w http.ResponseWriter, r *http.Request) {
	q := newListQuery(r)
	f := sandbox.AccountFilter{TenantID: tenantID(r), User: q.uuid("user"), Limit: q.limit(), Offset: queryOffset(q)}
	if err := q.err(); err != nil {
		Error(w, r, err)
		return
	}
	as, n, err := h.Store.FindAccounts(r.Context(), f)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeOffsetList(w, r, q, nonNil(as), len(as), n, f.Limit, f.Offset)
}

// handleAccountGet handles the "GET /v1/accounts/{id}" route.
func (h *SandboxHandler) handleAccountGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	a, err := h.Store.FindAccountByID(r.Context(), tenantID(r), id)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// handleAccountDelete handles the "DELETE /v1/accounts/{id}" route: it
// deletes the account with its data and publishes accounts.removed, and
// answers 204.
func (h *SandboxHandler) handleAccountDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if h.Simulator != nil {
		err = h.Simulator.Remove(r.Context(), tenantID(r), id)
	} else {
		err = h.Store.DeleteAccount(r.Context(), tenantID(r), id)
	}
	if err != nil {
		Error(w, r, err)
		return
	}
	h.logger(r).Info("sandbox account removed", "tenant", tenantID(r), "account", id)
	w.WriteHeader(http.StatusNoContent)
}

// seriesQuery reads the filters shared by /v1/activities and /v1/payouts.
type seriesQuery struct {
	account, user          string
	fromStart, toStart     *time.Time
	fromUpdated, toUpdated *time.Time
	limit, offset          int
	q                      *listQuery
}

func parseSeriesQuery(r *http.Request) (*seriesQuery, error) {
	q := newListQuery(r)
	s := &seriesQuery{
		q:           q,
		account:     q.uuid("account"),
		user:        q.uuid("user"),
		fromStart:   q.time("from_start_date", false),
		toStart:     q.time("to_start_date", true),
		fromUpdated: q.time("from_updated_at", false),
		toUpdated:   q.time("to_updated_at", true),
		limit:       q.limit(),
		offset:      queryOffset(q),
	}
	return s, q.err()
}

// handleActivityList handles the "GET /v1/activities" route: the tenant's
// activities, newest start_date first, filtered by account, user,
// start_date and updated_at.
func (h *SandboxHandler) handleActivityList(w http.ResponseWriter, r *http.Request) {
	s, err := parseSeriesQuery(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	as, n, err := h.Store.FindActivities(r.Context(), sandbox.ActivityFilter{
		TenantID: tenantID(r), Account: s.account, User: s.user,
		FromStartDate: s.fromStart, ToStartDate: s.toStart,
		FromUpdatedAt: s.fromUpdated, ToUpdatedAt: s.toUpdated,
		Limit: s.limit, Offset: s.offset,
	})
	if err != nil {
		Error(w, r, err)
		return
	}
	writeOffsetList(w, r, s.q, nonNil(as), len(as), n, s.limit, s.offset)
}

// handleActivityGet handles the "GET /v1/activities/{id}" route, when the
// store can find one activity (sandbox.ActivityFinder); else it is a 404.
func (h *SandboxHandler) handleActivityGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	f, ok := h.Store.(sandbox.ActivityFinder)
	if !ok {
		Error(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	a, err := f.FindActivityByID(r.Context(), tenantID(r), id)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// handlePayoutList handles the "GET /v1/payouts" route: the tenant's
// payouts, newest payout_date first, filtered by account, user,
// payout_date (from_start_date, to_start_date) and updated_at.
func (h *SandboxHandler) handlePayoutList(w http.ResponseWriter, r *http.Request) {
	s, err := parseSeriesQuery(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	ps, n, err := h.Store.FindPayouts(r.Context(), sandbox.PayoutFilter{
		TenantID: tenantID(r), Account: s.account, User: s.user,
		FromStartDate: s.fromStart, ToStartDate: s.toStart,
		FromUpdatedAt: s.fromUpdated, ToUpdatedAt: s.toUpdated,
		Limit: s.limit, Offset: s.offset,
	})
	if err != nil {
		Error(w, r, err)
		return
	}
	writeOffsetList(w, r, s.q, nonNil(ps), len(ps), n, s.limit, s.offset)
}

// handleProfileList handles the "GET /v1/profiles" route: the tenant's
// profiles, oldest first, filtered by account and user.
func (h *SandboxHandler) handleProfileList(w http.ResponseWriter, r *http.Request) {
	q := newListQuery(r)
	f := sandbox.ProfileFilter{TenantID: tenantID(r), Account: q.uuid("account"), User: q.uuid("user"), Limit: q.limit(), Offset: queryOffset(q)}
	if err := q.err(); err != nil {
		Error(w, r, err)
		return
	}
	ps, n, err := h.Store.FindProfiles(r.Context(), f)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeOffsetList(w, r, q, nonNil(ps), len(ps), n, f.Limit, f.Offset)
}

// handleSandboxConnect handles the "POST /v1/sandbox/accounts" route: body
// (every member optional) {"user", "employer", "days", "activities",
// "fail", "error_code"}. It connects a simulated account, which publishes
// the connect sequence, and answers 201 with the account.
func (h *SandboxHandler) handleSandboxConnect(w http.ResponseWriter, r *http.Request) {
	o, err := readObject(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	var fe hookd.FieldErrors
	req := sandbox.ConnectRequest{
		User:       o.optStr(&fe, "user"),
		Employer:   o.optStr(&fe, "employer"),
		Days:       o.optInt(&fe, "days"),
		Activities: o.optInt(&fe, "activities"),
		Fail:       o.optBool(&fe, "fail"),
		ErrorCode:  o.optStr(&fe, "error_code"),
	}
	if err := fe.Err(); err != nil {
		Error(w, r, err)
		return
	}
	a, err := h.Simulator.Connect(r.Context(), tenantID(r), req)
	if err != nil {
		Error(w, r, err)
		return
	}
	h.logger(r).Info("sandbox account connected", "tenant", tenantID(r), "account", a.ID, "user", a.User, "status", a.Connection.Status)
	writeJSON(w, http.StatusCreated, a)
}

// handleSandboxRefresh handles the "POST /v1/sandbox/accounts/{id}/refresh"
// route: body {"added", "updated", "removed"} (each optional, default 0).
// It simulates a refresh scan, which publishes activities.added, .updated
// and .removed as applicable, and answers 202 with what changed.
func (h *SandboxHandler) handleSandboxRefresh(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	o, err := readObject(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	var fe hookd.FieldErrors
	var req sandbox.RefreshRequest
	for name, dst := range map[string]*int{"added": &req.Added, "updated": &req.Updated, "removed": &req.Removed} {
		if v := o.optInt(&fe, name); v != nil {
			*dst = *v
		}
	}
	if err := fe.Err(); err != nil {
		Error(w, r, err)
		return
	}
	res, err := h.Simulator.Refresh(r.Context(), tenantID(r), id, req)
	if err != nil {
		Error(w, r, err)
		return
	}
	h.logger(r).Info("sandbox account refreshed", "tenant", tenantID(r), "account", id,
		"added", len(res.Added), "updated", len(res.Updated), "removed", len(res.Removed))
	writeJSON(w, http.StatusAccepted, res)
}

// optStr decodes an optional string member; null is absent.
func (o object) optStr(fe *hookd.FieldErrors, name string) string {
	s, _ := o.str(fe, name)
	return s
}

// optInt decodes an optional integer member as DRF's IntegerField does: a
// JSON integer, a float with no fractional part, or a string holding an
// integer. null is absent. Values beyond the int range are clamped, so that
// range checks report them.
func (o object) optInt(fe *hookd.FieldErrors, name string) *int {
	raw, ok := o[name]
	if !ok {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	text := string(raw)
	switch kind(raw) {
	case "NoneType":
		return nil
	case "str":
		if err := json.Unmarshal(raw, &text); err != nil {
			fe.Add(name, msgInteger)
			return nil
		}
		text = strings.TrimSpace(text)
	case "int", "float":
	default:
		fe.Add(name, msgInteger)
		return nil
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		v := int(max(min(n, math.MaxInt32), math.MinInt32))
		return &v
	}
	f, err := strconv.ParseFloat(text, 64)
	if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(f) || f != math.Trunc(f) {
		fe.Add(name, msgInteger)
		return nil
	}
	v := int(max(min(f, math.MaxInt32), math.MinInt32))
	return &v
}

// optBool decodes an optional boolean member: true, false, or what DRF's
// BooleanField also takes ("true", "false", 1, 0, "1", "0"). null is false.
func (o object) optBool(fe *hookd.FieldErrors, name string) bool {
	raw, ok := o[name]
	if !ok {
		return false
	}
	text := string(bytes.TrimSpace(raw))
	switch kind(raw) {
	case "NoneType":
		return false
	case "str":
		if err := json.Unmarshal(raw, &text); err != nil {
			text = ""
		}
		text = strings.ToLower(strings.TrimSpace(text))
	}
	switch text {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	fe.Add(name, "Must be a valid boolean.")
	return false
}
