package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// rawStmts keeps the statements the writer runs for their effect (Tx.exec),
// prepared on the driver's connection under the writer's sql.Conn, and runs
// them there, inside sql.Conn.Raw: without database/sql's bookkeeping on
// each call (the statement's connection looked up, every argument checked
// through the driver.Valuer and reflection paths, the result wrapped):
// BenchmarkPublish/Batch100/FanOut1 takes about 9 % less time, and half
// the bytes allocated (BENCHMARKS.md). Only the writer goroutine uses it.
type rawStmts struct {
	byQuery map[string]driver.StmtExecContext
	args    []driver.NamedValue // reused from one statement to the next
}

// exec runs query with args through a statement prepared on dc. It returns
// ok false, having run nothing, when the cache is full or the driver's
// statement cannot run with a context: the caller then goes through
// database/sql.
func (r *rawStmts) exec(ctx context.Context, dc any, query string, args []any) (res driver.Result, ok bool, err error) {
	s, found := r.byQuery[query]
	if !found {
		if len(r.byQuery) >= maxStmts {
			return nil, false, nil
		}
		p, can := dc.(driver.ConnPrepareContext)
		if !can {
			return nil, false, nil
		}
		ds, err := p.PrepareContext(ctx, query)
		if err != nil {
			return nil, true, err // as running it unprepared would report
		}
		if s, can = ds.(driver.StmtExecContext); !can {
			ds.Close()
			return nil, false, nil
		}
		if r.byQuery == nil {
			r.byQuery = make(map[string]driver.StmtExecContext)
		}
		r.byQuery[query] = s
	}
	r.args = r.args[:0]
	for i, a := range args {
		v, err := driverValue(a)
		if err != nil {
			return nil, true, fmt.Errorf("sql: converting argument $%d type: %w", i+1, err)
		}
		r.args = append(r.args, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	res, err = s.ExecContext(ctx, r.args)
	clear(r.args) // keep no strings alive
	return res, true, err
}

// driverValue converts an argument as database/sql does, without its
// reflection for the types the store passes.
func driverValue(a any) (driver.Value, error) {
	switch v := a.(type) {
	case nil, string, int64, float64, bool, []byte, time.Time:
		return a, nil
	case int:
		return int64(v), nil
	}
	return driver.DefaultParameterConverter.ConvertValue(a)
}

// close closes the statements, on the connection they were prepared on.
func (r *rawStmts) close(conn *sql.Conn) {
	if len(r.byQuery) == 0 {
		return
	}
	_ = conn.Raw(func(any) error {
		for _, s := range r.byQuery {
			s.(driver.Stmt).Close()
		}
		return nil
	})
	clear(r.byQuery)
}
