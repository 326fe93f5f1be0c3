package http

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// authCacheTTL is how long a looked-up API key is trusted without asking the
// TenantService again. It bounds how long a revoked key keeps working.
const authCacheTTL = 500 * time.Millisecond

// authCacheSize bounds the cache; when full it is emptied.
const authCacheSize = 10000

// authCache remembers recent API key look-ups, found or not, so that
// authenticating a request usually costs one hash.
type authCache struct {
	mu      sync.Mutex
	entries map[string]authEntry
}

type authEntry struct {
	key     *hookd.APIKey // nil when the key does not exist
	expires time.Time
}

func (c *authCache) get(id string, now time.Time) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.After(e.expires) {
		return authEntry{}, false
	}
	return e, true
}

func (c *authCache) put(id string, key *hookd.APIKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= authCacheSize {
		c.entries = make(map[string]authEntry)
	}
	c.entries[id] = authEntry{key: key, expires: now.Add(authCacheTTL)}
}

// findAPIKey returns the key with that ID, or nil if none exists, through
// the cache.
func (s *Server) findAPIKey(ctx context.Context, id string) (*hookd.APIKey, error) {
	now := time.Now()
	if e, ok := s.auth.get(id, now); ok {
		return e.key, nil
	}
	key, err := s.TenantService.FindAPIKeyByID(ctx, id)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		key, err = nil, nil
	} else if err != nil {
		return nil, err
	}
	s.auth.put(id, key, now)
	return key, nil
}

// authenticate checks the request's HTTP Basic credentials
// (api_key_id:api_key_secret) and calls next with the key's tenant in the
// request context, or answers 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	auth := r.Header.Get("Authorization")
	scheme, _, _ := strings.Cut(auth, " ")
	if auth == "" || !strings.EqualFold(scheme, "basic") {
		Error(w, r, hookd.Errorf(hookd.EUNAUTHORIZED, "Authentication credentials were not provided."))
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		Error(w, r, hookd.Errorf(hookd.EUNAUTHORIZED, "Invalid basic header. Credentials not correctly base64 encoded."))
		return
	}
	invalid := hookd.Errorf(hookd.EUNAUTHORIZED, "Invalid username/password.")
	if id == "" || len(id) > 256 {
		Error(w, r, invalid)
		return
	}
	key, err := s.findAPIKey(r.Context(), id)
	if err != nil {
		Error(w, r, err)
		return
	}
	if key == nil || key.RevokedAt != nil || !key.Matches(secret) {
		Error(w, r, invalid)
		return
	}
	if ri := infoFrom(r.Context()); ri != nil {
		ri.tenantID = key.TenantID
	} else {
		r = r.WithContext(context.WithValue(r.Context(), contextKey{}, &requestInfo{logger: s.logger(), tenantID: key.TenantID}))
	}
	next(w, r)
}

// tenantID returns the authenticated tenant of r.
func tenantID(r *http.Request) string {
	return TenantIDFromContext(r.Context())
}
