package guard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/guard"
)

// TestSessionCookie: a session stands for the token only on requests the
// server's own pages make, and form posts are taken on the form routes
// from those pages only.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	const own = "http://127.0.0.1:7311"
	var bySession bool
	h := guard.New(guard.Config{
		Token: "s3cret", ListenAddr: "127.0.0.1:7311", AllowedOrigins: []string{"https://friend.example"},
		Session:  func(r *http.Request) bool { c, err := r.Cookie("s"); return err == nil && c.Value == "ok" },
		IsForm:   func(r *http.Request) bool { return r.URL.Path == "/login" },
		IsPublic: func(r *http.Request) bool { return r.URL.Path == "/login" },
	}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { bySession = guard.BySession(r) }))
	form, json := "application/x-www-form-urlencoded", "application/json"
	tests := []struct {
		name                                string
		method, path, cookie, origin, ctype string
		site, mode                          string
		auth                                string
		want                                int
		bySession                           bool
	}{
		{"session GET from the studio", "GET", "/x", "ok", "", "", "same-origin", "cors", "", 200, true},
		{"session GET from no browser", "GET", "/x", "ok", "", "", "", "", "", 200, true},
		{"session POST from the studio", "POST", "/x", "ok", own, json, "same-origin", "cors", "", 200, true},
		{"token beats the session", "POST", "/x", "ok", "", json, "", "", "Bearer s3cret", 200, false},
		{"forged session", "GET", "/x", "forged", "", "", "same-origin", "cors", "", 401, false},
		{"session POST without Origin", "POST", "/x", "ok", "", json, "", "", "", 403, false},
		{"session POST from an allowed origin", "POST", "/x", "ok", "https://friend.example", json, "cross-site", "cors", "", 403, false},
		{"session fetch from a sibling site", "GET", "/x", "ok", "", "", "same-site", "cors", "", 403, false},
		{"session link from a sibling site", "GET", "/x", "ok", "", "", "same-site", "navigate", "", 200, true},
		{"form to the sign-in from the studio", "POST", "/login", "", own, form, "same-origin", "navigate", "", 200, false},
		{"form to the sign-in without Origin", "POST", "/login", "", "", form, "", "", "", 403, false},
		{"form to the sign-in from a friend", "POST", "/login", "", "https://friend.example", form, "cross-site", "navigate", "", 403, false},
		{"form elsewhere from the studio", "POST", "/x", "ok", own, form, "same-origin", "navigate", "", 415, false},
		{"text/plain to the sign-in", "POST", "/login", "", own, "text/plain", "same-origin", "cors", "", 415, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}"))
		r.Host = "127.0.0.1:7311"
		for k, v := range map[string]string{"Origin": tt.origin, "Content-Type": tt.ctype, "Sec-Fetch-Site": tt.site,
			"Sec-Fetch-Mode": tt.mode, "Authorization": tt.auth} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		if tt.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "s", Value: tt.cookie})
		}
		bySession = false
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want || bySession != tt.bySession {
			t.Errorf("%s: %d (by session %v), want %d (%v): %s", tt.name, w.Code, bySession, tt.want, tt.bySession, w.Body)
		}
	}
}
