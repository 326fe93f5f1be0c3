// Package sqlite implements hookd's services on an embedded SQLite database:
// SQLite's C library through cgo (github.com/mattn/go-sqlite3) when built
// with a C compiler, or modernc.org/sqlite, its translation to Go, when
// built with CGO_ENABLED=0 or the purego tag (driver_cgo.go,
// driver_purego.go). Both pass the same conformance suite.
//
// A DB holds one writer connection and a pool of read-only connections. Every
// write goes through a single writer goroutine that group-commits: it takes as
// many queued write operations as it can (up to a bound), runs each inside its
// own SAVEPOINT so that a failing operation rolls back alone, commits them in
// one transaction and then answers each. One commit per batch instead of one
// per operation is what makes ingest fast. Reads run on the read pool and see
// every write that was answered before they began.
//
// Several processes may open the same file (the hookd CLI while the server
// runs): SQLite's file locks serialise their writers, and the busy timeout
// makes each wait its turn. Only one of them delivers: the first claim
// locks the file for its process (see leases), which keeps its claims in
// memory, so a claim is a read and never waits for the writer.
//
// The store also parks deliveries (hookd.DeliveryParker, park.go): a
// webhook whose endpoint is down has its new deliveries listed in their
// event rows instead of inserted, until it comes back.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// maxBatch bounds how many write operations share one transaction, so one
// commit never holds the write lock for long.
const maxBatch = 256

// DefaultPageLimit is the page size used when a Page has no Limit.
const DefaultPageLimit = 10

// DB is a hookd database in one SQLite file.
type DB struct {
	// Path is the database file. Open creates its directory.
	Path string

	// Now returns the current time for timestamps the store sets itself
	// (tenants, migrations). Defaults to hookd.Now.
	Now func() time.Time

	// OnWork, when set, is called after a commit that made deliveries due:
	// a publish that created at least one delivery, RedeliverDelivery,
	// RecoverDeliveries and unparking. webhooks names the webhooks whose
	// deliveries the commit made due, when a publish made them all; else it
	// is nil (any webhook). It runs on the writer goroutine outside any
	// transaction, before the operations are answered, so it must not block
	// nor write to the DB (a non-blocking send on a channel is ideal). The
	// delivery worker uses it to wake up without polling (see
	// deliver.Worker.WakeFor).
	OnWork func(webhooks []string)

	// Secrets, when set, encrypts webhook secrets at rest
	// (HOOKD_ENCRYPTION_KEY). Secrets written before it was set stay
	// readable and are sealed when next written.
	Secrets *hookd.SecretBox

	writer       *sql.DB     // exactly one connection, held by conn after Open
	conn         *sql.Conn   // the writer goroutine's connection
	stmts        stmtCache   // the writer's prepared statements, kept across transactions
	raw          rawStmts    // the writer's statements run for their effect (Tx.exec)
	queue        leases      // the deliveries this process has claimed
	claimStmts   stmtCache   // the claim's queries, prepared on the read pool
	sent         sentCache   // what completions last wrote of each webhook
	park         parking     // parked webhooks and deliveries
	fair         fairClaimer // what claims take, and where their scans stopped
	cache        rowCache    // webhooks and events claims hand out
	reader       *sql.DB     // read-only pool
	checkpointer *sql.DB     // one connection, used only by checkpointLoop
	checkpointed chan struct{}
	longLog      atomic.Bool // the log has outgrown walRestartFrames (see checkpointLoop)

	ops     chan *writeOp
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
}

// NewDB returns a DB for the file at path. Call Open before using it.
func NewDB(path string) *DB {
	return &DB{Path: path, Now: hookd.Now}
}

