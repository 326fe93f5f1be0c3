package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookd/hookd"
)

// MaxRotationGrace bounds rotate_secret's grace_period_seconds.
const MaxRotationGrace = 30 * 24 * time.Hour

func (s *Server) registerWebhookRoutes() {
	s.handle(http.MethodPost, "/v1/webhooks", s.handleWebhookCreate)
	s.handle(http.MethodGet, "/v1/webhooks", s.handleWebhookList)
	s.handle(http.MethodGet, "/v1/webhooks/{id}", s.handleWebhookGet)
	s.handle(http.MethodPatch, "/v1/webhooks/{id}", s.handleWebhookUpdate)
	s.handle(http.MethodDelete, "/v1/webhooks/{id}", s.handleWebhookDelete)
	s.handle(http.MethodPost, "/v1/webhooks/{id}/test", s.handleWebhookTest)
	s.handle(http.MethodPost, "/v1/webhooks/{id}/rotate_secret", s.handleWebhookRotateSecret)
	s.handle(http.MethodPost, "/v1/webhooks/{id}/recover", s.handleWebhookRecover)
}

// webhookJSON is the webhook object. Secret is null when there is none.
type webhookJSON struct {
	ID             string              `json:"id"`
	Name           string              `json:"name"`
	Events         []string            `json:"events"`
	URL            string              `json:"url"`
	Config         hookd.WebhookConfig `json:"config"`
	Secret         *string             `json:"secret"`
	CreatedAt      string              `json:"created_at"`
	UpdatedAt      string              `json:"updated_at"`
	LastSentAt     *string             `json:"last_sent_at"`
	Status         string              `json:"status"`
	DisabledReason *string             `json:"disabled_reason"`
}

// rotatedWebhookJSON is the rotate_secret answer: the webhook object with
// its new secret in full and when the previous secret stops signing.
type rotatedWebhookJSON struct {
	webhookJSON
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
}

// newWebhookJSON returns w's API object, its secret masked unless
// fullSecret.
func newWebhookJSON(w *hookd.Webhook, fullSecret bool) webhookJSON {
	secret := hookd.MaskSecret(w.Secret)
	if fullSecret {
		secret = w.Secret
	}
	events := w.Events
	if events == nil {
		events = []string{}
	}
	return webhookJSON{
		ID:             w.ID,
		Name:           w.Name,
		Events:         events,
		URL:            w.URL,
		Config:         w.Config,
		Secret:         stringPtr(secret),
		CreatedAt:      hookd.FormatTime(w.CreatedAt),
		UpdatedAt:      hookd.FormatTime(w.UpdatedAt),
		LastSentAt:     formatTimePtr(w.LastSentAt),
		Status:         w.Status,
		DisabledReason: stringPtr(w.DisabledReason),
	}
}

// pathID returns the {id} path parameter, or an ENOTFOUND error when it is
// not a UUID (no store is asked).
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !hookd.IsUUID(id) {
		return "", hookd.Errorf(hookd.ENOTFOUND, "Not found.")
	}
	return id, nil
}

// handleWebhookCreate handles the "POST /v1/webhooks" route: it creates a
// webhook and answers 201 with it, its secret in full.
func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	o, err := readObject(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	var fe hookd.FieldErrors
	name := o.requiredStr(&fe, "name")
	events, st := o.events(&fe, "events")
	o.require(&fe, "events", st)
	rawURL := o.requiredStr(&fe, "url")
	config, _ := o.config(&fe, "config") // null means unset
	secret, _ := o.str(&fe, "secret")    // null means none

	now := s.now()
	wh := &hookd.Webhook{
		ID:        hookd.NewID(),
		TenantID:  tenantID(r),
		Name:      name,
		Events:    events,
		URL:       rawURL,
		Config:    config,
		Secret:    secret,
		Status:    hookd.WebhookEnabled,
		CreatedAt: now,
		UpdatedAt: now,
	}
	mergeFieldErrors(&fe, wh.Validate())
	s.checkURLPolicy(&fe, wh.URL)
	if err := fe.Err(); err != nil {
		Error(w, r, err)
		return
	}
	if err := s.WebhookService.CreateWebhook(r.Context(), wh); err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, newWebhookJSON(wh, true))
}

