package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
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
