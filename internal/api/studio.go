package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ciel-mlops/ciel/internal/authlimit"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/ui"
)

// apiRoots are the first path segments of the programs' APIs: ciel's
// (/api/v1), MLflow's (/ws/{ws}/..., and its workspace-less paths that
// answer how to set the tracking URI), git's and the profiler's. Every
// other GET is a page of the studio.
var apiRoots = map[string]bool{"api": true, "ajax-api": true, "ws": true, "git": true, "debug": true}

// studioRoutes serves the studio: its sign-in, its files, and its pages at
// every path no API claims (the app routes them), including each
// workspace's MLflow tracking URI, where MLflow's printed links land
// (<tracking URI>/#/experiments/<id>/runs/<run>).
func (s *server) studioRoutes(mux *routeMux) {
	if s.studio == nil {
		return
	}
	mux.Handle("GET /login", http.HandlerFunc(s.studio.ServeLogin))
	mux.Handle("POST /login", http.HandlerFunc(s.studio.Login))
	mux.Handle("POST /logout", http.HandlerFunc(s.studio.Logout))
	mux.Handle("GET /ws/{ws}", http.HandlerFunc(s.studio.ServeIndex))
	mux.Handle("GET /ws/{ws}/{$}", http.HandlerFunc(s.studio.ServeIndex))
}

// notFound answers a path no route serves: the studio's page or file for
// a GET outside the APIs, else the API's 404.
func (s *server) notFound() http.Handler {
	apiNotFound := s.wrap(func(http.ResponseWriter, *http.Request) (any, error) {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", msg: "no such API route"}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.studio != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && isStudioPath(r.URL.Path) {
			s.studio.ServeApp(w, r)
			return
		}
		apiNotFound.ServeHTTP(w, r)
	})
}

// isStudioPath reports whether p is a studio page rather than an API path:
// outside the API roots, or a workspace's tracking URI itself.
func isStudioPath(p string) bool {
	seg := strings.Split(p, "/")
	if len(seg) < 2 || !apiRoots[seg[1]] {
		return true
	}
	return matchSegments(seg, "", "ws", "*") || matchSegments(seg, "", "ws", "*", "")
}

// isStudioSignIn tells the sign-in and sign-out requests: they need no
// token (they are how a browser gets and drops its session).
func isStudioSignIn(r *http.Request) bool {
	switch r.URL.Path {
	case "/login":
		return r.Method == http.MethodGet || r.Method == http.MethodPost
	case "/logout":
		return r.Method == http.MethodPost
	}
	return false
}

// isStudioForm tells the studio's form posts, which may carry a form's
// content type (from the server's own pages only; the guard checks).
func isStudioForm(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/login" || r.URL.Path == "/logout")
}

// wantsPage reports whether a refused request is a browser opening a
// studio page, which gets the sign-in page rather than a JSON error.
func wantsPage(r *http.Request) bool {
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !isStudioPath(r.URL.Path) {
		return false
	}
	return r.Header.Get("Sec-Fetch-Mode") == "navigate" || strings.Contains(r.Header.Get("Accept"), "text/html")
}

// rejectPage answers a refusal: a browser opening a studio page without a
// session gets the sign-in page (401), which returns to the page after;
// everything else gets the API's refusal.
func (s *server) rejectPage(w http.ResponseWriter, r *http.Request, e *guard.Error) {
	if s.studio != nil && e.Status == http.StatusUnauthorized && wantsPage(r) {
		s.studio.LoginPage(w, http.StatusUnauthorized, r.URL.RequestURI(), "")
		return
	}
	reject(w, r, e)
}

// newStudio returns the studio of a server configured with cfg: its
// sessions need the token, its cookies are Secure when clients reach it
// over https, and its sign-in draws on attempts, which the guard shares.
func newStudio(cfg Config, attempts *authlimit.Limiter) (*ui.Studio, error) {
	secure := false
	if u, err := url.Parse(cfg.ExternalURL); err == nil && u.Scheme == "https" {
		secure = true
	}
	return ui.New(ui.Config{Token: cfg.Token, Secure: secure, Attempts: attempts})
}

// studioURL is the studio page of an object of workspace ws:
// studioURL("w", "jobs", "j") is <base>/workspaces/w/jobs/j, the path of
// the object in the API without /api/v1.
func (s *server) studioURL(ws string, parts ...string) string {
	u := s.base + "/workspaces/" + url.PathEscape(ws)
	for _, p := range parts {
		u += "/" + url.PathEscape(p)
	}
	return u
}
