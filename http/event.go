package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookd/hookd"
)

// MaxBatchEvents is the most events one POST /v1/events/batch may carry.
const MaxBatchEvents = 1000

func (s *Server) registerEventRoutes() {
	s.handle(http.MethodPost, "/v1/events", s.handleEventPublish)
	s.handle(http.MethodPost, "/v1/events/batch", s.handleEventPublishBatch)
}

// publishJSON is the answer to a publish: the event's ID and how many
// deliveries it fanned out to.
type publishJSON struct {
	ID         string `json:"id"`
	Deliveries int    `json:"deliveries"`
}

// handleEventPublish handles the "POST /v1/events" route: body {"event",
// "data", "resource"?, "idempotency_key"?, "webhooks"?}, where webhooks, a
// hookd extension, narrows the fan-out to those of the tenant's webhooks
// (hookd trigger --webhook uses it). Answers 202 {"id",
// "deliveries"}; a repeated idempotency key answers as the first publish
// did and fans out nothing.
func (s *Server) handleEventPublish(w http.ResponseWriter, r *http.Request) {
	o, err := readObject(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	e, fe := decodeEvent(o, tenantID(r), s.now())
	if err := fe.Err(); err != nil {
		Error(w, r, err)
		return
	}
	res, err := hookd.PublishEvent(r.Context(), s.EventService, e)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, publishJSON{ID: res.EventID, Deliveries: res.Deliveries})
}

// handleEventPublishBatch handles the "POST /v1/events/batch" route: body
// {"events": [event, ...]} with up to MaxBatchEvents events, published
// together. Answers 202 {"results": [{"id", "deliveries"}, ...]} in input
// order; if any event is invalid, answers 400 keyed by index and publishes
// none.
func (s *Server) handleEventPublishBatch(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	// Most batches are a list of objects: split them in one pass, and
	// only when that fails decode the body, item by item if need be, to
	// say what is wrong.
	objs, ok := splitBatch(data)
	var items []json.RawMessage
	if !ok {
		o, err := decodeObject(data)
		if err != nil {
			Error(w, r, err)
			return
		}
		raw, ok := o["events"]
		switch k := kind(raw); {
		case !ok:
			Error(w, r, hookd.FieldError("events", msgRequired))
			return
		case k == "NoneType":
			Error(w, r, hookd.FieldError("events", msgNull))
			return
		case k != "list":
			Error(w, r, hookd.FieldError("events", fmt.Sprintf("Expected a list of items but got type %q.", k)))
			return
		}
		if err := json.Unmarshal(raw, &items); err != nil {
			Error(w, r, hookd.FieldError("events", `Expected a list of items but got type "list".`))
			return
		}
	}
	switch n := max(len(objs), len(items)); {
	case n == 0:
		Error(w, r, hookd.FieldError("events", "This list may not be empty."))
		return
	case n > MaxBatchEvents:
		Error(w, r, hookd.FieldError("events", fmt.Sprintf("Ensure this field has no more than %d elements.", MaxBatchEvents)))
		return
	}

	tenant, now := tenantID(r), s.now()
	if objs == nil {
		objs = make([]object, len(items))
	}
	events := make([]*hookd.Event, len(objs))
	bad := &batchError{field: "events", items: map[string]map[string][]string{}}
	for i, io := range objs {
		if io == nil {
			item := items[i]
			if k := kind(item); k != "dict" {
				bad.items[strconv.Itoa(i)] = map[string][]string{
					hookd.NonFieldErrors: {fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", k)},
				}
				continue
			}
			if err := json.Unmarshal(item, &io); err != nil {
				bad.items[strconv.Itoa(i)] = map[string][]string{hookd.NonFieldErrors: {"Invalid data."}}
				continue
			}
		}
		e, fe := decodeEvent(io, tenant, now)
		if len(fe) > 0 {
			bad.items[strconv.Itoa(i)] = fe
			continue
		}
		events[i] = e
	}
	if len(bad.items) > 0 {
		Error(w, r, bad)
		return
	}
	results, err := s.EventService.PublishEvents(r.Context(), events)
	if err != nil {
		Error(w, r, err)
		return
	}
	ans := make([]publishJSON, len(results))
	for i, res := range results {
		ans[i] = publishJSON{ID: res.EventID, Deliveries: res.Deliveries}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"results": ans})
}

// decodeEvent builds a published event from its JSON object: validated,
// data normalised, with a new ID, the tenant and now as CreatedAt.
func decodeEvent(o object, tenant string, now time.Time) (*hookd.Event, hookd.FieldErrors) {
	var fe hookd.FieldErrors
	e := &hookd.Event{ID: hookd.NewID(), TenantID: tenant, CreatedAt: now}
	e.Type = o.requiredStr(&fe, "event")
	switch raw, ok := o["data"]; {
	case !ok:
		fe.Add("data", msgRequired)
	case kind(raw) == "NoneType":
		fe.Add("data", msgNull)
	default:
		e.Data = raw
	}
	if raw, ok := o["resource"]; ok && kind(raw) != "NoneType" {
		e.Resource = raw
	}
	if v, st := o.str(&fe, "idempotency_key"); st == set {
		e.IdempotencyKey = v
	}
	if v, st := o.events(&fe, "webhooks"); st == set {
		if len(v) == 0 {
			fe.Add("webhooks", "This list may not be empty.")
		}
		for _, id := range v {
			if !hookd.IsUUID(id) {
				fe.Add("webhooks", fmt.Sprintf("%q is not a valid UUID.", id))
				break
			}
		}
		e.Webhooks = v
	}
	// Data and Resource come from a request body decoded whole: valid
	// JSON, which NormalizeValidData need not check again.
	mergeFieldErrors(&fe, e.ValidateDecoded())
	if len(fe) > 0 {
		return nil, fe
	}
	data, err := hookd.NormalizeValidData(e.Data)
	if err != nil {
		fe.Add("data", "Expected a JSON object.")
		return nil, fe
	}
	e.Data = data
	if len(e.Resource) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Resource); err != nil {
			fe.Add("resource", "Expected a JSON object.")
			return nil, fe
		}
		e.Resource = buf.Bytes()
	}
	return e, nil
}
