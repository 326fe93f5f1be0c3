package http_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

var deliveryFields = []string{"attempt_count", "attempts", "created_at", "event", "event_id", "id", "last_attempt_at", "next_attempt_at", "status", "webhook"}

// newDelivery returns a failed-then-pending delivery of tenant with two
// attempts.
func newDelivery(tenant string) *hookd.Delivery {
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	next, last := created.Add(5*time.Minute), created.Add(6*time.Second)
	return &hookd.Delivery{
		ID: hookd.NewID(), TenantID: tenant, WebhookID: hookd.NewID(), EventID: hookd.NewID(), EventType: "accounts.added",
		Status: hookd.DeliveryPending, AttemptCount: 2, NextAttemptAt: &next, CreatedAt: created, LastAttemptAt: &last,
		Attempts: []hookd.Attempt{
			{Number: 1, StartedAt: created, Latency: 15 * time.Second, Error: "timeout awaiting response headers"},
			{Number: 2, StartedAt: last, StatusCode: 503, Latency: 2500 * time.Microsecond, ResponseBody: "<html>busy</html>", Error: "status 503"},
		},
	}
}

func TestDeliveryGet(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	da, db := newDelivery(tenantA), newDelivery(tenantB)
	ts.Deliveries.FindDeliveryByIDFunc = func(ctx context.Context, tenant, id string) (*hookd.Delivery, error) {
		for _, d := range []*hookd.Delivery{da, db} {
			if d.ID == id && d.TenantID == tenant {
				return d, nil
			}
		}
		return nil, hookd.Errorf(hookd.ENOTFOUND, "Delivery not found.")
	}
	t.Run("OK", func(t *testing.T) {
		res := ts.do(t, request{Method: "GET", Path: "/v1/deliveries/" + da.ID}).mustStatus(t, 200)
		res.mustBody(t, `{
			"id": "`+da.ID+`", "webhook": "`+da.WebhookID+`", "event": "accounts.added", "event_id": "`+da.EventID+`",
			"status": "pending", "attempt_count": 2, "next_attempt_at": "2024-01-02T03:09:05.000000Z",
			"created_at": "2024-01-02T03:04:05.000000Z", "last_attempt_at": "2024-01-02T03:04:11.000000Z",
			"attempts": [
				{"attempt": 1, "started_at": "2024-01-02T03:04:05.000000Z", "status_code": null, "latency_ms": 15000, "response_body": "", "error": "timeout awaiting response headers"},
				{"attempt": 2, "started_at": "2024-01-02T03:04:11.000000Z", "status_code": 503, "latency_ms": 2.5, "response_body": "<html>busy</html>", "error": "status 503"}
			]
		}`)
		if !strings.Contains(string(res.Raw), `"<html>busy</html>"`) {
			t.Errorf("body %s: response_body HTML-escaped", res.Raw)
		}
	})
	t.Run("NoAttempts", func(t *testing.T) {
		d := &hookd.Delivery{ID: hookd.NewID(), TenantID: tenantA, Status: hookd.DeliveryPending}
		ts := MustOpenServer(t)
		ts.Deliveries.FindDeliveryByIDFunc = func(ctx context.Context, tenant, id string) (*hookd.Delivery, error) { return d, nil }
		res := ts.do(t, request{Method: "GET", Path: "/v1/deliveries/" + d.ID}).mustStatus(t, 200)
		if got, want := keys(res.JSON), deliveryFields; !reflect.DeepEqual(got, want) {
			t.Errorf("fields: got %v, want %v", got, want)
		}
		if got, want := res.JSON["attempts"], []any{}; !reflect.DeepEqual(got, want) {
			t.Errorf("attempts: got %v, want []", got)
		}
		if res.JSON["last_attempt_at"] != nil || res.JSON["next_attempt_at"] != nil {
			t.Errorf("times: got %s, want nulls", res.Raw)
		}
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		ts.do(t, request{Method: "GET", Path: "/v1/deliveries/" + db.ID}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
	})
	t.Run("ErrNotUUID", func(t *testing.T) {
		ts.do(t, request{Method: "GET", Path: "/v1/deliveries/abc"}).mustStatus(t, 404).mustBody(t, `{"detail":"Not found."}`)
	})
}

func TestDeliveryList(t *testing.T) {
	t.Parallel()
	t.Run("Filter", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		wid, eid := hookd.NewID(), hookd.NewID()
		d := newDelivery(tenantA)
		var got hookd.DeliveryFilter
		ts.Deliveries.FindDeliveriesFunc = func(ctx context.Context, f hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
			got = f
			return []*hookd.Delivery{d}, true, nil
		}
		res := ts.do(t, request{Method: "GET", Path: "/v1/deliveries?webhook=" + wid + "&event=activities.added&event_id=" + eid +
			"&status=failed&from_created_at=2024-01-01&to_created_at=2024-01-31&limit=1"}).mustStatus(t, 200)
		want := hookd.DeliveryFilter{
			TenantID: tenantA, WebhookID: wid, EventID: eid, EventType: "activities.added", Status: "failed",
			CreatedFrom: ptr(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
			CreatedTo:   ptr(time.Date(2024, 1, 31, 23, 59, 59, 999999000, time.UTC)),
			Page:        hookd.Page{Limit: 1},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("filter: got %+v, want %+v", got, want)
		}
		item := res.JSON["results"].([]any)[0].(map[string]any)
		if got, want := keys(item), deliveryFields; !reflect.DeepEqual(got, want) {
			t.Errorf("item fields: got %v, want %v", got, want)
		}
		next, _ := res.JSON["next"].(string)
		if !strings.Contains(next, "status=failed") || !strings.Contains(next, "cursor=") {
			t.Fatalf("next: got %q, want the filters and a cursor", next)
		}
		ts.do(t, request{Method: "GET", Path: strings.TrimPrefix(next, ts.URL())}).mustStatus(t, 200)
		if got.Page.After == nil || got.Page.After.ID != d.ID || !got.Page.After.Time.Equal(d.CreatedAt) || got.Status != "failed" {
			t.Errorf("next page filter: got %+v, want After %s", got, d.ID)
		}
	})
	t.Run("ErrQuery", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		for _, tt := range []struct{ query, want string }{
			{"status=done", `{"status":["Select a valid choice. done is not one of the available choices."]}`},
			{"event=nope", `{"event":["Select a valid choice. nope is not one of the available choices."]}`},
			{"webhook=123", `{"webhook":["\"123\" is not a valid UUID."]}`},
			{"from_created_at=x", `{"from_created_at":["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z], YYYY-MM-DD."]}`},
			{"limit=0", `{"limit":["Ensure this value is greater than or equal to 1."]}`},
			{"cursor=eyJ9", `{"cursor":["Invalid cursor"]}`},
		} {
			ts.do(t, request{Method: "GET", Path: "/v1/deliveries?" + tt.query}).mustStatus(t, 400).mustBody(t, tt.want)
		}
	})
}

func TestDeliveryRedeliver(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	d := newDelivery(tenantA)
	ts.Deliveries.RedeliverDeliveryFunc = func(ctx context.Context, tenant, id string, now time.Time) (*hookd.Delivery, error) {
		if tenant != d.TenantID || id != d.ID {
			return nil, hookd.Errorf(hookd.ENOTFOUND, "Delivery not found.")
		}
		c := *d
		c.NextAttemptAt = &now
		return &c, nil
	}
	t.Run("OK", func(t *testing.T) {
		res := ts.do(t, request{Method: "POST", Path: "/v1/deliveries/" + d.ID + "/redeliver"}).mustStatus(t, 202)
		if got, want := res.JSON["next_attempt_at"], hookd.FormatTime(fixedNow); got != want {
			t.Errorf("next_attempt_at: got %v, want %v", got, want)
		}
		if got, want := res.JSON["id"], d.ID; got != want {
			t.Errorf("id: got %v, want %v", got, want)
		}
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		ts.do(t, request{Method: "POST", Path: "/v1/deliveries/" + d.ID + "/redeliver", User: keyB, Pass: secretB}).mustStatus(t, 404)
	})
}
