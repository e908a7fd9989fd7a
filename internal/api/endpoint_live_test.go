package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/store"
)

// call sends an API request with the token and returns the status and
// body.
func (b routeBundle) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Host = "127.0.0.1:7311"
	r.Header.Set("Authorization", "Bearer "+testToken)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	b.handler.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// liveBundle is a server with its scoring listener up, a workspace "w"
// and an endpoint "ep-1" with no deployment.
func liveBundle(t *testing.T) routeBundle {
	t.Helper()
	b := setupRoutes(t)
	if err := b.s.serving.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.s.serving.Close(ctx)
	})
	for _, c := range []struct{ path, body string }{
		{"/api/v1/workspaces", `{"name":"w"}`},
		{"/api/v1/workspaces/w/online-endpoints", `{"name":"ep-1","auth_mode":"key"}`},
	} {
		if code, body := b.call(t, "POST", c.path, c.body); code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", c.path, code, body)
		}
	}
	return b
}

// wrongKey scores endpoint ep-1 with a wrong key: the front end answers 401
// and counts it for the requests that reached no deployment.
func wrongKey(t *testing.T, b routeBundle) {
	t.Helper()
	req, _ := http.NewRequest("POST", b.s.serving.ScoringURI("ep-1"), strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer nope")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", resp.StatusCode)
	}
}

func TestEndpointMetricsSnapshot(t *testing.T) {
	t.Parallel()
	b := liveBundle(t)
	wrongKey(t, b)
	wrongKey(t, b)
	code, body := b.call(t, "GET", "/api/v1/workspaces/w/online-endpoints/ep-1/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var m EndpointMetrics
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if m.Endpoint != "ep-1" || len(m.Deployments) != 1 || len(m.Bounds) == 0 {
		t.Fatalf("metrics %s", body)
	}
	d := m.Deployments[0]
	var inBuckets int64
	for _, n := range d.Buckets {
		inBuckets += n
	}
	if d.Deployment != "" || d.RequestsTotal != 2 || d.ErrorsTotal != 2 || inBuckets != 2 || len(d.Buckets) != len(m.Bounds)+1 {
		t.Errorf("counters %+v", d)
	}
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/api/v1/workspaces/w/online-endpoints/nope/metrics", http.StatusNotFound},
		{"/api/v1/workspaces/nope/online-endpoints/ep-1/metrics", http.StatusNotFound},
		{"/api/v1/workspaces/w/online-endpoints/nope/metrics/stream", http.StatusNotFound},
		{"/api/v1/workspaces/w/online-endpoints/ep-1/deployments/nope/logs?follow=true", http.StatusNotFound},
	} {
		if code, body := b.call(t, "GET", tt.path, ""); code != tt.want || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s: %d %s, want %d with a JSON error", tt.path, code, body, tt.want)
		}
	}
}

// TestEndpointMetricsStream reads the stream as a browser would and sees
// the requests sent after it opened as a rate, all of them errors.
func TestEndpointMetricsStream(t *testing.T) {
	t.Parallel()
	b := liveBundle(t)
	srv := httptest.NewServer(b.handler)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/workspaces/w/online-endpoints/ep-1/metrics/stream", nil)
	req.Host = "127.0.0.1:7311"
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for range 3 {
		wrongKey(t, b)
	}
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || event != "sample" {
			continue
		}
		var s MetricsSample
		if err := json.Unmarshal([]byte(data), &s); err != nil {
			t.Fatalf("sample %q: %v", data, err)
		}
		if s.Endpoint != "ep-1" || s.Seconds <= 0 {
			t.Fatalf("sample %s", data)
		}
		var seen int64
		for _, d := range s.Deployments {
			seen += d.RequestsTotal
			if d.RequestsPerSecond > 0 {
				if d.ErrorRate != 1 || d.P50Ms == nil || *d.P50Ms <= 0 {
					t.Fatalf("sample %s: want errors only, with a latency", data)
				}
				return
			}
		}
		if seen >= 3 {
			t.Fatalf("3 requests counted but no rate: %s", data)
		}
	}
	t.Fatalf("stream ended with no rate: %v", sc.Err())
}

func TestEnvironmentBuildLog(t *testing.T) {
	t.Parallel()
	b := setupRoutes(t)
	conda := "dependencies:\n  - python=3.11\n  - pip:\n      - requests\n"
	for _, c := range []struct{ path, body string }{
		{"/api/v1/workspaces", `{"name":"w"}`},
		{"/api/v1/workspaces/w/environments", `{"name":"built","version":"1","conda_file":` + jsonString(conda) + `}`},
		{"/api/v1/workspaces/w/environments", `{"name":"never","version":"1","conda_file":"dependencies:\n  - pip:\n      - six\n"}`},
		{"/api/v1/workspaces/w/environments", `{"name":"host","version":"1","image":"python:3.11"}`},
		{"/api/v1/workspaces/w/environments", `{"name":"docker","version":"1","build_path":"blob:sha256:0000000000000000000000000000000000000000000000000000000000000000"}`},
	} {
		if code, body := b.call(t, "POST", c.path, c.body); code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", c.path, code, body)
		}
	}
	// What a build writes: the log of the environment's content key.
	path := b.s.envs.LogPath(envs.Spec{CondaFile: conda})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("building environment abc\nenvironment ready in 1.0s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A Docker build context is made concrete when a job is planned: the
	// log is the one of the conda file the job's plan holds.
	planned := "dependencies:\n  - pip:\n      - flask\n"
	plan, _ := json.Marshal(engine.Plan{Steps: []*engine.PlanStep{{Name: "main", Env: engine.EnvPlan{Name: "docker", Version: "1", CondaFile: planned}}}})
	if err := b.s.st.CreateJob(context.Background(), store.Job{Workspace: "w", Name: "j1", Type: "command", Status: "Completed",
		Spec: json.RawMessage(`{}`), Plan: plan, CreatedAt: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.s.envs.LogPath(envs.Spec{CondaFile: planned}), []byte("installed flask\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"docker context, from the job's plan", "/api/v1/workspaces/w/environments/docker/versions/1/build-log", 200, "installed flask\n"},
		{"built", "/api/v1/workspaces/w/environments/built/versions/1/build-log", 200, "environment ready in 1.0s\n"},
		{"not built yet", "/api/v1/workspaces/w/environments/never/versions/1/build-log", 404, "has not been built on this server yet"},
		{"image only", "/api/v1/workspaces/w/environments/host/versions/1/build-log", 404, "runs it on the host's Python"},
		{"no such version", "/api/v1/workspaces/w/environments/built/versions/2/build-log", 404, "environment built:2 not found"},
		{"no such workspace", "/api/v1/workspaces/nope/environments/built/versions/1/build-log", 404, "workspace \\\"nope\\\" not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := b.call(t, "GET", tt.path, "")
			if code != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("%d %s, want %d with %q", code, body, tt.status, tt.want)
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
