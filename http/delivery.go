package http

import (
	"net/http"

	"github.com/hookd/hookd"
)

// deliveryOrdering names the delivery log's one order, newest first, in
// its cursors.
const deliveryOrdering = hookd.OrderCreatedAtDesc

func (s *Server) registerDeliveryRoutes() {
	s.handle(http.MethodGet, "/v1/deliveries", s.handleDeliveryList)
	s.handle(http.MethodGet, "/v1/deliveries/{id}", s.handleDeliveryGet)
	s.handle(http.MethodPost, "/v1/deliveries/{id}/redeliver", s.handleDeliveryRedeliver)
}

// deliveryJSON is the delivery object.
type deliveryJSON struct {
	ID            string        `json:"id"`
	Webhook       string        `json:"webhook"`
	Event         string        `json:"event"`
	EventID       string        `json:"event_id"`
	Status        string        `json:"status"`
	AttemptCount  int           `json:"attempt_count"`
	NextAttemptAt *string       `json:"next_attempt_at"`
	CreatedAt     string        `json:"created_at"`
	LastAttemptAt *string       `json:"last_attempt_at"`
	Attempts      []attemptJSON `json:"attempts"`
}

// attemptJSON is one attempt of a delivery. StatusCode and Error are null
// when there was none; LatencyMS is in milliseconds with a fractional part.
type attemptJSON struct {
	Attempt      int     `json:"attempt"`
	StartedAt    string  `json:"started_at"`
	StatusCode   *int    `json:"status_code"`
	LatencyMS    float64 `json:"latency_ms"`
	ResponseBody string  `json:"response_body"`
	Error        *string `json:"error"`
}

func newDeliveryJSON(d *hookd.Delivery) deliveryJSON {
	attempts := make([]attemptJSON, len(d.Attempts))
	for i, a := range d.Attempts {
		aj := attemptJSON{
			Attempt:      a.Number,
			StartedAt:    hookd.FormatTime(a.StartedAt),
			LatencyMS:    float64(a.Latency.Microseconds()) / 1000,
			ResponseBody: a.ResponseBody,
			Error:        stringPtr(a.Error),
		}
		if a.StatusCode != 0 {
			code := a.StatusCode
			aj.StatusCode = &code
		}
		attempts[i] = aj
	}
	return deliveryJSON{
		ID:            d.ID,
		Webhook:       d.WebhookID,
		Event:         d.EventType,
		EventID:       d.EventID,
		Status:        d.Status,
		AttemptCount:  d.AttemptCount,
		NextAttemptAt: formatTimePtr(d.NextAttemptAt),
		CreatedAt:     hookd.FormatTime(d.CreatedAt),
		LastAttemptAt: formatTimePtr(d.LastAttemptAt),
		Attempts:      attempts,
	}
}

// handleDeliveryList handles the "GET /v1/deliveries" route: the delivery
// log, newest first, filtered by webhook, event (a type), event_id, status
// and from_created_at/to_created_at, paginated by limit and cursor.
func (s *Server) handleDeliveryList(w http.ResponseWriter, r *http.Request) {
	q := newListQuery(r)
	types := make([]string, len(hookd.Catalog))
	for i, t := range hookd.Catalog {
		types[i] = t.Name
	}
	filter := hookd.DeliveryFilter{
		TenantID:    tenantID(r),
		WebhookID:   q.uuid("webhook"),
		EventID:     q.uuid("event_id"),
		EventType:   q.choice("event", types...),
		Status:      q.choice("status", hookd.DeliveryPending, hookd.DeliverySucceeded, hookd.DeliveryFailed),
		CreatedFrom: q.time("from_created_at", false),
		CreatedTo:   q.time("to_created_at", true),
	}
	filter.Page = q.page(deliveryOrdering)
	if err := q.err(); err != nil {
		Error(w, r, err)
		return
	}
	list, more, err := s.DeliveryService.FindDeliveries(r.Context(), filter)
	if err != nil {
		Error(w, r, err)
		return
	}
	results := make([]deliveryJSON, len(list))
	for i, d := range list {
		results[i] = newDeliveryJSON(d)
	}
	var first, last *hookd.Cursor
	if n := len(list); n > 0 {
		first = &hookd.Cursor{Time: list[0].CreatedAt, ID: list[0].ID}
		last = &hookd.Cursor{Time: list[n-1].CreatedAt, ID: list[n-1].ID}
	}
	next, prev := pageLinks(r, q, deliveryOrdering, filter.Page, first, last, more)
	writeJSON(w, http.StatusOK, listAnswer{Next: next, Previous: prev, Results: results})
}

// handleDeliveryGet handles the "GET /v1/deliveries/{id}" route: the
// delivery with its attempts.
func (s *Server) handleDeliveryGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	d, err := s.DeliveryService.FindDeliveryByID(r.Context(), tenantID(r), id)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newDeliveryJSON(d))
}

// handleDeliveryRedeliver handles the "POST /v1/deliveries/{id}/redeliver"
// route: the delivery is made pending and due now, keeping its webhook-id,
// and answered 202.
func (s *Server) handleDeliveryRedeliver(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if _, err := readBody(w, r); err != nil {
		Error(w, r, err)
		return
	}
	d, err := s.DeliveryService.RedeliverDelivery(r.Context(), tenantID(r), id, s.now())
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, newDeliveryJSON(d))
}
