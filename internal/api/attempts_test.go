package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/authlimit"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const attemptBurst = 3

func limitedRoutes(t *testing.T) (routeBundle, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return setupRoutesWith(t, authlimit.New(authlimit.Config{Burst: attemptBurst, Every: time.Minute, Now: clock.Now})), clock
}

// apiGet asks for the health route from client (an address) with the
// Authorization header auth ("" for none).
func apiGet(b routeBundle, client, auth string) *httptest.ResponseRecorder {
	r := studioRequest("GET", "/api/v1/health", "", nil)
	r.RemoteAddr = client
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	b.handler.ServeHTTP(w, r)
	return w
}

// TestWrongTokensAreLimited: a client may send attemptBurst wrong tokens
// (401 each); the next request with a token, even the right one, is a 429
// with Retry-After and a JSON error, and reaches no handler; once the
// window has passed, the right token works again. Requests without a
// token are no attempts, and another client is not limited.
func TestWrongTokensAreLimited(t *testing.T) {
	b, clock := limitedRoutes(t)
	const attacker, other = "198.51.100.7:4000", "203.0.113.9:5000"
	for i := range 2 * attemptBurst {
		if w := apiGet(b, attacker, ""); w.Code != http.StatusUnauthorized {
			t.Fatalf("request %d without a token: %d, want 401 (no token is no attempt)", i+1, w.Code)
		}
	}
	for i := range attemptBurst {
		if w := apiGet(b, attacker, "Bearer guess"); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i+1, w.Code)
		}
	}
	before := b.reached.Load()
	for _, auth := range []string{"Bearer guess", "Bearer " + testToken} {
		w := apiGet(b, attacker, auth)
		if w.Code != http.StatusTooManyRequests {
			t.Fatalf("%q after %d wrong tokens: %d, want 429: %s", auth, attemptBurst, w.Code, w.Body)
		}
		if ra := w.Header().Get("Retry-After"); ra != "60" {
			t.Errorf("Retry-After %q, want 60", ra)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "TooManyRequests" ||
			!strings.Contains(body.Error.Message, "try again in 60s") {
			t.Errorf("429 body %s (%v)", w.Body, err)
		}
	}
	if b.reached.Load() != before {
		t.Error("a refused request reached a handler")
	}
	if w := apiGet(b, other, "Bearer "+testToken); w.Code != http.StatusOK {
		t.Errorf("another client with the right token: %d, want 200", w.Code)
	}
	clock.Add(59 * time.Second)
	if w := apiGet(b, attacker, "Bearer "+testToken); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Errorf("a second before the window ends: %d, Retry-After %q; want 429, 1", w.Code, w.Header().Get("Retry-After"))
	}
	clock.Add(time.Second)
	if w := apiGet(b, attacker, "Bearer "+testToken); w.Code != http.StatusOK {
		t.Fatalf("right token after the window: %d, want 200: %s", w.Code, w.Body)
	}
	// One attempt came back: one wrong token is a 401, the next a 429.
	if w := apiGet(b, attacker, "Bearer guess"); w.Code != http.StatusUnauthorized {
		t.Errorf("wrong token with the attempt regained: %d, want 401", w.Code)
	}
	if w := apiGet(b, attacker, "Bearer guess"); w.Code != http.StatusTooManyRequests {
		t.Errorf("next wrong token: %d, want 429", w.Code)
	}
}

// signInFrom posts the studio's sign-in (a form, or JSON) from client.
func signInFrom(b routeBundle, client, token string, asJSON bool) *httptest.ResponseRecorder {
	body, ct := url.Values{"token": {token}, "next": {"/workspaces/w"}}.Encode(), "application/x-www-form-urlencoded"
	if asJSON {
		raw, _ := json.Marshal(map[string]string{"token": token})
		body, ct = string(raw), "application/json"
	}
	r := studioRequest("POST", "/login", body, map[string]string{"Content-Type": ct, "Origin": ownOrigin, "Sec-Fetch-Site": "same-origin"})
	r.RemoteAddr = client
	w := httptest.NewRecorder()
	b.handler.ServeHTTP(w, r)
	return w
}

// TestWrongSignInsAreLimited: the studio's sign-in draws on the same
// attempts as the API's token: after attemptBurst wrong tokens (some
// through the API, some through the form) the form answers 429 with
// Retry-After and the page saying when to retry, JSON sign-in a JSON 429,
// neither setting a cookie even for the right token; after the window the
// right token signs in.
func TestWrongSignInsAreLimited(t *testing.T) {
	b, clock := limitedRoutes(t)
	const client = "198.51.100.8:4000"
	if w := apiGet(b, client, "Bearer guess"); w.Code != http.StatusUnauthorized {
		t.Fatalf("wrong API token: %d", w.Code)
	}
	for i := 1; i < attemptBurst; i++ {
		if w := signInFrom(b, client, "guess", false); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "Wrong token") {
			t.Fatalf("wrong sign-in %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := signInFrom(b, client, testToken, false)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), "Try again in 60 s") ||
		len(w.Result().Cookies()) != 0 {
		t.Fatalf("sign-in over the limit: %d %v %s", w.Code, w.Header(), w.Body)
	}
	w = signInFrom(b, client, testToken, true)
	var body struct{ Error struct{ Code string } }
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" ||
		json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error.Code != "TooManyRequests" || len(w.Result().Cookies()) != 0 {
		t.Fatalf("JSON sign-in over the limit: %d %v %s", w.Code, w.Header(), w.Body)
	}
	clock.Add(time.Minute)
	w = signInFrom(b, client, testToken, false)
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) == 0 {
		t.Fatalf("right token after the window: %d %s", w.Code, w.Body)
	}
}
