package postgres

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hookd/hookd"
)

// pageQuery is a keyset-paginated SELECT: a base query and its conditions,
// the sort key (created_at with id, or id alone) and its direction.
type pageQuery struct {
	selectFrom string // "SELECT … FROM t"
	where      []string
	args       []any
	byID       bool // sort by id alone, else by (created_at, id)
	desc       bool // the list's order is descending
}

// add appends a condition; "?" in cond stands for arg's placeholder.
func (q *pageQuery) add(cond string, arg any) {
	q.args = append(q.args, arg)
	q.where = append(q.where, strings.Replace(cond, "?", fmt.Sprintf("$%d", len(q.args)), 1))
}

// build returns the SQL and arguments reading page, and the limit used. It
// reads one row more than the limit, to tell whether more exist.
func (q pageQuery) build(page hookd.Page) (string, []any, int) {
	limit := page.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	q.where, q.args = slices.Clone(q.where), slices.Clone(q.args)
	cursor, before := page.After, false
	if page.Before != nil {
		cursor, before = page.Before, true
	}
	// Reading backwards (Before) reverses the order; trimPage reverses the
	// rows back afterwards.
	desc := q.desc != before
	if cursor != nil {
		op := ">"
		if desc {
			op = "<"
		}
		if q.byID {
			q.add("id "+op+" ?", cursor.ID)
		} else {
			q.args = append(q.args, ts(cursor.Time), cursor.ID)
			q.where = append(q.where, fmt.Sprintf("(created_at, id) %s ($%d, $%d)", op, len(q.args)-1, len(q.args)))
		}
	}
	var b strings.Builder
	b.WriteString(q.selectFrom)
	if len(q.where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(q.where, " AND "))
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	if q.byID {
		b.WriteString(" ORDER BY id" + dir)
	} else {
		b.WriteString(" ORDER BY created_at" + dir + ", id" + dir)
	}
	q.args = append(q.args, limit+1)
	fmt.Fprintf(&b, " LIMIT $%d", len(q.args))
	return b.String(), q.args, limit
}

// trimPage cuts items read by a pageQuery to limit, puts them in the list's
// order and reports whether more exist in the direction read.
func trimPage[T any](items []T, limit int, page hookd.Page) ([]T, bool) {
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if page.Before != nil {
		slices.Reverse(items)
	}
	return items, more
}
