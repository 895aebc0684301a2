package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"
)

// CookieName is the session cookie the dashboard sets.
const CookieName = "berth_session"

// ErrBadToken is returned for a login token that is unknown, used or expired.
var ErrBadToken = errors.New("the login token is unknown, already used or expired (run berth dashboard again)")

// session is one logged-in browser.
type session struct {
	user    string
	csrf    string
	expires time.Time
}

// auth holds login tokens and sessions in memory: a restarted daemon
// forgets them, and `berth dashboard` mints a new login. Safe for
// concurrent use.
type auth struct {
	now        func() time.Time
	tokenTTL   time.Duration
	sessionTTL time.Duration

	mu       sync.Mutex
	tokens   map[string]login
	sessions map[string]session
}

// login is a minted, not yet used login token.
type login struct {
	user    string
	expires time.Time
}

func newAuth(now func() time.Time, tokenTTL, sessionTTL time.Duration) *auth {
	return &auth{now: now, tokenTTL: tokenTTL, sessionTTL: sessionTTL,
		tokens: map[string]login{}, sessions: map[string]session{}}
}

// secret returns 32 random bytes, URL-safe.
func secret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// mint makes a single-use login token for user.
func (a *auth) mint(user string) (string, time.Time) {
	tok, exp := secret(), a.now().Add(a.tokenTTL)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire()
	a.tokens[tok] = login{user: user, expires: exp}
	return tok, exp
}

// redeem consumes tok (whatever the outcome) and opens a session for its user.
func (a *auth) redeem(tok string) (id string, s session, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire()
	l, ok := a.tokens[tok]
	delete(a.tokens, tok)
	if !ok {
		return "", session{}, ErrBadToken
	}
	id = secret()
	s = session{user: l.user, csrf: secret(), expires: a.now().Add(a.sessionTTL)}
	a.sessions[id] = s
	return id, s, nil
}

// lookup returns the session of r's cookie.
func (a *auth) lookup(r *http.Request) (session, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[c.Value]
	if !ok || !a.now().Before(s.expires) {
		delete(a.sessions, c.Value)
		return session{}, false
	}
	return s, true
}

// expire drops what has expired; a.mu is held.
func (a *auth) expire() {
	now := a.now()
	for k, l := range a.tokens {
		if !now.Before(l.expires) {
			delete(a.tokens, k)
		}
	}
	for k, s := range a.sessions {
		if !now.Before(s.expires) {
			delete(a.sessions, k)
		}
	}
}

// cookie is the session cookie for id: script cannot read it (HttpOnly)
// and no other site's page can send it (SameSite=Strict).
func (a *auth) cookie(id string) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(a.sessionTTL / time.Second)}
}

// csrfOK reports whether a state-changing request carries its session's
// CSRF token, in the X-CSRF-Token header or the csrf form field.
func csrfOK(r *http.Request, s session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// drop ends the session id.
func (a *auth) drop(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, id)
}
