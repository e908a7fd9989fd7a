package ui

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func testStudio(t *testing.T) *Studio {
	t.Helper()
	js := strings.Repeat("console.log('studio');\n", 200)
	s, err := New(Config{Token: "tok", Files: fstest.MapFS{
		"index.html":                {Data: []byte("<!doctype html><title>app</title>")},
		"assets/index-BkQ3x9aZ.js":  {Data: []byte(js)},
		"favicon.svg":               {Data: []byte("<svg/>")},
		"assets/chunk-a1b2c3d4.css": {Data: []byte("body{}")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServeApp(t *testing.T) {
	s := testStudio(t)
	tests := []struct {
		path, accept string
		status       int
		body         string // a part of it
		cache        string
		encoding     string
	}{
		{"/", "", 200, "<title>app</title>", "no-cache", ""},
		{"/workspaces/w/jobs/bright_fox", "", 200, "<title>app</title>", "no-cache", ""},
		{"/workspaces/w/experiments/1/runs/abc", "", 200, "<title>app</title>", "no-cache", ""},
		{"/index.html", "", 200, "<title>app</title>", "no-cache", ""},
		{"/assets/index-BkQ3x9aZ.js", "", 200, "console.log", "public, max-age=31536000, immutable", ""},
		{"/assets/index-BkQ3x9aZ.js", "gzip, br", 200, "", "public, max-age=31536000, immutable", "gzip"},
		{"/assets/index-BkQ3x9aZ.js", "gzip;q=0", 200, "console.log", "public, max-age=31536000, immutable", ""},
		{"/favicon.svg", "gzip", 200, "<svg/>", "no-cache", ""},
		{"/assets/gone-12345678.js", "", 404, "no such studio file", "", ""},
		{"/favicon.ico", "", 204, "", "public, max-age=86400", ""},
		{"/../../etc/passwd", "", 200, "<title>app</title>", "no-cache", ""},
		{"/../index.html", "", 200, "<title>app</title>", "no-cache", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = tt.path
		if tt.accept != "" {
			r.Header.Set("Accept-Encoding", tt.accept)
		}
		w := httptest.NewRecorder()
		s.ServeApp(w, r)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) ||
			w.Header().Get("Cache-Control") != tt.cache || w.Header().Get("Content-Encoding") != tt.encoding {
			t.Errorf("%s (%s): %d %v %.40q", tt.path, tt.accept, w.Code, w.Header(), w.Body)
		}
		if tt.status == 200 && strings.HasSuffix(tt.body, "</title>") && w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s: page without a CSP", tt.path)
		}
	}
}

func TestServeAppRevalidates(t *testing.T) {
	s := testStudio(t)
	w := httptest.NewRecorder()
	s.ServeApp(w, httptest.NewRequest("GET", "/", nil))
	r := httptest.NewRequest("GET", "/jobs", nil)
	r.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w2 := httptest.NewRecorder()
	s.ServeApp(w2, r)
	if w.Header().Get("ETag") == "" || w2.Code != http.StatusNotModified {
		t.Errorf("index.html revalidation: etag %q, then %d", w.Header().Get("ETag"), w2.Code)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/workspaces/w/jobs/j":          "/workspaces/w/jobs/j",
		"/ws/w/#/experiments/1":         "/ws/w/#/experiments/1",
		"":                              "/",
		"//evil.example/x":              "/",
		"/\\evil.example":               "/",
		"https://evil.example":          "/",
		"/ok\r\nSet-Cookie: x=1":        "/",
		"javascript:alert(1)":           "/",
		"/" + strings.Repeat("a", 3000): "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessions(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newSessions("tok", func() time.Time { return now })
	v, _ := s.issue()
	req := func(v string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: v})
		return r
	}
	other := newSessions("another token", func() time.Time { return now })
	w, _ := other.issue()
	for _, tt := range []struct {
		name  string
		value string
		ok    bool
	}{
		{"issued", v, true},
		{"signed with another token", w, false},
		{"empty", "", false},
		{"garbage", "v1.x.y.z", false},
		{"longer expiry", strings.Replace(v, "v1.1700", "v1.1800", 1), false},
	} {
		if got := s.valid(req(tt.value)); got != tt.ok {
			t.Errorf("%s: valid = %v, want %v", tt.name, got, tt.ok)
		}
	}
	now = now.Add(SessionTTL)
	if s.valid(req(v)) {
		t.Error("an expired session is valid")
	}
	now = now.Add(-time.Hour)
	s.revoke(req(v))
	if s.valid(req(v)) {
		t.Error("a revoked session is valid")
	}
	if none := newSessions("", time.Now); none.valid(req(v)) {
		t.Error("a server with no token takes sessions")
	}
}

func TestLoginCookieSecure(t *testing.T) {
	for _, tt := range []struct {
		name   string
		secure bool // Config.Secure: an https external URL
		tls    bool
		want   bool
	}{{"plain http", false, false, false}, {"behind an https proxy", true, false, true}, {"over TLS", false, true, true}} {
		s, err := New(Config{Token: "tok", Secure: tt.secure})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/login", strings.NewReader(`{"token": "tok"}`))
		r.Header.Set("Content-Type", "application/json")
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		s.Login(w, r)
		cs := w.Result().Cookies()
		if w.Code != http.StatusNoContent || len(cs) != 1 || cs[0].Secure != tt.want {
			t.Errorf("%s: %d %v", tt.name, w.Code, cs)
		}
	}
}
