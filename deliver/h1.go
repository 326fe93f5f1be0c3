package deliver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// h1Client is hookd's HTTP/1.1 client for plain http:// targets reached
// directly (no proxy). It sends a request and reads its response on the
// calling goroutine, over keep-alive connections it pools per host, where
// net/http's transport hands every request to two goroutines of the
// connection's: a delivery measured about half the CPU with it (see
// BENCHMARKS.md). https:// targets, and every target when a proxy is set,
// go through net/http (TLS, HTTP/2, CONNECT).
//
// It does what a webhook POST needs and no more: one request per
// connection at a time, a Content-Length body, responses framed by
// Content-Length, chunked encoding or the connection's end, 1xx answers
// skipped, no redirects followed, and no compression asked for.
type h1Client struct {
	// dial connects, applying the egress policy.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// maxIdle bounds the idle connections kept per host.
	maxIdle int
	// idleTimeout is how long an idle connection is kept.
	idleTimeout time.Duration

	mu      sync.Mutex
	idle    map[string][]*h1Conn // by host:port, most recently used last
	sweeper *time.Timer
	closed  bool
}

// h1Conn is one keep-alive connection.
type h1Conn struct {
	nc     net.Conn
	raw    syscall.RawConn // nc's, when it has one: see send
	br     *bufio.Reader
	wbuf   []byte // the request being sent
	idleAt time.Time
}

// h1KeepWriteBuf is the largest request buffer a connection keeps for its
// next request.
const h1KeepWriteBuf = 64 << 10

// h1Request is one POST.
type h1Request struct {
	url    *url.URL
	header []h1Field // in the order written; values must hold no CR or LF
	body   []byte
}

// h1Field is one request header.
type h1Field struct{ key, value string }

// h1Response is what came back. body holds up to limit bytes (see do).
type h1Response struct {
	status     int
	retryAfter string
	body       []byte
}

// Errors of responses that break HTTP/1.1. An attempt records their text.
var (
	errMalformed     = errors.New("malformed HTTP response")
	errHeaderTooLong = errors.New("malformed HTTP response: headers too large")
)

const (
	// h1MaxHeader bounds the bytes of a response's status line and headers.
	h1MaxHeader = 1 << 20
	// h1Drain is how much of a response body past what is kept is read
	// so that the connection can be used again; a longer one is closed.
	h1Drain = 64 << 10
)

// do sends req and reads the response, keeping up to limit bytes of its
// body in buf (which may be on the caller's stack), until deadline. A
// request that fails on a reused connection before any byte of the answer
// came back is sent once more on a new one: the server most likely closed
// the idle connection as the request left.
func (c *h1Client) do(req *h1Request, buf []byte, limit int, deadline time.Time) (h1Response, error) {
	addr := dialAddr(req.url)
	for try := 0; ; try++ {
		conn, reused, err := c.get(addr, deadline)
		if err != nil {
			return h1Response{}, err
		}
		conn.nc.SetDeadline(deadline)
		resp, keep, answered, err := conn.roundTrip(req, buf, limit)
		if err == nil && keep {
			c.put(addr, conn)
		} else {
			conn.nc.Close()
		}
		if err != nil && reused && !answered && try == 0 && retryable(err) && time.Now().Before(deadline) {
			continue
		}
		return resp, err
	}
}

// retryable reports whether err is a connection the server closed under
// the request, rather than a timeout or a broken answer.
func retryable(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// get returns an idle connection to addr, or dials a new one by deadline.
func (c *h1Client) get(addr string, deadline time.Time) (*h1Conn, bool, error) {
	now := time.Now()
	c.mu.Lock()
	for conns := c.idle[addr]; len(conns) > 0; conns = c.idle[addr] {
		conn := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		c.idle[addr] = conns[:len(conns)-1]
		if now.Sub(conn.idleAt) < c.idleTimeout {
			c.mu.Unlock()
			return conn, true, nil
		}
		conn.nc.Close()
	}
	c.mu.Unlock()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	nc, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	conn := &h1Conn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}
	if sc, ok := nc.(syscall.Conn); ok {
		conn.raw, _ = sc.SyscallConn() // nil on error: send writes plainly
	}
	return conn, false, nil
}

// put keeps conn for the next request to addr, or closes it when the pool
// is full or closed.
func (c *h1Client) put(addr string, conn *h1Conn) {
	conn.idleAt = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.idle[addr]) >= c.maxIdle {
		conn.nc.Close()
		return
	}
	if c.idle == nil {
		c.idle = make(map[string][]*h1Conn)
	}
	c.idle[addr] = append(c.idle[addr], conn)
	if c.sweeper == nil {
		c.sweeper = time.AfterFunc(c.idleTimeout, c.sweep)
	}
}

