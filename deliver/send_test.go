package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/signature"
)

func TestDescribeError(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "http://x", Err: err} }
	dial := func(err error) error { return wrap(&net.OpError{Op: "dial", Net: "tcp", Err: err}) }
	tests := []struct {
		err          error
		outcome, msg string
	}{
		{dial(ErrDestinationNotAllowed), OutcomeRefused, "destination address not allowed"},
		{dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), OutcomeNetworkError, "connection refused"},
		{wrap(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), OutcomeNetworkError, "connection reset by peer"},
		{dial(&net.DNSError{Name: "hooks.invalid", Err: "no such host", IsNotFound: true}), OutcomeNetworkError, "DNS lookup of hooks.invalid failed: no such host"},
		{dial(&net.DNSError{Name: "slow.example", Err: "i/o timeout", IsTimeout: true}), OutcomeTimeout, "DNS lookup of slow.example timed out"},
		{wrap(context.DeadlineExceeded), OutcomeTimeout, "timeout: no complete response within 15s"},
		{wrap(fmt.Errorf("read: %w", io.EOF)), OutcomeNetworkError, "connection closed before a response"},
		{wrap(errors.New("something odd")), OutcomeNetworkError, "something odd"},
	}
	for _, tt := range tests {
		outcome, msg := describeError(tt.err, 15*time.Second)
		if outcome != tt.outcome || msg != tt.msg {
			t.Errorf("describeError(%v) got %q, %q, want %q, %q", tt.err, outcome, msg, tt.outcome, tt.msg)
		}
	}
}

func TestCleanBody(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"ok", "ok"},
		{"a\x00b", "ab"},
		{"bad \xff byte", "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		if got := cleanBody([]byte(tt.in)); got != tt.want {
			t.Errorf("cleanBody(%q) got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadLimited(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100_000)
	tests := []struct {
		name  string
		r     io.Reader
		limit int
		want  string
	}{
		{"empty", strings.NewReader(""), 64, ""},
		{"short", strings.NewReader("ok"), 64, "ok"},
		{"at the limit", strings.NewReader(long[:700]), 700, long[:700]},
		{"over the limit", strings.NewReader(long), 700, long[:700]},
		{"past the stack buffer", strings.NewReader(long), 65536, long[:65536]},
		{"one byte a read", iotest.OneByteReader(strings.NewReader(long[:1000])), 65536, long[:1000]},
		{"error mid-way", io.MultiReader(strings.NewReader("part"), iotest.ErrReader(io.ErrUnexpectedEOF)), 64, "part"},
	}
	for _, tt := range tests {
		var stack [512]byte
		if got := string(readLimited(stack[:0], tt.r, tt.limit)); got != tt.want {
			t.Errorf("%s: got %d bytes, want %d", tt.name, len(got), len(tt.want))
		}
	}
}

// Requests share their constant header values, and one request's values
// share an array: appending to one request's values must not change
// another's, nor the request's other headers.
func TestNewRequest_HeadersIndependent(t *testing.T) {
	t.Parallel()
	task := func(id string) *hookd.Task {
		return &hookd.Task{
			Delivery: &hookd.Delivery{ID: id},
			Webhook:  &hookd.Webhook{ID: "w", Name: "n", URL: "http://127.0.0.1:9/", Secret: "s3cret"},
			Event:    &hookd.Event{ID: "e", Type: "accounts.added", Data: json.RawMessage(`{}`)},
		}
	}
	now := time.Unix(1_700_000_000, 0)
	r1, err := NewRequest(context.Background(), task("d1"), hookd.BodyCompact, now)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := NewRequest(context.Background(), task("d2"), hookd.BodyCompact, now)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"Content-Type", "User-Agent", signature.IDHeader, signature.TimestampHeader, signature.ArgyleHeader, signature.SignatureHeader}
	before := r1.Header.Clone()
	for _, k := range keys {
		if len(r1.Header[k]) != 1 || len(r2.Header[k]) != 1 {
			t.Fatalf("%s: got %q and %q, want one value each", k, r1.Header[k], r2.Header[k])
		}
	}
	want2 := r2.Header.Clone()
	for _, k := range keys {
		r1.Header[k] = append(r1.Header[k], "extra")
	}
	for _, k := range keys {
		if got := r2.Header[k]; !slices.Equal(got, want2[k]) {
			t.Errorf("second request's %s got %q, want %q", k, got, want2[k])
		}
		if got, want := r1.Header[k], append(slices.Clone(before[k]), "extra"); !slices.Equal(got, want) {
			t.Errorf("first request's %s got %q, want %q", k, got, want)
		}
	}
}

// TestMemo checks that a memo computes a key's value once, gives every
// caller that value, and starts over, still right, past memoLimit keys.
func TestMemo(t *testing.T) {
	var m memo[string]
	calls := 0
	f := func(k string) string { calls++; return "v" + k }
	for range 3 {
		if got := m.get("a", f); got != "va" {
			t.Fatalf("get(a) = %q, want va", got)
		}
	}
	if calls != 1 {
		t.Fatalf("f called %d times for one key, want 1", calls)
	}
	for i := range memoLimit + 10 {
		k := strconv.Itoa(i)
		if got := m.get(k, f); got != "v"+k {
			t.Fatalf("get(%s) = %q", k, got)
		}
	}
	if n := m.n.Load(); n > memoLimit {
		t.Fatalf("memo holds %d keys, want at most %d", n, memoLimit)
	}
	calls = 0
	if got := m.get("a", f); got != "va" || calls != 1 {
		t.Fatalf("after starting over, get(a) = %q with %d calls, want va computed again", got, calls)
	}
}
