//go:build linux

package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// BenchmarkWriterLayout measures what the writer's statements cost per
// delivery on the store's schema, one event per delivery, published in
// batches of 100 and completed (one successful attempt each) in batches of
// 256, with a passive checkpoint every 10,240 deliveries: the statements of
// publish and CompleteDeliveries, without the rest of the store. Its
// variants drop one index at a time, to show what each costs, and
// "written_at_completion" tries a layout the store does not have: a
// delivery row written once, when its attempt completes, with the event
// marked undelivered until then (a partial index), instead of a pending
// row published and then updated. It reports the process's CPU time per
// delivery (cpu-µs/delivery) beside the wall time. "first_attempt_as_row"
// is the layout before migration 0006: the first attempt in a row of
// attempts instead of in the delivery's row.
func BenchmarkWriterLayout(b *testing.B) {
	for _, v := range []struct {
		name string
		drop string // an index to drop
		lazy bool   // written_at_completion
		row  bool   // first_attempt_as_row
	}{
		{name: "schema"},
		{name: "without_deliveries_pending", drop: "deliveries_pending"},
		{name: "without_deliveries_pending_lane", drop: "deliveries_pending_lane"},
		{name: "without_deliveries_tenant_created_at", drop: "deliveries_tenant_created_at"},
		{name: "without_deliveries_webhook_created_at", drop: "deliveries_webhook_created_at"},
		{name: "without_events_created_at", drop: "events_created_at"},
		{name: "written_at_completion", lazy: true},
		{name: "first_attempt_as_row", row: true},
	} {
		b.Run(v.name, func(b *testing.B) {
			db := layoutDB(b, v.drop, v.lazy)
			tenant, webhook := hookd.NewID(), hookd.NewID()
			now := time.Now().UnixMicro()
			layoutExec(b, db, `INSERT INTO tenants (id, name, created_at) VALUES (?, 'bench', ?)`, tenant, now)
			layoutExec(b, db, `INSERT INTO webhooks (id, tenant_id, name, events, url, config, status, created_at, updated_at)
				VALUES (?, ?, 'hook', '["accounts.added"]', 'http://127.0.0.1:9/hook', '{}', 'enabled', ?, ?)`, webhook, tenant, now, now)
			data := string(benchEventData)
			const round = 256
			events, deliveries := make([]string, round), make([]string, round)
			cpu0 := layoutCPU()
			b.ResetTimer()
			for done := 0; done < b.N; done += round {
				n := min(round, b.N-done)
				for i := range n {
					events[i], deliveries[i] = hookd.NewID(), hookd.NewID()
				}
				for first := 0; first < n; first += 100 {
					layoutTx(b, db, func(tx *sql.Tx) {
						at := time.Now().UnixMicro()
						if v.lazy {
							ins := layoutPrepare(b, tx, `INSERT INTO events (id, tenant_id, type, data, resource, idempotency_key, webhooks, deliveries, created_at, parked, undelivered)
								VALUES (?, ?, 'accounts.added', ?, NULL, NULL, NULL, 1, ?, NULL, 1)`)
							for i := first; i < min(first+100, n); i++ {
								layoutStmt(b, ins, events[i], tenant, data, at)
							}
							return
						}
						ins := layoutPrepare(b, tx, `INSERT INTO events (id, tenant_id, type, data, resource, idempotency_key, webhooks, deliveries, created_at, parked)
							VALUES (?, ?, 'accounts.added', ?, NULL, NULL, NULL, 1, ?, NULL)`)
						pending := layoutPrepare(b, tx, insertDelivery)
						for i := first; i < min(first+100, n); i++ {
							layoutStmt(b, ins, events[i], tenant, data, at)
							layoutStmt(b, pending, deliveries[i], tenant, webhook, events[i], "accounts.added", at, at)
						}
					})
				}
				layoutTx(b, db, func(tx *sql.Tx) {
					at := time.Now().UnixMicro()
					if v.lazy {
						final := layoutPrepare(b, tx, `INSERT INTO deliveries (id, tenant_id, webhook_id, event_id, event_type, status, attempt_count, created_at, last_attempt_at,
								first_started_at, first_status_code, first_latency_us, first_response_body, first_error)
							VALUES (?, ?, ?, ?, 'accounts.added', 'succeeded', 1, ?, ?, ?, 200, 900, '', '')`)
						delivered := layoutPrepare(b, tx, `UPDATE events SET undelivered = NULL WHERE id = ?`)
						for i := range n {
							layoutStmt(b, final, deliveries[i], tenant, webhook, events[i], at, at, at)
							layoutStmt(b, delivered, events[i])
						}
						return
					}
					if v.row {
						attempt := layoutPrepare(b, tx, `INSERT INTO attempts (delivery_id, number, started_at, status_code, latency_us, response_body, error)
							VALUES (?, 1, ?, 200, 900, '', '')`)
						update := layoutPrepare(b, tx, `UPDATE deliveries SET status = 'succeeded', attempt_count = attempt_count + 1,
							last_attempt_at = ?, next_attempt_at = NULL WHERE id = ? AND attempt_count = 0 AND webhook_id = ?`)
						for i := range n {
							layoutStmt(b, update, at, deliveries[i], webhook)
							layoutStmt(b, attempt, deliveries[i], at)
						}
						return
					}
					update := layoutPrepare(b, tx, `UPDATE deliveries SET status = 'succeeded', attempt_count = 1, last_attempt_at = ?, next_attempt_at = NULL,
						first_started_at = ?, first_status_code = 200, first_latency_us = 900, first_response_body = '', first_error = ''
						WHERE id = ? AND attempt_count = 0 AND webhook_id = ?`)
					for i := range n {
						layoutStmt(b, update, at, at, deliveries[i], webhook)
					}
				})
				if (done/round)%40 == 39 {
					layoutExec(b, db, `PRAGMA wal_checkpoint(PASSIVE)`)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((layoutCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/delivery")
		})
	}
}

// benchEventData is a typical small payload, as in the store's other
// benchmarks.
var benchEventData = []byte(`{"account":"0190a7c2-0000-7000-8000-000000000001","user":"0190a7c2-0000-7000-8000-000000000002","available_from":"2025-01-01T00:00:00Z","available_to":"2025-03-01T00:00:00Z","available_count":324}`)

// layoutDB returns one writer connection to a new, migrated database, with
// the index drop dropped, or with the written_at_completion layout.
func layoutDB(b *testing.B, drop string, lazy bool) *sql.DB {
	b.Helper()
	path := filepath.Join(b.TempDir(), "layout.db")
	if err := (&DB{Path: path, Now: hookd.Now}).migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	db, err := openDB(path, roleWriter)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if drop != "" {
		layoutExec(b, db, `DROP INDEX `+drop)
	}
	if lazy {
		layoutExec(b, db, `ALTER TABLE events ADD COLUMN undelivered INTEGER`)
		layoutExec(b, db, `CREATE INDEX events_undelivered ON events (created_at, id) WHERE undelivered IS NOT NULL`)
	}
	return db
}

func layoutCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func layoutExec(b *testing.B, db *sql.DB, query string, args ...any) {
	b.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		b.Fatal(err)
	}
}

func layoutTx(b *testing.B, db *sql.DB, f func(*sql.Tx)) {
	b.Helper()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	f(tx)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func layoutPrepare(b *testing.B, tx *sql.Tx, query string) *sql.Stmt {
	b.Helper()
	s, err := tx.Prepare(query)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func layoutStmt(b *testing.B, s *sql.Stmt, args ...any) {
	b.Helper()
	if _, err := s.Exec(args...); err != nil {
		b.Fatal(err)
	}
}