// sweep closes the connections idle for longer than idleTimeout, and runs
// again while any are left.
func (c *h1Client) sweep() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, conns := range c.idle {
		kept := conns[:0]
		for _, conn := range conns {
			if now.Sub(conn.idleAt) >= c.idleTimeout {
				conn.nc.Close()
			} else {
				kept = append(kept, conn)
			}
		}
		clear(conns[len(kept):])
		if len(kept) == 0 {
			delete(c.idle, addr)
		} else {
			c.idle[addr] = kept
		}
	}
	c.sweeper = nil
	if len(c.idle) > 0 && !c.closed {
		c.sweeper = time.AfterFunc(c.idleTimeout/2, c.sweep)
	}
}

// closeIdle closes every idle connection; connections in use are closed
// when their requests end.
func (c *h1Client) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.sweeper != nil {
		c.sweeper.Stop()
		c.sweeper = nil
	}
	for _, conns := range c.idle {
		for _, conn := range conns {
			conn.nc.Close()
		}
	}
	c.idle = nil
}

// roundTrip writes req and reads its response. keep reports that the
// connection may carry another request; answered, that some of the
// response arrived.
func (conn *h1Conn) roundTrip(req *h1Request, buf []byte, limit int) (resp h1Response, keep, answered bool, err error) {
	conn.wbuf = appendRequest(conn.wbuf[:0], req)
	err = conn.send(conn.wbuf)
	if cap(conn.wbuf) > h1KeepWriteBuf {
		conn.wbuf = nil
	}
	if err != nil {
		return resp, false, false, err
	}
	if _, err := conn.br.Peek(1); err != nil {
		return resp, false, false, err
	}
	resp, keep, err = readResponse(conn.br, buf, limit)
	return resp, keep, true, err
}