// mergeFieldErrors adds err's field messages to fe for every field fe has
// no message for yet: a field of the wrong type is reported once.
func mergeFieldErrors(fe *hookd.FieldErrors, err error) {
	var e *hookd.Error
	if !errors.As(err, &e) {
		return
	}
	for field, msgs := range e.Fields {
		if _, done := (*fe)[field]; !done {
			for _, m := range msgs {
				fe.Add(field, m)
			}
		}
	}
}

// checkURLPolicy records the egress policy's objection to rawURL under
// "url", when the URL is otherwise valid.
func (s *Server) checkURLPolicy(fe *hookd.FieldErrors, rawURL string) {
	if s.URLPolicy == nil {
		return
	}
	if _, bad := (*fe)["url"]; bad {
		return
	}
	if err := s.URLPolicy(rawURL); err != nil {
		msg := err.Error()
		if hookd.ErrorCode(err) != hookd.EINTERNAL {
			msg = hookd.ErrorMessage(err)
		}
		fe.Add("url", msg)
	}
}

// handleWebhookGet handles the "GET /v1/webhooks/{id}" route.
func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	wh, err := s.WebhookService.FindWebhookByID(r.Context(), tenantID(r), id)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newWebhookJSON(wh, false))
}

// handleWebhookList handles the "GET /v1/webhooks" route: query limit,
// ordering, from_created_at_date, to_created_at_date and cursor.
func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	q := newListQuery(r)
	filter := hookd.WebhookFilter{
		TenantID:    tenantID(r),
		Ordering:    q.choice("ordering", hookd.OrderID, hookd.OrderCreatedAt, hookd.OrderCreatedAtDesc),
		CreatedFrom: q.time("from_created_at_date", false),
		CreatedTo:   q.time("to_created_at_date", true),
	}
	if filter.Ordering == "" {
		filter.Ordering = hookd.OrderCreatedAtDesc
	}
	filter.Page = q.page(filter.Ordering)
	if err := q.err(); err != nil {
		Error(w, r, err)
		return
	}
	list, more, err := s.WebhookService.FindWebhooks(r.Context(), filter)
	if err != nil {
		Error(w, r, err)
		return
	}
	results := make([]webhookJSON, len(list))
	for i, wh := range list {
		results[i] = newWebhookJSON(wh, false)
	}
	var first, last *hookd.Cursor
	if n := len(list); n > 0 {
		first, last = webhookCursor(list[0], filter.Ordering), webhookCursor(list[n-1], filter.Ordering)
	}
	next, prev := pageLinks(r, q, filter.Ordering, filter.Page, first, last, more)
	writeJSON(w, http.StatusOK, listAnswer{Next: next, Previous: prev, Results: results})
}

func webhookCursor(w *hookd.Webhook, ordering string) *hookd.Cursor {
	if ordering == hookd.OrderID {
		return &hookd.Cursor{ID: w.ID}
	}
	return &hookd.Cursor{Time: w.CreatedAt, ID: w.ID}
}

// handleWebhookUpdate handles the "PATCH /v1/webhooks/{id}" route: a
// partial update of name, url, events, config, secret and status.
func (s *Server) handleWebhookUpdate(w http.ResponseWriter, r *http.Request) {
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
	var upd hookd.WebhookUpdate
	notNull := func(name string, st state) bool {
		if st == null {
			fe.Add(name, msgNull)
		}
		return st == set
	}
	if v, st := o.str(&fe, "name"); notNull("name", st) {
		upd.Name = &v
	}
	if v, st := o.str(&fe, "url"); notNull("url", st) {
		upd.URL = &v
		check := hookd.Webhook{URL: v}
		mergeFieldErrors(&fe, onlyField(check.Validate(), "url"))
		s.checkURLPolicy(&fe, v)
	}
	if v, st := o.events(&fe, "events"); notNull("events", st) {
		upd.Events = &v
	}
	switch v, st := o.config(&fe, "config"); st {
	case set, null:
		upd.Config = &v
	}
	switch v, st := o.str(&fe, "secret"); st {
	case set, null:
		upd.Secret = &v
	}
	if v, st := o.str(&fe, "status"); notNull("status", st) {
		if v != hookd.WebhookEnabled && v != hookd.WebhookDisabled {
			fe.Add("status", fmt.Sprintf("%q is not a valid choice.", v))
		}
		upd.Status = &v
	}
	if err := fe.Err(); err != nil {
		Error(w, r, err)
		return
	}
	wh, err := s.WebhookService.UpdateWebhook(r.Context(), tenantID(r), id, upd, s.now())
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newWebhookJSON(wh, false))
}

