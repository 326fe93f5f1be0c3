package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Client calls a hookd API with an API key.
type Client struct {
	// BaseURL is the server's URL, such as "http://127.0.0.1:8080".
	BaseURL string
	// KeyID and KeySecret authenticate every request.
	KeyID, KeySecret string

	// RateLimited counts 429 answers (each retried after Retry-After).
	RateLimited atomic.Int64

	http *http.Client
}

// NewClient returns a Client for baseURL that keeps up to conns keep-alive
// connections.
func NewClient(baseURL, keyID, keySecret string, conns int) *Client {
	return &Client{
		BaseURL:   strings.TrimRight(baseURL, "/"),
		KeyID:     keyID,
		KeySecret: keySecret,
		http:      &http.Client{Transport: newTransport(conns), Timeout: 60 * time.Second},
	}
}

// Close closes idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// do sends a request and returns the status and body. It retries 429
// answers after their Retry-After, up to 20 times.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, r)
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		req.SetBasicAuth(c.KeyID, c.KeySecret)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 20 {
			c.RateLimited.Add(1)
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				wait = time.Duration(min(s, 10)) * time.Second
			}
			select {
			case <-ctx.Done():
				return 0, nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
			case <-time.After(max(wait, 50*time.Millisecond)):
			}
			continue
		}
		return resp.StatusCode, b, nil
	}
}

func statusError(op string, status int, body []byte) error {
	if len(body) > 300 {
		body = body[:300]
	}
	return fmt.Errorf("%s: answered %d: %s", op, status, bytes.TrimSpace(body))
}

// Check lists one webhook, to see that a hookd answers at BaseURL and takes
// the key.
func (c *Client) Check(ctx context.Context) error {
	status, b, err := c.do(ctx, http.MethodGet, "/v1/webhooks?limit=1", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return statusError("list webhooks", status, b)
	}
	return nil
}

// CreateWebhook creates a webhook and returns its id.
func (c *Client) CreateWebhook(ctx context.Context, name, url string, events []string, secret string) (string, error) {
	body, _ := json.Marshal(map[string]any{"name": name, "url": url, "events": events, "secret": secret})
	status, b, err := c.do(ctx, http.MethodPost, "/v1/webhooks", body)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return "", statusError("create webhook", status, b)
	}
	var w struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &w); err != nil || w.ID == "" {
		return "", fmt.Errorf("create webhook: answer without id: %.200s", b)
	}
	return w.ID, nil
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	status, b, err := c.do(ctx, http.MethodDelete, "/v1/webhooks/"+id, nil)
	if err != nil {
		return err
	}
	if status != http.StatusNoContent && status != http.StatusOK && status != http.StatusNotFound {
		return statusError("delete webhook "+id, status, b)
	}
	return nil
}

// Publish posts one event body ({"event","data"}) to /v1/events and returns
// how many deliveries it fanned out to.
func (c *Client) Publish(ctx context.Context, body []byte) (int, error) {
	status, b, err := c.do(ctx, http.MethodPost, "/v1/events", body)
	if err != nil {
		return 0, err
	}
	if status != http.StatusAccepted && status != http.StatusOK && status != http.StatusCreated {
		return 0, statusError("publish", status, b)
	}
	var r struct {
		Deliveries int `json:"deliveries"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	return r.Deliveries, nil
}

// PublishBatch posts {"events":[...]} to /v1/events/batch and returns how
// many events were accepted and how many deliveries they fanned out to.
func (c *Client) PublishBatch(ctx context.Context, body []byte) (accepted, deliveries int, err error) {
	status, b, err := c.do(ctx, http.MethodPost, "/v1/events/batch", body)
	if err != nil {
		return 0, 0, err
	}
	if status != http.StatusAccepted && status != http.StatusOK && status != http.StatusCreated {
		return 0, 0, statusError("publish batch", status, b)
	}
	var r struct {
		Results []struct {
			ID         string `json:"id"`
			Deliveries int    `json:"deliveries"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, 0, fmt.Errorf("publish batch: %w", err)
	}
	for _, x := range r.Results {
		if x.ID != "" {
			accepted++
			deliveries += x.Deliveries
		}
	}
	return accepted, deliveries, nil
}

// Healthy reports whether GET /healthz answers 200.
func (c *Client) Healthy(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// AppendEvent appends one event object {"event":…,"data":…} to dst.
func AppendEvent(dst []byte, eventType string, seq, publishedNs int64) []byte {
	dst = append(dst, `{"event":"`...)
	dst = append(dst, eventType...)
	dst = append(dst, `","data":`...)
	dst = AppendData(dst, seq, publishedNs)
	return append(dst, '}')
}

// AppendBatch appends {"events":[…]} for events first..first+n-1 to dst.
func AppendBatch(dst []byte, eventType string, first, n int64, publishedNs int64) []byte {
	dst = append(dst, `{"events":[`...)
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendEvent(dst, eventType, first+i, publishedNs)
	}
	return append(dst, "]}"...)
}
