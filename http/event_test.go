package http_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func TestEventPublish(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		var got []*hookd.Event
		ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
			got = es
			return []hookd.PublishResult{{EventID: es[0].ID, Deliveries: 2}}, nil
		}
		res := ts.do(t, request{Method: "POST", Path: "/v1/events", Body: `{
			"event": "activities.added",
			"data": {"added_count": 3, "user": "u-1", "account": "a-1", "note": "<b>&"},
			"resource": {"id": "a-1",  "user": "u-1"},
			"idempotency_key": "k-1"
		}`}).mustStatus(t, 202)
		if len(got) != 1 {
			t.Fatalf("published: got %d events, want 1", len(got))
		}
		e := got[0]
		res.mustBody(t, `{"id":"`+e.ID+`","deliveries":2}`)
		if !hookd.IsUUID(e.ID) || e.TenantID != tenantA || e.Type != "activities.added" || e.IdempotencyKey != "k-1" || !e.CreatedAt.Equal(fixedNow) {
			t.Errorf("event: got %+v", e)
		}
		if got, want := string(e.Data), `{"account":"a-1","user":"u-1","added_count":3,"note":"<b>&"}`; got != want {
			t.Errorf("data: got %s, want %s", got, want)
		}
		if got, want := string(e.Resource), `{"id":"a-1","user":"u-1"}`; got != want {
			t.Errorf("resource: got %s, want %s", got, want)
		}
	})
	t.Run("Webhooks", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		id := hookd.NewID()
		var got []string
		ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
			got = es[0].Webhooks
			return []hookd.PublishResult{{EventID: es[0].ID, Deliveries: 1}}, nil
		}
		ts.do(t, request{Method: "POST", Path: "/v1/events", Body: `{"event":"accounts.added","data":{},"webhooks":["` + id + `"]}`}).mustStatus(t, 202)
		if want := []string{id}; !reflect.DeepEqual(got, want) {
			t.Errorf("Webhooks: got %v, want %v", got, want)
		}
	})
	t.Run("Duplicate", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		first := hookd.NewID()
		ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
			return []hookd.PublishResult{{EventID: first, Deliveries: 4, Duplicate: true}}, nil
		}
		ts.do(t, request{Method: "POST", Path: "/v1/events", Body: `{"event":"accounts.added","data":{},"idempotency_key":"k"}`}).
			mustStatus(t, 202).mustBody(t, `{"id":"`+first+`","deliveries":4}`)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t) // PublishEventsFunc unset: nothing invalid reaches the store
		for _, tt := range []struct{ body, want string }{
			{`{}`, `{"event":["This field is required."],"data":["This field is required."]}`},
			{`{"event":null,"data":null}`, `{"event":["This field may not be null."],"data":["This field may not be null."]}`},
			{`{"event":"nope.x","data":{}}`, `{"event":["\"nope.x\" is not a valid choice."]}`},
			{`{"event":"accounts.added","data":[1]}`, `{"data":["Expected a JSON object."]}`},
			{`{"event":"accounts.added","data":"x"}`, `{"data":["Expected a JSON object."]}`},
			{`{"event":"accounts.added","data":{},"resource":5}`, `{"resource":["Expected a JSON object."]}`},
			{`{"event":["accounts.added"],"data":{},"idempotency_key":{}}`, `{"event":["Not a valid string."],"idempotency_key":["Not a valid string."]}`},
			{`{"event":"accounts.added","data":{},"webhooks":["x"]}`, `{"webhooks":["\"x\" is not a valid UUID."]}`},
			{`{"event":"accounts.added","data":{},"webhooks":[]}`, `{"webhooks":["This list may not be empty."]}`},
			{`{"event":"accounts.added","data":{},"webhooks":"x"}`, `{"webhooks":["Expected a list of items but got type \"str\"."]}`},
			{`{"event":"accounts.added","data":{},"idempotency_key":"` + strings.Repeat("k", 256) + `"}`, `{"idempotency_key":["Ensure this field has no more than 255 characters."]}`},
		} {
			ts.do(t, request{Method: "POST", Path: "/v1/events", Body: tt.body}).mustStatus(t, 400).mustBody(t, tt.want)
		}
	})
}

func TestEventPublishBatch(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t)
		var got []*hookd.Event
		ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
			got = es
			rs := make([]hookd.PublishResult, len(es))
			for i, e := range es {
				rs[i] = hookd.PublishResult{EventID: e.ID, Deliveries: i}
			}
			return rs, nil
		}
		res := ts.do(t, request{Method: "POST", Path: "/v1/events/batch", Body: `{"events":[
			{"event":"accounts.added","data":{"account":"a"}},
			{"event":"accounts.connected","data":{"account":"a"},"idempotency_key":"x"}
		]}`}).mustStatus(t, 202)
		if len(got) != 2 || got[0].Type != "accounts.added" || got[1].Type != "accounts.connected" || got[1].IdempotencyKey != "x" || got[0].TenantID != tenantA {
			t.Fatalf("published: got %+v", got)
		}
		res.mustBody(t, fmt.Sprintf(`{"results":[{"id":%q,"deliveries":0},{"id":%q,"deliveries":1}]}`, got[0].ID, got[1].ID))
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		ts := MustOpenServer(t) // PublishEventsFunc unset: nothing is accepted
		many := "[" + strings.Repeat(`{"event":"accounts.added","data":{}},`, 1000) + `{"event":"accounts.added","data":{}}]`
		for _, tt := range []struct{ body, want string }{
			{`{}`, `{"events":["This field is required."]}`},
			{`{"events":null}`, `{"events":["This field may not be null."]}`},
			{`{"events":{}}`, `{"events":["Expected a list of items but got type \"dict\"."]}`},
			{`{"events":[]}`, `{"events":["This list may not be empty."]}`},
			{`{"events":` + many + `}`, `{"events":["Ensure this field has no more than 1000 elements."]}`},
			{`{"events":[{"event":"accounts.added","data":{}},{"event":"nope","data":{}},"x",{"event":"accounts.added"}]}`,
				`{"events":{"1":{"event":["\"nope\" is not a valid choice."]},"2":{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]},"3":{"data":["This field is required."]}}}`},
			{`{"events":[{"event":"accounts.added","data":{}},null]}`,
				`{"events":{"1":{"non_field_errors":["Invalid data. Expected a dictionary, but got NoneType."]}}}`},
			{`{"events":[{"event":"accounts.added","data":{}},[1]]}`,
				`{"events":{"1":{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}}}`},
		} {
			ts.do(t, request{Method: "POST", Path: "/v1/events/batch", Body: tt.body}).mustStatus(t, 400).mustBody(t, tt.want)
		}
	})
}
