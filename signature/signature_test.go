package signature_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd/signature"
)

// The example from Argyle's webhooks guide.
const (
	guideBody      = `{"name": "Account added", "event": "accounts.added"}`
	guideSecret    = "my little secret"
	guideSignature = "13b68c651cdf714d8d00e88d3c9997d2ea2cb6ffcc57ba2d9164af5898169124e75505f354ded4350c96b03b2cddf01cbe71bc26cb2dc656a69ef670bcda0f86"
)

func TestArgyle(t *testing.T) {
	t.Parallel()
	if got := signature.Argyle(guideSecret, []byte(guideBody)); got != guideSignature {
		t.Errorf("Argyle(guide example) got %q, want %q", got, guideSignature)
	}
	prefix := []byte("sig=")
	if got, want := string(signature.AppendArgyle(prefix, guideSecret, []byte(guideBody))), "sig="+guideSignature; got != want {
		t.Errorf("AppendArgyle got %q, want %q", got, want)
	}
}

func TestVerifyArgyle(t *testing.T) {
	t.Parallel()
	body := []byte(guideBody)
	tests := []struct {
		name, secret, header string
		body                 []byte
		want                 bool
	}{
		{"OK", guideSecret, guideSignature, body, true},
		{"UpperCase", guideSecret, strings.ToUpper(guideSignature), body, true},
		{"SurroundingSpace", guideSecret, " " + guideSignature + " ", body, true},
		{"WrongSecret", "my big secret", guideSignature, body, false},
		{"ChangedBody", guideSecret, guideSignature, []byte(`{"name":"Account added","event":"accounts.added"}`), false},
		{"Truncated", guideSecret, guideSignature[:127], body, false},
		{"NotHex", guideSecret, "zz" + guideSignature[2:], body, false},
		{"Empty", guideSecret, "", body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signature.VerifyArgyle(tt.secret, tt.body, tt.header); got != tt.want {
				t.Errorf("VerifyArgyle got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHMACMatchesStdlib checks the pooled HMAC against crypto/hmac for keys
// shorter than, equal to and longer than each hash's block size, and that a
// pooled state reused with another key leaves nothing behind.
func TestHMACMatchesStdlib(t *testing.T) {
	t.Parallel()
	body := []byte("the quick brown fox")
	for _, n := range []int{0, 1, 16, 63, 64, 65, 127, 128, 129, 300} {
		key := strings.Repeat("k", n)
		m := hmac.New(sha512.New, []byte(key))
		m.Write(body)
		if got, want := signature.Argyle(key, body), hex.EncodeToString(m.Sum(nil)); got != want {
			t.Errorf("Argyle(key of %d bytes) got %s, want %s", n, got, want)
		}
		m = hmac.New(sha256.New, []byte(key))
		m.Write([]byte("msg_1.1614265330."))
		m.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		if got := signature.Standard([]byte(key), "msg_1", time.Unix(1614265330, 0), body); got != want {
			t.Errorf("Standard(key of %d bytes) got %s, want %s", n, got, want)
		}
	}
}

// The test vector of the Standard Webhooks specification and its libraries.
const (
	specKey       = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestStandard(t *testing.T) {
	t.Parallel()
	got := signature.Standard(signature.StandardKey(specKey), specMsgID, time.Unix(specTimestamp, 0), []byte(specBody))
	if got != specSignature {
		t.Errorf("Standard(spec vector) got %q, want %q", got, specSignature)
	}
}

func TestStandardKey(t *testing.T) {
	t.Parallel()
	specKeyBytes, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(specKey, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		secret string
		want   []byte
	}{
		{specKey, specKeyBytes},
		{"plain secret", []byte("plain secret")},
		{"whsec_not base64!", []byte("whsec_not base64!")},
		{"", []byte{}},
	}
	for _, tt := range tests {
		if got := signature.StandardKey(tt.secret); string(got) != string(tt.want) {
			t.Errorf("StandardKey(%q) got %x, want %x", tt.secret, got, tt.want)
		}
	}
}

func TestStandardHeader(t *testing.T) {
	t.Parallel()
	ts := time.Unix(specTimestamp, 0)
	body := []byte(specBody)
	k1, k2 := signature.StandardKey(specKey), []byte("previous secret")
	got := signature.StandardHeader([][]byte{k1, k2}, specMsgID, ts, body)
	want := specSignature + " " + signature.Standard(k2, specMsgID, ts, body)
	if got != want {
		t.Errorf("StandardHeader got %q, want %q", got, want)
	}
	if got := signature.StandardHeader(nil, specMsgID, ts, body); got != "" {
		t.Errorf("StandardHeader(no keys) got %q, want empty", got)
	}
}

// TestStandardOfficialLibrary cross-checks with the Standard Webhooks Go
// library: it verifies what this package signs, and this package verifies
// what it signs, for whsec_ keys and raw secrets.
func TestStandardOfficialLibrary(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event":"accounts.added","name":"n","data":{"account":"a"}}`)
	now := time.Now()
	for _, secret := range []string{specKey, "a raw secret of any length"} {
		var wh *standardwebhooks.Webhook
		var err error
		if strings.HasPrefix(secret, "whsec_") {
			wh, err = standardwebhooks.NewWebhook(secret)
		} else {
			wh, err = standardwebhooks.NewWebhookRaw([]byte(secret))
		}
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(signature.IDHeader, "msg_1")
		h.Set(signature.TimestampHeader, itoa(now.Unix()))
		// Ours first, then another key's, as during a rotation.
		h.Set(signature.SignatureHeader, signature.StandardHeader([][]byte{signature.StandardKey(secret), []byte("other")}, "msg_1", now, body))
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("official Verify of our signature (secret %q): %v", secret, err)
		}

		theirs, err := wh.Sign("msg_1", now, body)
		if err != nil {
			t.Fatal(err)
		}
		h.Set(signature.SignatureHeader, "v1,bm9wZQ== "+theirs)
		if err := signature.VerifyStandard([]string{"wrong", secret}, h, body, 0); err != nil {
			t.Errorf("VerifyStandard of the official signature (secret %q): %v", secret, err)
		}
	}
}

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	body := []byte(specBody)
	key := signature.StandardKey(specKey)
	headers := func(ts time.Time, sig string) http.Header {
		// Lower-case keys, as a hand-built map would have them.
		return http.Header{
			"webhook-id":        {specMsgID},
			"webhook-timestamp": {itoa(ts.Unix())},
			"webhook-signature": {sig},
		}
	}
	now := time.Now()
	tests := []struct {
		name      string
		h         http.Header
		tolerance time.Duration
		body      []byte
		want      error
	}{
		{"OK", headers(now, signature.Standard(key, specMsgID, now, body)), 0, body, nil},
		{"SpecVectorNoTolerance", headers(time.Unix(specTimestamp, 0), specSignature), -1, body, nil},
		{"ErrTooOld", headers(time.Unix(specTimestamp, 0), specSignature), 0, body, signature.ErrTooOld},
		{"ErrTooNew", headers(now.Add(time.Hour), signature.Standard(key, specMsgID, now.Add(time.Hour), body)), 0, body, signature.ErrTooNew},
		{"WithinTolerance", headers(now.Add(-time.Minute), signature.Standard(key, specMsgID, now.Add(-time.Minute), body)), 2 * time.Minute, body, nil},
		{"ErrNoMatch", headers(now, signature.Standard([]byte("other"), specMsgID, now, body)), 0, body, signature.ErrNoMatch},
		{"ErrNoMatchBody", headers(now, signature.Standard(key, specMsgID, now, body)), 0, []byte(`{"test":2432232314}`), signature.ErrNoMatch},
		{"ErrNoMatchVersion", headers(now, "v2,"+strings.TrimPrefix(signature.Standard(key, specMsgID, now, body), "v1,")), 0, body, signature.ErrNoMatch},
		{"ErrMissingHeaders", http.Header{"webhook-id": {specMsgID}}, 0, body, signature.ErrMissingHeaders},
		{"ErrBadTimestamp", http.Header{"webhook-id": {"x"}, "webhook-timestamp": {"soon"}, "webhook-signature": {"v1,x"}}, 0, body, signature.ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signature.VerifyStandard([]string{specKey}, tt.h, tt.body, tt.tolerance); !errors.Is(got, tt.want) {
				t.Errorf("VerifyStandard got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	body := []byte(guideBody)
	key := []byte("key")
	buf := make([]byte, 0, 512)
	ts := time.Unix(specTimestamp, 0)
	if n := testing.AllocsPerRun(100, func() {
		buf = signature.AppendArgyle(buf[:0], guideSecret, body)
		buf = signature.AppendStandard(buf, key, specMsgID, ts, body)
	}); n != 0 {
		t.Errorf("AppendArgyle+AppendStandard allocations got %v, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		_ = signature.VerifyArgyle(guideSecret, body, guideSignature)
	}); n != 0 {
		t.Errorf("VerifyArgyle allocations got %v, want 0", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func BenchmarkArgyle(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	buf := make([]byte, 0, 128)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		buf = signature.AppendArgyle(buf[:0], guideSecret, body)
	}
}

func BenchmarkStandard(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	key := signature.StandardKey(specKey)
	ts := time.Unix(specTimestamp, 0)
	buf := make([]byte, 0, 128)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		buf = signature.AppendStandard(buf[:0], key, specMsgID, ts, body)
	}
}

func BenchmarkArgyleString(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = signature.Argyle(guideSecret, body)
	}
}