// appendRequest appends req, head and body, to b.
func appendRequest(b []byte, req *h1Request) []byte {
	b = append(b, "POST "...)
	b = append(b, req.url.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.url.Host...)
	b = append(b, "\r\n"...)
	if u := req.url.User; u != nil {
		pass, _ := u.Password()
		b = append(b, "Authorization: Basic "...)
		b = base64.StdEncoding.AppendEncode(b, []byte(u.Username()+":"+pass))
		b = append(b, "\r\n"...)
	}
	for _, f := range req.header {
		b = append(b, f.key...)
		b = append(b, ": "...)
		b = append(b, f.value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(req.body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, req.body...)
}

// readResponse reads one response from r, skipping 1xx answers, keeping
// up to limit bytes of its body in buf. keep reports that the whole
// response was read and the connection may be used again. Once the status
// line and headers are in, a body cut short is no error (as with
// net/http, the answer is its status): the connection is just not kept.
func readResponse(r *bufio.Reader, buf []byte, limit int) (resp h1Response, keep bool, err error) {
	var h head
	for {
		if h, err = readHead(r); err != nil {
			return resp, false, err
		}
		if h.status == 101 {
			return resp, false, fmt.Errorf("%w: unexpected 101 Switching Protocols", errMalformed)
		}
		if h.status >= 200 {
			break
		}
		// 100 Continue, 103 Early Hints: the answer follows.
	}
	resp = h1Response{status: h.status, retryAfter: h.retryAfter}
	var body io.Reader
	switch {
	case h.status == 204 || h.status == 304:
		return resp, h.keepAlive, nil
	case h.chunked:
		body = &chunkedReader{r: r}
	case h.length >= 0:
		body = io.LimitReader(r, h.length)
	default:
		body, h.keepAlive = r, false // the body ends with the connection
	}
	resp.body = readLimited(buf, body, limit)
	// What is past the kept part is read and dropped, up to h1Drain, so
	// that the connection can be used again.
	_, _ = io.CopyN(io.Discard, body, h1Drain)
	switch b := body.(type) {
	case *io.LimitedReader:
		return resp, h.keepAlive && b.N == 0, nil
	case *chunkedReader:
		return resp, h.keepAlive && b.err == io.EOF, nil
	}
	return resp, false, nil
}

// head is a response's status line and the headers hookd acts on.
type head struct {
	status     int
	length     int64 // -1 when not given
	chunked    bool
	keepAlive  bool
	retryAfter string
}

// readHead reads a status line and headers.
func readHead(r *bufio.Reader) (head, error) {
	h := head{length: -1}
	line, total, err := readLine(r, 0)
	if err != nil {
		return h, err
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return h, fmt.Errorf("%w: status line %q", errMalformed, truncate(line))
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, fmt.Errorf("%w: status line %q", errMalformed, truncate(line))
		}
		code = 10*code + int(c-'0')
	}
	if code < 100 {
		return h, fmt.Errorf("%w: status line %q", errMalformed, truncate(line))
	}
	h.status = code
	// HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 is
	// closed, keep-alive or not, which is always safe.
	h.keepAlive = line[7] == '1'
	encoded := false
	for {
		line, total, err = readLine(r, total)
		if err != nil {
			return h, eofUnexpected(err)
		}
		if len(line) == 0 {
			break
		}
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(key) == 0 {
			if line[0] == ' ' || line[0] == '\t' {
				continue // an obsolete continuation of the header before
			}
			return h, fmt.Errorf("%w: header line %q", errMalformed, truncate(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case equalFold(key, "content-length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (h.length >= 0 && n != h.length) {
				return h, fmt.Errorf("%w: Content-Length %q", errMalformed, truncate(value))
			}
			h.length = n
		case equalFold(key, "transfer-encoding"):
			// Only the last coding frames the body; anything but chunked
			// there means the body runs to the connection's end.
			encoded = true
			codings := bytes.Split(value, []byte(","))
			h.chunked = equalFold(bytes.TrimSpace(codings[len(codings)-1]), "chunked")
		case equalFold(key, "connection"):
			for _, opt := range bytes.Split(value, []byte(",")) {
				if equalFold(bytes.TrimSpace(opt), "close") {
					h.keepAlive = false
				}
			}
		case equalFold(key, "retry-after"):
			h.retryAfter = string(value)
		}
	}
	if encoded {
		// Transfer-Encoding wins over Content-Length (RFC 9112 6.3).
		h.length = -1
		if !h.chunked {
			h.keepAlive = false
		}
	}
	return h, nil
}

// readLine returns the next line without its CRLF (or LF). total counts
// the head's bytes so far; past h1MaxHeader the head is refused. A line
// longer than r's buffer keeps its first part only.
func readLine(r *bufio.Reader, total int) ([]byte, int, error) {
	line, err := r.ReadSlice('\n')
	total += len(line)
	if err == bufio.ErrBufferFull {
		// Keep the start (enough for every header hookd reads), skip
		// the rest of the line.
		keep := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = r.ReadSlice('\n')
			if total += len(line); total > h1MaxHeader {
				return nil, total, errHeaderTooLong
			}
		}
		line = keep
	}
	if err != nil {
		if err == io.EOF && total > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, total, err
	}
	if total > h1MaxHeader {
		return nil, total, errHeaderTooLong
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), total, nil
}

// chunkedReader reads a chunked body (RFC 9112 7.1) and its trailers from
// r. err is io.EOF once the whole body, trailers included, was read.
type chunkedReader struct {
	r    *bufio.Reader
	left int64 // bytes left in the current chunk
	err  error
}

func (cr *chunkedReader) Read(p []byte) (int, error) {
	if cr.err != nil {
		return 0, cr.err
	}
	if cr.left == 0 {
		if cr.err = cr.next(); cr.err != nil {
			return 0, cr.err
		}
	}
	if int64(len(p)) > cr.left {
		p = p[:cr.left]
	}
	n, err := cr.r.Read(p)
	cr.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && cr.left == 0 {
		err = cr.endChunk()
	}
	cr.err = err
	return n, err
}

// next reads a chunk's size line; a last chunk reads the trailers and
// ends the body with io.EOF.
func (cr *chunkedReader) next() error {
	line, _, err := readLine(cr.r, 0)
	if err != nil {
		return eofUnexpected(err)
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i] // chunk extensions
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > 15 {
		return fmt.Errorf("%w: chunk size %q", errMalformed, truncate(line))
	}
	var size int64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return fmt.Errorf("%w: chunk size %q", errMalformed, truncate(line))
		}
		size = size<<4 | int64(d)
	}
	if size > 0 {
		cr.left = size
		return nil
	}
	total := 0
	for { // trailers, up to an empty line
		line, total, err = readLine(cr.r, total)
		if err != nil {
			return eofUnexpected(err)
		}
		if len(line) == 0 {
			return io.EOF
		}
	}
}

// endChunk reads the CRLF after a chunk's data.
func (cr *chunkedReader) endChunk() error {
	line, _, err := readLine(cr.r, 0)
	if err != nil {
		return eofUnexpected(err)
	}
	if len(line) != 0 {
		return fmt.Errorf("%w: chunk data longer than its size", errMalformed)
	}
	return nil
}

func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// equalFold reports whether b is s, ignoring ASCII case; s is lower case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// truncate shortens a piece of a broken response for an error message.
func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
