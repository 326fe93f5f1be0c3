package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/signature"
)

// appendBody appends the delivery body of t to dst: the envelope with the
// webhook's name, and the event's resource when the webhook receives it.
func appendBody(dst []byte, t *hookd.Task, indent bool) []byte {
	var resource []byte
	if len(t.Event.Resource) > 0 && hookd.IncludesResource(t.Event.Type, t.Webhook) {
		resource = t.Event.Resource
	}
	return hookd.AppendEnvelope(dst, t.Event.Type, t.Webhook.Name, t.Event.Data, resource, indent)
}

// signatures returns the X-Argyle-Signature and webhook-signature values
// for body, both "" when the webhook has no secret. X-Argyle-Signature uses
// the newest secret; webhook-signature has one entry per active secret.
func signatures(w *hookd.Webhook, msgID string, body []byte, now time.Time) (argyle, standard string) {
	secrets := w.Secrets(now)
	if len(secrets) == 0 {
		return "", ""
	}
	var stack [512]byte
	buf := signature.AppendArgyle(stack[:0], secrets[0], body)
	n := len(buf)
	for i, s := range secrets {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = signature.AppendStandard(buf, standardKeys.get(s, signature.StandardKey), msgID, now, body)
	}
	both := string(buf)
	return both[:n], both[n:]
}

// NewRequest returns the POST for one attempt of t at now, with its body in
// bodyFormat (hookd.BodyIndented or hookd.BodyCompact) built once and
// signed: Content-Type, User-Agent, X-Argyle-Signature, webhook-id (the
// delivery ID), webhook-timestamp and webhook-signature. A webhook without a
// secret gets neither signature header.
func NewRequest(ctx context.Context, t *hookd.Task, bodyFormat string, now time.Time) (*http.Request, error) {
	body, vals := prepare(t, bodyFormat, now)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	// The values of one request share one array, and the constant ones are
	// shared by every request. Each slice is full (len == cap), so a later
	// Header.Add copies instead of writing into the shared arrays.
	h := req.Header
	h["Content-Type"] = contentTypeJSON
	h["User-Agent"] = userAgent
	h[signature.IDHeader] = vals[0:1:1]
	h[signature.TimestampHeader] = vals[1:2:2]
	if vals[2] != "" {
		h[signature.ArgyleHeader] = vals[2:3:3]
		h[signature.SignatureHeader] = vals[3:4:4]
	}
	return req, nil
}

// prepare builds the body of one attempt of t at now and the values of its
// headers: webhook-id, webhook-timestamp, X-Argyle-Signature and
// webhook-signature (both "" without a secret).
func prepare(t *hookd.Task, bodyFormat string, now time.Time) ([]byte, *[4]string) {
	indent := bodyFormat == hookd.BodyIndented
	size := len(t.Event.Data) + len(t.Event.Resource) + len(t.Webhook.Name) + len(t.Event.Type) + 48
	if indent {
		size *= 2
	}
	body := appendBody(make([]byte, 0, size), t, indent)
	vals := new([4]string)
	vals[0], vals[1] = t.Delivery.ID, strconv.FormatInt(now.Unix(), 10)
	vals[2], vals[3] = signatures(t.Webhook, t.Delivery.ID, body, now)
	return body, vals
}

// Header values every request carries; never modified.
var (
	contentTypeJSON = []string{"application/json"}
	userAgent       = []string{"hookd/" + hookd.Version}
)

// exchange is what one HTTP exchange came to.
type exchange struct {
	status  int
	body    string
	latency time.Duration
	outcome string
	err     string // "" on success
	// retryAfter is the wait a 429 or 503 asked for.
	retryAfter time.Duration
	// breakerFailure reports a failure the breaker counts: the endpoint
	// looks down or overloaded rather than answering.
	breakerFailure bool
}

// sender sends attempts: plain http:// targets with h1 when it is set
// (no proxy), the others with client.
type sender struct {
	client *http.Client
	h1     *h1Client
	urls   memo[*url.URL] // webhook URLs parsed, nil where they do not parse
}

