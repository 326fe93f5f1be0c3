package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// DRF's messages for fields of the wrong shape.
const (
	msgRequired = "This field is required."
	msgNull     = "This field may not be null."
	msgString   = "Not a valid string."
	msgInteger  = "A valid integer is required."
	msgDateTime = "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z], YYYY-MM-DD."
)

// readBody reads the request body, at most MaxBodySize bytes, and checks
// that a non-empty one is declared JSON.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := hookd.Errorf(hookd.ETOOLARGE, "Request body too large (limit 1 MiB).")
	if r.ContentLength > MaxBodySize {
		return nil, tooLarge
	}
	// Sized from Content-Length, the body is read into one buffer that
	// never grows (bytes.Buffer wants MinRead bytes free before each read).
	buf := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodySize))
	data := buf.Bytes()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	} else if err != nil {
		return nil, hookd.Errorf(hookd.EINVALID, "Could not read the request body.")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	ct := r.Header.Get("Content-Type")
	if !isJSONMediaType(ct) {
		return nil, hookd.Errorf(hookd.EUNSUPPORTED, "Unsupported media type %q in request.", ct)
	}
	return data, nil
}

// isJSONMediaType reports whether ct is application/json or a +json type,
// with any parameters.
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// object is a decoded JSON object body, its members still raw.
type object map[string]json.RawMessage

// readObject reads the request body as a JSON object. An empty body is an
// empty object.
func readObject(w http.ResponseWriter, r *http.Request) (object, error) {
	data, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return decodeObject(data)
}

// decodeObject parses data as a JSON object; empty data is an empty object.
func decodeObject(data []byte) (object, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return object{}, nil
	}
	if o, ok := splitObject(data); ok {
		return o, nil
	}
	// Unmarshal checks the whole input before it decodes any of it, so a
	// syntax error comes first, then a value that is not an object.
	var o object
	err := json.Unmarshal(data, &o)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, parseError(err)
	}
	if k := kind(bytes.TrimSpace(data)); k != "dict" {
		return nil, &hookd.Error{Code: hookd.EINVALID, Message: "Invalid data.", Fields: map[string][]string{
			hookd.NonFieldErrors: {fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", k)},
		}}
	}
	if err != nil {
		return nil, parseError(err)
	}
	return o, nil
}

func parseError(err error) error {
	msg := err.Error()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		msg = fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	msg = strings.TrimPrefix(msg, "json: ")
	return hookd.Errorf(hookd.EINVALID, "JSON parse error - %s", msg)
}

// kind names a JSON value's type as Python (and so DRF's messages) would:
// "dict", "list", "str", "int", "float", "bool" or "NoneType".
func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "NoneType"
	}
	switch raw[0] {
	case '{':
		return "dict"
	case '[':
		return "list"
	case '"':
		return "str"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "float"
	}
	return "int"
}

// state says what a request body held for one field.
type state int

const (
	absent  state = iota // not in the body
	null                 // null
	set                  // a valid value
	invalid              // a value of the wrong type, recorded in the FieldErrors
)

// str decodes the string member name. Numbers are taken as their literal
// text, as DRF's CharField does.
func (o object) str(fe *hookd.FieldErrors, name string) (string, state) {
	raw, ok := o[name]
	if !ok {
		return "", absent
	}
	switch kind(raw) {
	case "NoneType":
		return "", null
	case "str":
		if s, ok := plainString(raw); ok {
			return s, set
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			fe.Add(name, msgString)
			return "", invalid
		}
		return s, set
	case "int", "float":
		return string(bytes.TrimSpace(raw)), set
	}
	fe.Add(name, msgString)
	return "", invalid
}

// plainString returns the string the JSON string raw holds when it is
// plain (printable ASCII, no escapes, as event types and most IDs are): its
// bytes between the quotes, which is what json.Unmarshal would decode, in a
// fraction of the time. ok is false for any other raw.
func plainString(raw json.RawMessage) (s string, ok bool) {
	raw = bytes.Trim(raw, " \t\n\r") // JSON's whitespace, no more
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, b := range body {
		if b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
			return "", false
		}
	}
	return string(body), true
}

// requiredStr decodes a required, non-null string member.
func (o object) requiredStr(fe *hookd.FieldErrors, name string) string {
	s, st := o.str(fe, name)
	o.require(fe, name, st)
	return s
}

// require records the messages for a required field that is absent or null.
func (o object) require(fe *hookd.FieldErrors, name string, st state) {
	switch st {
	case absent:
		fe.Add(name, msgRequired)
	case null:
		fe.Add(name, msgNull)
	}
}

// events decodes an event list: a list of strings, or the string "*"
// meaning ["*"].
func (o object) events(fe *hookd.FieldErrors, name string) ([]string, state) {
	raw, ok := o[name]
	if !ok {
		return nil, absent
	}
	switch k := kind(raw); k {
	case "NoneType":
		return nil, null
	case "str":
		var s string
		if err := json.Unmarshal(raw, &s); err == nil && s == hookd.Wildcard {
			return []string{hookd.Wildcard}, set
		}
		fe.Add(name, `Expected a list of items but got type "str".`)
		return nil, invalid
	case "list":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			fe.Add(name, `Expected a list of items but got type "list".`)
			return nil, invalid
		}
		list := make([]string, 0, len(items))
		for _, item := range items {
			var s string
			if kind(item) != "str" || json.Unmarshal(item, &s) != nil {
				fe.Add(name, msgString)
				return nil, invalid
			}
			list = append(list, s)
		}
		return list, set
	default:
		fe.Add(name, fmt.Sprintf("Expected a list of items but got type %q.", k))
		return nil, invalid
	}
}

