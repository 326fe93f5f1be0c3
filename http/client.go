package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Client calls a hookd API server as one tenant, authenticated by an API
// key. The CLI (hookd trigger) and hookd bench use it. Errors the server
// answers come back as *hookd.Error with the code matching the status and
// the server's messages.
type Client struct {
	// URL is the server's base URL, such as "http://127.0.0.1:8080".
	URL string
	// APIKeyID and APIKeySecret are the HTTP Basic credentials.
	APIKeyID, APIKeySecret string
	// HTTPClient sends the requests. Defaults to a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// NewClient returns a Client for the server at baseURL.
func NewClient(baseURL, apiKeyID, apiKeySecret string) *Client {
	return &Client{
		URL:          strings.TrimRight(baseURL, "/"),
		APIKeyID:     apiKeyID,
		APIKeySecret: apiKeySecret,
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	}
}

// CreateWebhook creates w (Name, Events, URL, Config, Secret) and fills in
// what the server set: ID, Status and the timestamps.
func (c *Client) CreateWebhook(ctx context.Context, w *hookd.Webhook) error {
	in := map[string]any{"name": w.Name, "events": w.Events, "url": w.URL, "config": w.Config}
	if w.Secret != "" {
		in["secret"] = w.Secret
	}
	var out webhookJSON
	if err := c.do(ctx, http.MethodPost, "/v1/webhooks", in, &out); err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	got, err := out.webhook()
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	got.TenantID = w.TenantID
	*w = *got
	return nil
}

// FindWebhookByID returns the webhook with that ID, its secret masked.
// Returns ENOTFOUND if it does not exist.
func (c *Client) FindWebhookByID(ctx context.Context, id string) (*hookd.Webhook, error) {
	var out webhookJSON
	if err := c.do(ctx, http.MethodGet, "/v1/webhooks/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, fmt.Errorf("find webhook %s: %w", id, err)
	}
	return out.webhook()
}

// FindWebhooks returns the first page of webhooks, newest first, up to
// limit (at most MaxLimit).
func (c *Client) FindWebhooks(ctx context.Context, limit int) ([]*hookd.Webhook, error) {
	var out struct {
		Results []webhookJSON `json:"results"`
	}
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/webhooks?limit=%d", limit), nil, &out); err != nil {
		return nil, fmt.Errorf("find webhooks: %w", err)
	}
	list := make([]*hookd.Webhook, len(out.Results))
	for i, wj := range out.Results {
		w, err := wj.webhook()
		if err != nil {
			return nil, fmt.Errorf("find webhooks: %w", err)
		}
		list[i] = w
	}
	return list, nil
}

// DeleteWebhook deletes the webhook with that ID.
// Returns ENOTFOUND if it does not exist.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodDelete, "/v1/webhooks/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// eventJSON is a published event as POST /v1/events takes it.
type eventJSON struct {
	Event          string          `json:"event"`
	Data           json.RawMessage `json:"data"`
	Resource       json.RawMessage `json:"resource,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	Webhooks       []string        `json:"webhooks,omitempty"`
}

func newEventJSON(e *hookd.Event) eventJSON {
	return eventJSON{Event: e.Type, Data: e.Data, Resource: e.Resource, IdempotencyKey: e.IdempotencyKey, Webhooks: e.Webhooks}
}

// PublishEvent publishes e (Type, Data, Resource, IdempotencyKey and
// Webhooks are sent; the server sets the ID).
func (c *Client) PublishEvent(ctx context.Context, e *hookd.Event) (hookd.PublishResult, error) {
	var out publishJSON
	if err := c.do(ctx, http.MethodPost, "/v1/events", newEventJSON(e), &out); err != nil {
		return hookd.PublishResult{}, fmt.Errorf("publish event: %w", err)
	}
	return hookd.PublishResult{EventID: out.ID, Deliveries: out.Deliveries}, nil
}

// PublishEvents publishes up to MaxBatchEvents events in one request; all
// are accepted or none.
func (c *Client) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.PublishResult, error) {
	in := struct {
		Events []eventJSON `json:"events"`
	}{Events: make([]eventJSON, len(events))}
	for i, e := range events {
		in.Events[i] = newEventJSON(e)
	}
	var out struct {
		Results []publishJSON `json:"results"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/events/batch", in, &out); err != nil {
		return nil, fmt.Errorf("publish events: %w", err)
	}
	rs := make([]hookd.PublishResult, len(out.Results))
	for i, r := range out.Results {
		rs[i] = hookd.PublishResult{EventID: r.ID, Deliveries: r.Deliveries}
	}
	return rs, nil
}