// onlyField returns err narrowed to the messages of one field, or nil.
func onlyField(err error, field string) error {
	var e *hookd.Error
	if !errors.As(err, &e) || len(e.Fields[field]) == 0 {
		return nil
	}
	return &hookd.Error{Code: e.Code, Message: e.Message, Fields: map[string][]string{field: e.Fields[field]}}
}

// handleWebhookDelete handles the "DELETE /v1/webhooks/{id}" route: 204,
// and nothing further is delivered for the webhook.
func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if err := s.WebhookService.DeleteWebhook(r.Context(), tenantID(r), id); err != nil {
		Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleWebhookTest handles the "POST /v1/webhooks/{id}/test" route: it
// sends a sample of the webhook's first event now and answers 200 with the
// delivery once its attempt is recorded (or TestTimeout passes).
func (s *Server) handleWebhookTest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if _, err := readBody(w, r); err != nil { // no body expected; still bounded and typed
		Error(w, r, err)
		return
	}
	wh, err := s.WebhookService.FindWebhookByID(r.Context(), tenantID(r), id)
	if err != nil {
		Error(w, r, err)
		return
	}
	timeout := s.TestTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	d, err := hookd.SendTest(ctx, s.EventService, s.DeliveryService, wh, s.now())
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newDeliveryJSON(d))
}

// handleWebhookRotateSecret handles the "POST /v1/webhooks/{id}/rotate_secret"
// route: a new secret, with the old one signing alongside for
// grace_period_seconds (optional body; default 24 h). Answers the webhook
// with the new secret in full and previous_secret_expires_at.
func (s *Server) handleWebhookRotateSecret(w http.ResponseWriter, r *http.Request) {
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
	grace := hookd.DefaultRotationGrace
	if raw, ok := o["grace_period_seconds"]; ok && kind(raw) != "NoneType" {
		n, ok := jsonInt(raw)
		switch {
		case !ok:
			Error(w, r, hookd.FieldError("grace_period_seconds", msgInteger))
			return
		case n < 0:
			Error(w, r, hookd.FieldError("grace_period_seconds", "Ensure this value is greater than or equal to 0."))
			return
		case time.Duration(n)*time.Second > MaxRotationGrace:
			Error(w, r, hookd.FieldError("grace_period_seconds", fmt.Sprintf("Ensure this value is less than or equal to %d.", int(MaxRotationGrace/time.Second))))
			return
		}
		grace = time.Duration(n) * time.Second
	}
	tenant := tenantID(r)
	wh, err := s.WebhookService.FindWebhookByID(r.Context(), tenant, id)
	if err != nil {
		Error(w, r, err)
		return
	}
	now := s.now()
	upd, _ := hookd.RotateSecret(wh, now, grace)
	wh, err = s.WebhookService.UpdateWebhook(r.Context(), tenant, id, upd, now)
	if err != nil {
		Error(w, r, err)
		return
	}
	ans := rotatedWebhookJSON{webhookJSON: newWebhookJSON(wh, true)}
	if wh.PreviousSecret != "" {
		ans.PreviousSecretExpiresAt = formatTimePtr(wh.PreviousSecretExpiresAt)
	}
	writeJSON(w, http.StatusOK, ans)
}

// handleWebhookRecover handles the "POST /v1/webhooks/{id}/recover" route:
// it redelivers every failed delivery of the webhook created since `since`
// (query parameter or body field, ISO 8601) and answers 202
// {"recovered": N}.
func (s *Server) handleWebhookRecover(w http.ResponseWriter, r *http.Request) {
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
	raw := r.URL.Query().Get("since")
	if v, st := o.str(&fe, "since"); st == set {
		raw = v
	} else if st == null && raw == "" {
		fe.Add("since", msgNull)
	}
	if err := fe.Err(); err != nil {
		Error(w, r, err)
		return
	}
	if raw == "" {
		Error(w, r, hookd.FieldError("since", msgRequired))
		return
	}
	since, ok := parseTime(raw, false)
	if !ok {
		Error(w, r, hookd.FieldError("since", msgDateTime))
		return
	}
	n, err := s.DeliveryService.RecoverDeliveries(r.Context(), tenantID(r), id, since, s.now())
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"recovered": n})
}
