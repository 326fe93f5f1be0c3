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

// TestComplete_LastSentPrecision checks what completions write of their
// webhook: last_sent_at moves once it is a second or more behind, and a
// failure sets failing_since at once, however close to the last write.
func TestComplete_LastSentPrecision(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	t0 := hookd.Truncate(hookd.Now())
	tenantID := publishOne(t, db, t0)
	ds := sqlite.NewDeliveryService(db)
	tasks, err := ds.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: t0, Limit: 1, Lease: time.Minute})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim got %d tasks, %v", len(tasks), err)
	}
	d, webhookID := tasks[0].Delivery, tasks[0].Webhook.ID
	complete := func(at time.Time, status string) {
		t.Helper()
		r := hookd.AttemptResult{DeliveryID: d.ID, WebhookID: webhookID, Status: status,
			Attempt: hookd.Attempt{StartedAt: at, StatusCode: 200}}
		if status == hookd.DeliveryPending {
			r.Attempt.StatusCode, r.NextAttemptAt = 500, at.Add(time.Hour)
		}
		if err := ds.CompleteDeliveries(ctx, []hookd.AttemptResult{r}); err != nil {
			t.Fatal(err)
		}
	}
	webhook := func() *hookd.Webhook {
		t.Helper()
		w, err := sqlite.NewWebhookService(db).FindWebhookByID(ctx, tenantID, webhookID)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	complete(t0, hookd.DeliverySucceeded)
	complete(t0.Add(500*time.Millisecond), hookd.DeliverySucceeded)
	if w := webhook(); w.LastSentAt == nil || !w.LastSentAt.Equal(t0) {
		t.Errorf("last sent after two successes 0.5 s apart got %v, want the first, %s", w.LastSentAt, hookd.FormatTime(t0))
	}
	complete(t0.Add(1500*time.Millisecond), hookd.DeliveryPending)
	w := webhook()
	if want := t0.Add(1500 * time.Millisecond); w.FailingSince == nil || !w.FailingSince.Equal(want) {
		t.Errorf("failing since after a failure got %v, want %s", w.FailingSince, hookd.FormatTime(want))
	}
	complete(t0.Add(1600*time.Millisecond), hookd.DeliverySucceeded)
	if w := webhook(); w.FailingSince != nil || !w.LastSentAt.Equal(t0.Add(1600*time.Millisecond)) {
		t.Errorf("after a success following a failure got failing since %v, last sent %v; want none and %s",
			w.FailingSince, w.LastSentAt, hookd.FormatTime(t0.Add(1600*time.Millisecond)))
	}
}
