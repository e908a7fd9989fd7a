package api

import (
	"net/http/httptest"
	"testing"
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
