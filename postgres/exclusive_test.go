package postgres_test

import (
	"context"
	"testing"

	"github.com/hookd/hookd/postgres"
)

// TestDB_Exclusive checks that two nodes never run the same maintenance at
// once, and that the lock is free again afterwards.
func TestDB_Exclusive(t *testing.T) {
	url := MustSchemaURL(t)
	open := func() *postgres.DB {
		db := postgres.NewDB(url)
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	ctx := context.Background()

	ran, err := a.Exclusive(ctx, "retention", func(ctx context.Context) error {
		// While node a holds it, node b is refused the same name but may
		// run another.
		if ran, err := b.Exclusive(ctx, "retention", func(context.Context) error { return nil }); err != nil || ran {
			t.Errorf("second node ran retention while the first held it: ran=%v err=%v", ran, err)
		}
		if ran, err := b.Exclusive(ctx, "other", func(context.Context) error { return nil }); err != nil || !ran {
			t.Errorf("second node could not run other work: ran=%v err=%v", ran, err)
		}
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("first node: ran=%v err=%v", ran, err)
	}
	if ran, err := b.Exclusive(ctx, "retention", func(context.Context) error { return nil }); err != nil || !ran {
		t.Fatalf("after release, second node: ran=%v err=%v", ran, err)
	}
}
