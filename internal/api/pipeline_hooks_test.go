package api

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/githost"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// TestIsPipelineHook: only a POST to exactly a pipeline's hooks path skips
// the token.
func TestIsPipelineHook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		want         bool
	}{
		{"POST", "/api/v1/workspaces/ws/pipelines/ext/hooks", true},
		{"GET", "/api/v1/workspaces/ws/pipelines/ext/hooks", false},
		{"POST", "/api/v1/workspaces/ws/pipelines/ext/runs", false},
		{"POST", "/api/v1/workspaces/ws/pipelines/ext/hooks/x", false},
		{"POST", "/api/v1/workspaces/ws/pipelines/../hooks", false},
		{"POST", "/api/v1/workspaces/ws/pipelines//hooks", false},
		{"POST", "/api/v1/workspaces/ws/pipelines/ext", false},
		{"POST", "/x/api/v1/workspaces/ws/pipelines/ext/hooks", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "http://127.0.0.1"+tt.path, nil)
		r.URL.Path = tt.path
		if got := isPipelineHook(r); got != tt.want {
			t.Errorf("isPipelineHook(%s %s) = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}

// TestPullRequestHookBadSignature: a pull_request event signed with the
// wrong key is refused before anything is read or fetched.
func TestPullRequestHookBadSignature(t *testing.T) {
	t.Parallel()
	s, tb := setup(t)
	h, err := githost.New(githost.Config{Dir: filepath.Join(tb.home, "git"), Prefix: "/git/"})
	if err != nil {
		t.Fatal(err)
	}
	cs := s.st.(*sqldb.Store).CICD()
	if s.cicd, err = cicd.New(cicd.Config{Store: cs, Repos: h, Dir: filepath.Join(tb.home, "cicd")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cicd.Close)
	if _, err := cs.CreatePipeline(t.Context(), cicd.Pipeline{Workspace: "ws", Name: "ext", Repository: "ext-ext",
		YAMLPath: "azure-pipelines.yml", RepositoryURL: "https://github.com/o/r.git", WebhookSecret: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	body := `{"action":"opened","number":1,"pull_request":{"head":{"sha":"` + strings.Repeat("a", 40) + `","ref":"f"},"base":{"ref":"main"}}}`
	r := httptest.NewRequestWithContext(t.Context(), "POST", "/api/v1/workspaces/ws/pipelines/ext/hooks", strings.NewReader(body))
	r.Header.Set("X-GitHub-Event", "pull_request")
	r.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("00", 32))
	r.SetPathValue("ws", "ws")
	r.SetPathValue("name", "ext")
	if _, err := s.pipelineHook(httptest.NewRecorder(), r); status(err) != http.StatusUnauthorized {
		t.Errorf("pull_request with a bad signature: %v (status %d), want 401", err, status(err))
	}
}
