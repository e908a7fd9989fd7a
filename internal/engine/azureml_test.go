package engine_test

import (
	"context"
	"github.com/ciel-mlops/ciel/internal/engine"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestLocalCompute(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                   engine.LocalCompute,
		"serverless":         engine.LocalCompute,
		"azureml:serverless": engine.LocalCompute,
		"azureml:cpu":        "cpu",
		"cpu-cluster":        "cpu-cluster",
	} {
		if got := engine.ComputeName(in); got != want {
			t.Errorf("localCompute(%q) = %q, want %q", in, got, want)
		}
	}
}

// Plans of files written the way azureml-examples writes them.
func TestPlanAzureMLConventions(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	cases := []struct {
		name  string
		yml   string
		check func(t *testing.T, p *engine.Plan)
	}{
		{name: "inline step output takes the type of the pipeline output it binds",
			yml: `type: pipeline
outputs:
  file: {type: uri_file, path: "azureml://datastores/workspaceblobstore/paths/${{name}}/hello.txt"}
  folder: {type: uri_folder}
jobs:
  a:
    command: echo > ${{outputs.f}} && echo > ${{outputs.d}}/x && echo > ${{outputs.own}}/y
    outputs:
      f: ${{parent.outputs.file}}
      d: ${{parent.outputs.folder}}
      own: {type: uri_folder}
`, check: func(t *testing.T, p *engine.Plan) {
				outs := p.Steps[0].Outputs
				for name, want := range map[string]string{"f": spec.TypeURIFile, "d": spec.TypeURIFolder, "own": spec.TypeURIFolder} {
					if outs[name].Type != want {
						t.Errorf("output %s type %q, want %q", name, outs[name].Type, want)
					}
				}
			}},
		{name: "serverless compute runs locally",
			yml: "type: pipeline\nsettings: {default_compute: azureml:serverless}\njobs:\n  a: {command: echo}\n  b: {command: echo, compute: serverless}\n",
			check: func(t *testing.T, p *engine.Plan) {
				for _, s := range p.Steps {
					if s.Compute != engine.LocalCompute {
						t.Errorf("step %s compute %q, want %q", s.Name, s.Compute, engine.LocalCompute)
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := parse(t, t.TempDir(), tc.yml)
			p, err := e.BuildPlan(context.Background(), "ws", j)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

func TestPlanRefusesUnmergedIncludes(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	j := &spec.Job{Type: spec.JobPipeline, Jobs: map[string]*spec.Job{"a": {Component: &spec.ComponentRef{Inline: &spec.Component{
		Type: spec.JobCommand, Command: "echo", AdditionalIncludes: []string{"/tmp/lib"}}}}}}
	_, err := e.BuildPlan(context.Background(), "ws", j)
	if err == nil || !strings.Contains(err.Error(), "additional_includes") {
		t.Fatalf("err = %v, want one naming additional_includes", err)
	}
}

// Runs relying on what Azure ML gives every job: ./outputs in the working
// directory, and the default "artifacts" output.
func TestRunAzureMLConventions(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		yml    string
		output string            // job output to read
		want   map[string]string // its files
	}{
		{name: "./outputs exists",
			yml: "command: echo hello > ./outputs/hello.txt\n"},
		{name: "artifacts output carries ./outputs and ./logs",
			output: "final",
			yml: `type: pipeline
outputs: {final: {type: uri_folder}}
jobs:
  a:
    command: echo world > ./outputs/world.txt && mkdir -p logs && echo log > logs/l.txt
    outputs:
      artifacts:
  b:
    command: cp ${{inputs.i}}/outputs/world.txt ${{inputs.i}}/logs/l.txt ${{outputs.o}}/
    inputs: {i: "${{parent.jobs.a.outputs.artifacts}}"}
    outputs: {o: "${{parent.outputs.final}}"}
`, want: map[string]string{"world.txt": "world\n", "l.txt": "log\n"}},
		{name: "an artifacts output the step writes is its own",
			output: "final",
			yml: `type: pipeline
outputs: {final: {type: uri_folder}}
jobs:
  a:
    command: echo mine > ${{outputs.artifacts}}/m.txt && echo other > ./outputs/o.txt
    outputs:
      artifacts: ${{parent.outputs.final}}
`, want: map[string]string{"m.txt": "mine\n"}},
		{name: "uri_file pipeline output written as a file",
			output: "report",
			yml: `type: pipeline
outputs: {report: {type: uri_file}}
jobs:
  a:
    command: echo done > ${{outputs.r}}
    outputs: {r: "${{parent.outputs.report}}"}
`, want: map[string]string{"r": "done\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j, err := e.Submit(ctx, "ws", parse(t, t.TempDir(), tc.yml))
			if err != nil {
				t.Fatal(err)
			}
			e.Wait("ws", j.Name)
			got, err := tb.st.GetJob(ctx, "ws", j.Name)
			if err != nil || got.Status != engine.StatusCompleted {
				steps, _ := tb.st.ListSteps(ctx, "ws", j.Name)
				t.Fatalf("job %s: %v, steps %+v", got.Status, err, steps)
			}
			if tc.output == "" {
				return
			}
			files := readTree(t, tb.blobs, got.Outputs[tc.output])
			if len(files) != len(tc.want) {
				t.Errorf("output %s = %v, want %v", tc.output, files, tc.want)
			}
			for k, v := range tc.want {
				if files[k] != v {
					t.Errorf("output %s file %s = %q, want %q", tc.output, k, files[k], v)
				}
			}
		})
	}
}

// readTree returns the files of the tree digest names, path -> content.
func readTree(t *testing.T, s blob.Store, digest string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if err := blob.Materialize(context.Background(), s, digest, dir, false); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
