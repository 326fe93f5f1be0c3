package console

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Cookie names and lifetimes.
const (
	sessionCookie = "hookd_console"
	signInCookie  = "hookd_console_signin"
	csrfField     = "csrf_token"
	csrfHeader    = "X-CSRF-Token"

	// SessionLifetime is how long a console session lasts after sign-in.
	SessionLifetime = 12 * time.Hour
)

// session is one signed-in browser. Sessions live in memory only: a restart
// signs everyone out, which is the safe failure.
type session struct {
	ID         string
	CSRF       string
	KeyID      string
	TenantID   string
	TenantName string
	Expires    time.Time
	flash      *flash
}

// flash is a one-time message shown on the next page, with an optional
// secret shown in full exactly once.
type flash struct {
	Message string
	Secret  string
	Error   bool
}

type sessionStore struct {
	mu       sync.Mutex
	sessions map[string]*session
}

func newSessionStore() *sessionStore {
	return &sessionStore{sessions: make(map[string]*session)}
}

func (st *sessionStore) create(key *hookd.APIKey, now time.Time) *session {
	s := &session{
		ID:         hookd.RandomToken(32),
		CSRF:       hookd.RandomToken(32),
		KeyID:      key.ID,
		TenantID:   key.TenantID,
		TenantName: key.TenantName,
		Expires:    now.Add(SessionLifetime),
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, old := range st.sessions { // sweep expired sessions
		if !now.Before(old.Expires) {
			delete(st.sessions, id)
		}
	}
	st.sessions[s.ID] = s
	return s
}

// get returns a copy of the live session with that ID, or nil.
func (st *sessionStore) get(id string, now time.Time) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.sessions[id]
	if !ok {
		return nil
	}
	if !now.Before(s.Expires) {
		delete(st.sessions, id)
		return nil
	}
	c := *s
	c.flash = nil
	return &c
}

func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.sessions, id)
}

func (st *sessionStore) setFlash(id string, f *flash) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.sessions[id]; ok {
		s.flash = f
	}
}

func (st *sessionStore) takeFlash(id string) *flash {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.sessions[id]
	if !ok {
		return nil
	}
	f := s.flash
	s.flash = nil
	return f
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// flashNext shows f on the session's next page.
func (h *Handler) flashNext(r *http.Request, f *flash) {
	if s := sessionFrom(r.Context()); s != nil {
		h.sessions.setFlash(s.ID, f)
	}
}

// auth wraps a page that needs a signed-in session. The API key is checked
// on every request, so revoking it ends the session. Every POST must carry
// the session's CSRF token, in the csrf_token form field or (htmx) the
// X-CSRF-Token header, or it is refused with 403.
func (h *Handler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.currentSession(r)
		if s == nil {
			h.clearCookie(w, sessionCookie)
			to := Prefix + "/signin"
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				to += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			if r.Header.Get("HX-Request") != "" {
				w.Header().Set("HX-Redirect", to)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			redirect(w, r, to)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			token := r.Header.Get(csrfHeader)
			if token == "" {
				token = r.PostFormValue(csrfField)
			}
			if subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) != 1 {
				h.render(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)), http.StatusForbidden, "error",
					page{Title: "Forbidden", Data: "The form was missing its security token or it has expired. Reload the page and try again."})
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

// currentSession returns the request's session if its cookie names a live
// session whose API key still authenticates.
func (h *Handler) currentSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s := h.sessions.get(c.Value, h.now())
	if s == nil {
		return nil
	}
	key, err := h.TenantService.FindAPIKeyByID(r.Context(), s.KeyID)
	if err != nil || key.RevokedAt != nil || key.TenantID != s.TenantID {
		h.sessions.delete(s.ID)
		return nil
	}
	return s
}

func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     Prefix,
		MaxAge:   int(maxAge.Seconds()),
		HttpOnly: true,
		Secure:   h.Secure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, Secure: h.Secure, SameSite: http.SameSiteLaxMode,
	})
}

type signInData struct {
	KeyID string
	Next  string
	Error string
}

// handleSignInForm handles GET /console/signin. The form carries a token
// that must match a short-lived cookie (double submit), so another site
// cannot sign a browser into an account of its choosing.
func (h *Handler) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	if h.currentSession(r) != nil {
		redirect(w, r, safeNext(r.URL.Query().Get("next")))
		return
	}
	h.renderSignIn(w, r, http.StatusOK, signInData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	token := hookd.RandomToken(32)
	h.setCookie(w, signInCookie, token, time.Hour)
	h.render(w, r, status, "signin", page{Title: "Sign in", CSRF: token, Data: d})
}

// handleSignIn handles POST /console/signin: an API key id and secret
// become a session.
func (h *Handler) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(signInCookie)
	token := r.PostFormValue(csrfField)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(token)) != 1 {
		h.render(w, r, http.StatusForbidden, "error",
			page{Title: "Forbidden", Data: "The sign-in form has expired. Reload the page and try again."})
		return
	}
	d := signInData{KeyID: strings.TrimSpace(r.PostFormValue("api_key_id")), Next: safeNext(r.PostFormValue("next"))}
	secret := r.PostFormValue("api_key_secret")
	key, err := h.TenantService.FindAPIKeyByID(r.Context(), d.KeyID)
	if err != nil && hookd.ErrorCode(err) != hookd.ENOTFOUND {
		h.renderError(w, r, err)
		return
	}
	if d.KeyID == "" || err != nil || key.RevokedAt != nil || !key.Matches(secret) {
		d.Error = "Invalid API key id or secret."
		h.renderSignIn(w, r, http.StatusUnauthorized, d)
		return
	}
	s := h.sessions.create(key, h.now())
	h.clearCookie(w, signInCookie)
	h.setCookie(w, sessionCookie, s.ID, SessionLifetime)
	redirect(w, r, d.Next)
}

// handleSignOut handles POST /console/signout.
func (h *Handler) handleSignOut(w http.ResponseWriter, r *http.Request) {
	h.sessions.delete(sessionFrom(r.Context()).ID)
	h.clearCookie(w, sessionCookie)
	redirect(w, r, Prefix+"/signin")
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix + "/"
	}
	return next
}
