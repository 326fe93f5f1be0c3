package hookd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// MaxIdempotencyKeyLength bounds Event.IdempotencyKey.
const MaxIdempotencyKeyLength = 255

// Event is something that happened, published once and fanned out to every
// enabled webhook of its tenant that subscribes to its type.
type Event struct {
	ID       string
	TenantID string
	Type     string
	// Data is the payload's data object, compact, with "account" then
	// "user" first (see NormalizeData).
	Data json.RawMessage
	// Resource, when set, is added to data as "resource" for webhooks with
	// config.include_resource (and always for users.fully_synced).
	Resource json.RawMessage
	// IdempotencyKey makes a repeated publish a no-op that answers as the
	// first one did. Scoped by tenant.
	IdempotencyKey string
	// Webhooks, when set, restricts fan-out to these webhook IDs (which must
	// still subscribe to Type and be enabled). The sandbox uses it to send
	// *.partially_synced per days_synced, and trigger --webhook to target one.
	Webhooks  []string
	CreatedAt time.Time
}

// Validate checks a published event's type and payload shapes.
func (e *Event) Validate() error { return e.validate(true) }

// ValidateDecoded is Validate for an event whose Data and Resource were
// taken from a JSON document already checked whole (the API's request
// body): it checks that they are objects without scanning them again.
func (e *Event) ValidateDecoded() error { return e.validate(false) }

func (e *Event) validate(scan bool) error {
	var fe FieldErrors
	if e.Type == "" {
		fe.Add("event", "This field is required.")
	} else if _, ok := LookupEvent(e.Type); !ok {
		fe.Add("event", fmt.Sprintf("%q is not a valid choice.", e.Type))
	}
	if len(e.Data) == 0 {
		fe.Add("data", "This field is required.")
	} else if !isJSONObject(e.Data, scan) {
		fe.Add("data", "Expected a JSON object.")
	}
	if len(e.Resource) > 0 && !isJSONObject(e.Resource, scan) {
		fe.Add("resource", "Expected a JSON object.")
	}
	if utf8.RuneCountInString(e.IdempotencyKey) > MaxIdempotencyKeyLength {
		fe.Add("idempotency_key", fmt.Sprintf("Ensure this field has no more than %d characters.", MaxIdempotencyKeyLength))
	}
	return fe.Err()
}

// isJSONObject reports whether b is a JSON object; b is known to be valid
// JSON unless scan is set.
func isJSONObject(b json.RawMessage, scan bool) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '{' && (!scan || json.Valid(b))
}

// NormalizeData returns data, a JSON object, compacted with its "account"
// and "user" members moved first, in that order, and every other member in
// the order given. Argyle's payloads put account and user first.
func NormalizeData(data json.RawMessage) (json.RawMessage, error) {
	if out, ok := normalizeFast(data, false); ok {
		return out, nil
	}
	return normalizeSlow(data)
}

// NormalizeValidData is NormalizeData for data already known to be valid
// JSON, as json.Valid reports (the API's decoders check every request
// body): it skips checking it again. Given invalid JSON, its result is
// undefined.
func NormalizeValidData(data json.RawMessage) (json.RawMessage, error) {
	if out, ok := normalizeFast(data, true); ok {
		return out, nil
	}
	return normalizeSlow(data)
}

// normalizeFast is NormalizeData for the common object: valid, with plain
// ASCII keys (no escapes) and at most one "account" and one "user". It
// compacts data once (checking it on the way unless valid says it is valid
// JSON) and moves account and user by slicing the compact form, without
// decoding a value. ok is false when it cannot tell, and normalizeSlow
// decides (and words any error).
func normalizeFast(data json.RawMessage, valid bool) (json.RawMessage, bool) {
	var c []byte
	if valid {
		c = compactValid(make([]byte, 0, len(data)), data)
	} else {
		buf := bytes.NewBuffer(make([]byte, 0, len(data)))
		if err := json.Compact(buf, data); err != nil {
			return nil, false
		}
		c = buf.Bytes()
	}
	if len(c) < 2 || c[0] != '{' {
		return nil, false
	}
	// members holds [start, end) of each "key":value in c.
	type span struct{ start, end int }
	var account, user span
	var members [16]span
	rest := members[:0]
	i := 1
	for i < len(c)-1 {
		start := i
		if c[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(c) && c[j] != '"' {
			if b := c[j]; b == '\\' || b < 0x20 || b > 0x7e {
				return nil, false // escaped or non-ASCII key: let the decoder judge
			}
			j++
		}
		key := string(c[i+1 : j])
		i = j + 2 // past the closing quote and the colon
		depth := 0
		for ; i < len(c); i++ {
			b := c[i]
			switch b {
			case '"':
				i = stringEnd(c, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			case ',':
			default:
				continue
			}
			if depth < 0 || (depth == 0 && b == ',') {
				break
			}
		}
		m := span{start, i}
		switch key {
		case "account":
			if account.end != 0 {
				return nil, false
			}
			account = m
		case "user":
			if user.end != 0 {
				return nil, false
			}
			user = m
		default:
			rest = append(rest, m)
		}
		i++ // past the comma or the closing brace
	}
	var order []span
	for _, m := range []span{account, user} {
		if m.end != 0 {
			order = append(order, m)
		}
	}
	if len(order) == 0 || (order[0].start == 1 && (len(order) == 1 || order[1].start == order[0].end+1)) {
		return c, true // already in order
	}
	out := make([]byte, 0, len(c))
	out = append(out, '{')
	for _, m := range append(order, rest...) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, c[m.start:m.end]...)
	}
	return append(out, '}'), true
}

