package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// A pipeline's outputs go where the job says once their step completes: a
// pipeline output and a step's own output to datastore paths (with
// ${{name}} and ${{output_name}} filled in), a pipeline output registered
// as a data asset. A second run whose step is reused delivers again: the
// next data version, the same files.
func TestDeliverPipelineOutputs(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	ctx := context.Background()
	yml := `type: pipeline
outputs:
  report:
    type: uri_file
    path: azureml://datastores/${{default_datastore}}/paths/reports/${{name}}.txt
  model:
    type: uri_folder
    name: trained
jobs:
  train:
    command: echo weights > ${{outputs.m}}/w.txt && echo ok > ${{outputs.r}} && echo side > ${{outputs.extra}}/s.txt
    outputs:
      m: ${{parent.outputs.model}}
      r: ${{parent.outputs.report}}
      extra:
        type: uri_folder
        path: azureml://datastores/workspaceblobstore/paths/extra/${{output_name}}/
`
	root := filepath.Join(tb.home, "datastores", "ws", "workspaceblobstore")
	var names []string
	for range 2 {
		j, err := e.Submit(ctx, "ws", parse(t, t.TempDir(), yml))
		if err != nil {
			t.Fatal(err)
		}
		e.Wait("ws", j.Name)
		got, _ := tb.st.GetJob(ctx, "ws", j.Name)
		if got.Status != engine.StatusCompleted {
			steps, _ := tb.st.ListSteps(ctx, "ws", j.Name)
			t.Fatalf("job %s: %+v", got.Status, steps)
		}
		names = append(names, j.Name)
		if b, err := os.ReadFile(filepath.Join(root, "reports", j.Name+".txt")); err != nil || string(b) != "ok\n" {
			t.Fatalf("report of %s: %q, %v", j.Name, b, err)
		}
	}
	steps, _ := tb.st.ListSteps(ctx, "ws", names[1])
	if steps[0].ReusedFrom == "" {
		t.Fatalf("the second run's step was not reused: %+v", steps[0])
	}
	if b, err := os.ReadFile(filepath.Join(root, "extra", "extra", "s.txt")); err != nil || string(b) != "side\n" {
		t.Fatalf("step output written to %s: %q, %v", root, b, err)
	}
	for _, v := range []string{"1", "2"} {
		a, err := tb.st.GetAsset(ctx, "ws", store.KindData, "trained", v)
		if err != nil {
			t.Fatalf("data asset trained:%s: %v", v, err)
		}
		var d spec.Data
		_ = json.Unmarshal(a.Spec, &d)
		files := readTree(t, tb.blobs, strings.TrimPrefix(d.Path, "blob:"))
		if d.Type != spec.TypeURIFolder || files["w.txt"] != "weights\n" || !strings.Contains(d.Description, "output model") {
			t.Fatalf("trained:%s = %+v, files %v", v, d, files)
		}
	}
}

// An output registered with a version that already exists with other
// files fails its step, naming the asset; the same files again pass.
func TestDeliverVersionConflict(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	ctx := context.Background()
	run := func(content string) (string, string) {
		yml := "command: echo " + content + " > ${{outputs.o}}/f.txt\noutputs:\n  o: {type: uri_folder, name: fixed, version: '7'}\n"
		j, err := e.Submit(ctx, "ws", parse(t, t.TempDir(), yml))
		if err != nil {
			t.Fatal(err)
		}
		e.Wait("ws", j.Name)
		got, _ := tb.st.GetJob(ctx, "ws", j.Name)
		return got.Status, got.Error
	}
	if st, msg := run("a"); st != engine.StatusCompleted {
		t.Fatalf("first: %s %s", st, msg)
	}
	if st, msg := run("a"); st != engine.StatusCompleted {
		t.Fatalf("same files again: %s %s", st, msg)
	}
	if st, msg := run("b"); st != engine.StatusFailed || !strings.Contains(msg, "fixed version 7 already exists") {
		t.Fatalf("other files: %s %q", st, msg)
	}
}

// An output path that is no datastore path, or names a missing datastore,
// is refused when the job is submitted.
func TestPlanRefusesBadOutputPaths(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	for path, want := range map[string]string{
		"https://example.com/out/":                           "expected azureml://datastores",
		"azureml://datastores/nope/paths/x/":                 "not found",
		"azureml://datastores/workspaceblobstore/paths/../x": "'..'",
		"azureml://jobs/j/outputs/o":                         "expected azureml://datastores",
	} {
		yml := "command: echo\noutputs:\n  o: {type: uri_folder, path: \"" + path + "\"}\n"
		_, err := e.BuildPlan(context.Background(), "ws", parse(t, t.TempDir(), yml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("output path %s: %v; want %q", path, err, want)
		}
	}
}
