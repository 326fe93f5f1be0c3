package http_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// newFuzzServer returns a server whose mocks accept everything, so that any
// 500 comes from the HTTP layer.
func newFuzzServer(tb testing.TB) (*testServer, http.Handler) {
	tb.Helper()
	ts := newTestServer(tb)
	ts.URLPolicy = func(raw string) error { return nil }
	ws := []*hookd.Webhook{newWebhook(tenantA), newWebhook(tenantA)}
	ts.Webhooks.CreateWebhookFunc = func(ctx context.Context, w *hookd.Webhook) error { return nil }
	ts.Webhooks.FindWebhooksFunc = func(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
		return ws, true, nil
	}
	ds := []*hookd.Delivery{newDelivery(tenantA)}
	ts.Deliveries.FindDeliveriesFunc = func(ctx context.Context, f hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
		return ds, true, nil
	}
	ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
		rs := make([]hookd.PublishResult, len(es))
		for i, e := range es {
			if e == nil || !hookd.IsUUID(e.ID) || e.TenantID != tenantA || len(e.Data) == 0 {
				tb.Fatalf("published an invalid event: %+v", e)
			}
			if _, err := hookd.NormalizeData(e.Data); err != nil {
				tb.Fatalf("published data %q: %v", e.Data, err)
			}
			rs[i] = hookd.PublishResult{EventID: e.ID, Deliveries: 1}
		}
		return rs, nil
	}
	return ts, ts.Handler()
}

func serve(h http.Handler, method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/", bytes.NewReader(body))
	r.URL.Path, r.URL.RawQuery, r.RequestURI = target, "", target
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.SetBasicAuth(keyA, secretA)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func FuzzWebhookCreate(f *testing.F) {
	for _, s := range []struct{ body, ct string }{
		{`{"name":"n","events":["accounts.added"],"url":"https://example.com","config":{"include_resource":true},"secret":"s"}`, "application/json"},
		{`{"name":"n","events":"*","url":"http://example.com","config":null}`, "application/json; charset=utf-8"},
		{`{"name":1e400,"events":[1],"url":{},"config":{"days_synced":1e10}}`, "application/json"},
		{`{"name":"n","events":["activities.partially_synced"],"url":"http://[::1]:80","config":{"days_synced":-1}}`, "application/json"},
		{`[]`, "application/json"},
		{`{"a":`, "application/json"},
		{`{}`, "text/plain"},
		{``, ""},
		{`null`, "application/vnd.api+json"},
		{"{\"name\":\"\xff\",\"events\":[\"*\"],\"url\":\"http://x\"}", "application/json"},
	} {
		f.Add([]byte(s.body), s.ct)
	}
	ts, h := newFuzzServer(f)
	ts.Webhooks.UpdateWebhookFunc = func(ctx context.Context, tenant, id string, upd hookd.WebhookUpdate, now time.Time) (*hookd.Webhook, error) {
		return upd.Apply(newWebhook(tenant), now)
	}
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		for _, method := range []string{"POST", "PATCH"} {
			target := "/v1/webhooks"
			if method == "PATCH" {
				target += "/" + hookd.NewID()
			}
			rec := serve(h, method, target, ct, body)
			if rec.Code >= 500 {
				t.Fatalf("%s %s with %q (%s): status %d: %s", method, target, body, ct, rec.Code, rec.Body)
			}
			if rec.Code == http.StatusCreated || rec.Code == http.StatusOK {
				continue
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Fatalf("Content-Type: got %q, want application/json", got)
			}
		}
	})
}

func FuzzListQuery(f *testing.F) {
	for _, q := range []string{
		"", "limit=5", "limit=0", "limit=-1", "limit=abc", "limit=1000", "ordering=id", "ordering=-created_at&limit=2",
		"from_created_at_date=2024-01-01&to_created_at_date=2024-01-02T10:00:00%2B02:00", "cursor=eyJvIjoiaWQiLCJkIjoibiIsImkiOiJ4In0",
		"cursor=%ZZ", "webhook=x&event=accounts.added&status=failed&from_created_at=2024-01-01", ";;&&==", "limit=9223372036854775808",
		"from_created_at_date=2024-01-02T10:00:00 02:00",
	} {
		f.Add(q)
	}
	_, h := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, p := range []string{"/v1/webhooks", "/v1/deliveries"} {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.Path, r.URL.RawQuery = p, raw
			r.SetBasicAuth(keyA, secretA)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("GET %s?%s: status %d: %s", p, raw, rec.Code, rec.Body)
			}
		}
	})
}

func FuzzPublish(f *testing.F) {
	for _, s := range []string{
		`{"event":"accounts.added","data":{"account":"a","user":"u"},"resource":{"id":"a"},"idempotency_key":"k"}`,
		`{"event":"users.fully_synced","data":{"user":"u","user":"v"}}`,
		`{"event":"accounts.added","data":{ "account" : [1, {"x": null}] } }`,
		`{"event":"accounts.added","data":"x"}`,
		`{"event":1,"data":null,"resource":[]}`,
		`{"events":[{"event":"accounts.added","data":{}},"x",null,{}]}`,
		`{"events":"x"}`,
		`[]`,
		`{`,
		``,
	} {
		f.Add([]byte(s))
	}
	_, h := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range []string{"/v1/events", "/v1/events/batch"} {
			rec := serve(h, "POST", p, "application/json", body)
			if rec.Code != http.StatusAccepted && rec.Code != http.StatusBadRequest {
				t.Fatalf("POST %s with %q: status %d: %s", p, body, rec.Code, rec.Body)
			}
		}
	})
}
