//go:build !cgo || purego

package sqlite

import (
	"database/sql"
	"errors"
	"net/url"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Driver names the SQLite this build uses: modernc.org/sqlite, SQLite
// translated to Go, when built with CGO_ENABLED=0 or the purego tag.
const Driver = "SQLite " + sqlite3.SQLITE_VERSION + ", pure Go (modernc.org/sqlite)"

// openDB opens path for role r.
func openDB(path string, r role) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range pragmas(r) {
		name, value, _ := strings.Cut(p, "=")
		q.Add("_pragma", name+"("+value+")")
	}
	if r == roleWriter {
		// _txlock=immediate: see pragmas.
		q.Set("_txlock", "immediate")
	}
	return sql.Open("sqlite", path+"?"+q.Encode())
}

// isUniqueViolation reports whether err is a unique or primary key
// constraint failing.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
