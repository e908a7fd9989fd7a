package azp

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestSeed(t *testing.T) {
	t.Parallel()
	p, err := Expand(os.DirFS("testdata"), "seed.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Trigger == nil || !reflect.DeepEqual(p.Trigger.Branches.Include, []string{"main"}) {
		t.Errorf("trigger = %+v, want branches include [main]", p.Trigger)
	}
	if p.Pool == nil || p.Pool.VMImage != "ubuntu-latest" {
		t.Errorf("pool = %+v, want vmImage ubuntu-latest", p.Pool)
	}
	if len(p.Stages) != 1 || p.Stages[0].Name != DefaultStage || len(p.Stages[0].Jobs) != 1 || p.Stages[0].Jobs[0].Name != DefaultJob {
		t.Fatalf("want one implicit stage and job, got %+v", p.Stages)
	}
	steps := p.Stages[0].Jobs[0].Steps
	if len(steps) != 3 {
		t.Fatalf("got %d steps, want 3", len(steps))
	}
	if s := steps[0]; s.Kind != StepTask || !s.Task.Is("usepythonversion", "0") || s.Inputs["versionSpec"] != "3.x" {
		t.Errorf("step 1 = %+v, want UsePythonVersion@0 with versionSpec 3.x", s)
	}
	if s := steps[1]; s.Kind != StepScript || s.Script != "pip install azureml-sdk\npython train.py\n" || s.DisplayName != "Run Training Script" {
		t.Errorf("step 2 = %+v, want the training script", s)
	}
	if s := steps[2]; !s.Task.Is("PublishBuildArtifacts", "1") || s.Inputs["PathtoPublish"] != "outputs" || s.Inputs["ArtifactName"] != "Model" {
		t.Errorf("step 3 = %+v, want PublishBuildArtifacts@1 publishing outputs as Model", s)
	}
	if got := steps[1].Pos.String(); got != "seed.yml:11:5" {
		t.Errorf("step 2 position = %s, want seed.yml:11:5", got)
	}
}

func TestShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		stages     []string // stage names
		jobs       []string // job names of the first stage
	}{
		{"steps", "steps:\n- script: a\n", []string{"__default"}, []string{"Job"}},
		{"jobs", "jobs:\n- job: A\n  steps: [{script: a}]\n- job: B\n  dependsOn: A\n", []string{"__default"}, []string{"A", "B"}},
		{"stages", "stages:\n- stage: S1\n  jobs: [{job: J}]\n- stage: S2\n", []string{"S1", "S2"}, []string{"J"}},
		{"unnamed jobs", "jobs:\n- steps: [{bash: a}]\n- steps: [{bash: b}]\n", []string{"__default"}, []string{"Job", "Job1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var stages, jobs []string
			for _, s := range p.Stages {
				stages = append(stages, s.Name)
			}
			for _, j := range p.Stages[0].Jobs {
				jobs = append(jobs, j.Name)
			}
			if !reflect.DeepEqual(stages, tt.stages) || !reflect.DeepEqual(jobs, tt.jobs) {
				t.Errorf("stages %v jobs %v, want %v %v", stages, jobs, tt.stages, tt.jobs)
			}
		})
	}
}

