package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	artlocal "github.com/ciel-mlops/ciel/internal/artifacts/local"
	"github.com/ciel-mlops/ciel/internal/authlimit"
	"github.com/ciel-mlops/ciel/internal/batch"
	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// routeBundle is a server with every route registered, its patterns, and
// a count of requests that got past the guard.
type routeBundle struct {
	handler  http.Handler
	patterns []string
	reached  *atomic.Int64
	// s is the server behind handler.
	s *server
}

const testToken = "t0ken"

func setupRoutes(t *testing.T) routeBundle {
	t.Helper()
	return setupRoutesWith(t, nil)
}

// setupRoutesWith is setupRoutes with attempts limiting wrong tokens.
func setupRoutesWith(t *testing.T, attempts *authlimit.Limiter) routeBundle {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	st, err := sqldb.Open(context.Background(), sqldb.Config{Path: filepath.Join(dir, "ciel.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := bloblocal.Open(bloblocal.Config{Dir: filepath.Join(dir, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	builder, err := envs.New(envs.Config{Dir: filepath.Join(dir, "envs"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Home: dir, Token: testToken, Logger: log}
	arts, err := artlocal.New(filepath.Join(dir, "mlartifacts"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cfg: cfg, st: st, blobs: blobs, log: log, base: "http://127.0.0.1:7311", envs: builder, attempts: attempts,
		arts: artifactRoot{store: arts},
		tracking: tracking.NewHandler(tracking.Config{Store: st, Workspaces: st, Token: testToken, Logger: log,
			BaseURL: "http://127.0.0.1:7311", Artifacts: arts})}
	if s.serving, err = serving.New(serving.Config{Home: dir, Store: st, Assets: st, Blobs: blobs, Envs: builder,
		Models: registryModels{s}, Logger: log}); err != nil {
		t.Fatal(err)
	}
	s.batch = batch.New(batch.Config{Store: st, Assets: st, Blobs: blobs, Models: batchModels{s}})
	if s.studio, err = newStudio(cfg, attempts); err != nil {
		t.Fatal(err)
	}
	mux := s.routes()
	var reached atomic.Int64
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		mux.ServeHTTP(w, r)
	})
	return routeBundle{handler: s.newGuard("127.0.0.1:7311").Wrap(inner), patterns: mux.patterns, reached: &reached, s: s}
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// requestsFor returns a request for each method pattern serves, with its
// wildcards filled in.
func requestsFor(pattern string) []*http.Request {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if strings.HasSuffix(w, "...}") {
			return "a/b"
		}
		return "x"
	})
	if strings.HasSuffix(path, "/") {
		path += "x"
	}
	methods := []string{method}
	if method == "" {
		methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	}
	var out []*http.Request
	for _, m := range methods {
		r := httptest.NewRequest(m, path, strings.NewReader("{}"))
		r.Host = "127.0.0.1:7311"
		r.Header.Set("Content-Type", "application/json")
		out = append(out, r)
	}
	return out
}

// TestEveryRouteIsGuarded walks every registered route as an attacker
// would: with no token, with a web page's foreign Origin, through a DNS
// rebinding name, and as a cross-site text/plain form; no request reaches
// a handler, and each refusal is a JSON error body. Only the multipart
// part PUT, whose unguessable URL is its credential, needs no token.
func TestEveryRouteIsGuarded(t *testing.T) {
	b := setupRoutes(t)
	if len(b.patterns) < 100 {
		t.Fatalf("only %d routes registered; the walk would prove little", len(b.patterns))
	}
	attacks := []struct {
		name   string
		change func(r *http.Request)
		want   int
		skip   func(r *http.Request) bool
	}{
		{"no token", func(r *http.Request) {}, http.StatusUnauthorized, isPublic},
		{"token without Bearer", func(r *http.Request) { r.Header.Set("Authorization", testToken) }, http.StatusUnauthorized, isPublic},
		{"foreign Origin", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+testToken)
			r.Header.Set("Origin", "https://evil.example")
		}, http.StatusForbidden, nil},
		{"foreign Host", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+testToken)
			r.Host = "rebind.evil.example:7311"
		}, http.StatusForbidden, nil},
		{"another site's script tag or no-cors fetch", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+testToken)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			r.Header.Set("Sec-Fetch-Mode", "no-cors")
		}, http.StatusForbidden, nil},
		{"cross-site form", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+testToken)
			r.Header.Set("Content-Type", "text/plain")
		}, http.StatusUnsupportedMediaType, func(r *http.Request) bool { return r.Method != "POST" }},
	}
	n := 0
	for _, p := range b.patterns {
		for _, a := range attacks {
			for _, r := range requestsFor(p) {
				if a.skip != nil && a.skip(r) {
					continue
				}
				a.change(r)
				before := b.reached.Load()
				w := httptest.NewRecorder()
				b.handler.ServeHTTP(w, r)
				n++
				if w.Code != a.want {
					t.Errorf("%s: %s %s: status %d, want %d: %s", a.name, r.Method, r.URL.Path, w.Code, a.want, w.Body)
				}
				if b.reached.Load() != before {
					t.Errorf("%s: %s %s reached its handler", a.name, r.Method, r.URL.Path)
				}
				var body map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body) == 0 {
					t.Errorf("%s: %s %s: refusal is not a JSON object: %q", a.name, r.Method, r.URL.Path, w.Body)
				}
			}
		}
	}
	t.Logf("%d routes, %d refused requests", len(b.patterns), n)
}

// TestEveryRouteServesItsOwn is the control: with the token, from the
// server's own origin, every route's requests reach a handler.
func TestEveryRouteServesItsOwn(t *testing.T) {
	b := setupRoutes(t)
	for _, p := range b.patterns {
		if strings.Contains(p, "pprof") {
			continue
		}
		for _, r := range requestsFor(p) {
			r.Header.Set("Authorization", "Bearer "+testToken)
			r.Header.Set("Origin", "http://127.0.0.1:7311")
			if isUpload(r) && r.Method == "POST" {
				r.Header.Set("Content-Type", "application/x-tar")
			}
			before := b.reached.Load()
			w := httptest.NewRecorder()
			b.handler.ServeHTTP(w, r)
			if b.reached.Load() == before {
				t.Errorf("%s %s: refused with %d: %s", r.Method, r.URL.Path, w.Code, w.Body)
			}
		}
	}
}
