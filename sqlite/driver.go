package sqlite

// role is what a connection is opened for; each role has its own settings.
type role int

const (
	roleWriter       role = iota // the writer goroutine's connection, and migrations
	roleReader                   // the read pool: claims and every other read
	roleCheckpointer             // the background WAL checkpoints
)

// pragmas returns the settings a connection of role r applies when it
// opens, in order, as "name=value". The driver files (driver_cgo.go,
// driver_purego.go) apply them, and open writer connections with
// _txlock=immediate: a write transaction takes the write lock at BEGIN, so
// it waits (busy_timeout) for another process's writer there rather than
// failing with SQLITE_BUSY when it first writes after a read. (The writer
// goroutine says BEGIN IMMEDIATE itself; migrations rely on this.)
func pragmas(r role) []string {
	// busy_timeout: another connection or process (the CLI while the server
	// runs) may hold the write lock; wait up to 10 s for it instead of
	// failing at once with SQLITE_BUSY. It is applied first, so the pragmas
	// after it wait too.
	p := []string{"busy_timeout=10000"}
	switch r {
	case roleWriter:
		p = append(p,
			// journal_mode=WAL: readers and the writer never block each
			// other, and a commit appends to the log instead of rewriting
			// pages in place. The mode is stored in the file, so every later
			// connection uses it.
			"journal_mode=WAL",
			// synchronous=NORMAL: in WAL mode a commit is durable against a
			// killed process without an fsync per commit; only a power loss
			// may lose the last commits. FULL costs ~6x on single-row writes.
			"synchronous=NORMAL",
			// foreign_keys=ON: SQLite leaves them off by default; deleting a
			// webhook cascades to its deliveries and their attempts through
			// them.
			"foreign_keys=ON",
			// temp_store=MEMORY: the group commit runs each operation in a
			// SAVEPOINT, and SQLite saves every page an operation first
			// touches to a sub-journal, a temporary file by default: one
			// write syscall per page, which was 40% of a batch's time. In
			// memory it costs a copy.
			"temp_store=MEMORY",
			// wal_autocheckpoint=0: the writer never checkpoints on commit;
			// the checkpointer connection does (checkpointLoop), so copying
			// the log back into the database runs beside the one writer,
			// not inside it.
			"wal_autocheckpoint=0",
			// cache_size=-16384: 16 MiB of pages instead of SQLite's 2. A
			// transaction whose changed pages outgrow the cache spills
			// them to the log before it commits, and reads them back
			// when it changes them again; a publish of 100 events to 100
			// webhooks each (10,000 deliveries, their rows and four index
			// entries each) did, and took twice as long
			// (BenchmarkPublish/Batch100/FanOut100).
			// Only the writer's cache is raised: a reader's is emptied
			// whenever it starts reading after a commit. The cost: at the
			// end of a transaction in which a b-tree split swapped pages
			// (using the lock page's number as a spare), SQLite walks the
			// cache's whole hash table, 4,096 slots at this size; in
			// perf, 2.3 % of BenchmarkPublish/Batch100/FanOut1's samples
			// against 0.3 % with 2 MiB. Its time stayed in its spread.
			"cache_size=-16384",
		)
	case roleReader:
		p = append(p,
			"foreign_keys=ON", // as above, for completeness
			"query_only=1",    // every write must go through the writer goroutine
		)
	}
	return p
}
