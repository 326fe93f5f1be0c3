package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Page sizes.
const (
	webhookPageSize  = 50
	deliveryPageSize = 50
	// recentDeliveries is how many of a webhook's latest deliveries its
	// failure rate is computed over.
	recentDeliveries = 50
)

type webhookRow struct {
	*hookd.Webhook
	LastDelivery *hookd.Delivery
	// Finished counts recent deliveries that have been attempted, Failing
	// those among them whose last attempt failed.
	Finished, Failing int
	FailureRate       float64
}

type webhookListData struct {
	Rows []webhookRow
	Next string
}

// handleWebhookList handles GET /console/webhooks.
func (h *Handler) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	f := hookd.WebhookFilter{TenantID: s.TenantID, Page: hookd.Page{Limit: webhookPageSize}}
	f.Page.After = parseCursor(r.URL.Query().Get("after"))
	hooks, more, err := h.WebhookService.FindWebhooks(r.Context(), f)
	if err != nil {
		h.renderError(w, r, fmt.Errorf("find webhooks: %w", err))
		return
	}
	var d webhookListData
	for _, wh := range hooks {
		row := webhookRow{Webhook: wh}
		ds, _, err := h.DeliveryService.FindDeliveries(r.Context(), hookd.DeliveryFilter{
			TenantID: s.TenantID, WebhookID: wh.ID, Page: hookd.Page{Limit: recentDeliveries},
		})
		if err != nil {
			h.renderError(w, r, fmt.Errorf("find deliveries of webhook %s: %w", wh.ID, err))
			return
		}
		if len(ds) > 0 {
			row.LastDelivery = ds[0]
		}
		for _, dl := range ds {
			if dl.AttemptCount == 0 {
				continue
			}
			row.Finished++
			if failing(dl) {
				row.Failing++
			}
		}
		if row.Finished > 0 {
			row.FailureRate = float64(row.Failing) / float64(row.Finished)
		}
		d.Rows = append(d.Rows, row)
	}
	if more && len(hooks) > 0 {
		last := hooks[len(hooks)-1]
		d.Next = Prefix + "/webhooks?after=" + formatCursor(last.CreatedAt, last.ID)
	}
	h.render(w, r, http.StatusOK, "webhooks", page{Title: "Webhooks", Nav: "webhooks", Data: d})
}

// failing reports whether a delivery's latest attempt failed: it failed for
// good, or it waits for a retry.
func failing(d *hookd.Delivery) bool {
	switch d.Status {
	case hookd.DeliveryFailed:
		return true
	case hookd.DeliveryPending:
		return d.AttemptCount > 0
	}
	return false
}

// webhookForm is the create and edit form, as typed, with its errors.
type webhookForm struct {
	ID              string // "" when creating
	Name, URL       string
	Secret          string
	MaskedSecret    string // the current secret, masked, when editing
	All             bool
	Selected        map[string]bool
	DaysSynced      string
	IncludeResource bool
	Errors          hookd.FieldErrors
	Groups          []eventGroup
}

type eventGroup struct {
	Name   string
	Events []hookd.EventType
}

func catalogGroups() []eventGroup {
	var gs []eventGroup
	for _, g := range hookd.EventGroups() {
		eg := eventGroup{Name: g}
		for _, t := range hookd.Catalog {
			if t.Group() == g {
				eg.Events = append(eg.Events, t)
			}
		}
		gs = append(gs, eg)
	}
	return gs
}

func formFromWebhook(wh *hookd.Webhook) *webhookForm {
	f := &webhookForm{ID: wh.ID, Name: wh.Name, URL: wh.URL, MaskedSecret: hookd.MaskSecret(wh.Secret),
		Selected: map[string]bool{}, Groups: catalogGroups()}
	for _, e := range wh.Events {
		if e == hookd.Wildcard {
			f.All = true
		}
		f.Selected[e] = true
	}
	if wh.Config.DaysSynced != nil {
		f.DaysSynced = strconv.Itoa(*wh.Config.DaysSynced)
	}
	f.IncludeResource = wh.Config.IncludeResource != nil && *wh.Config.IncludeResource
	return f
}

