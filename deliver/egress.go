package deliver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/hookd/hookd"
)

// ErrDestinationNotAllowed is the error of a connection refused by the
// egress policy. An attempt that hits it records exactly its text.
var ErrDestinationNotAllowed = errors.New("destination address not allowed")

// Egress decides where deliveries may connect. The zero value is the strict
// policy of `hookd serve`: no loopback, private (RFC 1918, fc00::/7),
// link-local, CGNAT (100.64.0.0/10), cloud metadata (169.254.169.254,
// fd00:ec2::254), unspecified, multicast or other special-purpose addresses;
// any public address on any port.
//
// The check runs on every connect (net.Dialer.Control), on the address
// actually dialled after DNS resolution, so a hostname that resolves, or
// re-resolves, to a disallowed address is refused too.
type Egress struct {
	// AllowPrivate turns the address check off (`hookd dev`).
	AllowPrivate bool
	// Allow lists prefixes allowed even though the check would refuse them,
	// for example an internal network the operator trusts.
	Allow []netip.Prefix
	// Proxy, when set, carries every delivery (http, https or socks5 URL),
	// for example to give deliveries static egress IPs. The environment's
	// proxy settings are never used. Connections to the proxy itself are
	// not checked; what the proxy then reaches is its own policy.
	Proxy *url.URL
}

// guardian holds the IANA special-purpose registries; any port is fine.
var guardian = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())

// Allowed reports whether deliveries may connect to addr.
func (e Egress) Allowed(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range e.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	if e.AllowPrivate {
		return true
	}
	// ssrf denies IPv6 outside 2000::/3 (loopback, unspecified, link-local,
	// fc00::/7 with fd00:ec2::254, multicast) and the IPv4 special-purpose
	// registry (0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
	// 192.168/16, 224/4, 240/4, ...).
	return addr.IsValid() && guardian.SafeAddr(addr) == nil
}

// CheckURL checks a webhook URL against the policy when the webhook is
// created or changed: a URL whose host is "localhost" (or a name under
// .localhost) or a literal address the policy refuses is an EINVALID
// *hookd.Error for the field "url". Hostnames are not resolved here; the
// connect-time check covers them.
func (e Egress) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return hookd.FieldError("url", "Enter a valid URL.")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		if e.Allowed(netip.AddrFrom4([4]byte{127, 0, 0, 1})) {
			return nil
		}
		return hookd.FieldError("url", fmt.Sprintf("Deliveries to %s are not allowed: it is a loopback address.", u.Hostname()))
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i] // an IPv6 zone
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return nil // a hostname
	}
	if !e.Allowed(addr) {
		return hookd.FieldError("url", fmt.Sprintf("Deliveries to %s are not allowed: loopback, private, link-local, metadata and other special-purpose addresses are blocked.", addr))
	}
	return nil
}

// control is the net.Dialer.Control that enforces the policy.
func (e Egress) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !e.Allowed(ap.Addr()) {
		return ErrDestinationNotAllowed
	}
	return nil
}

// Transport returns an http.Transport that enforces the policy: keep-alive
// with a generous idle pool per host, connect and TLS handshake timeouts of
// 10 s, HTTP/2 when the server offers it over TLS, and the proxy when set.
func (e Egress) Transport() *http.Transport {
	guarded := e.dialer()
	dial := guarded.DialContext
	var proxy func(*http.Request) (*url.URL, error)
	if e.Proxy != nil {
		proxy = http.ProxyURL(e.Proxy)
		proxyAddr := dialAddr(e.Proxy)
		plain := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == proxyAddr {
				return plain.DialContext(ctx, network, addr)
			}
			return guarded.DialContext(ctx, network, addr)
		}
	}
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// dialer returns the dialer for delivery targets: it enforces the policy
// on every address it connects to, and gives up on connecting after 10 s.
func (e Egress) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !e.AllowPrivate {
		d.Control = e.control
	}
	return d
}

// dialAddr is the address dialled for u, a target or a proxy: its host and
// port, or its scheme's default port.
func dialAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "socks5", "socks5h":
			port = "1080"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
