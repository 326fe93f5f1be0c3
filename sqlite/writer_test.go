package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestCommit_OneFailingOp runs a batch directly, as the writer goroutine
// does when several writes are queued, and checks that the failing op
// rolls back alone while the others commit.
func TestCommit_OneFailingOp(t *testing.T) {
	db := NewDB(filepath.Join(t.TempDir(), "hookd.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	insert := func(id string) func(tx *Tx) error {
		return func(tx *Tx) error {
			_, err := tx.exec(`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, 0)`, id, id)
			return err
		}
	}
	errBoom := errors.New("boom")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	ops := []*writeOp{
		{ctx: ctx, fn: insert("a")},
		// Writes, then fails: its write must not survive.
		{ctx: ctx, fn: func(tx *Tx) error {
			if err := insert("b")(tx); err != nil {
				return err
			}
			return errBoom
		}},
		// Fails in SQL after a successful statement.
		{ctx: ctx, fn: func(tx *Tx) error {
			if err := insert("c")(tx); err != nil {
				return err
			}
			return insert("a")(tx) // duplicate
		}},
		{ctx: canceled, fn: insert("d")},
		{ctx: ctx, fn: insert("e")},
	}
	for _, op := range ops {
		op.done = make(chan error, 1)
	}
	db.commit(ops)

	errs := make([]error, len(ops))
	for i, op := range ops {
		errs[i] = <-op.done
	}
	if errs[0] != nil || errs[4] != nil {
		t.Errorf("good ops got errors %v and %v, want nil", errs[0], errs[4])
	}
	if !errors.Is(errs[1], errBoom) {
		t.Errorf("failing op got %v, want %v", errs[1], errBoom)
	}
	if interpretError(errs[2]) == errs[2] {
		t.Errorf("duplicate op got %v, want a unique violation", errs[2])
	}
	if !errors.Is(errs[3], context.Canceled) {
		t.Errorf("canceled op got %v, want context.Canceled", errs[3])
	}

	rows, err := db.reader.QueryContext(ctx, `SELECT id FROM tenants ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if want := []string{"a", "e"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("committed tenants got %v, want %v", got, want)
	}
}

// TestCommit_AllFail checks that a batch whose ops all fail leaves nothing.
func TestCommit_AllFail(t *testing.T) {
	db := NewDB(filepath.Join(t.TempDir(), "hookd.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	errBoom := errors.New("boom")
	op := &writeOp{ctx: context.Background(), done: make(chan error, 1), fn: func(tx *Tx) error {
		if _, err := tx.exec(`INSERT INTO tenants (id, name, created_at) VALUES ('x', 'x', 0)`); err != nil {
			return err
		}
		return errBoom
	}}
	db.commit([]*writeOp{op})
	if err := <-op.done; !errors.Is(err, errBoom) {
		t.Errorf("got %v, want %v", err, errBoom)
	}
	var n int
	if err := db.reader.QueryRow(`SELECT count(*) FROM tenants`).Scan(&n); err != nil || n != 0 {
		t.Errorf("tenants after a failed single op got %d (err %v), want 0", n, err)
	}
}
