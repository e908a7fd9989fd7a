package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// noEnvs refuses to build any environment, so a job accepted by mistake
// fails its first step instead of running anything.
type noEnvs struct{}

func (noEnvs) Ensure(context.Context, envs.Spec, io.Writer) (envs.Env, error) {
	return envs.Env{}, errors.New("this test runs no steps")
}

// testBundle is what setup gives a test besides the server.
type testBundle struct {
	home string
	// outside is a folder on the server's disk that no request may read.
	outside string
}

// setup returns a server over a fresh CIEL_HOME with a workspace "ws",
// a finished command job "done" and no engine runs.
func setup(t *testing.T) (*server, testBundle) {
	t.Helper()
	ctx := t.Context()
	tb := testBundle{home: t.TempDir(), outside: t.TempDir()}
	if err := os.WriteFile(filepath.Join(tb.outside, "secret.txt"), []byte("server-side secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqldb.Open(ctx, sqldb.Config{Path: filepath.Join(tb.home, "ciel.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := bloblocal.Open(bloblocal.Config{Dir: filepath.Join(tb.home, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Home: tb.home, Store: st, Blobs: blobs, Envs: noEnvs{}})
	t.Cleanup(eng.Close)
	now := time.Now().UTC()
	if err := st.CreateWorkspace(ctx, store.Workspace{Name: "ws", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	done := store.Job{Workspace: "ws", Name: "done", Type: "command", Status: engine.StatusCompleted,
		Spec: json.RawMessage(`{}`), Plan: json.RawMessage(`{"type":"command","steps":[]}`), CreatedAt: now}
	if err := st.CreateJob(ctx, done, []store.Step{{Workspace: "ws", Job: "done", Name: "main", Status: engine.StatusCompleted}}); err != nil {
		t.Fatal(err)
	}
	s := &server{cfg: Config{Home: tb.home}, st: st, blobs: blobs, eng: eng, log: slog.New(slog.DiscardHandler)}
	return s, tb
}

// call runs a handler on a request with the given path values, as the
// router would, and returns what it answered and the status its error maps
// to (200 for none).
func call(t *testing.T, fn handlerFunc, method, target, body string, pathValues ...string) (any, int, error) {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(pathValues); i += 2 {
		r.SetPathValue(pathValues[i], pathValues[i+1])
	}
	v, err := fn(httptest.NewRecorder(), r)
	code := http.StatusOK
	if err != nil {
		code = status(err)
	}
	return v, code, err
}

// target returns the field an error names.
func target(err error) string {
	var he *httpError
	if errors.As(err, &he) {
		return he.target
	}
	return ""
}

func TestCreateJobRefusesNamesAndServerPaths(t *testing.T) {
	t.Parallel()
	s, tb := setup(t)
	tests := []struct {
		name, body, target string
	}{
		{"output name climbs out", `{"type":"command","command":"echo","outputs":{"../../../../etc":{}}}`, "outputs"},
		{"step named ..", `{"type":"pipeline","jobs":{"..":{"type":"command","command":"echo"}}}`, "jobs"},
		{"nested step with a slash", `{"type":"pipeline","jobs":{"a":{"type":"pipeline","jobs":{"b/../../c":{"command":"echo"}}}}}`, "jobs.a.jobs"},
		{"input name climbs out", `{"type":"command","command":"echo","inputs":{"../x":{"value":"1"}}}`, "inputs"},
		{"code on the server's disk", `{"type":"command","command":"cat secret.txt","code":"` + tb.outside + `"}`, "code"},
		{"relative code", `{"type":"command","command":"echo","code":"../.."}`, "code"},
		{"data input on the server's disk", `{"type":"command","command":"cat ${{inputs.d}}","inputs":{"d":{"type":"uri_file","path":"` + tb.outside + `/secret.txt"}}}`, "inputs.d.path"},
		{"step code on the server's disk", `{"type":"pipeline","jobs":{"a":{"command":"echo","code":"` + tb.outside + `"}}}`, "jobs.a.code"},
		{"build context on the server's disk", `{"type":"command","command":"echo","environment":{"inline":{"build_path":"` + tb.outside + `"}}}`, "environment.inline.build_path"},
		{"NUL in the command", `{"type":"command","command":"echo a\u0000b"}`, "command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, err := call(t, s.createJob, "POST", "/api/v1/workspaces/ws/jobs", tt.body, "ws", "ws")
			if code != http.StatusBadRequest || target(err) != tt.target {
				t.Fatalf("status %d target %q (%v), want 400 naming %q", code, target(err), err, tt.target)
			}
			if strings.Contains(err.Error(), tb.home) {
				t.Errorf("message names CIEL_HOME: %v", err)
			}
		})
	}
	jobs, err := s.st.ListJobs(t.Context(), "ws", true)
	if err != nil || len(jobs) != 1 {
		t.Errorf("jobs after refusals: %d (%v), want only the one made by setup", len(jobs), err)
	}
	if entries, _ := os.ReadDir(filepath.Join(tb.home, "jobs")); len(entries) > 0 {
		t.Errorf("a refused job left folders in %s/jobs", tb.home)
	}
}

func TestCreateJobAcceptsUploads(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	_, code, err := call(t, s.createJob, "POST", "/api/v1/workspaces/ws/jobs",
		`{"type":"pipeline","name":"ok_job","jobs":{"prep-step":{"command":"echo ${{outputs.out_1}}","outputs":{"out_1":{}}}}}`, "ws", "ws")
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, err)
	}
}

func TestJobLogStepNames(t *testing.T) {
	t.Parallel()
	s, tb := setup(t)
	logs := func(step string) (int, error) {
		_, code, err := call(t, s.jobLog, "GET", "/api/v1/workspaces/ws/jobs/done/logs?step="+url.QueryEscape(step), "", "ws", "ws", "name", "done")
		return code, err
	}
	for _, step := range []string{"\x00", "main\x00", "a\nb", "..", "../../../../etc/passwd", "/etc/passwd", "a/../..", "a//b", "main/"} {
		code, err := logs(step)
		if code != http.StatusBadRequest || target(err) != "step" {
			t.Errorf("step %q: status %d (%v), want 400 naming step", step, code, err)
		}
		if err != nil && strings.Contains(err.Error(), tb.home) {
			t.Errorf("step %q: message names CIEL_HOME: %v", step, err)
		}
	}
	if code, err := logs("main"); code != http.StatusNotFound || strings.Contains(err.Error(), tb.home) {
		t.Errorf("missing log: status %d (%v), want 404 without CIEL_HOME", code, err)
	}
	// A log that cannot be read is the server's problem, still without its
	// path in the answer.
	if err := os.MkdirAll(s.eng.StepLogPath("ws", "done", "outer/inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, err := logs("outer/inner"); code != http.StatusInternalServerError || strings.Contains(err.Error(), tb.home) {
		t.Errorf("unreadable log: status %d (%v), want 500 without CIEL_HOME", code, err)
	}
}

func TestCreateAssetRefusesNamesAndServerPaths(t *testing.T) {
	t.Parallel()
	s, tb := setup(t)
	tests := []struct {
		kind, body, target string
	}{
		{"data", `{"name":"d","type":"uri_folder","path":"` + tb.outside + `"}`, "path"},
		{"data", `{"name":"d","version":"../1","type":"uri_folder","path":"azureml:x:1"}`, "version"},
		{"environments", `{"name":"e","image":"python:3.12","build_path":"` + tb.outside + `"}`, "build_path"},
		{"environments", `{"name":"e","version":"1/2","image":"python:3.12"}`, "version"},
		{"components", `{"name":"c","command":"echo","outputs":{"../../x":{"type":"uri_folder"}}}`, "outputs"},
		{"components", `{"name":"c","type":"pipeline","jobs":{"..":{"command":"echo"}}}`, "jobs"},
		{"components", `{"name":"c","command":"echo\u0000"}`, "command"},
		{"components", `{"name":"c","command":"echo","additional_includes":["` + tb.outside + `"]}`, "additional_includes"},
	}
	for _, tt := range tests {
		_, code, err := call(t, s.createAsset, "POST", "/api/v1/workspaces/ws/"+tt.kind, tt.body, "ws", "ws", "kind", tt.kind)
		if code != http.StatusBadRequest || target(err) != tt.target {
			t.Errorf("%s %s: status %d target %q (%v), want 400 naming %q", tt.kind, tt.body, code, target(err), err, tt.target)
		}
	}
	assets, err := s.st.ListAssets(t.Context(), "ws", store.KindComponent, "")
	if err != nil || len(assets) != 0 {
		t.Errorf("components after refusals: %d (%v)", len(assets), err)
	}
}

func TestCreateModelTakesAzureNames(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	if !s.initRegistry() {
		t.Fatal("no registry")
	}
	for _, name := range []string{"a b", "../m", "m\x00", "-m"} {
		body, _ := json.Marshal(map[string]string{"name": name, "path": "azureml://jobs/nope/outputs/model"})
		_, code, err := call(t, s.createModelVersion, "POST", "/api/v1/workspaces/ws/models", string(body), "ws", "ws")
		if code != http.StatusBadRequest || target(err) != "name" {
			t.Errorf("model %q: status %d target %q (%v), want 400 naming name", name, code, target(err), err)
		}
	}
}

// FuzzStepLogPath checks that every step a log request may name reads a
// file inside the job's folder.
func FuzzStepLogPath(f *testing.F) {
	for _, s := range []string{"main", "a/b", "..", "a/../..", "\x00", "/etc", "a//b", "./a"} {
		f.Add(s)
	}
	e := engine.New(engine.Config{Home: "/srv/ciel"})
	jobDir := e.JobDir("ws", "job")
	f.Fuzz(func(t *testing.T, step string) {
		if checkStep(step) != nil {
			return
		}
		rel, err := filepath.Rel(jobDir, e.StepLogPath("ws", "job", step))
		if err != nil || !filepath.IsLocal(rel) || strings.ContainsRune(rel, 0) {
			t.Fatalf("step %q reads %s, outside %s", step, e.StepLogPath("ws", "job", step), jobDir)
		}
	})
}