// send performs one attempt of t at now.
func (s *sender) send(t *hookd.Task, bodyFormat string, timeout time.Duration, now time.Time) exchange {
	start := time.Now()
	if s.h1 != nil {
		if u := s.urls.get(t.Webhook.URL, parseURL); u != nil && u.Scheme == "http" && u.Host != "" {
			return s.sendH1(u, t, bodyFormat, timeout, now, start)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := NewRequest(ctx, t, bodyFormat, now)
	if err != nil {
		return exchange{outcome: OutcomeNetworkError, err: "invalid URL", latency: time.Since(start)}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return failed(err, timeout, start)
	}
	var stack [512]byte
	body := readLimited(stack[:0], resp.Body, hookd.MaxResponseBody)
	// Drain a little more so that the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
	return answered(resp.StatusCode, resp.Header.Get("Retry-After"), body, now, start)
}

// sendH1 performs one attempt of t at now to u with the HTTP/1.1 client.
func (s *sender) sendH1(u *url.URL, t *hookd.Task, bodyFormat string, timeout time.Duration, now, start time.Time) exchange {
	body, vals := prepare(t, bodyFormat, now)
	sc := h1Scratches.Get().(*h1Scratch)
	defer h1Scratches.Put(sc) // after answered has copied the answer's body
	sc.fields = [6]h1Field{
		{"Content-Type", contentTypeJSON[0]},
		{"User-Agent", userAgent[0]},
		{signature.IDHeader, vals[0]},
		{signature.TimestampHeader, vals[1]},
		{signature.ArgyleHeader, vals[2]},
		{signature.SignatureHeader, vals[3]},
	}
	req := &h1Request{url: u, header: sc.fields[:], body: body}
	if vals[2] == "" {
		req.header = sc.fields[:4]
	}
	resp, err := s.h1.do(req, sc.answer[:0], hookd.MaxResponseBody, start.Add(timeout))
	if err != nil {
		return failed(err, timeout, start)
	}
	return answered(resp.status, resp.retryAfter, resp.body, now, start)
}

// h1Scratch is what an exchange of sendH1 needs beside its request's body:
// the header fields, and room for most answers' bodies. Both escape to the
// heap (the client reads the answer through an interface), so they are
// pooled rather than allocated for every attempt.
type h1Scratch struct {
	fields [6]h1Field
	answer [512]byte
}

var h1Scratches = sync.Pool{New: func() any { return new(h1Scratch) }}

// failed is the exchange of an attempt that got no answer.
func failed(err error, timeout time.Duration, start time.Time) exchange {
	outcome, msg := describeError(err, timeout)
	return exchange{
		latency:        time.Since(start),
		outcome:        outcome,
		err:            msg,
		breakerFailure: true,
	}
}

// answered is the exchange of an attempt answered with status, a
// Retry-After value and body.
func answered(status int, retryAfter string, body []byte, now, start time.Time) exchange {
	x := exchange{status: status, body: cleanBody(body), latency: time.Since(start)}
	switch c := status; {
	case 200 <= c && c < 300:
		x.outcome = OutcomeSuccess
	case 300 <= c && c < 400:
		x.outcome, x.err = OutcomeRedirect, "redirect not followed"
	default:
		x.outcome, x.err = OutcomeHTTPError, strings.TrimSpace(fmt.Sprintf("HTTP %d %s", c, http.StatusText(c)))
		x.breakerFailure = c >= 500 || c == http.StatusTooManyRequests || c == http.StatusRequestTimeout
		if c == http.StatusTooManyRequests || c == http.StatusServiceUnavailable {
			x.retryAfter = ParseRetryAfter(retryAfter, now)
		}
	}
	return x
}

// cleanBody returns a response body fit to store as text: valid UTF-8, no
// NUL bytes, at most hookd.MaxResponseBody bytes.
func cleanBody(b []byte) string {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	for len(s) > hookd.MaxResponseBody {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// readLimited appends to buf what r yields, up to limit bytes, and returns
// it; a read error ends it early. Most answers are a few bytes, which a
// buf on the caller's stack holds without an allocation.
func readLimited(buf []byte, r io.Reader, limit int) []byte {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(cap(buf), 512), limit-len(buf)))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	return buf
}

// describeError turns a failed exchange into an outcome and the text an
// attempt records.
func describeError(err error, timeout time.Duration) (outcome, msg string) {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var (
		ne       net.Error
		op       *net.OpError
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		authErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invErr   x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, ErrDestinationNotAllowed):
		return OutcomeRefused, ErrDestinationNotAllowed.Error()
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return OutcomeTimeout, fmt.Sprintf("DNS lookup of %s timed out", dnsErr.Name)
		}
		return OutcomeNetworkError, fmt.Sprintf("DNS lookup of %s failed: %s", dnsErr.Name, dnsErr.Err)
	case errors.As(err, &op) && op.Op == "dial" && (errors.Is(err, context.DeadlineExceeded) || op.Timeout()):
		return OutcomeTimeout, "connect timeout"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout, fmt.Sprintf("timeout: no complete response within %s", timeout)
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alertErr),
		errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invErr),
		strings.HasPrefix(inner.Error(), "tls: "):
		msg := inner.Error()
		if !strings.HasPrefix(msg, "tls: ") {
			msg = "tls: " + msg
		}
		return OutcomeTLSError, msg
	case errors.Is(err, syscall.ECONNREFUSED):
		return OutcomeNetworkError, "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return OutcomeNetworkError, "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return OutcomeNetworkError, "host unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return OutcomeNetworkError, "connection closed before a response"
	}
	return OutcomeNetworkError, inner.Error()
}

// parseURL is url.Parse, nil for a URL that does not parse. The URL it
// returns is shared (see memo) and never modified.
func parseURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	return u
}

// standardKeys holds the Standard Webhooks key of each signing secret,
// decoded once instead of on every attempt.
var standardKeys memo[[]byte]

// memoLimit bounds a memo: past it, the memo starts over.
const memoLimit = 4096

// memo keeps what f computed from a string key, for what every attempt
// would otherwise compute again from its webhook (the URL parsed, the
// signing keys decoded). Values are shared by every caller, so they must
// never be modified. It is safe for concurrent use; the zero memo is
// empty. Keys of deleted webhooks go when it starts over, after memoLimit
// keys.
type memo[V any] struct {
	m sync.Map // string -> V
	n atomic.Int64
}

func (c *memo[V]) get(key string, f func(string) V) V {
	if v, ok := c.m.Load(key); ok {
		return v.(V)
	}
	v := f(key)
	if c.n.Add(1) > memoLimit {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(key, v)
	return v
}
