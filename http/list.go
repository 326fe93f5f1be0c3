package http

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hookd/hookd"
)

// List page sizes.
const (
	DefaultLimit = 10
	MaxLimit     = 200
)

// listAnswer is the shape of every list: absolute URLs of the neighbouring
// pages, or null, and the page's items.
type listAnswer struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  any     `json:"results"`
}

// cursorJSON is the decoded form of the opaque cursor query parameter.
type cursorJSON struct {
	Ordering string `json:"o"`
	// Dir is "n" (the page after the position) or "p" (the page before it).
	Dir  string `json:"d"`
	Time string `json:"t,omitempty"`
	ID   string `json:"i"`
}

func encodeCursor(ordering, dir string, c hookd.Cursor) string {
	cj := cursorJSON{Ordering: ordering, Dir: dir, ID: c.ID}
	if !c.Time.IsZero() {
		cj.Time = hookd.FormatTime(c.Time)
	}
	b, _ := json.Marshal(cj)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor sets page's After or Before from the cursor parameter s,
// which must have been made for ordering.
func decodeCursor(s, ordering string, page *hookd.Page) error {
	invalid := hookd.FieldError("cursor", "Invalid cursor")
	if len(s) > 512 {
		return invalid
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return invalid
	}
	var cj cursorJSON
	if err := json.Unmarshal(b, &cj); err != nil || cj.Ordering != ordering || !hookd.IsUUID(cj.ID) {
		return invalid
	}
	c := &hookd.Cursor{ID: cj.ID}
	if ordering != hookd.OrderID {
		t, err := time.Parse(hookd.TimeFormat, cj.Time)
		if err != nil {
			return invalid
		}
		c.Time = t
	}
	switch cj.Dir {
	case "n":
		page.After = c
	case "p":
		page.Before = c
	default:
		return invalid
	}
	return nil
}

// listQuery is a list request's query string with its errors collected.
type listQuery struct {
	values url.Values
	fe     hookd.FieldErrors
}

func newListQuery(r *http.Request) *listQuery {
	v, _ := url.ParseQuery(r.URL.RawQuery) // keeps every well-formed pair
	return &listQuery{values: v}
}

// limit returns the page size: DefaultLimit when absent, capped at MaxLimit.
func (q *listQuery) limit() int {
	s := q.values.Get("limit")
	if s == "" {
		return DefaultLimit
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		q.fe.Add("limit", msgInteger)
		return 0
	}
	if n < 1 {
		q.fe.Add("limit", "Ensure this value is greater than or equal to 1.")
		return 0
	}
	return int(min(n, MaxLimit))
}

// choice returns the parameter name, which must be one of choices or absent.
func (q *listQuery) choice(name string, choices ...string) string {
	s := q.values.Get(name)
	if s == "" {
		return ""
	}
	for _, c := range choices {
		if s == c {
			return s
		}
	}
	q.fe.Add(name, fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", s))
	return ""
}

// time returns the parameter name as an ISO 8601 time; a date alone is the
// start of the day, or its end for endOfDay.
func (q *listQuery) time(name string, endOfDay bool) *time.Time {
	s := q.values.Get(name)
	if s == "" {
		return nil
	}
	t, ok := parseTime(s, endOfDay)
	if !ok {
		q.fe.Add(name, msgDateTime)
		return nil
	}
	return &t
}

// uuid returns the parameter name, which must be a UUID or absent.
func (q *listQuery) uuid(name string) string {
	s := q.values.Get(name)
	if s != "" && !hookd.IsUUID(s) {
		q.fe.Add(name, fmt.Sprintf("%q is not a valid UUID.", s))
		return ""
	}
	return s
}

// page returns the requested page for a list in ordering. Call it last:
// a cursor is checked only when the other parameters are valid.
func (q *listQuery) page(ordering string) hookd.Page {
	p := hookd.Page{Limit: q.limit()}
	if s := q.values.Get("cursor"); s != "" && len(q.fe) == 0 {
		if err := decodeCursor(s, ordering, &p); err != nil {
			q.fe.Add("cursor", "Invalid cursor")
		}
	}
	return p
}

func (q *listQuery) err() error { return q.fe.Err() }

// pageLinks returns the next and previous URLs of a page of n items read
// with page, given cursors at its first and last items and whether the
// store found more items in the direction it read.
func pageLinks(r *http.Request, q *listQuery, ordering string, page hookd.Page, first, last *hookd.Cursor, more bool) (next, prev *string) {
	link := func(dir string, c hookd.Cursor) *string {
		v := url.Values{}
		for k, vs := range q.values {
			v[k] = vs
		}
		v.Set("cursor", encodeCursor(ordering, dir, c))
		u := url.URL{Scheme: requestScheme(r), Host: r.Host, Path: r.URL.Path, RawQuery: v.Encode()}
		s := u.String()
		return &s
	}
	if page.Before == nil {
		if more && last != nil {
			next = link("n", *last)
		}
		switch {
		case page.After != nil && first != nil:
			prev = link("p", *first)
		case page.After != nil:
			prev = link("p", *page.After)
		}
		return next, prev
	}
	if more && first != nil {
		prev = link("p", *first)
	}
	if last != nil {
		next = link("n", *last)
	}
	return next, prev
}

// requestScheme is https when the request came over TLS or through a proxy
// that says it did.
func requestScheme(r *http.Request) string {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return "https"
	}
	return "http"
}

// formatTimePtr formats t, or returns nil for JSON null.
func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := hookd.FormatTime(*t)
	return &s
}

// stringPtr returns nil for "" (JSON null), else &s.
func stringPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
