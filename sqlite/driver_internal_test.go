package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmas checks that each connection runs with its role's settings,
// read back from SQLite through whichever driver the build uses.
func TestPragmas(t *testing.T) {
	db := NewDB(filepath.Join(t.TempDir(), "hookd.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	read := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}, pragma string) string {
		t.Helper()
		var v string
		if err := q.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		return v
	}
	for pragma, want := range map[string]string{
		"journal_mode":       "wal",
		"synchronous":        "1", // NORMAL
		"foreign_keys":       "1",
		"temp_store":         "2", // MEMORY
		"wal_autocheckpoint": "0",
		"cache_size":         "-16384",
		"busy_timeout":       "10000",
	} {
		if got := read(db.conn, pragma); got != want {
			t.Errorf("writer: PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	for pragma, want := range map[string]string{
		"query_only":   "1",
		"foreign_keys": "1",
		"cache_size":   "-2000", // SQLite's default: see pragmas
	} {
		if got := read(db.reader, pragma); got != want {
			t.Errorf("reader: PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}