func parseWebhookForm(r *http.Request) *webhookForm {
	_ = r.ParseForm()
	f := &webhookForm{
		Name:            r.PostFormValue("name"),
		URL:             strings.TrimSpace(r.PostFormValue("url")),
		Secret:          r.PostFormValue("secret"),
		All:             r.PostFormValue("events_mode") != "specific",
		Selected:        map[string]bool{},
		DaysSynced:      strings.TrimSpace(r.PostFormValue("days_synced")),
		IncludeResource: r.PostFormValue("include_resource") != "",
		Groups:          catalogGroups(),
	}
	for _, e := range r.PostForm["events"] {
		f.Selected[e] = true
	}
	return f
}

// subscription returns the events and config the form asks for. The days
// and include-resource inputs count only when an event they apply to is
// chosen, as the form shows them only then.
func (f *webhookForm) subscription() ([]string, hookd.WebhookConfig) {
	if f.All {
		return []string{hookd.Wildcard}, hookd.WebhookConfig{}
	}
	var events []string
	var days, resource bool
	for _, t := range hookd.Catalog {
		if f.Selected[t.Name] {
			events = append(events, t.Name)
			days = days || t.DaysSynced
			resource = resource || t.Resource
		}
	}
	var c hookd.WebhookConfig
	if days && f.DaysSynced != "" {
		n, err := strconv.Atoi(f.DaysSynced)
		if err != nil {
			n = -1 // Validate reports the range
		}
		c.DaysSynced = &n
	}
	if resource && f.IncludeResource {
		c.IncludeResource = new(true)
	}
	return events, c
}

// check validates wh and its URL against the egress policy, filling the
// form's errors. It reports whether wh is valid.
func (h *Handler) check(f *webhookForm, wh *hookd.Webhook) bool {
	f.Errors = nil
	if err := wh.Validate(); err != nil {
		f.Errors = fieldErrors(err)
	}
	if _, bad := f.Errors["url"]; !bad && h.URLPolicy != nil {
		if err := h.URLPolicy(wh.URL); err != nil {
			if fe := fieldErrors(err); len(fe) > 0 {
				for k, msgs := range fe {
					for _, m := range msgs {
						f.Errors.Add(k, m)
					}
				}
			} else {
				f.Errors.Add("url", err.Error())
			}
		}
	}
	return len(f.Errors) == 0
}

// fieldErrors returns the per-field messages of a validation error, with a
// message that names no field under non_field_errors.
func fieldErrors(err error) hookd.FieldErrors {
	var e *hookd.Error
	if !errors.As(err, &e) || e.Code != hookd.EINVALID {
		return nil
	}
	fe := hookd.FieldErrors{}
	for k, v := range e.Fields {
		fe[k] = append([]string(nil), v...)
	}
	if len(fe) == 0 {
		fe.Add(hookd.NonFieldErrors, e.Message)
	}
	return fe
}

// handleWebhookNew handles GET /console/webhooks/new.
func (h *Handler) handleWebhookNew(w http.ResponseWriter, r *http.Request) {
	f := &webhookForm{All: true, Selected: map[string]bool{}, Groups: catalogGroups()}
	h.render(w, r, http.StatusOK, "webhook_form", page{Title: "New webhook", Nav: "webhooks", Data: f})
}

// handleWebhookCreate handles POST /console/webhooks.
func (h *Handler) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	f := parseWebhookForm(r)
	events, config := f.subscription()
	now := h.now()
	wh := &hookd.Webhook{
		ID: hookd.NewID(), TenantID: s.TenantID, Name: f.Name, URL: f.URL, Events: events,
		Config: config, Secret: f.Secret, Status: hookd.WebhookEnabled,
		CreatedAt: hookd.Truncate(now), UpdatedAt: hookd.Truncate(now),
	}
	if !h.check(f, wh) {
		h.render(w, r, http.StatusBadRequest, "webhook_form", page{Title: "New webhook", Nav: "webhooks", Data: f})
		return
	}
	if err := h.WebhookService.CreateWebhook(r.Context(), wh); err != nil {
		if f.Errors = fieldErrors(err); f.Errors != nil {
			h.render(w, r, http.StatusBadRequest, "webhook_form", page{Title: "New webhook", Nav: "webhooks", Data: f})
			return
		}
		h.renderError(w, r, fmt.Errorf("create webhook: %w", err))
		return
	}
	fl := &flash{Message: "Webhook created."}
	if wh.Secret != "" {
		fl.Message = "Webhook created. Copy its secret now: it is shown in full only once."
		fl.Secret = wh.Secret
	}
	h.flashNext(r, fl)
	redirect(w, r, Prefix+"/webhooks/"+wh.ID)
}