// FindDeliveryByID returns the delivery with that ID and its attempts.
// Returns ENOTFOUND if it does not exist.
func (c *Client) FindDeliveryByID(ctx context.Context, id string) (*hookd.Delivery, error) {
	var out deliveryJSON
	if err := c.do(ctx, http.MethodGet, "/v1/deliveries/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, fmt.Errorf("find delivery %s: %w", id, err)
	}
	return out.delivery()
}

// do sends one request with in as its JSON body (when non-nil) and decodes
// a 2xx answer into out (when non-nil). Other answers become *hookd.Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(c.APIKeyID, c.APIKeySecret)
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// decodeError turns an error answer back into a *hookd.Error.
func decodeError(status int, data []byte) error {
	code := hookd.EINTERNAL
	for c, s := range codes {
		if s == status && c != hookd.EINTERNAL {
			code = c
		}
	}
	e := &hookd.Error{Code: code, Message: http.StatusText(status)}
	var detail struct {
		Detail string `json:"detail"`
	}
	var fields map[string][]string
	switch {
	case json.Unmarshal(data, &fields) == nil && len(fields) > 0 && fields["detail"] == nil:
		e.Fields, e.Message = fields, "Invalid input."
	case json.Unmarshal(data, &detail) == nil && detail.Detail != "":
		e.Message = detail.Detail
	case len(data) > 0:
		e.Message = strings.TrimSpace(string(data[:min(len(data), 512)]))
	}
	return e
}

// webhook converts an API webhook object back to a hookd.Webhook.
func (wj webhookJSON) webhook() (*hookd.Webhook, error) {
	w := &hookd.Webhook{ID: wj.ID, Name: wj.Name, Events: wj.Events, URL: wj.URL, Config: wj.Config, Status: wj.Status}
	if wj.Secret != nil {
		w.Secret = *wj.Secret
	}
	if wj.DisabledReason != nil {
		w.DisabledReason = *wj.DisabledReason
	}
	var err error
	if w.CreatedAt, err = parseAPITime(wj.CreatedAt); err != nil {
		return nil, err
	}
	if w.UpdatedAt, err = parseAPITime(wj.UpdatedAt); err != nil {
		return nil, err
	}
	if w.LastSentAt, err = parseAPITimePtr(wj.LastSentAt); err != nil {
		return nil, err
	}
	return w, nil
}

// delivery converts an API delivery object back to a hookd.Delivery.
func (dj deliveryJSON) delivery() (*hookd.Delivery, error) {
	d := &hookd.Delivery{ID: dj.ID, WebhookID: dj.Webhook, EventID: dj.EventID, EventType: dj.Event, Status: dj.Status, AttemptCount: dj.AttemptCount}
	var err error
	if d.CreatedAt, err = parseAPITime(dj.CreatedAt); err != nil {
		return nil, err
	}
	if d.NextAttemptAt, err = parseAPITimePtr(dj.NextAttemptAt); err != nil {
		return nil, err
	}
	if d.LastAttemptAt, err = parseAPITimePtr(dj.LastAttemptAt); err != nil {
		return nil, err
	}
	for _, aj := range dj.Attempts {
		a := hookd.Attempt{Number: aj.Attempt, Latency: time.Duration(aj.LatencyMS * float64(time.Millisecond)), ResponseBody: aj.ResponseBody}
		if a.StartedAt, err = parseAPITime(aj.StartedAt); err != nil {
			return nil, err
		}
		if aj.StatusCode != nil {
			a.StatusCode = *aj.StatusCode
		}
		if aj.Error != nil {
			a.Error = *aj.Error
		}
		d.Attempts = append(d.Attempts, a)
	}
	return d, nil
}

func parseAPITime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseAPITimePtr(s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := parseAPITime(*s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
