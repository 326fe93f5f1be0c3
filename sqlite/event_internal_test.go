package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
)

// TestPublish_EventCachedBeforeWake checks that a published event is in the
// row cache by the time its commit wakes the worker, whose claim would
// otherwise read it back from the file.
func TestPublish_EventCachedBeforeWake(t *testing.T) {
	ctx := context.Background()
	db := NewDB(filepath.Join(t.TempDir(), "hookd.db"))
	var e *hookd.Event
	var missing []string
	woken := 0
	db.OnWork = func() {
		woken++
		_, _, _, missing = db.cache.lookup(nil, []string{e.ID})
	}
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tn, err := NewTenantService(db).EnsureTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	now := hookd.Now()
	w := &hookd.Webhook{ID: hookd.NewID(), TenantID: tn.ID, Name: "hook", Events: []string{"accounts.added"},
		URL: "http://127.0.0.1:9/hook", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
	if err := NewWebhookService(db).CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	e = &hookd.Event{ID: hookd.NewID(), TenantID: tn.ID, Type: "accounts.added", Data: json.RawMessage(`{"a":1}`), CreatedAt: now}
	if _, err := NewEventService(db).PublishEvents(ctx, []*hookd.Event{e}); err != nil {
		t.Fatal(err)
	}
	if woken != 1 || len(missing) != 0 {
		t.Errorf("woken %d times, event missing from the cache then: %v; want once, cached", woken, missing)
	}
}
