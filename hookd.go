// Package hookd is the domain of a self-hosted webhook platform that
// implements Argyle's webhooks system: tenants and API keys, webhook
// subscriptions, the v1 event catalogue, published events, and the deliveries
// (with their attempts) that carry events to subscribers.
//
// This package holds types, validation and the service interfaces that the
// stores implement. It imports only the standard library. Technologies plug in
// from subpackages: sqlite and postgres (stores), http (API server, console and
// client), deliver (the delivery worker), signature (signing and verifying),
// sandbox (simulated Argyle data) and cmd/hookd, where they meet.
package hookd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"
)

// Version is the version of hookd, sent in the User-Agent of deliveries.
// Release builds override it with -ldflags "-X github.com/hookd/hookd.Version=…".
var Version = "0.1.0-dev"

// TimeFormat is how every timestamp appears in the API: ISO 8601, UTC,
// microseconds, and a Z, as Argyle writes them ("2022-04-22T10:58:26.480241Z").
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// FormatTime formats t with TimeFormat in UTC.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeFormat)
}

// Now returns the current time in UTC truncated to microseconds, the
// precision every store keeps, so that a value read back equals the value
// written.
func Now() time.Time {
	return Truncate(time.Now())
}

// Truncate returns t in UTC truncated to microseconds.
func Truncate(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// NewID returns a new random UUID, version 7 (time-ordered), in its canonical
// lower-case form.
func NewID() string {
	var u [16]byte
	if _, err := rand.Read(u[6:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	ms := uint64(time.Now().UnixMilli())
	u[0], u[1], u[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	u[3], u[4], u[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | (u[6] & 0x0f) // version 7
	u[8] = 0x80 | (u[8] & 0x3f) // RFC 4122 variant
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// IsUUID reports whether s is a UUID in canonical 8-4-4-4-12 hex form (either
// case). Path parameters that are not UUIDs are answered 404 without a query.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// RandomToken returns n random bytes as lower-case hex (2n characters).
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Tenant is one customer of the platform. Every webhook, event and delivery
// belongs to exactly one tenant, and no query crosses tenants.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKey authenticates a tenant's API requests with HTTP Basic auth
// (api_key_id:api_key_secret). Only a hash of the secret is stored.
type APIKey struct {
	ID         string     `json:"api_key_id"`
	TenantID   string     `json:"tenant_id"`
	TenantName string     `json:"tenant"`
	SecretHash []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// HashSecret returns the stored form of an API key secret. Secrets are 32
// random bytes, so a fast hash is as strong as a slow one and keeps per-request
// authentication cheap.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Matches reports whether secret is this key's secret, in constant time.
func (k *APIKey) Matches(secret string) bool {
	return subtle.ConstantTimeCompare(k.SecretHash, HashSecret(secret)) == 1
}

// NewAPIKey returns a fresh key for tenantID and its plain-text secret, which
// is shown once and never stored.
func NewAPIKey(tenantID string) (key *APIKey, secret string) {
	secret = RandomToken(24)
	return &APIKey{
		ID:         RandomToken(16),
		TenantID:   tenantID,
		SecretHash: HashSecret(secret),
		CreatedAt:  Now(),
	}, secret
}

// TenantService manages tenants and their API keys.
type TenantService interface {
	// EnsureTenant returns the tenant called name, creating it if needed.
	// Returns EINVALID if name is blank.
	EnsureTenant(ctx context.Context, name string) (*Tenant, error)

	// FindTenantByID returns the tenant with that ID.
	// Returns ENOTFOUND if it does not exist.
	FindTenantByID(ctx context.Context, id string) (*Tenant, error)

	// CreateAPIKey stores key (ID, TenantID, SecretHash and CreatedAt set by
	// the caller). Returns ECONFLICT if a key with that ID exists and
	// ENOTFOUND if the tenant does not.
	CreateAPIKey(ctx context.Context, key *APIKey) error

	// PutAPIKey stores key, replacing any key with the same ID (its secret
	// hash and tenant), and un-revokes it. dev uses it for fixed credentials.
	// Returns ENOTFOUND if the tenant does not exist.
	PutAPIKey(ctx context.Context, key *APIKey) error

	// FindAPIKeyByID returns the key with that ID, revoked or not, with
	// TenantName filled in. Returns ENOTFOUND if it does not exist.
	FindAPIKeyByID(ctx context.Context, id string) (*APIKey, error)

	// FindAPIKeys returns every key, revoked ones included, oldest first,
	// with TenantName filled in.
	FindAPIKeys(ctx context.Context) ([]*APIKey, error)

	// RevokeAPIKey marks the key revoked at now; a revoked key stays listed
	// but no longer authenticates. Revoking twice is not an error.
	// Returns ENOTFOUND if it does not exist.
	RevokeAPIKey(ctx context.Context, id string, now time.Time) error
}

// Page asks for one page of a keyset-paginated list. The zero value is the
// first page in the default order.
type Page struct {
	// Limit is the page size; stores return at most Limit items.
	Limit int
	// After, when set, starts the page just past this position, in the
	// list's order. Before, when set, ends the page just before it, still
	// returning items in the list's order. At most one is set.
	After, Before *Cursor
}

// Cursor is a position in a list: the sort key of one item. Keys are
// compared as (Time, ID) or, for lists ordered by ID, ID alone.
type Cursor struct {
	Time time.Time
	ID   string
}
