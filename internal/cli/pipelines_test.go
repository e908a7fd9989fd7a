package cli

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/client"
)

// pipelineServer is a stand-in for the pipelines API, recording what the
// CLI sends; run 7 succeeded, run 8 failed, and artifact "evil" holds an
// entry named ../x.
type pipelineServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string          // "METHOD path?query"
	bodies   map[string]string // "METHOD path" -> body
}

var (
	testQueued   = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	testPipeline = client.Pipeline{ID: 3, Name: "churn-ci", Path: `\`,
		Repository: client.PipelineRepository{Name: "churn", Type: "TfsGit"},
		Process:    client.PipelineProcess{YAMLFilename: "azure-pipelines.yml"}}
)

func testRun(id int64, result string) client.PipelineRun {
	start, finish := testQueued.Add(time.Second), testQueued.Add(66*time.Second)
	stepEnd := start.Add(1500 * time.Millisecond)
	r := client.PipelineRun{ID: id, BuildNumber: "20250102.1", Status: "completed", Result: result, Reason: "manual",
		SourceBranch: "refs/heads/main", SourceVersion: "0123456789abcdef0123456789abcdef01234567",
		QueueTime: testQueued, StartTime: &start, FinishTime: &finish,
		Definition: client.RunDefinition{ID: 3, Name: "churn-ci"},
		Jobs: []client.RunJob{{Stage: "Build", Name: "train", Status: "completed", Result: result, StartTime: &start, FinishTime: &finish,
			Steps: []client.RunStep{{Name: "script", DisplayName: "Train model", Status: result, StartTime: &start, FinishTime: &stepEnd}}}}}
	if result == "failed" {
		r.Jobs[0].Steps[0].Error = "exit code 1"
	}
	return r
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newPipelineServer(t *testing.T) *pipelineServer {
	t.Helper()
	s := &pipelineServer{bodies: map[string]string{}}
	const ws = "/api/v1/workspaces/ws"
	runs := map[string]client.PipelineRun{"7": testRun(7, "succeeded"), "8": testRun(8, "failed")}
	artifacts := map[string][]byte{
		"model": tarOf(t, map[string]string{"model/weights.bin": "w", "metrics.json": "{}"}),
		"evil":  tarOf(t, map[string]string{"../x": "gotcha"}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ws+"/pipelines", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeJSON(w, testPipeline)
	})
	mux.HandleFunc("GET "+ws+"/pipelines", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeJSON(w, []client.Pipeline{testPipeline})
	})
	mux.HandleFunc("GET "+ws+"/pipelines/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		if r.PathValue("name") != testPipeline.Name {
			writeError(w, http.StatusNotFound, "pipeline "+r.PathValue("name")+" not found")
			return
		}
		writeJSON(w, testPipeline)
	})
	mux.HandleFunc("DELETE "+ws+"/pipelines/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+ws+"/pipelines/{name}/runs", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeJSON(w, client.PipelineRun{ID: 9, Status: "notStarted", Reason: "manual", SourceBranch: "refs/heads/dev",
			QueueTime: testQueued, Definition: client.RunDefinition{ID: 3, Name: r.PathValue("name")}})
	})
	mux.HandleFunc("GET "+ws+"/pipeline-runs", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeJSON(w, []client.PipelineRun{runs["8"], runs["7"]})
	})
	mux.HandleFunc("GET "+ws+"/pipeline-runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		run, ok := runs[r.PathValue("id")]
		if !ok {
			writeError(w, http.StatusNotFound, "run "+r.PathValue("id")+" not found")
			return
		}
		writeJSON(w, run)
	})
	mux.HandleFunc("POST "+ws+"/pipeline-runs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		run := runs[r.PathValue("id")]
		run.Status, run.Result = "cancelling", ""
		writeJSON(w, run)
	})
	mux.HandleFunc("GET "+ws+"/pipeline-runs/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		io.WriteString(w, "##[section]Starting: Train model\ntraining...\n")
	})
	mux.HandleFunc("GET "+ws+"/pipeline-runs/{id}/artifacts", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeJSON(w, []client.RunArtifact{{Name: "model", Resource: client.ArtifactResource{Type: "Container", Files: 2, Size: 3}}})
	})
	mux.HandleFunc("GET "+ws+"/pipeline-runs/{id}/artifacts/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		b, ok := artifacts[r.PathValue("name")]
		if !ok {
			writeError(w, http.StatusNotFound, "no artifact "+r.PathValue("name"))
			return
		}
		w.Write(b)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *pipelineServer) record(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.bodies[r.Method+" "+r.URL.Path] = string(b)
}

func (s *pipelineServer) saw(req string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.requests {
		if r == req {
			return true
		}
	}
	return false
}

func (s *pipelineServer) body(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[key]
}

func setupPipelineServer(t *testing.T) (*testBundle, *pipelineServer) {
	t.Helper()
	tb := setup(t)
	s := newPipelineServer(t)
	tb.env["CIEL_URL"] = s.URL
	return tb, s
}

func TestPipelinesCommands(t *testing.T) {
	t.Parallel()
	const api = "/api/v1/workspaces/ws"
	tests := []struct {
		name     string
		args     []string
		stdin    string
		request  string // a request the CLI must send
		body     string // its body, when not empty
		want     []string
		wantNot  []string
		wantCode int
	}{
		{name: "create default yaml", args: []string{"pipelines", "create", "--name", "churn-ci", "--repository", "churn"},
			request: "POST " + api + "/pipelines", body: `{"name":"churn-ci","repository":"churn","yamlPath":"azure-pipelines.yml"}`,
			want: []string{`"yamlFilename": "azure-pipelines.yml"`, `"repository": {`}},
		{name: "create yaml path", args: []string{"pipelines", "create", "--name", "churn-ci", "--repository", "churn", "--yaml-path", "ci/train.yml"},
			request: "POST " + api + "/pipelines", body: `{"name":"churn-ci","repository":"churn","yamlPath":"ci/train.yml"}`},
		{name: "list table", args: []string{"pipelines", "list"}, request: "GET " + api + "/pipelines",
			want: []string{"ID  Name      Repository  YAML", "3   churn-ci  churn       azure-pipelines.yml"}},
		{name: "show", args: []string{"pipelines", "show", "--name", "churn-ci"}, request: "GET " + api + "/pipelines/churn-ci",
			want: []string{`"id": 3`, `"name": "churn-ci"`}},
		{name: "show missing", args: []string{"pipelines", "show", "--name", "nope"}, wantCode: ExitFailure},
		{name: "delete yes", args: []string{"pipelines", "delete", "--name", "churn-ci", "--yes"}, request: "DELETE " + api + "/pipelines/churn-ci"},
		{name: "delete confirmed", args: []string{"pipelines", "delete", "--name", "churn-ci"}, stdin: "y\n", request: "DELETE " + api + "/pipelines/churn-ci"},
		{name: "run az parameters", args: []string{"pipelines", "run", "--name", "churn-ci", "--branch", "dev", "--parameters", "epochs=5", "lr=0.01", "-o", "table"},
			request: "POST " + api + "/pipelines/churn-ci/runs", body: `{"branch":"dev","parameters":{"epochs":"5","lr":"0.01"}}`,
			want: []string{"ID  Pipeline  Status      Result  Branch  Commit  Queued", "9   churn-ci  notStarted          dev             2025-01-02T03:04:05Z"}},
		{name: "run plain", args: []string{"pipelines", "run", "--name", "churn-ci"},
			request: "POST " + api + "/pipelines/churn-ci/runs", body: `{}`, want: []string{`"status": "notStarted"`}},
		{name: "runs list top", args: []string{"pipelines", "runs", "list", "--pipeline-name", "churn-ci", "--top", "1"},
			request: "GET " + api + "/pipeline-runs?pipeline=churn-ci",
			want:    []string{"8   churn-ci  completed  failed  main    0123456  2025-01-02T03:04:05Z"}, wantNot: []string{"succeeded"}},
		{name: "runs list all", args: []string{"pipelines", "runs", "list"}, request: "GET " + api + "/pipeline-runs", want: []string{"failed", "succeeded"}},
		{name: "runs show json", args: []string{"pipelines", "runs", "show", "--id", "7"}, request: "GET " + api + "/pipeline-runs/7",
			want: []string{`"sourceBranch": "refs/heads/main"`, `"definition": {`, `"displayName": "Train model"`}},
		{name: "runs show table", args: []string{"pipelines", "runs", "show", "--id", "7", "-o", "table"},
			want: []string{"Job          Step         Status               Duration", "Build/train               completed/succeeded  1m5s", "             Train model  succeeded            1.5s"}},
		{name: "runs show stream succeeded", args: []string{"pipelines", "runs", "show", "--id", "7", "--stream"},
			request: "GET " + api + "/pipeline-runs/7/logs?follow=true",
			want:    []string{"Run: 7 (pipeline churn-ci)", "training...\n", "Run Summary", "Result: succeeded", "Train model"}},
		{name: "runs show stream failed", args: []string{"pipelines", "runs", "show", "--id", "8", "--stream"},
			request: "GET " + api + "/pipeline-runs/8/logs?follow=true", wantCode: ExitFailure,
			want: []string{"training...\n", "Result: failed", "completed/failed"}},
		{name: "runs cancel", args: []string{"pipelines", "runs", "cancel", "--id", "7", "-o", "table"},
			request: "POST " + api + "/pipeline-runs/7/cancel", want: []string{"cancelling"}},
		{name: "artifact list", args: []string{"pipelines", "runs", "artifact", "list", "--run-id", "7"},
			request: "GET " + api + "/pipeline-runs/7/artifacts", want: []string{"Name   Files  Size", "model  2      3"}},
		{name: "artifact list json", args: []string{"pipelines", "runs", "artifact", "list", "--run-id", "7", "-o", "json"},
			want: []string{`"resource": {`, `"files": 2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb, s := setupPipelineServer(t)
			r := tb.run(t, tt.stdin, append(tt.args, "-w", "ws")...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %v\n%s", r.code, tt.wantCode, r.err, r.stdout)
			}
			if tt.request != "" && !s.saw(tt.request) {
				t.Fatalf("no request %q; saw %q", tt.request, s.requests)
			}
			if tt.body != "" {
				method, rest, _ := strings.Cut(tt.request, " ")
				path, _, _ := strings.Cut(rest, "?")
				var got, want any
				_ = json.Unmarshal([]byte(s.body(method+" "+path)), &got)
				_ = json.Unmarshal([]byte(tt.body), &want)
				if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
					t.Fatalf("sent %s, want %s", g, w)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(r.stdout, w) {
					t.Errorf("output has %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPipelinesStreamFailedSaysWhy(t *testing.T) {
	t.Parallel()
	tb, _ := setupPipelineServer(t)
	r := tb.run(t, "", "pipelines", "runs", "show", "--id", "8", "--stream", "-w", "ws")
	if r.code != ExitFailure || r.err == nil {
		t.Fatalf("exit %d (%v), want %d", r.code, r.err, ExitFailure)
	}
	if want := "pipeline run 8 failed: Build/train, step Train model: exit code 1"; r.err.Error() != want {
		t.Fatalf("error %q, want %q", r.err, want)
	}
}

func TestPipelinesValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"create no name", []string{"pipelines", "create", "--repository", "churn"}, "--name is required"},
		{"create no repository", []string{"pipelines", "create", "--name", "ci"}, "--repository is required"},
		{"create both repositories", []string{"pipelines", "create", "--name", "ci", "--repository", "r", "--repository-url", "https://github.com/a/b"}, "not both"},
		{"show no name", []string{"pipelines", "show"}, "--name is required"},
		{"delete no name", []string{"pipelines", "delete", "--yes"}, "--name is required"},
		{"run no name", []string{"pipelines", "run"}, "--name is required"},
		{"run bad parameters", []string{"pipelines", "run", "--name", "ci", "--parameters", "=5"}, `--parameters: "=5" is not key=value`},
		{"run stray word", []string{"pipelines", "run", "--name", "ci", "--parameters", "a=1", "oops"}, `unexpected argument "oops"`},
		{"runs list top", []string{"pipelines", "runs", "list", "--top", "-1"}, "--top -1"},
		{"runs show no id", []string{"pipelines", "runs", "show"}, "--id is required"},
		{"runs cancel no id", []string{"pipelines", "runs", "cancel"}, "--id is required"},
		{"artifact list no run", []string{"pipelines", "runs", "artifact", "list"}, "--run-id is required"},
		{"artifact download no name", []string{"pipelines", "runs", "artifact", "download", "--run-id", "7", "--path", "x"}, "--artifact-name is required"},
		{"artifact download no path", []string{"pipelines", "runs", "artifact", "download", "--run-id", "7", "--artifact-name", "m"}, "--path is required"},
		{"bad output", []string{"pipelines", "list", "-o", "xml"}, `invalid choice: "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t) // no server: validation fails before any request
			r := tb.run(t, "", append(tt.args, "-w", "ws")...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d, want %d (usage): %v", r.code, ExitUsage, r.err)
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("error %v, want it to say %q", r.err, tt.want)
			}
		})
	}
}

func TestPipelinesArtifactDownload(t *testing.T) {
	t.Parallel()
	t.Run("writes the files", func(t *testing.T) {
		t.Parallel()
		tb, s := setupPipelineServer(t)
		dir := filepath.Join(t.TempDir(), "out")
		r := tb.run(t, "", "pipelines", "runs", "artifact", "download", "-w", "ws", "--run-id", "7", "--artifact-name", "model", "--path", dir)
		if r.code != 0 {
			t.Fatalf("exit %d: %v", r.code, r.err)
		}
		if !s.saw("GET /api/v1/workspaces/ws/pipeline-runs/7/artifacts/model") {
			t.Fatalf("no download request; saw %q", s.requests)
		}
		for name, want := range map[string]string{"model/weights.bin": "w", "metrics.json": "{}"} {
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil || string(got) != want {
				t.Errorf("%s = %q, %v; want %q", name, got, err, want)
			}
		}
		if !strings.Contains(r.stdout, "(2 files)") {
			t.Errorf("output %q does not count 2 files", r.stdout)
		}
	})
	t.Run("refuses an entry escaping the folder", func(t *testing.T) {
		t.Parallel()
		tb, _ := setupPipelineServer(t)
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		r := tb.run(t, "", "pipelines", "runs", "artifact", "download", "-w", "ws", "--run-id", "7", "--artifact-name", "evil", "--path", dir)
		if r.code == 0 || r.err == nil || !strings.Contains(r.err.Error(), "refusing to extract") {
			t.Fatalf("exit %d (%v), want a refusal", r.code, r.err)
		}
		if _, err := os.Stat(filepath.Join(parent, "x")); !os.IsNotExist(err) {
			t.Fatalf("../x was written (stat: %v)", err)
		}
	})
}