func TestTriggers(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yml", []byte("trigger: none\npr: [main, dev]\nsteps: [{script: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Trigger.None || !reflect.DeepEqual(p.PR.Branches.Include, []string{"main", "dev"}) {
		t.Errorf("trigger %+v pr %+v", p.Trigger, p.PR)
	}
	p, err = Parse("p.yml", []byte("steps: [{script: a}]\n"))
	if err != nil || p.Trigger != nil {
		t.Errorf("no trigger: key: got %+v, %v; want nil (Azure's default: every branch)", p.Trigger, err)
	}
}

// errorFS holds the files the error cases read.
var errorFS = fstest.MapFS{
	"bad.yml":        {Data: []byte("trigger: main\nsteps:\n- script: a\n  - bad\n")},
	"unknown.yml":    {Data: []byte("steps:\n  - script: a\n    dispalyName: x\n")},
	"unknownjob.yml": {Data: []byte("jobs:\n  - job: A\n    stepz: []\n")},
	"badtask.yml":    {Data: []byte("steps:\n  - task: Foo@x\n")},
	"partype.yml":    {Data: []byte("steps:\n  - template: t.yml\n    parameters:\n      epochs: many\n")},
	"parvalue.yml":   {Data: []byte("steps:\n  - template: t.yml\n    parameters:\n      python: '2.7'\n")},
	"missing.yml":    {Data: []byte("steps:\n  - template: templates/nope.yml\n")},
	"undeclared.yml": {Data: []byte("steps:\n  - template: t.yml\n    parameters:\n      nope: 1\n")},
	"cycle.yml":      {Data: []byte("steps:\n  - template: c1.yml\n")},
	"c1.yml":         {Data: []byte("steps:\n  - template: c1.yml\n")},
	"badexpr.yml":    {Data: []byte("steps:\n  - script: ${{ eq(1 }}\n")},
	"status.yml":     {Data: []byte("steps:\n  - ${{ if succeeded() }}:\n    - script: a\n")},
	"elseif.yml":     {Data: []byte("steps:\n  - script: a\n    ${{ else }}:\n      name: b\n")},
	"norepo.yml":     {Data: []byte("steps:\n  - template: x.yml@tools\n")},
	"twoshapes.yml":  {Data: []byte("steps: []\njobs: []\n")},
	"stepkind.yml":   {Data: []byte("steps:\n  - powershell: a\n")},
	"t.yml":          {Data: []byte("parameters:\n- name: epochs\n  type: number\n  default: 1\n- name: python\n  default: '3.11'\n  values: ['3.11', '3.12']\nsteps:\n- script: train ${{ parameters.epochs }}\n")},
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, pos, want string
	}{
		{"bad.yml", "bad.yml:4:3", `invalid YAML: expected a key here, like key "script" on line 3; found a list item`},
		{"unknown.yml", "unknown.yml:3:5", `unknown key "dispalyName" in script step: expected one of script, displayName, name, condition`},
		{"unknownjob.yml", "unknownjob.yml:3:5", `unknown key "stepz" in a job: expected one of job, displayName`},
		{"badtask.yml", "badtask.yml:2:11", "the version after @ must be a major version number"},
		{"partype.yml", "partype.yml:4:15", `parameter "epochs": expected a number, got 'many'`},
		{"parvalue.yml", "parvalue.yml:4:15", `parameter "python": '2.7' is not one of the allowed values '3.11', '3.12'`},
		{"missing.yml", "missing.yml:2:15", "cannot read template templates/nope.yml: file does not exist"},
		{"undeclared.yml", "undeclared.yml:4:13", `unexpected parameter "nope": t.yml declares parameters epochs, python`},
		{"cycle.yml", "c1.yml:2:15", "template include cycle: c1.yml -> c1.yml"},
		{"badexpr.yml", "badexpr.yml:2:13", "expected ',' or ')'"},
		{"status.yml", "status.yml:2:5", "succeeded() is a run-time status function"},
		{"elseif.yml", "elseif.yml:3:5", "${{ else }} without a preceding ${{ if }}"},
		{"norepo.yml", "norepo.yml:2:15", `repository "tools" is not declared in resources.repositories`},
		{"twoshapes.yml", "twoshapes.yml:2:1", "the pipeline already has steps:"},
		{"stepkind.yml", "stepkind.yml:2:5", "a step needs one of script, bash, pwsh"},
		{"absent.yml", "absent.yml", "cannot read pipeline file"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Expand(errorFS, tt.file, nil)
			var se *spec.Error
			if !errors.As(err, &se) {
				t.Fatalf("Expand(%s) = %v, want a *spec.Error", tt.file, err)
			}
			if !strings.HasPrefix(err.Error(), tt.pos+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Expand(%s) error\n  %v\nwant it to start with %q and contain %q", tt.file, err, tt.pos, tt.want)
			}
		})
	}
}

func TestPipelineParameters(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"p.yml": {Data: []byte(`parameters:
- name: deploy
  type: boolean
  default: false
- name: epochs
  type: number
- name: envs
  type: object
  default: [dev]
steps:
- ${{ each e in parameters.envs }}:
  - script: echo ${{ e }} ${{ parameters.epochs }}
- ${{ if parameters.deploy }}:
  - script: deploy
`)}}
	p, err := Expand(fsys, "p.yml", map[string]any{"deploy": "true", "epochs": "7", "envs": "[a, b]"})
	if err != nil {
		t.Fatal(err)
	}
	var scripts []string
	for _, s := range p.Stages[0].Jobs[0].Steps {
		scripts = append(scripts, s.Script)
	}
	if want := []string{"echo a 7", "echo b 7", "deploy"}; !reflect.DeepEqual(scripts, want) {
		t.Errorf("scripts = %q, want %q", scripts, want)
	}
	for _, tt := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{}, `p.yml:5:3: parameter "epochs": a value for the parameter is required`},
		{map[string]any{"epochs": "x"}, `p.yml:5:3: parameter "epochs": expected a number, got 'x'`},
		{map[string]any{"epochs": 1, "deploy": "maybe"}, `p.yml:2:3: parameter "deploy": expected a boolean`},
		{map[string]any{"epochs": 1, "other": 1}, `p.yml: unexpected parameter "other"`},
	} {
		_, err := Expand(fsys, "p.yml", tt.params)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Expand(%v) error = %v, want prefix %q", tt.params, err, tt.want)
		}
	}
}

func TestExpansionLimits(t *testing.T) {
	t.Parallel()
	// A billion-laughs style file must stop at the node budget, not hang.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("steps: [{script: a}]\n")
	_, err := Parse("laughs.yml", []byte(b.String()))
	if err == nil {
		t.Fatal("want an error")
	}
}
