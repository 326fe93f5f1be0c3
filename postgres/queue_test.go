package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
	"github.com/jackc/pgx/v5"
)

// A database migrated before the queue table existed keeps its pending
// deliveries: 0004 moves them into delivery_queue, due when they were due,
// and leaves finished ones out.
func TestMigration_QueueBackfill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u := MustSchemaURL(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
		t.Fatalf("create migrations: %v", err)
	}
	for _, name := range []string{"0001_init.sql", "0002_sandbox.sql", "0003_fair_claim.sql"} {
		script, err := os.ReadFile("migration/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(script)); err != nil {
			t.Fatalf("apply %s: %v", name, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO migrations VALUES ($1, now())`, name); err != nil {
			t.Fatalf("record %s: %v", name, err)
		}
	}
	t0 := hookd.Truncate(hookd.Now())
	due, later := t0.Add(-time.Minute), t0.Add(time.Hour)
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO tenants VALUES ('tn', 'acme', $1)`, t0)
	batch.Queue(`INSERT INTO webhooks (id, tenant_id, name, events, url, config, status, created_at, updated_at)
		VALUES ('wh', 'tn', 'hook', '{*}', 'https://example.com/hook', '{}', 'enabled', $1, $1)`, t0)
	batch.Queue(`INSERT INTO events (id, tenant_id, type, data, deliveries, created_at)
		VALUES ('ev', 'tn', 'accounts.added', '{}', 3, $1)`, t0)
	batch.Queue(`INSERT INTO deliveries (id, tenant_id, webhook_id, event_id, event_type, status, attempt_count, next_attempt_at, created_at)
		VALUES ('d-due', 'tn', 'wh', 'ev', 'accounts.added', 'pending', 1, $2, $1),
			('d-later', 'tn', 'wh', 'ev', 'accounts.added', 'pending', 2, $3, $1),
			('d-done', 'tn', 'wh', 'ev', 'accounts.added', 'succeeded', 1, NULL, $1)`, t0, due, later)
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatalf("insert old rows: %v", err)
	}

	db := postgres.NewDB(u)
	if err := db.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	ds := postgres.NewDeliveryService(db)
	st, err := ds.QueueStats(ctx, t0)
	if err != nil {
		t.Fatalf("QueueStats: %v", err)
	}
	if st.Pending != 2 || st.Due != 1 || st.OldestDue == nil || !st.OldestDue.Equal(due) {
		t.Errorf("QueueStats got pending %d due %d oldest %v, want 2, 1, %s", st.Pending, st.Due, st.OldestDue, hookd.FormatTime(due))
	}
	for id, want := range map[string]*time.Time{"d-due": &due, "d-later": &later, "d-done": nil} {
		d, err := ds.FindDeliveryByID(ctx, "tn", id)
		if err != nil {
			t.Fatalf("FindDeliveryByID %s: %v", id, err)
		}
		if (d.NextAttemptAt == nil) != (want == nil) || want != nil && !d.NextAttemptAt.Equal(*want) {
			t.Errorf("delivery %s NextAttemptAt got %v, want %v", id, d.NextAttemptAt, want)
		}
	}
	tasks, err := ds.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: t0, Limit: 10, Lease: time.Minute})
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	if len(tasks) != 1 || tasks[0].Delivery.ID != "d-due" || tasks[0].Delivery.AttemptCount != 1 {
		t.Errorf("claim got %d tasks, want d-due with 1 attempt", len(tasks))
	}
}

// Deleting a webhook takes its deliveries' queue rows with it: nothing is
// left pending, and nothing is claimed for it.
func TestWebhookService_DeleteWebhookEmptiesQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := mustOpenNodes(t, 1)[0]
	tn := mustTenant(t, ctx, n)
	gone := mustCreateWebhook(t, ctx, n, tn.ID, hookd.Wildcard)
	kept := mustCreateWebhook(t, ctx, n, tn.ID, hookd.Wildcard)
	t0 := hookd.Now()
	if _, err := n.events.PublishEvents(ctx, []*hookd.Event{newEvent(tn.ID, t0), newEvent(tn.ID, t0)}); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	if err := n.webhooks.DeleteWebhook(ctx, tn.ID, gone.ID); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	st, err := n.deliveries.QueueStats(ctx, t0)
	if err != nil {
		t.Fatalf("QueueStats: %v", err)
	}
	if got, want := st.Pending, int64(2); got != want {
		t.Errorf("QueueStats().Pending got %d, want %d", got, want)
	}
	tasks, err := n.deliveries.ClaimDeliveries(ctx, hookd.ClaimRequest{Now: t0, Limit: 10, Lease: time.Minute})
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	for _, task := range tasks {
		if task.Webhook.ID != kept.ID {
			t.Errorf("claimed a delivery of webhook %s, want only %s", task.Webhook.ID, kept.ID)
		}
	}
	if got, want := len(tasks), 2; got != want {
		t.Errorf("claimed %d tasks, want %d", got, want)
	}
}
