package deliver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name       string
		raw        string
		limit      int
		status     int
		body       string
		keep       bool
		retryAfter string
		err        error // errors.Is
	}{
		{name: "ContentLength", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", keep: true},
		{name: "NoReason", raw: "HTTP/1.1 201\r\nContent-Length: 0\r\n\r\n", status: 201, keep: true},
		{name: "BareLF", raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, body: "ok", keep: true},
		{name: "Chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n",
			status: 200, body: "abc0123456789", keep: true},
		{name: "ChunkedWinsOverLength", raw: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			status: 200, body: "ok", keep: true},
		{name: "GzipThenChunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n", status: 200, body: "zz", keep: true},
		{name: "OtherEncodingToClose", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nabc", status: 200, body: "abc"},
		{name: "ChunkTooLong", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n", status: 200, body: "ok"},
		{name: "ChunkBadSize", raw: "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 500},
		{name: "CloseDelimited", raw: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, body: "all of it"},
		{name: "HTTP10", raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "ConnectionClose", raw: "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "Continue", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", status: 202, keep: true},
		{name: "NoContent", raw: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, keep: true},
		{name: "RetryAfter", raw: "HTTP/1.1 429 Too Many\r\nretry-after:  120 \r\nContent-Length: 0\r\n\r\n", status: 429, retryAfter: "120", keep: true},
		{name: "Folded", raw: "HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n", status: 200, keep: true},
		{name: "LongHeaderLine", raw: "HTTP/1.1 200 OK\r\nX-Long: " + long + "\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", keep: true},
		{name: "Truncated", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", status: 200, body: "abc"},
		{name: "TruncatedChunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", status: 200, body: "ab"},
		{name: "BodyPastLimit", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", limit: 4, status: 200, body: "0123", keep: true},
		{name: "BodyPastDrain", raw: "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("y", 100000), limit: 4, status: 200, body: "yyyy"},
		{name: "Empty", raw: "", err: io.EOF},
		{name: "CutInHead", raw: "HTTP/1.1 200 OK\r\nContent-Le", err: io.ErrUnexpectedEOF},
		{name: "NotHTTP", raw: "SSH-2.0-OpenSSH\r\n\r\n", err: errMalformed},
		{name: "BadCode", raw: "HTTP/1.1 2x0 OK\r\n\r\n", err: errMalformed},
		{name: "CodeTooSmall", raw: "HTTP/1.1 099 OK\r\n\r\n", err: errMalformed},
		{name: "NoSpaceAfterCode", raw: "HTTP/1.1 2000\r\n\r\n", err: errMalformed},
		{name: "NoColon", raw: "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", err: errMalformed},
		{name: "TwoLengths", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok", err: errMalformed},
		{name: "NegativeLength", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: errMalformed},
		{name: "Switching", raw: "HTTP/1.1 101 Switching Protocols\r\n\r\n", err: errMalformed},
		{name: "HeadTooLarge", raw: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: "+long+"\r\n", 120) + "\r\n", err: errHeaderTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limit := tt.limit
			if limit == 0 {
				limit = 1 << 20
			}
			r := bufio.NewReaderSize(strings.NewReader(tt.raw), 4096)
			resp, keep, err := readResponse(r, nil, limit)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error got %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error got %v, want none", err)
			}
			if resp.status != tt.status || string(resp.body) != tt.body || keep != tt.keep || resp.retryAfter != tt.retryAfter {
				t.Errorf("got status %d body %q keep %v retry-after %q, want %d %q %v %q",
					resp.status, resp.body, keep, resp.retryAfter, tt.status, tt.body, tt.keep, tt.retryAfter)
			}
		})
	}
}

// TestReadResponse_Pipelined checks that a kept connection is left at the
// start of the next response.
func TestReadResponse_Pipelined(t *testing.T) {
	t.Parallel()
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n" +
		"HTTP/1.1 500 No\r\nContent-Length: 1\r\n\r\nc"
	r := bufio.NewReader(strings.NewReader(raw))
	var got []string
	for range 3 {
		resp, keep, err := readResponse(r, nil, 100)
		if err != nil || !keep {
			t.Fatalf("got keep %v error %v, want kept", keep, err)
		}
		got = append(got, string(resp.body))
	}
	if strings.Join(got, "") != "abc" {
		t.Errorf("bodies got %q, want a, b, c", got)
	}
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 503 No\r\nRetry-After: 5\r\n\r\nbody",
		"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
	} {
		f.Add([]byte(s), 16)
	}
	f.Fuzz(func(t *testing.T, raw []byte, limit int) {
		limit = 1 + abs(limit)%(64<<10)
		r := bufio.NewReaderSize(bytes.NewReader(raw), 64)
		resp, keep, err := readResponse(r, nil, limit)
		if err != nil {
			if keep {
				t.Fatalf("kept a connection after %v", err)
			}
			return
		}
		if resp.status < 200 || resp.status > 999 {
			t.Fatalf("status %d", resp.status)
		}
		if len(resp.body) > limit {
			t.Fatalf("body %d bytes, limit %d", len(resp.body), limit)
		}
		if len(resp.body) > len(raw) {
			t.Fatalf("body %d bytes from %d bytes of input", len(resp.body), len(raw))
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n = -n; n < 0 {
			return 0
		}
	}
	return n
}

// rawServer accepts connections on 127.0.0.1 and serves each with handle.
// It counts connections.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

func newRawServer(t *testing.T, handle func(c net.Conn, r *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *rawServer) url(path string) *url.URL {
	u, _ := url.Parse("http://" + s.ln.Addr().String() + path)
	return u
}

// answerAll reads requests with net/http and answers each 200 "ok",
// keeping the connection open until the client closes it.
func answerAll(got chan<- *http.Request) func(c net.Conn, r *bufio.Reader) {
	return func(c net.Conn, r *bufio.Reader) {
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			if got != nil {
				got <- req
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	}
}

func newTestH1() *h1Client {
	return &h1Client{dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleTimeout: time.Minute}
}

func TestH1_Request(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 1)
	srv := newRawServer(t, answerAll(got))
	c := newTestH1()
	defer c.closeIdle()
	u := srv.url("/hooks/in?x=1&y=%20")
	u.User = url.UserPassword("ann", "pa:ss")
	req := &h1Request{url: u, header: []h1Field{{"Content-Type", "application/json"}, {"webhook-id", "abc"}}, body: []byte(`{"a":1}`)}
	resp, err := c.do(req, nil, 100, time.Now().Add(5*time.Second))
	if err != nil || resp.status != 200 || string(resp.body) != "ok" {
		t.Fatalf("got %d %q %v, want 200 ok", resp.status, resp.body, err)
	}
	r := <-got
	body, _ := io.ReadAll(r.Body)
	user, pass, _ := r.BasicAuth()
	if r.Method != "POST" || r.RequestURI != "/hooks/in?x=1&y=%20" || r.Host != u.Host || r.ContentLength != 7 ||
		string(body) != `{"a":1}` || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Webhook-Id") != "abc" ||
		user != "ann" || pass != "pa:ss" {
		t.Errorf("server saw %s %s host %s length %d body %q header %v", r.Method, r.RequestURI, r.Host, r.ContentLength, body, r.Header)
	}
}

func TestH1_ReusesConnections(t *testing.T) {
	t.Parallel()
	srv := newRawServer(t, answerAll(nil))
	c := newTestH1()
	defer c.closeIdle()
	for i := range 20 {
		resp, err := c.do(&h1Request{url: srv.url("/"), body: []byte("x")}, nil, 100, time.Now().Add(5*time.Second))
		if err != nil || resp.status != 200 {
			t.Fatalf("request %d got %d %v", i, resp.status, err)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("20 requests in turn used %d connections, want 1", n)
	}
}

// A server that closes a kept connection after answering (as servers do
// when their keep-alive timeout passes) costs the next request a retry on
// a new connection, not a failure.
func TestH1_StaleConnectionRetried(t *testing.T) {
	t.Parallel()
	var handled atomic.Int32
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		handled.Add(1)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		c.(*net.TCPConn).SetLinger(0) // then goes away without saying so
	})
	c := newTestH1()
	defer c.closeIdle()
	for i := range 3 {
		resp, err := c.do(&h1Request{url: srv.url("/"), body: []byte("x")}, nil, 100, time.Now().Add(5*time.Second))
		if err != nil || resp.status != 200 {
			t.Fatalf("request %d got %d %v, want 200", i, resp.status, err)
		}
		time.Sleep(20 * time.Millisecond) // let the close arrive
	}
	if n := handled.Load(); n != 3 {
		t.Errorf("server handled %d requests, want 3", n)
	}
	if n := srv.conns.Load(); n != 3 {
		t.Errorf("connections got %d, want 3", n)
	}
}

// A new connection that fails is an error, not retried: the request may
// have been processed.
func TestH1_NewConnectionNotRetried(t *testing.T) {
	t.Parallel()
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		http.ReadRequest(r)
	})
	c := newTestH1()
	defer c.closeIdle()
	_, err := c.do(&h1Request{url: srv.url("/"), body: []byte("x")}, nil, 100, time.Now().Add(5*time.Second))
	if !errors.Is(err, io.EOF) {
		t.Errorf("error got %v, want EOF", err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("connections got %d, want 1", n)
	}
}

func TestH1_Deadline(t *testing.T) {
	t.Parallel()
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		http.ReadRequest(r)
		io.Copy(io.Discard, r) // never answers
	})
	c := newTestH1()
	defer c.closeIdle()
	_, err := c.do(&h1Request{url: srv.url("/"), body: []byte("x")}, nil, 100, time.Now().Add(100*time.Millisecond))
	if outcome, msg := describeError(err, time.Second); outcome != OutcomeTimeout || msg != "timeout: no complete response within 1s" {
		t.Errorf("got %s %q from %v, want a timeout", outcome, msg, err)
	}
}

func TestH1_IdleConnectionsClosed(t *testing.T) {
	t.Parallel()
	closed := make(chan struct{})
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		answerAll(nil)(c, r)
		close(closed) // the client closed its end
	})
	c := &h1Client{dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleTimeout: 50 * time.Millisecond}
	defer c.closeIdle()
	if _, err := c.do(&h1Request{url: srv.url("/"), body: []byte("x")}, nil, 100, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("idle connection still open after 5s, idle timeout 50ms")
	}
}

// A body larger than the socket takes at once, to a server slow to read
// it, is written whole: send goes on with what its first write left.
func TestH1_LargeBody(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	got := make(chan []byte, 1)
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		time.Sleep(100 * time.Millisecond) // let the socket's buffers fill
		req, err := http.ReadRequest(r)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(req.Body)
		got <- b
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	c := newTestH1()
	defer c.closeIdle()
	resp, err := c.do(&h1Request{url: srv.url("/"), body: body}, nil, 100, time.Now().Add(10*time.Second))
	if err != nil || resp.status != 200 || string(resp.body) != "ok" {
		t.Fatalf("got %d %q %v, want 200 ok", resp.status, resp.body, err)
	}
	if b := <-got; !bytes.Equal(b, body) {
		t.Errorf("server read %d bytes, want the %d sent, equal", len(b), len(body))
	}
}

// A server that never reads the body leaves the write waiting: the
// deadline ends it as a timeout.
func TestH1_DeadlineWriting(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		<-stop // reads nothing
	})
	t.Cleanup(func() { close(stop) }) // before the server's own cleanup
	c := newTestH1()
	defer c.closeIdle()
	body := make([]byte, 64<<20)
	_, err := c.do(&h1Request{url: srv.url("/"), body: body}, nil, 100, time.Now().Add(100*time.Millisecond))
	if outcome, _ := describeError(err, time.Second); outcome != OutcomeTimeout {
		t.Errorf("got %s from %v, want a timeout", outcome, err)
	}
}