// findWebhook loads the tenant's webhook named in the path; another
// tenant's, or a malformed ID, is ENOTFOUND.
func (h *Handler) findWebhook(r *http.Request) (*hookd.Webhook, error) {
	id := r.PathValue("id")
	if !hookd.IsUUID(id) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "Not found.")
	}
	return h.WebhookService.FindWebhookByID(r.Context(), sessionFrom(r.Context()).TenantID, id)
}

type webhookViewData struct {
	Webhook     *hookd.Webhook
	Deliveries  []*hookd.Delivery
	RecoverFrom string
}

// handleWebhookView handles GET /console/webhooks/{id}.
func (h *Handler) handleWebhookView(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	ds, _, err := h.DeliveryService.FindDeliveries(r.Context(), hookd.DeliveryFilter{
		TenantID: wh.TenantID, WebhookID: wh.ID, Page: hookd.Page{Limit: 10},
	})
	if err != nil {
		h.renderError(w, r, fmt.Errorf("find deliveries: %w", err))
		return
	}
	d := webhookViewData{Webhook: wh, Deliveries: ds,
		RecoverFrom: h.now().UTC().Add(-24 * time.Hour).Format(datetimeLocal)}
	h.render(w, r, http.StatusOK, "webhook", page{Title: wh.Name, Nav: "webhooks", Data: d})
}

// datetimeLocal is the value format of <input type="datetime-local">; the
// console reads and writes it in UTC.
const datetimeLocal = "2006-01-02T15:04"

// handleWebhookEdit handles GET /console/webhooks/{id}/edit.
func (h *Handler) handleWebhookEdit(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "webhook_form", page{Title: "Edit " + wh.Name, Nav: "webhooks", Data: formFromWebhook(wh)})
}

// handleWebhookUpdate handles POST /console/webhooks/{id}: the edit form.
// A blank secret keeps the current one; "remove_secret" removes it.
func (h *Handler) handleWebhookUpdate(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	f := parseWebhookForm(r)
	f.ID, f.MaskedSecret = wh.ID, hookd.MaskSecret(wh.Secret)
	events, config := f.subscription()
	upd := hookd.WebhookUpdate{Name: &f.Name, URL: &f.URL, Events: &events, Config: &config}
	if f.Secret != "" {
		upd.Secret = &f.Secret
	} else if r.PostFormValue("remove_secret") != "" {
		upd.Secret = new("")
	}
	title := "Edit " + wh.Name
	preview := *wh
	preview.Name, preview.URL, preview.Events, preview.Config = f.Name, f.URL, events, config
	if upd.Secret != nil {
		preview.Secret = *upd.Secret
	}
	if !h.check(f, &preview) {
		h.render(w, r, http.StatusBadRequest, "webhook_form", page{Title: title, Nav: "webhooks", Data: f})
		return
	}
	if _, err := h.WebhookService.UpdateWebhook(r.Context(), wh.TenantID, wh.ID, upd, h.now()); err != nil {
		if f.Errors = fieldErrors(err); f.Errors != nil {
			h.render(w, r, http.StatusBadRequest, "webhook_form", page{Title: title, Nav: "webhooks", Data: f})
			return
		}
		h.renderError(w, r, fmt.Errorf("update webhook: %w", err))
		return
	}
	h.flashNext(r, &flash{Message: "Webhook saved."})
	redirect(w, r, Prefix+"/webhooks/"+wh.ID)
}

// handleWebhookDeleteConfirm handles GET /console/webhooks/{id}/delete.
func (h *Handler) handleWebhookDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "webhook_delete", page{Title: "Delete " + wh.Name, Nav: "webhooks", Data: wh})
}

// handleWebhookDelete handles POST /console/webhooks/{id}/delete.
func (h *Handler) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	if err := h.WebhookService.DeleteWebhook(r.Context(), wh.TenantID, wh.ID); err != nil {
		h.renderError(w, r, fmt.Errorf("delete webhook: %w", err))
		return
	}
	h.flashNext(r, &flash{Message: fmt.Sprintf("Webhook %q deleted.", wh.Name)})
	redirect(w, r, Prefix+"/webhooks")
}

