package console

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookd/hookd"
)

type deliveryRow struct {
	*hookd.Delivery
	WebhookName string
	LastAttempt *hookd.Attempt
}

type deliveryListData struct {
	Rows      []deliveryRow
	Webhook   *hookd.Webhook // set when filtered by webhook
	Status    string
	Event     string
	Statuses  []string
	EventType []hookd.EventType
	Next      string
}

// handleDeliveryList handles GET /console/deliveries, the delivery log,
// filtered by ?webhook=, ?status= and ?event=.
func (h *Handler) handleDeliveryList(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	q := r.URL.Query()
	d := deliveryListData{
		Status:    q.Get("status"),
		Event:     q.Get("event"),
		Statuses:  []string{hookd.DeliveryPending, hookd.DeliverySucceeded, hookd.DeliveryFailed},
		EventType: hookd.Catalog,
	}
	f := hookd.DeliveryFilter{TenantID: s.TenantID, Page: hookd.Page{Limit: deliveryPageSize}}
	switch d.Status {
	case "", hookd.DeliveryPending, hookd.DeliverySucceeded, hookd.DeliveryFailed:
		f.Status = d.Status
	default:
		d.Status = ""
	}
	if _, ok := hookd.LookupEvent(d.Event); ok {
		f.EventType = d.Event
	} else {
		d.Event = ""
	}
	names := map[string]string{}
	if id := q.Get("webhook"); id != "" {
		if !hookd.IsUUID(id) {
			h.renderError(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
			return
		}
		wh, err := h.WebhookService.FindWebhookByID(r.Context(), s.TenantID, id)
		if err != nil {
			h.renderError(w, r, err)
			return
		}
		d.Webhook, f.WebhookID, names[wh.ID] = wh, wh.ID, wh.Name
	}
	f.Page.After = parseCursor(q.Get("after"))
	ds, more, err := h.DeliveryService.FindDeliveries(r.Context(), f)
	if err != nil {
		h.renderError(w, r, fmt.Errorf("find deliveries: %w", err))
		return
	}
	for _, dl := range ds {
		name, ok := names[dl.WebhookID]
		if !ok {
			if wh, err := h.WebhookService.FindWebhookByID(r.Context(), s.TenantID, dl.WebhookID); err == nil {
				name = wh.Name
			}
			names[dl.WebhookID] = name
		}
		row := deliveryRow{Delivery: dl, WebhookName: name}
		if n := len(dl.Attempts); n > 0 {
			row.LastAttempt = &dl.Attempts[n-1]
		}
		d.Rows = append(d.Rows, row)
	}
	if more && len(ds) > 0 {
		last := ds[len(ds)-1]
		v := url.Values{}
		for _, k := range []string{"webhook", "status", "event"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("after", formatCursor(last.CreatedAt, last.ID))
		d.Next = Prefix + "/deliveries?" + v.Encode()
	}
	title := "Deliveries"
	if d.Webhook != nil {
		title = "Deliveries of " + d.Webhook.Name
	}
	h.render(w, r, http.StatusOK, "deliveries", page{Title: title, Nav: "deliveries", Data: d})
}

type header struct{ Name, Value string }

type deliveryViewData struct {
	Delivery *hookd.Delivery
	Webhook  *hookd.Webhook
	Event    *hookd.Event
	Headers  []header
	Body     string
	Signed   bool
}

// handleDeliveryView handles GET /console/deliveries/{id}: the exact request
// and every attempt.
func (h *Handler) handleDeliveryView(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	id := r.PathValue("id")
	if !hookd.IsUUID(id) {
		h.renderError(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	dl, err := h.DeliveryService.FindDeliveryByID(r.Context(), s.TenantID, id)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	wh, err := h.WebhookService.FindWebhookByID(r.Context(), s.TenantID, dl.WebhookID)
	if err != nil {
		h.renderError(w, r, fmt.Errorf("find webhook of delivery: %w", err))
		return
	}
	ev, err := h.EventService.FindEventByID(r.Context(), s.TenantID, dl.EventID)
	if err != nil {
		h.renderError(w, r, fmt.Errorf("find event of delivery: %w", err))
		return
	}
	var resource []byte
	if hookd.IncludesResource(ev.Type, wh) {
		resource = ev.Resource
	}
	body := hookd.AppendEnvelope(nil, ev.Type, wh.Name, ev.Data, resource, h.BodyFormat != hookd.BodyCompact)
	d := deliveryViewData{Delivery: dl, Webhook: wh, Event: ev, Body: string(body)}
	d.Headers = []header{
		{"Content-Type", "application/json"},
		{"User-Agent", "hookd/" + hookd.Version},
		{"webhook-id", dl.ID},
		{"webhook-timestamp", "Unix time of the attempt, in seconds"},
	}
	if secrets := wh.Secrets(h.now()); len(secrets) > 0 {
		d.Signed = true
		mac := hmac.New(sha512.New, []byte(secrets[0]))
		mac.Write(body)
		d.Headers = append(d.Headers,
			header{"webhook-signature", strings.TrimSpace(strings.Repeat("v1,<base64 HMAC-SHA256 of id.timestamp.body> ", len(secrets)))},
			header{"X-Argyle-Signature", hex.EncodeToString(mac.Sum(nil))},
		)
	}
	h.render(w, r, http.StatusOK, "delivery", page{Title: "Delivery " + dl.ID, Nav: "deliveries", Data: d})
}

// handleDeliveryRedeliver handles POST /console/deliveries/{id}/redeliver.
func (h *Handler) handleDeliveryRedeliver(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	id := r.PathValue("id")
	if !hookd.IsUUID(id) {
		h.renderError(w, r, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
		return
	}
	if _, err := h.DeliveryService.RedeliverDelivery(r.Context(), s.TenantID, id, h.now()); err != nil {
		h.renderError(w, r, err)
		return
	}
	h.flashNext(r, &flash{Message: "Queued for redelivery. Reload in a moment to see the new attempt."})
	redirect(w, r, Prefix+"/deliveries/"+id)
}
