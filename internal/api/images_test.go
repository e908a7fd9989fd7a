package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/imagestore"
)

// TestImageRoutesNeedThePullToken: the image routes, which the guard lets
// through without the server token, refuse a request without the pull
// token, or with the server token in its place, with the OCI error body
// and a Basic challenge; with the pull token they answer.
func TestImageRoutesNeedThePullToken(t *testing.T) {
	b := setupRoutes(t)
	m := strings.Repeat("ab", 32)
	paths := []string{"/v2/", "/v2/ciel/env/" + m + "/manifests/latest", "/v2/ciel/env/" + m + "/blobs/sha256:" + m}
	tests := []struct {
		name   string
		auth   func(r *http.Request)
		status int
		code   string
	}{
		{"no credentials", func(r *http.Request) {}, 401, "UNAUTHORIZED"},
		{"the server token as Bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }, 401, "UNAUTHORIZED"},
		{"the server token as Basic password", func(r *http.Request) { r.SetBasicAuth("ciel", testToken) }, 401, "UNAUTHORIZED"},
		{"a wrong pull token", func(r *http.Request) { r.SetBasicAuth("ciel", imagestore.PullToken("other")) }, 401, "UNAUTHORIZED"},
		{"the pull token", func(r *http.Request) { r.SetBasicAuth("ciel", imagestore.PullToken(testToken)) }, 0, ""},
	}
	for _, tt := range tests {
		for _, p := range paths {
			for _, method := range []string{"GET", "HEAD"} {
				r := httptest.NewRequest(method, p, nil)
				r.Host = "127.0.0.1:7311"
				tt.auth(r)
				w := httptest.NewRecorder()
				b.handler.ServeHTTP(w, r)
				if tt.status == 0 {
					// Past the check: the ping answers 200, the unknown
					// manifest 404 MANIFEST_UNKNOWN.
					if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
						t.Errorf("%s: %s %s: %d %s", tt.name, method, p, w.Code, w.Body)
					}
					continue
				}
				if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != `Basic realm="ciel"` {
					t.Errorf("%s: %s %s: %d, challenge %q", tt.name, method, p, w.Code, w.Header().Get("WWW-Authenticate"))
				}
				if method == "HEAD" {
					continue
				}
				var body struct {
					Errors []struct{ Code string } `json:"errors"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 || body.Errors[0].Code != tt.code {
					t.Errorf("%s: %s %s: body %s", tt.name, method, p, w.Body)
				}
			}
		}
	}
	r := httptest.NewRequest("GET", "/v2/ciel/env/"+m+"/manifests/latest", nil)
	r.Host = "127.0.0.1:7311"
	r.SetBasicAuth("ciel", imagestore.PullToken(testToken))
	w := httptest.NewRecorder()
	b.handler.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "MANIFEST_UNKNOWN") {
		t.Errorf("unknown manifest with the pull token: %d %s", w.Code, w.Body)
	}
}
