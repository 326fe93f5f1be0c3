package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hookd/hookd/signature"
)

// syncBuffer is a bytes.Buffer safe for the listener's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustOpenListener(tb testing.TB, l *Listener) *Listener {
	tb.Helper()
	l.Addr = "127.0.0.1:0"
	if err := l.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

func post(tb testing.TB, url string, body []byte, header http.Header) (int, string) {
	tb.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestListener(t *testing.T) {
	t.Parallel()
	body := []byte(`{"name": "Account added", "event": "accounts.added"}`)
	signed := http.Header{"X-Argyle-Signature": {signature.Argyle("my little secret", body)}, "Webhook-Id": {"d-1"}}

	t.Run("OK", func(t *testing.T) {
		var out syncBuffer
		l := mustOpenListener(t, &Listener{Secret: "my little secret", Out: &out})
		if status, _ := post(t, l.URL(), body, signed); status != 200 {
			t.Fatalf("signed delivery got %d, want 200", status)
		}
		if s := out.String(); !strings.Contains(s, "accounts.added") || !strings.Contains(s, "signature ok") || !strings.Contains(s, "d-1") {
			t.Fatalf("listener printed %q", s)
		}
	})
	t.Run("ErrMismatch", func(t *testing.T) {
		var out syncBuffer
		l := mustOpenListener(t, &Listener{Secret: "another secret", Out: &out})
		if status, _ := post(t, l.URL(), body, signed); status != 401 {
			t.Fatalf("badly signed delivery got %d, want 401", status)
		}
		if !strings.Contains(out.String(), "SIGNATURE MISMATCH") {
			t.Fatalf("listener printed %q", out.String())
		}
	})
	t.Run("Forward", func(t *testing.T) {
		var gotBody []byte
		var gotSig string
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotBody, _ = io.ReadAll(r.Body)
			gotSig = r.Header.Get("X-Argyle-Signature")
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "from app")
		}))
		defer app.Close()
		l := mustOpenListener(t, &Listener{Secret: "my little secret", ForwardTo: app.URL, Out: io.Discard})
		status, answer := post(t, l.URL(), body, signed)
		if status != http.StatusTeapot || answer != "from app" {
			t.Fatalf("forwarded answer got %d %q, want the app's", status, answer)
		}
		if !bytes.Equal(gotBody, body) || gotSig != signed.Get("X-Argyle-Signature") {
			t.Fatalf("app got body %q sig %q, want the exact bytes and headers", gotBody, gotSig)
		}
	})
}
