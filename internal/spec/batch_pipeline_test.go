package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pipelineComponentFile is a pipeline component with a data input, a
// literal input with a default and an output.
const pipelineComponentFile = `$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
type: pipeline
name: count_lines
inputs:
  data: {type: uri_folder}
  label: {type: string, default: lines}
outputs:
  counts: {type: uri_folder}
jobs:
  count:
    type: command
    inputs: {d: "${{parent.inputs.data}}", l: "${{parent.inputs.label}}"}
    outputs: {c: "${{parent.outputs.counts}}"}
    command: wc -l ${{inputs.d}}/* > ${{outputs.c}}/${{inputs.l}}.txt
`

func TestParsePipelineBatchDeployment(t *testing.T) {
	dir := writeFiles(t, map[string]string{"pipeline.yml": pipelineComponentFile, "cmd.yml": "type: command\nname: c\ncommand: echo\n"})
	head := "$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponentBatchDeployment.schema.json\nname: dpl\nendpoint_name: ep1\ntype: pipeline\n"
	tests := []struct {
		name, yaml string
		check      func(t *testing.T, d *BatchDeployment)
	}{
		{"registered component", head + "component: azureml:hello_batch@latest\nsettings:\n    default_compute: batch-cluster\n", func(t *testing.T, d *BatchDeployment) {
			if d.Component.Ref != "azureml:hello_batch@latest" || d.PipelineSettings.DefaultCompute != "batch-cluster" {
				t.Errorf("component %+v, settings %+v", d.Component, d.PipelineSettings)
			}
		}},
		{"component file", head + "component: pipeline.yml\nsettings: {continue_on_step_failure: false, default_compute: azureml:cpu}\n", func(t *testing.T, d *BatchDeployment) {
			c := d.Component.Inline
			if c == nil || c.Name != "count_lines" || c.Jobs["count"] == nil || c.Inputs["label"].Default == nil {
				t.Fatalf("component %+v", d.Component)
			}
			if s := d.PipelineSettings; s.DefaultCompute != "cpu" || s.ContinueOnStepFailure == nil || *s.ContinueOnStepFailure {
				t.Errorf("settings %+v", s)
			}
		}},
		{"job definition", head + "job_definition: azureml:job_name_placeholder\n", func(t *testing.T, d *BatchDeployment) {
			if d.JobDefinition != "job_name_placeholder" || d.Component != nil {
				t.Errorf("job_definition %q, component %+v", d.JobDefinition, d.Component)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseBatchDeployment(filepath.Join(dir, "dep.yml"), []byte(tt.yaml), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Type != BatchDeploymentPipeline {
				t.Errorf("type %q", d.Type)
			}
			tt.check(t, d)
		})
	}

	errs := []struct{ name, yaml, want string }{
		{"nothing to run", head, "dep.yml:1:1: a pipeline component batch deployment needs component:"},
		{"both", head + "component: azureml:x@latest\njob_definition: azureml:j\n", "dep.yml:6:17: job_definition: give component: or job_definition:, not both"},
		{"command component", head + "component: cmd.yml\n", "dep.yml:5:12: component: a pipeline deployment runs a pipeline component (type: pipeline), not a command component"},
		{"job definition not a reference", head + "job_definition: ./pipeline-job.yml\n", `dep.yml:5:17: job_definition: "./pipeline-job.yml": expected azureml:<pipeline job name>`},
		{"job definition with a path", head + "job_definition: azureml:../../x\n", `dep.yml:5:17: job_definition: invalid job "../../x"`},
		{"model keys", head + "component: azureml:x@latest\nmodel: azureml:m@latest\n", `dep.yml:6:1: unknown key "model" in a pipeline component batch deployment`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBatchDeployment(filepath.Join(dir, "dep.yml"), []byte(tt.yaml), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// A pipeline deployment received over the API is held to what the parser
// guarantees: one of component and job_definition, uploaded code, names
// that make paths.
func TestCheckPipelineBatchDeployment(t *testing.T) {
	base := func() *BatchDeployment {
		return &BatchDeployment{Name: "dpl", EndpointName: "ep1", Type: BatchDeploymentPipeline}
	}
	inline := &Component{Type: JobPipeline, Name: "p", Jobs: map[string]*Job{"s": {Type: JobCommand, Command: "echo", Code: "/etc"}}}
	tests := []struct {
		name string
		edit func(d *BatchDeployment)
		want string
	}{
		{"ok", func(d *BatchDeployment) { d.Component = &ComponentRef{Ref: "azureml:p@latest"} }, ""},
		{"neither", func(*BatchDeployment) {}, "needs one of component and job_definition"},
		{"both", func(d *BatchDeployment) { d.Component, d.JobDefinition = &ComponentRef{Ref: "azureml:p:1"}, "j" }, "needs one of"},
		{"job path", func(d *BatchDeployment) { d.JobDefinition = "../j" }, "job_definition"},
		{"not a reference", func(d *BatchDeployment) { d.Component = &ComponentRef{Ref: "/etc/passwd"} }, "expected azureml:"},
		{"server path as code", func(d *BatchDeployment) { d.Component = &ComponentRef{Inline: inline} }, "component.jobs.s.code"},
		{"command component", func(d *BatchDeployment) {
			d.Component = &ComponentRef{Inline: &Component{Type: JobCommand, Command: "echo"}}
		}, "not a command component"},
		{"compute name", func(d *BatchDeployment) {
			d.JobDefinition, d.PipelineSettings = "j", &Settings{DefaultCompute: "../c"}
		}, "settings.default_compute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			tt.edit(d)
			err := CheckBatchDeployment(d)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckBatchDeployment: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseBatchInvocationFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		// azureml-examples' batch-scoring-with-preprocessing/inputs.yml,
		// its literal given with default:.
		"inputs.yml": "inputs:\n  input_data:\n    type: uri_folder\n    path: data\n  score_mode:\n    type: string\n    default: append\noutputs:\n  scores:\n    type: uri_folder\n    mode: upload\n",
		"bound.yml":  "inputs:\n  x: ${{parent.inputs.y}}\n",
		"typo.yml":   "input:\n  x: 1\n",
	})
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	inv, err := ParseBatchInvocationFile(filepath.Join(dir, "inputs.yml"), Options{Sets: []string{"inputs.score_mode.default=prediction_only"}})
	if err != nil {
		t.Fatal(err)
	}
	if in := inv.Inputs["input_data"]; in == nil || in.Path != filepath.Join(dir, "data") || in.Type != TypeURIFolder {
		t.Errorf("input_data %+v", in)
	}
	if in := inv.Inputs["score_mode"]; in == nil || in.Value == nil || *in.Value != "prediction_only" {
		t.Errorf("score_mode %+v", in)
	}
	if out := inv.Outputs["scores"]; out == nil || out.Mode != "upload" {
		t.Errorf("scores %+v", out)
	}
	for file, want := range map[string]string{
		"bound.yml": "bound.yml:2:6: inputs.x: an invocation has no parent to bind to",
		"typo.yml":  `typo.yml:1:1: unknown key "input" in a batch invocation`,
	} {
		if _, err := ParseBatchInvocationFile(filepath.Join(dir, file), Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", file, err, want)
		}
	}
}

// A pipeline job may run a pipeline component named at its top: it becomes
// a pipeline of one step running it, the job's inputs and outputs bound
// to the step's.
func TestPipelineJobRunsComponent(t *testing.T) {
	dir := writeFiles(t, map[string]string{"pipeline.yml": pipelineComponentFile, "cmd.yml": "type: command\nname: c\ncommand: echo\n"})
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	j, err := ParseJob(filepath.Join(dir, "job.yml"), []byte("type: pipeline\ncompute: cpu\ncomponent: pipeline.yml\ninputs:\n  data: {type: uri_folder, path: data}\noutputs:\n  counts: {mode: upload}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	step := j.Jobs["count_lines"]
	if j.Component != nil || len(j.Jobs) != 1 || step == nil || step.Component.Inline == nil {
		t.Fatalf("jobs %+v, component %+v", j.Jobs, j.Component)
	}
	if step.Inputs["data"].Binding != "${{parent.inputs.data}}" || step.Outputs["counts"].Binding != "${{parent.outputs.counts}}" {
		t.Errorf("step ports %+v %+v", step.Inputs["data"], step.Outputs["counts"])
	}
	ref, err := ParseJob(filepath.Join(dir, "job.yml"), []byte("type: pipeline\ncomponent: azureml:hello_batch@latest\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := ref.Jobs["hello_batch"]; s == nil || s.Component.Ref != "azureml:hello_batch@latest" {
		t.Errorf("jobs %+v", ref.Jobs)
	}
	for yaml, want := range map[string]string{
		"type: pipeline\ncomponent: cmd.yml\n":                                      "type is pipeline but the component is a command component",
		"type: pipeline\ncomponent: azureml:x@latest\njobs: {a: {command: echo}}\n": "component: only valid in a pipeline step or a pipeline job without jobs:",
		"component: azureml:x@latest\ncommand: echo\n":                              `component`,
	} {
		if _, err := ParseJob(filepath.Join(dir, "job.yml"), []byte(yaml), Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
}

func FuzzParseBatchInvocation(f *testing.F) {
	f.Add([]byte("inputs:\n  d: {type: uri_folder, path: azureml:x@latest}\n  s: {type: string, default: a}\noutputs:\n  o: {mode: upload}\n"))
	f.Add([]byte("inputs: {x: 1, y: ${{parent.inputs.y}}}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseBatchInvocation(filepath.Join(dir, "inputs.yml"), data, Options{})
		if (inv == nil) == (err == nil) {
			t.Fatalf("ParseBatchInvocation returned %v and error %v", inv != nil, err)
		}
		if err != nil {
			return
		}
		for name, in := range inv.Inputs {
			if in.Binding != "" {
				t.Errorf("input %s kept binding %q", name, in.Binding)
			}
		}
	})
}

// A job built over the API may carry null ports: they are not given, and
// never a nil dereference.
func TestRunComponentNullPorts(t *testing.T) {
	j := &Job{Type: JobPipeline, Component: &ComponentRef{Ref: "azureml:c:1"},
		Inputs: map[string]*InputValue{"a": nil}, Outputs: map[string]*OutputValue{"o": nil}}
	RunComponent(j)
	step := j.Jobs["c"]
	if _, kept := j.Inputs["a"]; kept || step == nil || len(step.Inputs) != 0 || step.Outputs["o"] == nil || j.Outputs["o"] == nil {
		t.Errorf("jobs %+v, outputs %+v", j.Jobs, j.Outputs)
	}
}
