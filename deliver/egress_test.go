package deliver

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hookd/hookd"
)

func TestEgress_Allowed(t *testing.T) {
	t.Parallel()
	refused := []string{
		"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "192.168.1.1",
		"169.254.169.254", "169.254.1.1", "100.64.0.1", "100.127.255.254",
		"0.0.0.0", "224.0.0.1", "255.255.255.255",
		"::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254",
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"}
	var strict Egress
	for _, s := range refused {
		if strict.Allowed(netip.MustParseAddr(s)) {
			t.Errorf("Allowed(%s) got true, want false", s)
		}
		if !(Egress{AllowPrivate: true}).Allowed(netip.MustParseAddr(s)) {
			t.Errorf("AllowPrivate: Allowed(%s) got false, want true", s)
		}
	}
	for _, s := range allowed {
		if !strict.Allowed(netip.MustParseAddr(s)) {
			t.Errorf("Allowed(%s) got false, want true", s)
		}
	}
	e := Egress{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00::/8")}}
	for s, want := range map[string]bool{"10.1.2.3": true, "10.2.0.1": false, "fd00:ec2::254": true, "127.0.0.1": false} {
		if got := e.Allowed(netip.MustParseAddr(s)); got != want {
			t.Errorf("Allow list: Allowed(%s) got %v, want %v", s, got, want)
		}
	}
}

func TestEgress_CheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want bool // allowed by the strict policy
	}{
		{"https://example.com/hook", true},
		{"http://example.com:8080/hook", true},
		{"https://8.8.8.8/hook", true},
		{"https://[2606:4700:4700::1111]/hook", true},
		{"http://localhost:8080/hook", false},
		{"http://LOCALHOST./hook", false},
		{"http://api.localhost/hook", false},
		{"http://127.0.0.1/hook", false},
		{"http://10.0.0.5/hook", false},
		{"http://169.254.169.254/latest/meta-data", false},
		{"http://100.64.0.1/hook", false},
		{"http://[::1]:8080/hook", false},
		{"http://[fd00:ec2::254]/hook", false},
		{"http://[::ffff:127.0.0.1]/hook", false},
		{"http://0.0.0.0/hook", false},
	}
	for _, tt := range tests {
		err := Egress{}.CheckURL(tt.url)
		if got := err == nil; got != tt.want {
			t.Errorf("CheckURL(%q) got %v, want allowed %v", tt.url, err, tt.want)
			continue
		}
		if err != nil {
			if hookd.ErrorCode(err) != hookd.EINVALID || !strings.Contains(hookd.ErrorMessage(err), "not allowed") {
				t.Errorf("CheckURL(%q) got %v, want EINVALID saying not allowed", tt.url, err)
			}
			if e, _ := err.(*hookd.Error); e == nil || len(e.Fields["url"]) != 1 {
				t.Errorf("CheckURL(%q) got %v, want one message for field url", tt.url, err)
			}
		}
		if err := (Egress{AllowPrivate: true}).CheckURL(tt.url); err != nil {
			t.Errorf("AllowPrivate: CheckURL(%q) got %v, want nil", tt.url, err)
		}
	}
	if err := (Egress{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}).CheckURL("http://localhost/hook"); err != nil {
		t.Errorf("CheckURL(localhost) with 127.0.0.0/8 allowed got %v, want nil", err)
	}
}

// TestEgress_Worker delivers through the connect-time check: the strict
// policy refuses loopback (by address and by a name resolving to it) and
// the metadata address without sending, and allows them when configured.
func TestEgress_Worker(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	byName := "http://localhost:" + u.Port() + "/hook"
	tests := []struct {
		name   string
		egress Egress
		url    string
		want   string // the attempt's error
	}{
		{"LoopbackRefused", Egress{}, srv.URL, "destination address not allowed"},
		{"LoopbackByNameRefused", Egress{}, byName, "destination address not allowed"},
		{"MetadataRefused", Egress{}, "http://169.254.169.254/latest/meta-data", "destination address not allowed"},
		{"AllowPrivate", Egress{AllowPrivate: true}, srv.URL, ""},
		{"AllowPrefix", Egress{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}, byName, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t, func(w *Worker) { w.Egress = tt.egress })
			before := hits.Load()
			d, _ := b.deliverTo(t, tt.url, nil)
			a := d.Attempts[0]
			if a.Error != tt.want {
				t.Errorf("attempt error got %q, want %q", a.Error, tt.want)
			}
			sent := hits.Load() > before
			if sent != (tt.want == "") {
				t.Errorf("receiver hit got %v, want %v", sent, tt.want == "")
			}
			if tt.want != "" && d.Status != hookd.DeliveryPending {
				t.Errorf("status got %q, want pending (retried on the schedule)", d.Status)
			}
		})
	}
}

// TestEgress_Proxy sends through the configured proxy, which the strict
// policy does not check.
func TestEgress_Proxy(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.URL.String() // a proxy gets the absolute URL
	}))
	t.Cleanup(proxy.Close)
	pu, _ := url.Parse(proxy.URL)
	b := setup(t, func(w *Worker) { w.Egress = Egress{Proxy: pu} })
	d, _ := b.deliverTo(t, "http://hooks.example/receive", nil)
	if d.Status != hookd.DeliverySucceeded {
		t.Fatalf("status got %q (%q), want succeeded", d.Status, d.Attempts[0].Error)
	}
	if got, want := <-seen, "http://hooks.example/receive"; got != want {
		t.Errorf("proxy saw %q, want %q", got, want)
	}
}

func TestEgress_NoEnvironmentProxy(t *testing.T) {
	if tr := (Egress{}).Transport(); tr.Proxy != nil {
		t.Error("Transport().Proxy set without Egress.Proxy, want nil (never from the environment)")
	}
}
