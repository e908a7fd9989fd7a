package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/ui"
)

const ownOrigin = "http://127.0.0.1:7311"

// studioRequest builds a request to the test server as a browser on the
// studio's page would send it, with headers as given.
func studioRequest(method, path, body string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Host = "127.0.0.1:7311"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

// signIn posts the login form with token and returns the answer.
func signIn(t *testing.T, b routeBundle, token string) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"token": {token}, "next": {"/workspaces/w/jobs/j"}}.Encode()
	w := httptest.NewRecorder()
	b.handler.ServeHTTP(w, studioRequest("POST", "/login", form, map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Origin": ownOrigin, "Sec-Fetch-Site": "same-origin"}))
	return w
}

// sessionCookie signs in with the right token and returns the cookie.
func sessionCookie(t *testing.T, b routeBundle) *http.Cookie {
	t.Helper()
	w := signIn(t, b, testToken)
	for _, c := range w.Result().Cookies() {
		if c.Name == ui.CookieName && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in set no session cookie: %d %s", w.Code, w.Body)
	return nil
}

func TestStudioSignIn(t *testing.T) {
	b := setupRoutes(t)
	if w := signIn(t, b, "wrong"); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "Wrong token") ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || len(w.Result().Cookies()) != 0 {
		t.Fatalf("wrong token: %d %v %s", w.Code, w.Header(), w.Body)
	}
	w := signIn(t, b, testToken)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/workspaces/w/jobs/j" {
		t.Fatalf("right token: %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	c := w.Result().Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie attributes: %+v", c)
	}
	if strings.Contains(c.Value, testToken) {
		t.Errorf("cookie holds the token in clear: %q", c.Value)
	}
}

func TestStudioSessionCookie(t *testing.T) {
	b := setupRoutes(t)
	good := sessionCookie(t, b)
	forged := *good
	forged.Value = good.Value[:len(good.Value)-2] + "AA"
	if forged.Value == good.Value {
		forged.Value = good.Value[:len(good.Value)-2] + "BB"
	}
	json := "application/json"
	tests := []struct {
		name   string
		method string
		path   string
		cookie *http.Cookie
		hdr    map[string]string
		want   int  // status; 0: any the handler gives
		reach  bool // the request reaches a handler
		page   bool // the answer is the sign-in page
	}{
		{"cookie reads the API", "GET", "/api/v1/workspaces", good, map[string]string{"Sec-Fetch-Site": "same-origin"}, 200, true, false},
		{"cookie reads MLflow's API", "GET", "/ws/w/api/2.0/mlflow/experiments/search?max_results=1", good,
			map[string]string{"Sec-Fetch-Site": "same-origin"}, 0, true, false},
		{"cookie opens a deep link", "GET", "/workspaces/w/jobs/j", good,
			map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Accept": "text/html"}, 200, true, false},
		{"cookie posts from the studio", "POST", "/api/v1/workspaces", good,
			map[string]string{"Origin": ownOrigin, "Content-Type": json, "Sec-Fetch-Site": "same-origin"}, 0, true, false},
		{"no cookie: JSON 401", "GET", "/api/v1/workspaces", nil, nil, 401, false, false},
		{"no cookie: a page is the sign-in", "GET", "/workspaces/w/jobs/j", nil,
			map[string]string{"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}, 401, false, true},
		{"forged cookie refused", "GET", "/api/v1/workspaces", &forged, map[string]string{"Sec-Fetch-Site": "same-origin"}, 401, false, false},
		{"forged cookie on a page", "GET", "/ws/w/", &forged, map[string]string{"Accept": "text/html"}, 401, false, true},
		{"cross-origin POST with a valid cookie", "POST", "/api/v1/workspaces", good,
			map[string]string{"Origin": "https://evil.example", "Content-Type": json, "Sec-Fetch-Site": "cross-site"}, 403, false, false},
		{"POST with a valid cookie and no Origin", "POST", "/api/v1/workspaces", good,
			map[string]string{"Content-Type": json}, 403, false, false},
		{"same-site fetch with a valid cookie", "GET", "/api/v1/workspaces", good,
			map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}, 403, false, false},
		{"same-site link followed with a valid cookie", "GET", "/workspaces/w/jobs/j", good,
			map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate", "Accept": "text/html"}, 200, true, false},
		{"cross-site form to the API with a valid cookie", "POST", "/api/v1/workspaces", good,
			map[string]string{"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"}, 403, false, false},
		{"cross-site login form", "POST", "/login", nil,
			map[string]string{"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"}, 403, false, false},
		{"login form without Origin", "POST", "/login", nil,
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 403, false, false},
		{"text/plain login", "POST", "/login", nil,
			map[string]string{"Origin": ownOrigin, "Content-Type": "text/plain"}, 415, false, false},
		{"form posts only to the sign-in", "POST", "/api/v1/workspaces", good,
			map[string]string{"Origin": ownOrigin, "Content-Type": "application/x-www-form-urlencoded"}, 415, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := studioRequest(tt.method, tt.path, "{}", tt.hdr)
			if tt.cookie != nil {
				r.AddCookie(tt.cookie)
			}
			before := b.reached.Load()
			w := httptest.NewRecorder()
			b.handler.ServeHTTP(w, r)
			if tt.want != 0 && w.Code != tt.want {
				t.Errorf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == 0 && (w.Code == 401 || w.Code == 403) {
				t.Errorf("refused with %d: %s", w.Code, w.Body)
			}
			if reached := b.reached.Load() != before; reached != tt.reach {
				t.Errorf("reached a handler: %v, want %v", reached, tt.reach)
			}
			if page := strings.Contains(w.Body.String(), `action="/login"`); page != tt.page {
				t.Errorf("sign-in page: %v, want %v: %s", page, tt.page, w.Body)
			}
		})
	}
}

func TestStudioSignOut(t *testing.T) {
	b := setupRoutes(t)
	c := sessionCookie(t, b)
	r := studioRequest("POST", "/logout", "", map[string]string{"Origin": ownOrigin, "Content-Type": "application/x-www-form-urlencoded"})
	r.AddCookie(c)
	w := httptest.NewRecorder()
	b.handler.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d %v", w.Code, w.Header())
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Value != "" || cs[0].MaxAge >= 0 {
		t.Errorf("logout does not clear the cookie: %v", cs)
	}
	r = studioRequest("GET", "/api/v1/workspaces", "", nil)
	r.AddCookie(c)
	w = httptest.NewRecorder()
	b.handler.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("a signed-out cookie still works: %d", w.Code)
	}
}
