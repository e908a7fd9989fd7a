package mljobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/dataflow/mljobs"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/engine/enginetest"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// bundle is a real engine, store, blob store and datastore service, and
// the Jobs over them.
type bundle struct {
	jobs  *mljobs.Jobs
	st    store.Store
	blobs blob.Store
	// dsDir is the folder of the default datastore workspaceblobstore.
	dsDir string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	x := enginetest.New(t)
	home, st, blobs, data, e := x.Home, x.Store, x.Blobs, x.Data, x.Engine
	jobs, err := mljobs.New(mljobs.Config{Engine: e, Store: st, Data: data, Blobs: blobs, BaseURL: "http://ciel.test", Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{jobs: jobs, st: st, blobs: blobs, dsDir: filepath.Join(home, "datastores", "ws", "workspaceblobstore")}
}

// write writes files (path -> content) under the default datastore.
func (b *bundle) write(t *testing.T, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(b.dsDir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var origin = run.Origin{Factory: "ciel", PipelineName: "nightly", FactoryRunID: "run-1", ActivityName: "Train", ActivityRunID: "act-1"}

// stepOutput returns the content of file in output out of a job's only
// step.
func (b *bundle) stepOutput(t *testing.T, job, out, file string) string {
	t.Helper()
	ctx := context.Background()
	steps, err := b.st.ListSteps(ctx, "ws", job)
	if err != nil || len(steps) != 1 {
		t.Fatalf("steps of %s: %v %v", job, steps, err)
	}
	dir := t.TempDir()
	if err := blob.Materialize(ctx, b.blobs, steps[0].Outputs[out], dir, false); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func (b *bundle) jobSpec(t *testing.T, name string) spec.Job {
	t.Helper()
	j, err := b.st.GetJob(context.Background(), "ws", name)
	if err != nil {
		t.Fatal(err)
	}
	var s spec.Job
	if err := json.Unmarshal(j.Spec, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A job file kept in a datastore runs with its code beside it, its inputs
// set from the activity's parameters; the job carries the factory run's
// tags, and its outputs come back as azureml://jobs URIs.
func TestSubmitJobFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, map[string]string{
		"ml/train/job.yml": `type: command
code: ./src
command: python hello.py --greeting ${{inputs.greeting}} --out ${{outputs.result}}
inputs:
  greeting: hello
outputs:
  result:
    type: uri_folder
`,
		"ml/train/src/hello.py": `import argparse, os
p = argparse.ArgumentParser()
p.add_argument("--greeting")
p.add_argument("--out")
a = p.parse_args()
open(os.path.join(a.out, "greeting.txt"), "w").write(a.greeting + " from python")
`,
	})
	ctx := context.Background()
	req := run.JobRequest{JobFile: "azureml://datastores/workspaceblobstore/paths/ml/train/job.yml",
		Parameters: map[string]any{"greeting": "hi factory"}, Origin: origin}
	name, err := b.jobs.Submit(ctx, "ws", req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.jobs.Wait(ctx, "ws", name)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusCompleted {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
	if got, want := res.Outputs["result"], "azureml://jobs/"+name+"/outputs/result"; got != want {
		t.Errorf("outputs = %v, want result %s", res.Outputs, want)
	}
	if want := "http://ciel.test/workspaces/ws/jobs/" + name; res.StudioURL != want {
		t.Errorf("studio URL %q, want %q", res.StudioURL, want)
	}
	if got := b.stepOutput(t, name, "result", "greeting.txt"); got != "hi factory from python" {
		t.Errorf("output file = %q", got)
	}
	s := b.jobSpec(t, name)
	want := map[string]string{mljobs.TagFactory: "ciel", mljobs.TagPipeline: "nightly", mljobs.TagRunID: "run-1",
		mljobs.TagActivity: "Train", mljobs.TagActivityRunID: "act-1"}
	for k, v := range want {
		if s.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q (tags %v)", k, s.Tags[k], v, s.Tags)
		}
	}
	if s.ExperimentName != "nightly" {
		t.Errorf("experiment %q, want the pipeline's name", s.ExperimentName)
	}
}

// An inline job (the YAML's fields as JSON) runs with its parameters; a
// copy of it by name (jobName, or Azure's mlPipelineId) runs again with
// others.
func TestSubmitInlineAndCopy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inline := map[string]any{
		"type":    "command",
		"command": `python -c "import sys; open(sys.argv[2] + '/n.txt', 'w').write(str(int(sys.argv[1]) * 2))" ${{inputs.n}} ${{outputs.out}}`,
		"inputs":  map[string]any{"n": int64(1)},
		"outputs": map[string]any{"out": map[string]any{"type": "uri_folder"}},
	}
	first, err := b.jobs.Submit(ctx, "ws", run.JobRequest{Job: inline, Parameters: map[string]any{"n": int64(21)},
		ExperimentName: "factory-exp", Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := b.jobs.Wait(ctx, "ws", first); err != nil || res.Status != engine.StatusCompleted {
		t.Fatalf("inline job: %+v %v", res, err)
	}
	if got := b.stepOutput(t, first, "out", "n.txt"); got != "42" {
		t.Errorf("inline job wrote %q, want 42", got)
	}
	if s := b.jobSpec(t, first); s.ExperimentName != "factory-exp" {
		t.Errorf("experiment %q", s.ExperimentName)
	}
	second, err := b.jobs.Submit(ctx, "ws", run.JobRequest{PipelineID: "azureml:" + first, Parameters: map[string]any{"n": int64(50)}, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := b.jobs.Wait(ctx, "ws", second); err != nil || res.Status != engine.StatusCompleted {
		t.Fatalf("copied job: %+v %v", res, err)
	}
	if second == first {
		t.Fatal("the copy kept the first job's name")
	}
	if got := b.stepOutput(t, second, "out", "n.txt"); got != "100" {
		t.Errorf("copied job wrote %q, want 100", got)
	}
}

// Cancelling the activity's context ends Wait; Cancel stops the job.
func TestCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	name, err := b.jobs.Submit(ctx, "ws", run.JobRequest{Job: map[string]any{
		"type": "command", "command": `python -c "import time; time.sleep(60)"`}, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := b.jobs.Wait(wctx, "ws", name); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want the context's error", err)
	}
	start := time.Now()
	if err := b.jobs.Cancel(ctx, "ws", name); err != nil {
		t.Fatal(err)
	}
	res, err := b.jobs.Wait(ctx, "ws", name)
	if err != nil || res.Status != engine.StatusCanceled {
		t.Fatalf("after cancel: %+v %v", res, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("cancel took %s", d)
	}
}

// What a factory's job may not do: read the server's disk, name what is
// not there, or set inputs the job does not have.
func TestSubmitRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, map[string]string{
		"bad/escape.yml":    "type: command\ncode: ../../../../../../etc\ncommand: ls\n",
		"bad/component.yml": "type: pipeline\njobs:\n  a:\n    component: /etc/hostname\n",
		"bad/ok.yml":        "type: command\ncommand: echo ${{inputs.x}}\ninputs:\n  x: 1\n  d:\n    type: uri_file\n    path: azureml://datastores/workspaceblobstore/paths/bad/ok.yml\n",
	})
	const dir = "azureml://datastores/workspaceblobstore/paths/bad/"
	cases := []struct {
		name string
		req  run.JobRequest
		want string
	}{
		{"code out of the folder", run.JobRequest{JobFile: dir + "escape.yml"}, "leads out of the job file's folder"},
		{"component file out of the folder", run.JobRequest{JobFile: dir + "component.yml"}, "leads out of the job file's folder"},
		{"missing job file", run.JobRequest{JobFile: dir + "none.yml"}, "none.yml: no such file in azureml://datastores/workspaceblobstore/paths/bad"},
		{"job file not in a datastore", run.JobRequest{JobFile: "/etc/job.yml"}, "expected azureml://datastores/"},
		{"unknown input", run.JobRequest{JobFile: dir + "ok.yml", Parameters: map[string]any{"y": 1}}, `no input "y"; its inputs: d, x`},
		{"data input given a number", run.JobRequest{JobFile: dir + "ok.yml", Parameters: map[string]any{"d": int64(3)}}, "a data input takes a path"},
		{"data input on the server's disk", run.JobRequest{JobFile: dir + "ok.yml", Parameters: map[string]any{"d": "/etc/passwd"}}, "path on the server's disk"},
		{"inline local code", run.JobRequest{Job: map[string]any{"type": "command", "command": "ls", "code": "/etc"}}, "is a local path"},
		{"inline component file", run.JobRequest{Job: map[string]any{"type": "pipeline", "jobs": map[string]any{"a": map[string]any{"component": "../c.yml"}}}}, "names components as azureml:"},
		{"inline bad field", run.JobRequest{Job: map[string]any{"type": "command", "comand": "ls"}}, "job.json:1:1: a command job needs command:"},
		{"no such job", run.JobRequest{JobName: "nope"}, `no job named "nope"`},
		{"bad job name", run.JobRequest{JobName: "../x"}, "jobName"},
		{"two sources", run.JobRequest{JobName: "a", JobFile: dir + "ok.yml"}, "give one of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.jobs.Submit(context.Background(), "ws", c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Submit = %v, want an error containing %q", err, c.want)

			}
		})
	}
}

// registerData registers versions 1, 2, ... of a data asset at a datastore
// path, tagged with the factory run; a bad request is refused.
func TestRegisterData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, map[string]string{"orders/part-0.parquet": "not really parquet"})
	ctx := context.Background()
	req := run.DataRequest{Name: "orders", Path: "azureml://datastores/workspaceblobstore/paths/orders", Tags: map[string]string{"team": "data"}, Origin: origin}
	for _, want := range []string{"1", "2"} {
		out, err := b.jobs.RegisterData(ctx, "ws", req)
		if err != nil {
			t.Fatal(err)
		}
		if out["version"] != want || out["id"] != "azureml:orders:"+want {
			t.Fatalf("registered %v, want version %s", out, want)
		}
	}
	a, err := b.st.GetAsset(ctx, "ws", store.KindData, "orders", "")
	if err != nil {
		t.Fatal(err)
	}
	var d spec.Data
	if err := json.Unmarshal(a.Spec, &d); err != nil {
		t.Fatal(err)
	}
	if a.Version != "2" || d.Type != spec.TypeURIFolder || d.Tags[mljobs.TagRunID] != "run-1" || d.Tags[mljobs.TagPipeline] != "nightly" || d.Tags["team"] != "data" {
		t.Errorf("latest orders = version %s %+v", a.Version, d)
	}
	if !strings.Contains(d.Description, "run-1") {
		t.Errorf("description %q names no run", d.Description)
	}
	bad := []struct {
		name string
		req  run.DataRequest
		want string
	}{
		{"bad type", run.DataRequest{Name: "x", Type: "csv", Path: req.Path}, "expected uri_file"},
		{"local path", run.DataRequest{Name: "x", Path: "/etc"}, "expected azureml://datastores/"},
		{"missing datastore", run.DataRequest{Name: "x", Path: "azureml://datastores/nope/paths/a"}, "nope"},
		{"bad name", run.DataRequest{Name: "../x", Path: req.Path}, "name"},
		{"version taken", run.DataRequest{Name: "orders", Version: "1", Path: "azureml://datastores/workspaceblobstore/paths/other"}, "already exists"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := b.jobs.RegisterData(ctx, "ws", c.req); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("RegisterData = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// What a server has satisfies what Jobs needs.
var (
	_ mljobs.Engine = (*engine.Engine)(nil)
	_ mljobs.Store  = store.Store(nil)
	_ mljobs.Data   = (*datastore.Service)(nil)
)
