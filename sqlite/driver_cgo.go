//go:build cgo && !purego

package sqlite

import (
	"database/sql"
	"errors"
	"net/url"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Driver names the SQLite this build uses: SQLite's C library through cgo
// (github.com/mattn/go-sqlite3), what a build with a C compiler gets. Build
// with CGO_ENABLED=0, or the purego tag, for modernc.org/sqlite: no C
// compiler needed, and 1.3-1.8 times hookd's CPU in a throughput run
// (BENCHMARKS.md).
var Driver = func() string {
	v, _, _ := sqlite3.Version()
	return "SQLite " + v + ", C via cgo"
}()

// driverName is registered once per role, each running its role's pragmas
// as a connection opens.
const driverName = "hookd-sqlite3"

// walbufErr is why walbufVFS could not be registered, if it could not.
var walbufErr = registerWALBuf()

func init() {
	for _, r := range []role{roleWriter, roleReader, roleCheckpointer} {
		sql.Register(driverName+roleSuffix(r), &sqlite3.SQLiteDriver{
			ConnectHook: func(c *sqlite3.SQLiteConn) error {
				for _, p := range pragmas(r) {
					if _, err := c.Exec("PRAGMA "+p, nil); err != nil {
						return err
					}
				}
				return nil
			},
		})
	}
}

func roleSuffix(r role) string { return [...]string{"-writer", "-reader", "-checkpointer"}[r] }

// openDB opens path for role r.
func openDB(path string, r role) (*sql.DB, error) {
	if walbufErr != nil {
		return nil, walbufErr
	}
	q := url.Values{}
	// _mutex=no: database/sql hands a connection to one goroutine at a
	// time, so SQLite's own lock around every call is pure cost.
	q.Set("_mutex", "no")
	// vfs: the default VFS, writing the log a transaction at a time
	// (walbuf_cgo.go), where it is built.
	if walbufVFS != "" {
		q.Set("vfs", walbufVFS)
	}
	if r == roleWriter {
		// _txlock=immediate: see pragmas.
		q.Set("_txlock", "immediate")
	}
	return sql.Open(driverName+roleSuffix(r), path+"?"+q.Encode())
}

// isUniqueViolation reports whether err is a unique or primary key
// constraint failing.
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
}
