package sqlite

import (
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

// build returns the SQL and arguments reading page, and the limit used. It
// reads one row more than the limit, to tell whether more exist.
func (q pageQuery) build(page hookd.Page) (string, []any, int) {
	limit := page.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	where, args := slices.Clone(q.where), slices.Clone(q.args)
	cursor, before := page.After, false
	if page.Before != nil {
		cursor, before = page.Before, true
	}
	// Reading backwards (Before) reverses the order; build reverses the
	// rows back afterwards.
	desc := q.desc != before
	if cursor != nil {
		op := ">"
		if desc {
			op = "<"
		}
		if q.byID {
			where = append(where, "id "+op+" ?")
			args = append(args, cursor.ID)
		} else {
			where = append(where, "(created_at, id) "+op+" (?, ?)")
			args = append(args, micros(cursor.Time), cursor.ID)
		}
	}
	var b strings.Builder
	b.WriteString(q.selectFrom)
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
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
	b.WriteString(" LIMIT ?")
	args = append(args, limit+1)
	return b.String(), args, limit
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
