package postgres

import (
	"context"
	"fmt"
	"time"
)

// Exclusive runs fn only if no other node is running work of the same name
// on this database (and schema) right now, and reports whether it ran. It
// holds a session-level advisory lock on one connection while fn runs, so
// maintenance such as retention cleanup is done by one elected node at a
// time; a node that dies mid-way drops the lock with its session.
func (db *DB) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("exclusive %s: %w", name, err)
	}
	defer conn.Release()
	const key = `hashtextextended('hookd exclusive ' || $1 || ' ' || coalesce(current_schema(), ''), 0)`
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, name).Scan(&ok); err != nil {
		return false, fmt.Errorf("exclusive %s: lock: %w", name, err)
	}
	if !ok {
		return false, nil
	}
	defer func() {
		// A fresh context: the lock must go even when ctx has ended, or the
		// connection returns to the pool still holding it.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+key+`)`, name); err != nil {
			conn.Conn().Close(uctx) // closing the session drops the lock
		}
	}()
	return true, fn(ctx)
}
