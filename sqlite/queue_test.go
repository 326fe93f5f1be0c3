package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
)

// publishOne creates a tenant subscribed once to accounts.added on db and
// publishes one event at now, so one delivery is due.
func publishOne(t *testing.T, db *sqlite.DB, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	tn, err := sqlite.NewTenantService(db).EnsureTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	w := &hookd.Webhook{ID: hookd.NewID(), TenantID: tn.ID, Name: "hook", Events: []string{"accounts.added"},
		URL: "http://127.0.0.1:9/hook", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
	if err := sqlite.NewWebhookService(db).CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	e := &hookd.Event{ID: hookd.NewID(), TenantID: tn.ID, Type: "accounts.added", Data: benchData, CreatedAt: now}
	if n, err := sqlite.NewEventService(db).PublishEvents(ctx, []*hookd.Event{e}); err != nil || n[0].Deliveries != 1 {
		t.Fatalf("publish got %v, %v; want one delivery", n, err)
	}
	return tn.ID
}

// TestClaim_OneDeliveringProcess checks that a second handle on the same
// file (another hookd process, in production) cannot claim while the first
// delivers, says why, and can once the first is closed; and that it may
// still read and write meanwhile (hookd keys runs beside the server).
func TestClaim_OneDeliveringProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	first := sqlite.NewDB(path)
	if err := first.Open(); err != nil {
		t.Fatal(err)
	}
	now := hookd.Now()
	tenantID := publishOne(t, first, now)
	req := hookd.ClaimRequest{Now: now, Limit: 10, Lease: time.Minute}
	if tasks, err := sqlite.NewDeliveryService(first).ClaimDeliveries(ctx, req); err != nil || len(tasks) != 1 {
		t.Fatalf("first claim got %d tasks, %v; want 1", len(tasks), err)
	}

	second := MustOpenDBAt(t, path)
	if _, err := sqlite.NewTenantService(second).EnsureTenant(ctx, "globex"); err != nil {
		t.Errorf("second handle cannot write beside the delivering one: %v", err)
	}
	_, err := sqlite.NewDeliveryService(second).ClaimDeliveries(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "another process is delivering from "+path) {
		t.Fatalf("claim from a second handle got %v, want an error naming the other process", err)
	}

	// The first handle ends without completing its claim, as a killed
	// process would: its lease is forgotten, so the delivery is due at
	// once for the next process.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	tasks, err := sqlite.NewDeliveryService(second).ClaimDeliveries(ctx, req)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim after the first handle closed got %d tasks, %v; want the 1 delivery it had claimed", len(tasks), err)
	}
	d, err := sqlite.NewDeliveryService(second).FindDeliveryByID(ctx, tenantID, tasks[0].Delivery.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(time.Minute); d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(hookd.Truncate(want)) {
		t.Errorf("claimed delivery reads next attempt %v, want the lease end %s", d.NextAttemptAt, hookd.FormatTime(want))
	}
}