// Open creates the database file's directory, opens the file, applies
// pending migrations and starts the writer goroutine.
func (db *DB) Open() (err error) {
	if db.Path == "" {
		return fmt.Errorf("open db: path required")
	}
	if db.Now == nil {
		db.Now = hookd.Now
	}
	if err := os.MkdirAll(filepath.Dir(db.Path), 0o700); err != nil {
		return fmt.Errorf("open db: %w", err)
	}

	db.writer, err = openDB(db.Path, roleWriter)
	if err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	defer func() {
		if err != nil {
			db.writer.Close()
			if db.reader != nil {
				db.reader.Close()
			}
		}
	}()
	// One writer connection: SQLite allows one writer at a time anyway, and
	// with one connection claims need no SKIP LOCKED to be exclusive.
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)
	if err := db.migrate(context.Background()); err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	// The writer goroutine keeps the one connection, so that its prepared
	// statements live as long as the DB, not one transaction.
	if db.conn, err = db.writer.Conn(context.Background()); err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	db.stmts.on = db.conn

	db.reader, err = openDB(db.Path, roleReader)
	if err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	n := max(4, 2*runtime.NumCPU())
	db.reader.SetMaxOpenConns(n)
	db.reader.SetMaxIdleConns(n)
	db.claimStmts.on = db.reader
	if err := db.reader.Ping(); err != nil {
		return fmt.Errorf("open db: %w", err)
	}

	db.checkpointer, err = openDB(db.Path, roleCheckpointer)
	if err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	db.checkpointer.SetMaxOpenConns(1)

	db.ops = make(chan *writeOp)
	db.closing = make(chan struct{})
	db.done = make(chan struct{})
	db.checkpointed = make(chan struct{})
	db.park.kick = make(chan struct{}, 1)
	db.park.looped = make(chan struct{})
	if err := db.countParked(context.Background()); err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	go db.writeLoop()
	go db.checkpointLoop()
	go db.unparkLoop()
	return nil
}

// Close stops the writer goroutine, after the batch it is committing, and
// closes the database. Writes after Close fail.
func (db *DB) Close() error {
	if db.writer == nil || db.done == nil {
		return nil
	}
	db.once.Do(func() { close(db.closing) })
	<-db.done
	<-db.checkpointed
	<-db.park.looped
	db.stmts.close()
	db.raw.close(db.conn)
	db.claimStmts.close()
	err := db.conn.Close()
	if errors.Is(err, sql.ErrConnDone) {
		err = nil // closed before
	}
	if e := db.queue.unlock(); err == nil {
		err = e
	}
	if e := db.checkpointer.Close(); err == nil {
		err = e
	}
	if e := db.reader.Close(); err == nil {
		err = e
	}
	if e := db.writer.Close(); err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("close db: %w", err)
	}
	return nil
}

// checkpointInterval is how often checkpointLoop copies the write-ahead log
// back into the database.
const checkpointInterval = 100 * time.Millisecond

// walRestartFrames is how long the write-ahead log may grow, in frames
// (pages), before the writer finishes a checkpoint itself so that the log
// starts over from its beginning; walRestartLag is how many frames that
// checkpoint may have left to copy, so that it takes the writer little.
const (
	walRestartFrames = 16384
	walRestartLag    = 1024
)

// checkpointLoop runs passive checkpoints until Close, on its own
// connection: they never block the writer or readers, and take the work
// out of the writer goroutine, which every write waits for.
//
// They alone do not keep the log short. SQLite writes the log from its
// start again only when a write begins with every frame copied back, and
// under a steady stream of writes a background checkpoint never catches
// the last frame: a throughput run grew the log to 678 MB. So when the log
// passes walRestartFrames, and the checkpoints are within walRestartLag
// frames of its end, the writer, between two transactions, copies the few
// frames left (see commit), and its next transaction restarts the log.
func (db *DB) checkpointLoop() {
	defer close(db.checkpointed)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-db.closing:
			return
		case <-t.C:
			// A failed checkpoint is tried again on the next tick; the
			// log only grows meanwhile.
			var busy, frames, copied int
			err := db.checkpointer.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
			if err == nil && frames > walRestartFrames && frames-copied <= walRestartLag {
				db.longLog.Store(true)
			}
		}
	}
}

// Ping checks that the database answers a query, for /readyz.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.reader.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping db: %w", err)
	}
	return nil
}

