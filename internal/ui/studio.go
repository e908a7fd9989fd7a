package ui

import (
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Config configures a Studio.
type Config struct {
	// Token is the server's token; "" means the server needs none (it then
	// answers this machine only) and the studio has no sign-in.
	Token string
	// Secure marks session cookies Secure even on plain-HTTP requests: the
	// server is reached over https through a proxy (its external URL is
	// https). A request over TLS always gets a Secure cookie.
	Secure bool
	// Files is the built front end; nil means the bundle embedded in the
	// binary.
	Files fs.FS
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Attempts, when set, limits wrong tokens per client: a sign-in from
	// a client that has failed too often is refused with 429 and
	// Retry-After before its token is compared, and each wrong one counts.
	// The server shares it with the guard, so the API and the sign-in
	// page draw on the same attempts.
	Attempts Attempts
}

// Attempts counts failed credentials per client (authlimit.Limiter).
type Attempts interface {
	// Check reports whether r's client may present a credential now, and
	// if not, how long until it may.
	Check(r *http.Request) (retryAfter time.Duration, ok bool)
	// Fail records a wrong credential from r's client.
	Fail(r *http.Request)
}

// Studio serves the studio's pages, files and sign-in. Its methods may be
// called concurrently.
type Studio struct {
	token    string
	secure   bool
	assets   map[string]*asset
	index    *asset
	sessions *sessions
	attempts Attempts
}

// New loads the front end and returns the studio. The bundle must hold an
// index.html.
func New(cfg Config) (*Studio, error) {
	files := cfg.Files
	if files == nil {
		sub, err := fs.Sub(dist, "dist")
		if err != nil {
			return nil, fmt.Errorf("open embedded studio: %w", err)
		}
		files = sub
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	assets, err := loadAssets(files)
	if err != nil {
		return nil, err
	}
	index := assets["index.html"]
	if index == nil {
		return nil, fmt.Errorf("studio bundle has no index.html")
	}
	return &Studio{token: cfg.Token, secure: cfg.Secure, assets: assets, index: index,
		sessions: newSessions(cfg.Token, cfg.Now), attempts: cfg.Attempts}, nil
}

// ServeApp answers a GET or HEAD of a studio path: the bundle's file of
// that name, or index.html for any other path, so that a deep link
// (/workspaces/w/jobs/j) opens the app, which routes it. A missing file
// name with an extension ("/assets/gone.js") is a 404: answering HTML
// where a script was asked for only hides the fault.
func (s *Studio) ServeApp(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if a := s.assets[p]; a != nil && fs.ValidPath(p) {
		a.serve(w, r)
		return
	}
	if p == "favicon.ico" {
		// Browsers ask for it on every site; a bundle without one answers
		// nothing rather than a 404 each page logs.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if p != "" && strings.Contains(path.Base(p), ".") {
		http.Error(w, "no such studio file", http.StatusNotFound)
		return
	}
	s.index.serve(w, r)
}

// ServeIndex answers the app's index.html whatever the path: MLflow's
// links (<tracking URI>/#/experiments/1/runs/abc) put the page to open in
// the fragment, which only the app sees.
func (s *Studio) ServeIndex(w http.ResponseWriter, r *http.Request) { s.index.serve(w, r) }

// HasSession reports whether r carries a valid session cookie. It says
// nothing of where the request comes from: the guard checks that.
func (s *Studio) HasSession(r *http.Request) bool { return s.sessions.valid(r) }
