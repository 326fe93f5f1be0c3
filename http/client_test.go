package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/http"
)

func TestClient(t *testing.T) {
	t.Parallel()
	ts := MustOpenServer(t)
	ts.useStore(t)
	c := hookdhttp.NewClient(ts.URL(), keyA, secretA)
	ctx := context.Background()

	t.Run("Webhooks", func(t *testing.T) {
		w := &hookd.Webhook{Name: "n", Events: []string{"accounts.added"}, URL: "https://example.com/h", Secret: "my little secret"}
		if err := c.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if !hookd.IsUUID(w.ID) || w.Status != hookd.WebhookEnabled || w.Secret != "my little secret" || !w.CreatedAt.Equal(fixedNow) {
			t.Errorf("created: got %+v", w)
		}
		got, err := c.FindWebhookByID(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Secret != "********cret" || got.Name != "n" || !reflect.DeepEqual(got.Events, w.Events) {
			t.Errorf("found: got %+v", got)
		}
		list, err := c.FindWebhooks(ctx, 10)
		if err != nil || len(list) != 1 || list[0].ID != w.ID {
			t.Errorf("FindWebhooks: got %v, %v; want [%s]", list, err, w.ID)
		}
		if err := c.DeleteWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindWebhookByID(ctx, w.ID); hookd.ErrorCode(err) != hookd.ENOTFOUND {
			t.Errorf("FindWebhookByID after delete: got %v, want ENOTFOUND", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		err := c.CreateWebhook(ctx, &hookd.Webhook{Name: "n", Events: []string{"nope"}, URL: "https://example.com"})
		if got, want := hookd.ErrorCode(err), hookd.EINVALID; got != want {
			t.Fatalf("code: got %q, want %q (%v)", got, want, err)
		}
		var e *hookd.Error
		if !errors.As(err, &e) || !reflect.DeepEqual(e.Fields, map[string][]string{"events": {`"nope" is not a valid choice.`}}) {
			t.Errorf("fields: got %v", err)
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		bad := hookdhttp.NewClient(ts.URL(), keyA, "wrong")
		_, err := bad.FindWebhookByID(ctx, hookd.NewID())
		if got, want := hookd.ErrorCode(err), hookd.EUNAUTHORIZED; got != want {
			t.Errorf("code: got %q, want %q", got, want)
		}
		if got, want := hookd.ErrorMessage(err), "Invalid username/password."; got != want {
			t.Errorf("message: got %q, want %q", got, want)
		}
	})
	t.Run("Publish", func(t *testing.T) {
		ts.Events.PublishEventsFunc = func(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
			rs := make([]hookd.PublishResult, len(es))
			for i, e := range es {
				rs[i] = hookd.PublishResult{EventID: e.ID, Deliveries: len(e.Webhooks)}
			}
			return rs, nil
		}
		e := &hookd.Event{Type: "accounts.added", Data: json.RawMessage(`{"account":"a"}`), Webhooks: []string{hookd.NewID()}}
		r, err := c.PublishEvent(ctx, e)
		if err != nil || !hookd.IsUUID(r.EventID) || r.Deliveries != 1 {
			t.Errorf("PublishEvent: got %+v, %v", r, err)
		}
		rs, err := c.PublishEvents(ctx, []*hookd.Event{e, e})
		if err != nil || len(rs) != 2 {
			t.Errorf("PublishEvents: got %+v, %v", rs, err)
		}
	})
	t.Run("Delivery", func(t *testing.T) {
		d := newDelivery(tenantA)
		ts.Deliveries.FindDeliveryByIDFunc = func(ctx context.Context, tenant, id string) (*hookd.Delivery, error) { return d, nil }
		got, err := c.FindDeliveryByID(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *d
		want.TenantID = ""
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("delivery: got %+v, want %+v", got, &want)
		}
		if got.Attempts[1].Latency != 2500*time.Microsecond {
			t.Errorf("latency: got %v, want 2.5ms", got.Attempts[1].Latency)
		}
	})
}