// compactValid appends data, which must be valid JSON, to dst without the
// whitespace between its tokens: json.Compact without the checking, one
// pass over data.
func compactValid(dst, data []byte) []byte {
	start := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = stringEnd(data, i)
		case ' ', '\t', '\n', '\r':
			dst = append(dst, data[start:i]...)
			start = i + 1
		}
	}
	return append(dst, data[start:]...)
}

// stringEnd returns the index of the quote that closes the JSON string
// opened by the quote at data[i], or len(data) when none does.
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++ // the escaped byte, a quote among others
		case '"':
			return i
		}
	}
	return len(data)
}

// normalizeSlow is NormalizeData token by token.
func normalizeSlow(data json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("normalize data: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("normalize data: not an object")
	}
	type member struct {
		key   string
		value json.RawMessage
	}
	var first [2]*member
	var rest []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("normalize data: %w", err)
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("normalize data: %w", err)
		}
		m := member{key, v}
		switch key {
		case "account":
			first[0] = &m
		case "user":
			first[1] = &m
		default:
			rest = append(rest, m)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("normalize data: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("normalize data: trailing data")
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	n := 0
	write := func(m *member) {
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		writeJSONString(&buf, m.key)
		buf.WriteByte(':')
		_ = json.Compact(&buf, m.value)
	}
	for _, m := range first {
		if m != nil {
			write(m)
		}
	}
	for i := range rest {
		write(&rest[i])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	if plainASCII(s) {
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode appends a newline
}

// plainASCII reports whether s is printable ASCII with nothing JSON
// escapes, so that quoting it is all its encoding takes.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// Body formats.
const (
	BodyIndented = "indented" // two-space indent, as recorded Argyle deliveries
	BodyCompact  = "compact"
)

// AppendEnvelope appends the delivery body for one webhook to dst and returns
// the extended slice: {"event":…,"name":…,"data":…} with keys in that order,
// resource (when non-nil) added as the last member of data, nothing
// HTML-escaped, indented with two spaces when indent is true and with no
// trailing newline.
func AppendEnvelope(dst []byte, eventType, name string, data, resource json.RawMessage, indent bool) []byte {
	buf := bytes.NewBuffer(dst[len(dst):])
	buf.WriteString(`{"event":`)
	writeJSONString(buf, eventType)
	buf.WriteString(`,"name":`)
	writeJSONString(buf, name)
	buf.WriteString(`,"data":`)
	if len(resource) == 0 {
		buf.Write(data)
	} else {
		d := bytes.TrimRight(data, " \t\r\n")
		d = d[:len(d)-1] // drop the closing brace
		buf.Write(d)
		if len(bytes.TrimSpace(d)) > 1 {
			buf.WriteByte(',')
		}
		buf.WriteString(`"resource":`)
		buf.Write(resource)
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
	compact := buf.Bytes()
	if !indent {
		return append(dst, compact...)
	}
	var out bytes.Buffer
	out.Grow(len(compact) * 2)
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return append(dst, compact...)
	}
	return append(dst, out.Bytes()...)
}

// IncludesResource reports whether a delivery of an event of type t to w
// carries the event's resource.
func IncludesResource(t string, w *Webhook) bool {
	et, _ := LookupEvent(t)
	if et.AlwaysResource {
		return true
	}
	return et.Resource && w.Config.IncludeResource != nil && *w.Config.IncludeResource
}

// PublishResult is the answer to a publish.
type PublishResult struct {
	EventID string `json:"id"`
	// Deliveries is how many deliveries the event fanned out to.
	Deliveries int `json:"deliveries"`
	// Duplicate reports that the idempotency key was seen before: the
	// result is the first publish's and nothing new was created.
	Duplicate bool `json:"-"`
}

// EventService records published events.
type EventService interface {
	// PublishEvents records each event (validated and normalised by the
	// caller, with ID and CreatedAt set) and, in the same transaction, one
	// pending delivery due at its CreatedAt for every enabled webhook of the
	// tenant that subscribes to the type (narrowed by Event.Webhooks). An
	// event whose IdempotencyKey the tenant used before creates nothing and
	// gets the first publish's result with Duplicate set. Once it returns
	// without error every result is durable. Results are in input order.
	PublishEvents(ctx context.Context, events []*Event) ([]PublishResult, error)

	// FindEventByID returns the tenant's event.
	// Returns ENOTFOUND if it does not exist.
	FindEventByID(ctx context.Context, tenantID, id string) (*Event, error)
}

// PublishEvent publishes one event through s.
func PublishEvent(ctx context.Context, s EventService, e *Event) (PublishResult, error) {
	r, err := s.PublishEvents(ctx, []*Event{e})
	if err != nil {
		return PublishResult{}, err
	}
	return r[0], nil
}
