package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

// TestPragmas checks that each connection runs with its role's settings,
// read back from SQLite through whichever driver the build uses.
func TestPragmas(t *testing.T) {
	db := openTemp(t)
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

// TestTxExec checks the writer's statements run through the driver's own
// statements (rawStmts), with what database/sql gave the callers: rows
// affected, the driver's errors, arguments of the types the store passes.
func TestTxExec(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()

	var affected int64
	err := db.write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`CREATE TEMP TABLE x (k TEXT PRIMARY KEY, i INTEGER, b BLOB, n TEXT, f REAL, t INTEGER)`); err != nil {
			return err
		}
		for i, k := range []string{"a", "b"} {
			if _, err := tx.exec(`INSERT INTO x (k, i, b, n, f, t) VALUES (?, ?, ?, ?, ?, ?)`, k, i, []byte{1}, nil, 1.5, true); err != nil {
				return err
			}
		}
		res, err := tx.exec(`UPDATE x SET i = i + ?1 WHERE i >= ?2`, int64(10), 0)
		if err != nil {
			return err
		}
		affected, err = res.RowsAffected()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if affected != 2 {
		t.Errorf("UPDATE affected %d rows, want 2", affected)
	}
	if len(db.raw.byQuery) == 0 {
		t.Error("no statement ran through rawStmts")
	}

	err = db.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO x (k) VALUES (?)`, "a")
		return interpretError(err)
	})
	if code := hookd.ErrorCode(err); code != hookd.ECONFLICT {
		t.Errorf("duplicate key: error %v (code %q), want %q", err, code, hookd.ECONFLICT)
	}
	err = db.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO nowhere (k) VALUES (?)`, "a")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("unknown table: error %v, want SQLite's", err)
	}
	err = db.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO x (k) VALUES (?)`, struct{}{})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "converting argument $1") {
		t.Errorf("unsupported argument: error %v, want database/sql's wording", err)
	}
}

// openTemp opens a new database in a temporary directory, closed when the
// test ends.
func openTemp(t *testing.T) *DB {
	t.Helper()
	db := NewDB(filepath.Join(t.TempDir(), "hookd.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