// config decodes a webhook config object: include_resource (boolean) and
// days_synced (integer); other keys are refused.
func (o object) config(fe *hookd.FieldErrors, name string) (hookd.WebhookConfig, state) {
	var c hookd.WebhookConfig
	raw, ok := o[name]
	if !ok {
		return c, absent
	}
	switch k := kind(raw); k {
	case "NoneType":
		return c, null
	case "dict":
	default:
		fe.Add(name, fmt.Sprintf("Expected a dictionary of items but got type %q.", k))
		return c, invalid
	}
	var m object
	if err := json.Unmarshal(raw, &m); err != nil {
		fe.Add(name, `Expected a dictionary of items but got type "dict".`)
		return c, invalid
	}
	st := set
	for key, v := range m {
		switch key {
		case "include_resource":
			var b bool
			if kind(v) != "bool" || json.Unmarshal(v, &b) != nil {
				fe.Add(name, "include_resource must be a boolean.")
				st = invalid
				continue
			}
			c.IncludeResource = &b
		case "days_synced":
			n, ok := jsonInt(v)
			if !ok {
				fe.Add(name, fmt.Sprintf("days_synced must be an integer from 1 to %d.", hookd.MaxDaysSynced))
				st = invalid
				continue
			}
			c.DaysSynced = &n
		default:
			fe.Add(name, fmt.Sprintf("Unknown config key %q; allowed: include_resource, days_synced.", key))
			st = invalid
		}
	}
	return c, st
}

// jsonInt returns raw as an int when it is a JSON number with no fractional
// part that fits in 32 bits.
func jsonInt(raw json.RawMessage) (int, bool) {
	switch kind(raw) {
	case "int":
		n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 32)
		return int(n), err == nil
	case "float":
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
		if err != nil || f != float64(int32(f)) {
			return 0, false
		}
		return int(f), true
	}
	return 0, false
}

// parseTime parses an ISO 8601 date-time or date. A date-time without a
// zone is UTC. A date alone is the start of that day (UTC), or, with
// endOfDay, its last microsecond. A space stands for "+", which an
// unescaped query string turns offsets into.
func parseTime(s string, endOfDay bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return time.Time{}, false
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			d = d.Add(24*time.Hour - time.Microsecond)
		}
		return d, true
	}
	if i := strings.LastIndexByte(s, ' '); i > 10 {
		s = s[:i] + "+" + s[i+1:]
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return hookd.Truncate(t), true
		}
	}
	return time.Time{}, false
}

// splitBatch decodes the common batch body: a JSON object whose "events"
// member is an array of objects, every member name plain ASCII. It checks
// the body with validJSON, then splits it in one pass into the events'
// members without decoding a value; encoding/json took four passes and a
// map per event built through reflection, half of the HTTP layer's time
// per event (BenchmarkPublishBatch). ok is false when it cannot tell
// (invalid JSON, another shape, escaped or non-ASCII names): decodeObject
// then decides, and words any error. Like encoding/json into a map, the
// last of a repeated name wins.
func splitBatch(data []byte) (events []object, ok bool) {
	if !validJSON(data) {
		return nil, false
	}
	eventsOK := false // stays false unless an "events" member is found
	if _, ok := members(data, skipSpace(data, 0), func(name string, value []byte) {
		if name == "events" {
			events, eventsOK = splitObjects(value)
		}
	}); !ok || !eventsOK {
		return nil, false
	}
	return events, true
}

// splitObject is decodeObject for the common body: a valid JSON object
// whose member names are plain ASCII, split into its members in one pass
// after validJSON, without decoding a value. ok is false when it cannot
// tell, and encoding/json decides.
func splitObject(data []byte) (object, bool) {
	if !validJSON(data) {
		return nil, false
	}
	o, _, ok := objectAt(data, skipSpace(data, 0))
	return o, ok
}

// objectAt splits the valid JSON object starting at data[i] into its
// members, and returns the index just past it (see members).
func objectAt(data []byte, i int) (o object, end int, ok bool) {
	o = object{}
	end, ok = members(data, i, func(name string, value []byte) { o[name] = value })
	return o, end, ok
}

// splitObjects splits a valid JSON array of objects into their members.
func splitObjects(data []byte) ([]object, bool) {
	if data[0] != '[' {
		return nil, false
	}
	objs := []object{}
	i := skipSpace(data, 1)
	if data[i] == ']' {
		return objs, true
	}
	for {
		o, end, ok := objectAt(data, i)
		if !ok {
			return nil, false
		}
		objs = append(objs, o)
		i = skipSpace(data, end)
		if data[i] == ']' {
			return objs, true
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// members calls fn with each member of the valid JSON object starting at
// data[i], in order, and returns the index just past the object. ok is
// false when data[i] starts no object or a member name is escaped or not
// printable ASCII.
func members(data []byte, i int, fn func(name string, value []byte)) (end int, ok bool) {
	if i >= len(data) || data[i] != '{' {
		return 0, false
	}
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return i + 1, true
	}
	for {
		j := i + 1 // data[i] is the name's opening quote
		for ; data[j] != '"'; j++ {
			if b := data[j]; b == '\\' || b < 0x20 || b > 0x7e {
				return 0, false
			}
		}
		name := string(data[i+1 : j])
		start := skipSpace(data, skipSpace(data, j+1)+1) // past the colon
		end := skipValue(data, start)
		fn(name, data[start:end:end])
		i = skipSpace(data, end)
		if data[i] == '}' {
			return i + 1, true
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// skipValue returns the index just past the valid JSON value at data[i].
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = skipString(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // a number, true, false or null
		for ; i < len(data); i++ {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
		}
		return i
	}
}

// skipString returns the index just past the valid JSON string at data[i].
func skipString(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}
