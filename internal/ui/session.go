package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CookieName is the studio's session cookie.
const CookieName = "ciel_session"

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 7 * 24 * time.Hour

// maxRevoked bounds the signed-out sessions remembered until they expire;
// past it the oldest are forgotten (they still expire by themselves).
const maxRevoked = 10000

// sessions issues and checks session cookies. A cookie is
// "v1.<expiry>.<nonce>.<mac>": the MAC is an HMAC-SHA256 under a key
// derived from the server's token, so the token is never in the cookie,
// a cookie survives a server restart, and changing the token signs
// everyone out. Signing out revokes the nonce in memory. Its methods may be
// called concurrently.
type sessions struct {
	key []byte // nil: no token, no sessions
	now func() time.Time

	mu      sync.Mutex
	revoked map[string]int64 // nonce -> expiry (unix seconds)
}

func newSessions(token string, now func() time.Time) *sessions {
	s := &sessions{now: now, revoked: map[string]int64{}}
	if token != "" {
		m := hmac.New(sha256.New, []byte("ciel studio session key v1"))
		m.Write([]byte(token))
		s.key = m.Sum(nil)
	}
	return s
}

// issue returns a new session cookie value and its expiry.
func (s *sessions) issue() (string, time.Time) {
	exp := s.now().Add(SessionTTL)
	nonce := make([]byte, 18)
	_, _ = rand.Read(nonce)
	payload := "v1." + strconv.FormatInt(exp.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(nonce)
	return payload + "." + s.mac(payload), exp
}

func (s *sessions) mac(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parse checks a cookie value and returns its nonce and expiry; ok is false
// for a forged, malformed, expired or revoked one.
func (s *sessions) parse(v string) (nonce string, exp int64, ok bool) {
	if s.key == nil || len(v) > 256 {
		return "", 0, false
	}
	parts := strings.Split(v, ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return "", 0, false
	}
	payload := strings.Join(parts[:3], ".")
	if !hmac.Equal([]byte(parts[3]), []byte(s.mac(payload))) {
		return "", 0, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() >= exp {
		return "", 0, false
	}
	s.mu.Lock()
	_, gone := s.revoked[parts[2]]
	s.mu.Unlock()
	return parts[2], exp, !gone
}

// valid reports whether r carries a valid session cookie.
func (s *sessions) valid(r *http.Request) bool {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return false
	}
	_, _, ok := s.parse(c.Value)
	return ok
}

// revoke signs out the session r carries, if any.
func (s *sessions) revoke(r *http.Request) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return
	}
	nonce, exp, ok := s.parse(c.Value)
	if !ok {
		return
	}
	now := s.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.revoked) >= maxRevoked {
		oldest, oldestExp := "", int64(0)
		for n, e := range s.revoked {
			if e <= now {
				delete(s.revoked, n)
			} else if oldest == "" || e < oldestExp {
				oldest, oldestExp = n, e
			}
		}
		if len(s.revoked) >= maxRevoked {
			delete(s.revoked, oldest)
		}
	}
	s.revoked[nonce] = exp
}
