package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// TestFirstAttempt_Storage: a first attempt with a short answer is kept
// in its delivery's row, one with a long answer in attempts, through the
// numbered UPDATE and through the RETURNING one alike, and each reads
// back as it was recorded, before the attempts that follow it.
func TestFirstAttempt_Storage(t *testing.T) {
	ctx := context.Background()
	t0 := hookd.Now().Add(-time.Hour)
	var stmts []string
	for _, id := range []string{"short", "long", "short-unnumbered", "long-unnumbered"} {
		stmts = append(stmts, `INSERT INTO deliveries (id, tenant_id, webhook_id, event_id, event_type, status, next_attempt_at, created_at)
			VALUES ('`+id+`', 't1', 'w1', 'e1', 'accounts.added', 'pending', ?1, ?1)`)
	}
	// "9999" sorts after every migration: the file has them all.
	db := upgrade(t, filepath.Join(t.TempDir(), "hookd.db"), "9999", micros(t0), stmts...)
	s := NewDeliveryService(db)
	long := strings.Repeat("<p>error</p>", 100)
	first := func(id, body string, numbered bool) hookd.AttemptResult {
		r := hookd.AttemptResult{DeliveryID: id, Status: hookd.DeliveryPending, NextAttemptAt: t0.Add(time.Minute),
			Attempt: hookd.Attempt{StartedAt: t0.Add(time.Second), StatusCode: 500, Latency: 3 * time.Millisecond, ResponseBody: body, Error: "status 500"}}
		if numbered {
			r.WebhookID, r.Attempt.Number = "w1", 1
		}
		return r
	}
	results := []hookd.AttemptResult{first("short", "oops", true), first("long", long, true),
		first("short-unnumbered", "oops", false), first("long-unnumbered", long, false)}
	if err := s.CompleteDeliveries(ctx, results); err != nil {
		t.Fatal(err)
	}
	second := hookd.AttemptResult{DeliveryID: "long", WebhookID: "w1", Status: hookd.DeliverySucceeded,
		Attempt: hookd.Attempt{Number: 2, StartedAt: t0.Add(time.Minute), StatusCode: 200, Latency: time.Millisecond, ResponseBody: "ok"}}
	if err := s.CompleteDeliveries(ctx, []hookd.AttemptResult{second}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		id     string
		inRow  bool
		result hookd.AttemptResult
	}{
		{"short", true, results[0]},
		{"long", false, results[1]},
		{"short-unnumbered", true, results[2]},
		{"long-unnumbered", false, results[3]},
	} {
		var rows, inRow int
		if err := db.reader.QueryRow(`SELECT (SELECT count(*) FROM attempts WHERE delivery_id = ?1 AND number = 1),
			(SELECT count(*) FROM deliveries WHERE id = ?1 AND first_started_at IS NOT NULL)`, c.id).Scan(&rows, &inRow); err != nil {
			t.Fatal(err)
		}
		if (inRow == 1) != c.inRow || rows+inRow != 1 {
			t.Errorf("%s: first attempt in the delivery's row %d times and in attempts %d times, want in the row: %v", c.id, inRow, rows, c.inRow)
		}
		d, err := s.FindDeliveryByID(ctx, "t1", c.id)
		if err != nil {
			t.Fatal(err)
		}
		want := c.result.Attempt
		want.Number = 1
		if len(d.Attempts) == 0 || d.Attempts[0].ResponseBody != want.ResponseBody || d.Attempts[0].Number != 1 ||
			!d.Attempts[0].StartedAt.Equal(want.StartedAt) || d.Attempts[0].Latency != want.Latency || d.Attempts[0].Error != want.Error {
			t.Errorf("%s: attempts read back %+v, want the first %+v", c.id, d.Attempts, want)
		}
		if c.id == "long" && (len(d.Attempts) != 2 || d.Attempts[1].Number != 2 || d.Attempts[1].ResponseBody != "ok") {
			t.Errorf("long: attempts read back %+v, want the second after the first", d.Attempts)
		}
	}
}