// handleWebhookStatus handles POST /console/webhooks/{id}/status, which
// enables or disables the webhook (status=enabled|disabled).
func (h *Handler) handleWebhookStatus(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	status := r.PostFormValue("status")
	if status != hookd.WebhookEnabled && status != hookd.WebhookDisabled {
		h.renderError(w, r, hookd.FieldError("status", fmt.Sprintf("%q is not a valid choice.", status)))
		return
	}
	if _, err := h.WebhookService.UpdateWebhook(r.Context(), wh.TenantID, wh.ID, hookd.WebhookUpdate{Status: &status}, h.now()); err != nil {
		h.renderError(w, r, fmt.Errorf("update webhook status: %w", err))
		return
	}
	h.flashNext(r, &flash{Message: "Webhook " + status + "."})
	redirect(w, r, Prefix+"/webhooks/"+wh.ID)
}

// handleWebhookRotate handles POST /console/webhooks/{id}/rotate: a new
// secret, shown once; the old one keeps signing for the grace period.
func (h *Handler) handleWebhookRotate(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	upd, secret := hookd.RotateSecret(wh, h.now(), hookd.DefaultRotationGrace)
	if _, err := h.WebhookService.UpdateWebhook(r.Context(), wh.TenantID, wh.ID, upd, h.now()); err != nil {
		h.renderError(w, r, fmt.Errorf("rotate secret: %w", err))
		return
	}
	msg := "New secret created. Copy it now: it is shown in full only once."
	if wh.Secret != "" {
		msg += " The previous secret keeps signing for 24 hours."
	}
	h.flashNext(r, &flash{Message: msg, Secret: secret})
	redirect(w, r, Prefix+"/webhooks/"+wh.ID)
}

// handleWebhookTest handles POST /console/webhooks/{id}/test: it sends a
// sample event, waits up to SendTestTimeout for the attempt and shows the
// delivery.
func (h *Handler) handleWebhookTest(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), SendTestTimeout)
	defer cancel()
	d, err := hookd.SendTest(ctx, h.EventService, h.DeliveryService, wh, h.now())
	if hookd.ErrorCode(err) == hookd.ECONFLICT {
		h.flashNext(r, &flash{Message: hookd.ErrorMessage(err), Error: true})
		redirect(w, r, Prefix+"/webhooks/"+wh.ID)
		return
	} else if err != nil {
		h.renderError(w, r, fmt.Errorf("send test event: %w", err))
		return
	}
	fl := &flash{Message: "Test event sent; the attempt has not finished yet. Reload to see it."}
	if n := len(d.Attempts); n > 0 {
		a := d.Attempts[n-1]
		switch {
		case a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300:
			fl.Message = fmt.Sprintf("Test event delivered: %d in %s.", a.StatusCode, formatLatency(a.Latency))
		case a.StatusCode != 0:
			fl.Message, fl.Error = fmt.Sprintf("Test event failed: the endpoint answered %d.", a.StatusCode), true
		default:
			fl.Message, fl.Error = "Test event failed: "+a.Error, true
		}
	}
	h.flashNext(r, fl)
	redirect(w, r, Prefix+"/deliveries/"+d.ID)
}

// handleWebhookRecover handles POST /console/webhooks/{id}/recover, which
// redelivers every failed delivery created since the given time (UTC).
func (h *Handler) handleWebhookRecover(w http.ResponseWriter, r *http.Request) {
	wh, err := h.findWebhook(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	since, err := time.ParseInLocation(datetimeLocal, r.PostFormValue("since"), time.UTC)
	if err != nil {
		h.flashNext(r, &flash{Message: "Enter the time to recover from as YYYY-MM-DDTHH:MM (UTC).", Error: true})
		redirect(w, r, Prefix+"/webhooks/"+wh.ID)
		return
	}
	n, err := h.DeliveryService.RecoverDeliveries(r.Context(), wh.TenantID, wh.ID, since, h.now())
	if err != nil {
		h.renderError(w, r, fmt.Errorf("recover deliveries: %w", err))
		return
	}
	h.flashNext(r, &flash{Message: fmt.Sprintf("%d failed %s queued for redelivery.", n, plural(n, "delivery", "deliveries"))})
	redirect(w, r, Prefix+"/webhooks/"+wh.ID)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// formatCursor and parseCursor encode a list position in a query string.
func formatCursor(t time.Time, id string) string {
	return strconv.FormatInt(t.UnixMicro(), 10) + "_" + id
}

func parseCursor(s string) *hookd.Cursor {
	ts, id, ok := strings.Cut(s, "_")
	if !ok || !hookd.IsUUID(id) {
		return nil
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil
	}
	return &hookd.Cursor{Time: time.UnixMicro(us).UTC(), ID: id}
}
