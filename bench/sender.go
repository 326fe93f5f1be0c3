package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/signature"
)

// AppendData appends a realistic activities payload's data object to dst,
// with the bench fields the sink reads: bench_seq (the event's number within
// its run) and bench_ts (its publish time in unix nanoseconds).
func AppendData(dst []byte, seq int64, publishedNs int64) []byte {
	dst = append(dst, `{"account":"0187c66e-e7e5-811c-b006-2232f00f426a","user":"0187c66e-e7e4-b4cb-8e9d-6c6d09c4a2b1",`...)
	dst = append(dst, `"available_from":"2025-11-23T00:00:00Z","available_to":"2026-11-22T00:00:00Z","available_count":214,`...)
	dst = append(dst, `"added_from":"2026-11-20T00:00:00Z","added_to":"2026-11-22T00:00:00Z","added_count":3,"bench_seq":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"bench_ts":`...)
	dst = strconv.AppendInt(dst, publishedNs, 10)
	return append(dst, '}')
}

// newTransport returns a keep-alive HTTP transport for loopback traffic
// that holds up to conns idle connections per host.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// Sender is the ceiling: a bare Go HTTP sender that builds, signs and posts
// deliveries the way hookd's worker does (same envelope, X-Argyle-Signature
// and Standard Webhooks headers) but with no queue and no database.
type Sender struct {
	// Secret signs each delivery.
	Secret string
	// Concurrency is how many requests are in flight at once, each on its
	// own keep-alive connection. Defaults to 64.
	Concurrency int
	// Timeout bounds one request. Defaults to 15s.
	Timeout time.Duration

	client *http.Client
	key    []byte
	once   sync.Once
	bufs   sync.Pool
}

func (s *Sender) init() {
	s.once.Do(func() {
		if s.Concurrency <= 0 {
			s.Concurrency = 64
		}
		if s.Timeout <= 0 {
			s.Timeout = 15 * time.Second
		}
		s.client = &http.Client{
			Transport:     newTransport(s.Concurrency),
			Timeout:       s.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		s.key = signature.StandardKey(s.Secret)
	})
}

// Send delivers event seq of type eventType, published at publishedNs, to
// url as webhook name, and reports an error unless the answer is 2xx.
func (s *Sender) Send(ctx context.Context, url, eventType, name string, seq, publishedNs int64) error {
	s.init()
	b, _ := s.bufs.Get().(*sendBuffers)
	if b == nil {
		b = &sendBuffers{data: make([]byte, 0, 512), body: make([]byte, 0, 1024)}
	}
	defer s.bufs.Put(b)
	b.data = AppendData(b.data[:0], seq, publishedNs)
	b.body = hookd.AppendEnvelope(b.body[:0], eventType, name, b.data, nil, false)
	body := b.body

	id := hookd.NewID()
	now := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "hookd/"+hookd.Version)
	h.Set(signature.ArgyleHeader, signature.Argyle(s.Secret, body))
	h.Set(signature.IDHeader, id)
	h.Set(signature.TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	h.Set(signature.SignatureHeader, signature.Standard(s.key, id, now, body))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("send: answered %d", resp.StatusCode)
	}
	return nil
}

type sendBuffers struct{ data, body []byte }

// Close closes the sender's idle connections.
func (s *Sender) Close() {
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
}
