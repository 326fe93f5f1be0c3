// Package postgres implements hookd's services on PostgreSQL (pgx v5 and its
// pool), for scale-out: several hookd nodes share one database.
//
// Nodes coordinate only through the database. The queue is a table of its
// own, delivery_queue, one narrow row per pending delivery, so that the
// rows claims and completions churn stay few and small; deliveries is the
// history. Claims take due deliveries with one UPDATE of the queue over a
// SELECT … FOR UPDATE SKIP LOCKED, so two nodes never hold the same
// delivery while its lease lasts, and share themselves out fairly across
// tenants and webhooks (see ClaimDeliveries). Migrations run
// under an advisory lock, so nodes starting together apply each one once.
// Writes are batched: a publish inserts all its events and deliveries with
// a handful of statements over arrays, publishes made at the same time share
// one transaction (group commit), and a completion records a whole batch of
// attempts with one statement. Nothing NOTIFYs: OnWork wakes the local
// worker after a commit, and other nodes find new work by polling.
//
// The schema is migration/*.sql, the same model as the sqlite package's,
// with matching numbers: 0001 for tenants, webhooks, events and deliveries,
// 0002 for the sandbox's simulated data (SandboxStore), 0003 for fair
// claims, 0004 for the queue table. It lives in the connection's current
// schema (the search_path), so tests can give each case a schema of its own.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// DefaultPageLimit is the page size used when a Page has no Limit.
const DefaultPageLimit = 10

// maxTxAttempts bounds how often a transaction is retried after a deadlock or
// a serialization failure, which concurrent nodes can cause.
const maxTxAttempts = 3

// DB is a hookd database on a PostgreSQL server.
type DB struct {
	// URL is the connection string: postgres://user:password@host:port/db?…
	// Pool settings (pool_max_conns, defaulting to DefaultMaxConns, …) and
	// runtime parameters such as search_path may be given as query
	// parameters.
	URL string

	// Now returns the current time for timestamps the store sets itself
	// (tenants, migrations). Defaults to hookd.Now.
	Now func() time.Time

	// Secrets, when set, encrypts webhook secrets at rest
	// (HOOKD_ENCRYPTION_KEY): they are sealed as they are written and opened
	// as they are read. Secrets written before it was set stay readable and
	// are sealed when next written. Defaults to nil: stored as given.
	Secrets *hookd.SecretBox

	// OnWork, when set, is called after a commit that made deliveries due: a
	// publish that created at least one delivery, RedeliverDelivery and
	// RecoverDeliveries. It runs on the goroutine that committed (the
	// caller's, or a publish committer's before it answers the calls of its
	// group), so it must not block (a non-blocking send on a channel is
	// ideal). It wakes the local worker only; other nodes find the work when
	// they next poll.
	OnWork func()

	pool *pgxpool.Pool
	// queue runs claims and completions on sessions with
	// synchronous_commit off: they need not wait for the WAL flush. A claim
	// lost in a server crash never took hold, so the delivery is simply
	// claimable again; a lost completion means a re-send. Both stay within
	// at-least-once. Publishes, on pool, stay fully durable.
	queue *pgxpool.Pool

	publishes chan *publishOp // calls waiting for a committer (see PublishEvents)
	closing   chan struct{}
	once      sync.Once
	wg        sync.WaitGroup // the committers
}

// DefaultMaxConns is the pool size when the URL sets no pool_max_conns:
// API requests, the publish committers and the worker each hold a
// connection while they wait for the server.
const DefaultMaxConns = 16

// NewDB returns a DB for the server at url. Call Open before using it.
func NewDB(url string) *DB {
	return &DB{URL: url, Now: hookd.Now}
}

