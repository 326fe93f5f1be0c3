package hookd

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Application error codes. Each boundary (HTTP, CLI) translates them into its
// own vocabulary: http maps EINVALID to 400, ENOTFOUND to 404 and so on.
const (
	ECONFLICT      = "conflict"
	EINTERNAL      = "internal"
	EINVALID       = "invalid"
	ENOTFOUND      = "not_found"
	EUNAUTHORIZED  = "unauthorized"
	ETOOLARGE      = "too_large"
	EUNSUPPORTED   = "unsupported"
	ENOTALLOWED    = "method_not_allowed"
	ERATELIMITED   = "rate_limited"
	EUNAVAILABLE   = "unavailable"
	NonFieldErrors = "non_field_errors"
)

// Error is the application error. Message is a human sentence safe to show
// to a client. Fields, when set, holds validation messages keyed by field
// name, in the shape Django REST framework (and so Argyle) answers 400s with.
type Error struct {
	Code    string
	Message string
	Fields  map[string][]string
}

// Error implements the error interface. It is meant for logs, not clients.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("hookd error: code=%s message=%s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", k, strings.Join(e.Fields[k], " "))
	}
	return fmt.Sprintf("hookd error: code=%s %s", e.Code, b.String())
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the root *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's Message,
// or "Internal error." for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// FieldErrors collects validation messages per field and turns into an
// EINVALID *Error when it holds any. The zero value is ready to use.
type FieldErrors map[string][]string

// Add records msg against field.
func (fe *FieldErrors) Add(field, msg string) {
	if *fe == nil {
		*fe = make(FieldErrors)
	}
	(*fe)[field] = append((*fe)[field], msg)
}

// Err returns nil when no messages were added, else an EINVALID *Error.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Invalid input.", Fields: fe}
}

// FieldError returns an EINVALID *Error with one message for one field.
func FieldError(field, msg string) *Error {
	return &Error{Code: EINVALID, Message: msg, Fields: map[string][]string{field: {msg}}}
}
