// Package signature signs and verifies webhook deliveries the two ways hookd
// signs them: Argyle's X-Argyle-Signature (lowercase hex HMAC-SHA512 of the
// exact body bytes) and Standard Webhooks' webhook-signature ("v1," and the
// base64 HMAC-SHA256 of "id.timestamp.body").
//
// It imports only the standard library so that receivers can use it. The
// Append variants write into a caller's buffer and, once warm, allocate
// nothing; the string variants allocate only their result.
//
// Verify the body exactly as received: parsing and re-serialising JSON before
// verifying changes the bytes, and the signature with them.
package signature

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Header names. The Standard Webhooks ones are spelled as the
// specification spells them; HTTP header names are case-insensitive.
const (
	// ArgyleHeader carries the hex HMAC-SHA512 of the body.
	ArgyleHeader = "X-Argyle-Signature"
	// IDHeader carries the message ID, the same on every retry.
	IDHeader = "webhook-id"
	// TimestampHeader carries the send time in unix seconds.
	TimestampHeader = "webhook-timestamp"
	// SignatureHeader carries space-separated "v1,<base64>" signatures.
	SignatureHeader = "webhook-signature"
)

// StandardPrefix marks a Standard Webhooks secret whose remainder is the
// base64 key.
const StandardPrefix = "whsec_"

// DefaultTolerance is how far webhook-timestamp may be from now for
// VerifyStandard when the caller passes a zero tolerance, as the Standard
// Webhooks libraries do.
const DefaultTolerance = 5 * time.Minute

// Errors returned by VerifyStandard.
var (
	// ErrMissingHeaders means a Standard Webhooks header is absent.
	ErrMissingHeaders = errors.New("signature: missing webhook-id, webhook-timestamp or webhook-signature")
	// ErrBadTimestamp means webhook-timestamp is not an integer.
	ErrBadTimestamp = errors.New("signature: webhook-timestamp is not a unix time")
	// ErrTooOld means webhook-timestamp is further in the past than the tolerance.
	ErrTooOld = errors.New("signature: webhook-timestamp too old")
	// ErrTooNew means webhook-timestamp is further in the future than the tolerance.
	ErrTooNew = errors.New("signature: webhook-timestamp too new")
	// ErrNoMatch means no signature entry matches any of the secrets.
	ErrNoMatch = errors.New("signature: no matching signature")
)

// Argyle returns the X-Argyle-Signature value for body: the lowercase hex
// HMAC-SHA512 of body keyed by secret.
func Argyle(secret string, body []byte) string {
	var buf [2 * sha512.Size]byte
	return string(AppendArgyle(buf[:0], secret, body))
}

// AppendArgyle appends the X-Argyle-Signature value for body to dst and
// returns the extended slice.
func AppendArgyle(dst []byte, secret string, body []byte) []byte {
	m := sha512Pool.Get().(*mac)
	m.init(secret, nil)
	m.h.Write(body)
	dst = hex.AppendEncode(dst, m.sum())
	sha512Pool.Put(m)
	return dst
}

// VerifyArgyle reports whether header is the X-Argyle-Signature of body
// under secret. It compares in constant time and accepts either hex case.
func VerifyArgyle(secret string, body []byte, header string) bool {
	header = strings.TrimSpace(header)
	if len(header) != 2*sha512.Size {
		return false
	}
	var got [sha512.Size]byte
	for i := range got {
		hi, ok1 := unhex(header[2*i])
		lo, ok2 := unhex(header[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		got[i] = hi<<4 | lo
	}
	m := sha512Pool.Get().(*mac)
	m.init(secret, nil)
	m.h.Write(body)
	ok := subtle.ConstantTimeCompare(got[:], m.sum()) == 1
	sha512Pool.Put(m)
	return ok
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// StandardKey returns the HMAC key for a Standard Webhooks signature made
// with secret: the base64-decoded remainder when secret starts with
// "whsec_" (and decodes), else the secret's own bytes.
func StandardKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, StandardPrefix); ok {
		if key, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return key
		}
	}
	return []byte(secret)
}

// Standard returns one webhook-signature entry, "v1,<base64 HMAC-SHA256 of
// msgID.timestamp.body>", keyed by key (see StandardKey). The timestamp is
// ts in unix seconds.
func Standard(key []byte, msgID string, ts time.Time, body []byte) string {
	var buf [64]byte
	return string(AppendStandard(buf[:0], key, msgID, ts, body))
}