// Open connects to the server and applies pending migrations.
func (db *DB) Open() error {
	if db.URL == "" {
		return fmt.Errorf("open db: url required")
	}
	if db.Now == nil {
		db.Now = hookd.Now
	}
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	if !strings.Contains(db.URL, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	if err := db.migrate(ctx, pool); err != nil {
		pool.Close()
		return fmt.Errorf("open db: %w", err)
	}
	qcfg := cfg.Copy()
	qcfg.MaxConns = max(2, cfg.MaxConns/4)
	qcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	queue, err := pgxpool.NewWithConfig(ctx, qcfg)
	if err != nil {
		pool.Close()
		return fmt.Errorf("open db: %w", err)
	}
	db.pool, db.queue = pool, queue
	db.publishes = make(chan *publishOp)
	db.closing = make(chan struct{})
	for range publishCommitters {
		db.wg.Add(1)
		go db.publishLoop()
	}
	return nil
}

// Close stops the publish committers, after the groups they are
// committing, and closes every connection, waiting for those in use to be
// released. Calls after Close fail.
func (db *DB) Close() error {
	if db.pool == nil {
		return nil
	}
	db.once.Do(func() { close(db.closing) })
	db.wg.Wait()
	db.queue.Close()
	db.pool.Close()
	return nil
}

// Ping checks that the server answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// migrate applies every embedded migration not yet recorded in the
// migrations table, each in its own transaction, in lexical order. A
// session-level advisory lock, keyed by the current schema, makes nodes that
// start together take turns: the second finds the work done.
func (db *DB) migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	const key = `hashtextextended('hookd migrate ' || coalesce(current_schema(), ''), 0)`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx has ended, or the
		// connection returns to the pool still holding it.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			conn.Conn().Close(uctx) // closing the session drops the lock
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name       text PRIMARY KEY,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, conn.Conn(), name); err != nil {
			return fmt.Errorf("migration %s: %w", path.Base(name), err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, conn *pgx.Conn, name string) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var applied bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM migrations WHERE name = $1)`,
			path.Base(name)).Scan(&applied); err != nil {
			return err
		}
		if applied {
			return nil
		}
		script, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			return err
		}
		// Without arguments Exec uses the simple protocol, which runs a
		// script of several statements.
		if _, err := tx.Exec(ctx, string(script)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO migrations (name, applied_at) VALUES ($1, $2)`,
			path.Base(name), hookd.Truncate(db.Now()))
		return err
	})
}

// AppliedMigrations returns the names of the applied migrations in the order
// they were applied ("0001_init.sql", …).
func (db *DB) AppliedMigrations(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT name FROM migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	return names, nil
}

// errClosed answers publishes on a DB that is not open.
var errClosed = errors.New("postgres: database is not open")

// inTx runs fn in a transaction and commits it, retrying the whole
// transaction when the server aborts it for a deadlock or a serialization
// failure. fn must be safe to run again.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for range maxTxAttempts {
		err = pgx.BeginFunc(ctx, db.pool, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

// retryable reports whether err aborted a transaction that may succeed if
// run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	return false
}

// wake calls OnWork, if set.
func (db *DB) wake() {
	if db.OnWork != nil {
		db.OnWork()
	}
}

// interpretError turns database errors that mean something to callers into
// application errors: no rows into ENOTFOUND, a unique or primary key
// violation into ECONFLICT, and text PostgreSQL cannot store (a NUL
// character) into EINVALID. Other errors are returned unchanged.
func interpretError(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return hookd.Errorf(hookd.ENOTFOUND, "Not found.")
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return hookd.Errorf(hookd.ECONFLICT, "Already exists.")
		case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
			return hookd.Errorf(hookd.EINVALID, "Text may not contain NUL characters.")
		}
	}
	return err
}

// ts is how a time is stored: UTC, truncated to microseconds.
func ts(t time.Time) time.Time {
	return hookd.Truncate(t)
}

// nullTS stores an optional time: NULL for nil.
func nullTS(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: ts(*t), Valid: true}
}

// fromTS reads a stored time. pgx returns local time; hookd keeps UTC.
func fromTS(t time.Time) time.Time {
	return t.UTC()
}

// fromNullTS reads a stored optional time.
func fromNullTS(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// nullText stores "" as NULL.
func nullText(s string) pgtype.Text {
	return pgtype.Text{String: s, Valid: s != ""}
}

// sanitize makes s storable as text: valid UTF-8 without NUL characters. It
// is used for text hookd produces itself (attempt errors), never for what a
// client sent, which is refused instead (see interpretError).
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// rowScanner is a pgx.Row or pgx.Rows, for scan functions that read either.
type rowScanner interface {
	Scan(dest ...any) error
}