// migrate applies every embedded migration not yet recorded in the
// migrations table, each in its own transaction, in lexical order, on a
// connection of its own that it closes: a connection keeps the table
// definitions it has parsed, and a migration may edit one in place (0005).
// A later migration that alters such a table has the connection parse the
// schema again first (0006).
func (db *DB) migrate(ctx context.Context) (err error) {
	m, err := openDB(db.Path, roleWriter)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := m.Close(); err == nil {
			err = cerr
		}
	}()
	m.SetMaxOpenConns(1)
	if _, err := m.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name       TEXT PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, m, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, m *sql.DB, name string) error {
	// BEGIN IMMEDIATE (see _txlock) makes the check and the apply atomic
	// against another process migrating the same file.
	tx, err := m.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, filepath.Base(name)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	script, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(script)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`,
		filepath.Base(name), micros(db.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// AppliedMigrations returns the names of the applied migrations in the order
// they were applied ("0001_init.sql", …).
func (db *DB) AppliedMigrations(ctx context.Context) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT name FROM migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("applied migrations: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	return names, nil
}

// errClosed answers writes made after Close.
var errClosed = errors.New("sqlite: database is closed")

// writeOp is one write operation waiting for the writer goroutine.
type writeOp struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan error
}

// write runs fn inside the writer's next transaction and returns its error,
// or the commit's. fn may run alongside other operations in one transaction,
// inside its own savepoint: when it fails, only its changes roll back. fn
// must not keep tx, and its results are durable only when write returns nil.
func (db *DB) write(ctx context.Context, fn func(tx *Tx) error) error {
	if db.ops == nil {
		return errClosed
	}
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.closing:
		return errClosed
	}
	// Once taken, the op is always answered: it may already be committing.
	return <-op.done
}

// writeLoop is the writer goroutine: it group-commits queued operations.
func (db *DB) writeLoop() {
	defer close(db.done)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case <-db.closing:
			return
		case op := <-db.ops:
			batch = append(batch[:0], op)
		}
		// Let writers that are ready to queue do so before the batch is
		// cut: on a busy machine they often are a scheduling round away.
		runtime.Gosched()
	drain:
		for len(batch) < maxBatch {
			select {
			case op := <-db.ops:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		db.commit(batch)
		clear(batch)
	}
}

// commit runs batch in one transaction, each op in its own savepoint, and
// answers every op.
func (db *DB) commit(batch []*writeOp) {
	errs := make([]error, len(batch))
	answer := func() {
		for i, op := range batch {
			op.done <- errs[i]
		}
	}
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		answer()
	}

	ctx := context.Background()
	if _, err := db.conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	rollback := func() {
		// Fails only when SQLite already rolled back (an I/O error).
		_, _ = db.conn.ExecContext(ctx, `ROLLBACK`)
	}
	tx := &Tx{db: db, ctx: ctx, now: db.Now()}
	single := len(batch) == 1
	wake, ok := false, 0
	landed := int64(math.MaxInt64) // the earliest due time the ops made claimable
	var hooks dueHooks             // the webhooks whose deliveries they made due
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		tx.wake, tx.landed, tx.hooks = false, math.MaxInt64, dueHooks{}
		if single {
			if errs[i] = op.fn(tx); errs[i] == nil {
				ok++
				wake, landed, hooks = tx.wake, tx.landed, tx.hooks
			}
			break
		}
		if _, err := tx.exec(`SAVEPOINT op`); err != nil {
			rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		if errs[i] = op.fn(tx); errs[i] != nil {
			if _, err := tx.exec(`ROLLBACK TO op`); err != nil {
				// SQLite rolled the whole transaction back (a full disk,
				// an I/O error): every op in the batch is lost.
				rollback()
				fail(fmt.Errorf("roll back to savepoint: %w", err))
				return
			}
		} else {
			ok++
			wake, landed = wake || tx.wake, min(landed, tx.landed)
			hooks.merge(tx.hooks)
		}
		if _, err := tx.exec(`RELEASE op`); err != nil {
			rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if ok == 0 {
		rollback()
		answer()
		return
	}
	if _, err := db.conn.ExecContext(ctx, `COMMIT`); err != nil {
		// A failed COMMIT may leave the transaction open (SQLITE_BUSY).
		rollback()
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	if landed != math.MaxInt64 {
		// Before the worker wakes: its claim must not resume past them.
		db.fair.landed(landed)
	}
	if wake && db.OnWork != nil {
		var ids []string // nil: any webhook
		if !hooks.any {
			ids = hooks.ids
		}
		db.OnWork(ids)
	}
	answer()
	if db.longLog.CompareAndSwap(true, false) {
		// No write can come between this checkpoint and the next
		// transaction, which then restarts the log (see checkpointLoop).
		// Failing, it is tried again when the log is found long again.
		_, _ = db.conn.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	}
}

// Tx is the writer's transaction as one write operation sees it. The
// writer goroutine opens and ends the transaction on its connection with
// BEGIN IMMEDIATE and COMMIT; Tx runs statements on that connection.
type Tx struct {
	db     *DB
	ctx    context.Context
	now    time.Time
	wake   bool     // the op made deliveries due
	landed int64    // the earliest due time of those, in unix microseconds
	hooks  dueHooks // the webhooks of those
}

// madeDue notes that the op made a delivery claimable, due at due (unix
// microseconds), of any webhook: after the commit the worker is woken,
// and claims look for deliveries from that due time on (see
// fairClaimer.landed).
func (tx *Tx) madeDue(due int64) {
	tx.madeDueFor(due, nil)
	tx.hooks.any = true
}

// madeDueFor is madeDue for deliveries of the webhooks named, which the
// worker may skip waking for (see OnWork).
func (tx *Tx) madeDueFor(due int64, webhooks []string) {
	tx.wake = true
	tx.landed = min(tx.landed, due)
	tx.hooks.add(webhooks)
}

// dueHooks collects the webhooks whose deliveries a commit made due.
type dueHooks struct {
	any  bool     // some of unnamed webhooks
	ids  []string // possibly repeated
	last []string // the list added last, not added again when repeated
}

// add adds webhooks, unless they are the list added last: a publish adds
// the same fan-out for each event of a tenant and type.
func (h *dueHooks) add(webhooks []string) {
	if len(webhooks) == 0 || h.any {
		return
	}
	if len(h.last) == len(webhooks) && &h.last[0] == &webhooks[0] {
		return
	}
	h.last = webhooks
	h.ids = append(h.ids, webhooks...)
}

func (h *dueHooks) merge(o dueHooks) {
	if o.any {
		h.any = true
	}
	if !h.any {
		h.ids = append(h.ids, o.ids...)
	}
}

func (tx *Tx) exec(query string, args ...any) (sql.Result, error) {
	var res driver.Result
	ran := false
	err := tx.db.conn.Raw(func(dc any) (err error) {
		res, ran, err = tx.db.raw.exec(tx.ctx, dc, query, args)
		return err
	})
	if ran || err != nil {
		return res, err
	}
	s, err := tx.db.stmts.get(tx.ctx, query)
	if s == nil || err != nil {
		return tx.db.conn.ExecContext(tx.ctx, query, args...)
	}
	return s.ExecContext(tx.ctx, args...)
}

func (tx *Tx) query(query string, args ...any) (*sql.Rows, error) {
	s, err := tx.db.stmts.get(tx.ctx, query)
	if s == nil || err != nil {
		return tx.db.conn.QueryContext(tx.ctx, query, args...)
	}
	return s.QueryContext(tx.ctx, args...)
}

func (tx *Tx) queryRow(query string, args ...any) *sql.Row {
	s, err := tx.db.stmts.get(tx.ctx, query)
	if s == nil || err != nil {
		return tx.db.conn.QueryRowContext(tx.ctx, query, args...)
	}
	return s.QueryRowContext(tx.ctx, args...)
}

// QueryContext runs a query in the transaction without caching its
// statement, for queries built at run time.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.db.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext is QueryContext for one row.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.db.conn.QueryRowContext(ctx, query, args...)
}

// maxStmts bounds a statement cache; statements past it are run
// unprepared. hookd's writes and claims use a few dozen fixed statements.
const maxStmts = 128

// preparer is what a stmtCache prepares on: the writer's connection, or
// the read pool (whose statements a transaction reuses per connection).
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmtCache keeps prepared statements for as long as the DB is open, so
// that a transaction does not prepare again what the previous one did.
type stmtCache struct {
	on      preparer
	mu      sync.Mutex
	byQuery map[string]*sql.Stmt
}

// get returns query prepared, or nil when the cache is full: the caller
// then runs the query unprepared. A statement that fails to prepare is not
// cached; running it unprepared reports the same error.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.byQuery[query]; ok {
		return s, nil
	}
	if len(c.byQuery) >= maxStmts {
		return nil, nil
	}
	s, err := c.on.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.byQuery == nil {
		c.byQuery = make(map[string]*sql.Stmt)
	}
	c.byQuery[query] = s
	return s, nil
}

// close closes the prepared statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.byQuery {
		s.Close()
	}
	clear(c.byQuery)
}

// queryer is what the read pool and a transaction share, for reads that run
// in either.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// interpretError turns database errors that mean something to callers into
// application errors: no rows into ENOTFOUND, a unique or primary key
// violation into ECONFLICT. Other errors are returned unchanged.
func interpretError(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return hookd.Errorf(hookd.ENOTFOUND, "Not found.")
	}
	if isUniqueViolation(err) {
		return hookd.Errorf(hookd.ECONFLICT, "Already exists.")
	}
	return err
}

// micros is how a time is stored: unix microseconds, UTC.
func micros(t time.Time) int64 {
	return hookd.Truncate(t).UnixMicro()
}

// nullMicros stores an optional time: NULL for nil.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// fromMicros reads a stored time.
func fromMicros(us int64) time.Time {
	return time.UnixMicro(us).UTC()
}

// fromNullMicros reads a stored optional time.
func fromNullMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