// AppendStandard appends one webhook-signature entry to dst and returns the
// extended slice.
func AppendStandard(dst []byte, key []byte, msgID string, ts time.Time, body []byte) []byte {
	m := sha256Pool.Get().(*mac)
	m.init("", key)
	m.h.Write(unsafeBytes(msgID))
	m.h.Write(dot)
	m.h.Write(strconv.AppendInt(m.scratch[:0], ts.Unix(), 10))
	m.h.Write(dot)
	m.h.Write(body)
	dst = append(dst, "v1,"...)
	dst = base64.StdEncoding.AppendEncode(dst, m.sum())
	sha256Pool.Put(m)
	return dst
}

// AppendStandardHeader appends the webhook-signature header value for keys
// to dst: one entry per key, in order, separated by spaces. With no keys it
// returns dst unchanged.
func AppendStandardHeader(dst []byte, keys [][]byte, msgID string, ts time.Time, body []byte) []byte {
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = AppendStandard(dst, k, msgID, ts, body)
	}
	return dst
}

// StandardHeader returns the webhook-signature header value for keys: one
// entry per key, separated by spaces ("" for no keys). During a secret
// rotation it carries the new and the previous secret's signatures, and a
// receiver that knows either verifies.
func StandardHeader(keys [][]byte, msgID string, ts time.Time, body []byte) string {
	return string(AppendStandardHeader(make([]byte, 0, len(keys)*48), keys, msgID, ts, body))
}

var dot = []byte{'.'}

// VerifyStandard verifies a Standard Webhooks delivery: that header's
// webhook-timestamp is within tolerance of now (DefaultTolerance when
// tolerance is 0; no check when it is negative), and that one of the
// webhook-signature entries matches body under one of secrets (each turned
// into a key by StandardKey). header is the request's headers (any key
// case). It returns nil, or one of the Err* values.
func VerifyStandard(secrets []string, header http.Header, body []byte, tolerance time.Duration) error {
	id, ts, sigs := headerValue(header, IDHeader), headerValue(header, TimestampHeader), headerValue(header, SignatureHeader)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	t := time.Unix(unix, 0)
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if tolerance > 0 {
		now := time.Now()
		if now.Sub(t) > tolerance {
			return ErrTooOld
		}
		if t.Sub(now) > tolerance {
			return ErrTooNew
		}
	}
	var want [64]byte
	for _, secret := range secrets {
		expected := AppendStandard(want[:0], StandardKey(secret), id, t, body)[len("v1,"):]
		for entry := range strings.FieldsSeq(sigs) {
			sig, ok := strings.CutPrefix(entry, "v1,")
			if ok && subtle.ConstantTimeCompare([]byte(sig), expected) == 1 {
				return nil
			}
		}
	}
	return ErrNoMatch
}

// headerValue reads a header by canonical or verbatim key, so that maps
// built by hand with the specification's lower-case names work too.
func headerValue(h http.Header, key string) string {
	if v := h.Get(key); v != "" {
		return v
	}
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// mac is a reusable HMAC (RFC 2104) over a pooled hash, so that signing
// allocates nothing once the pool is warm. crypto/hmac allocates its state
// on every New.
type mac struct {
	h         hash.Hash
	blockSize int
	pad       [sha512.BlockSize]byte // key XOR ipad, then key XOR opad
	inner     [sha512.Size]byte
	scratch   [20]byte
}

func newMACPool(h func() hash.Hash) *sync.Pool {
	return &sync.Pool{New: func() any {
		hh := h()
		return &mac{h: hh, blockSize: hh.BlockSize()}
	}}
}

var (
	sha512Pool = newMACPool(sha512.New)
	sha256Pool = newMACPool(sha256.New)
)

// init starts an HMAC keyed by skey (when key is nil) or key.
func (m *mac) init(skey string, key []byte) {
	pad := m.pad[:m.blockSize]
	clear(pad)
	if key == nil {
		key = unsafeBytes(skey)
	}
	if len(key) > m.blockSize {
		m.h.Reset()
		m.h.Write(key)
		copy(pad, m.h.Sum(m.inner[:0]))
	} else {
		copy(pad, key)
	}
	for i := range pad {
		pad[i] ^= 0x36
	}
	m.h.Reset()
	m.h.Write(pad)
}

// sum finishes the HMAC and returns it, in m's own storage: valid until m
// is used again.
func (m *mac) sum() []byte {
	inner := m.h.Sum(m.inner[:0])
	pad := m.pad[:m.blockSize]
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	m.h.Reset()
	m.h.Write(pad)
	m.h.Write(inner)
	return m.h.Sum(m.inner[:0])
}

// unsafeBytes views s as a byte slice without copying. Only hash writes,
// which neither modify nor keep their input, receive it.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
