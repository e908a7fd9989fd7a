package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes files (relative name -> content) under a new directory
// and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkErrors checks that err holds exactly the problems in want, in order,
// each line starting with the matching want (dir is cut from paths).
func checkErrors(t *testing.T, dir string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want:\n%s", strings.Join(want, "\n"))
	}
	var list ErrorList
	var one *Error
	if !errors.As(err, &list) && !errors.As(err, &one) {
		t.Errorf("error is a %T, want *Error or ErrorList", err)
	}
	got := strings.Split(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

// trainComponent is a command component used by several cases.
const trainComponent = `type: command
name: train
inputs:
  data: {type: uri_folder}
  lr: {type: number, default: 0.1, min: 0, max: 1}
  epochs: {type: integer}
  mode: {type: string, optional: true, enum: [fast, slow]}
outputs:
  model: {type: uri_folder}
command: python t.py --data ${{inputs.data}} --lr ${{inputs.lr}} --epochs ${{inputs.epochs}} --mode ${{inputs.mode}} --m ${{outputs.model}}
`

// jobErrorCase is a job file (main.yml, with other files beside it) that
// must fail to parse with exactly the problems in want.
type jobErrorCase struct {
	name  string
	main  string
	files map[string]string
	sets  []string
	want  []string
}

var jobErrorCases = []jobErrorCase{
	{name: "unknown key", main: "command: echo\nfoo: 1\n",
		want: []string{`main.yml:2:1: unknown key "foo" in a command job; known keys: $schema, code, command, compute,`}},
	{name: "input is a sequence", main: "command: echo ${{inputs.lr}}\ninputs:\n  lr:\n    - 1\n",
		want: []string{"main.yml:4:5: inputs.lr: expected a scalar, a ${{...}} binding or a mapping with type/path, got a sequence"}},
	{name: "yaml syntax", main: "command: echo\n display_name: x\n",
		want: []string{`main.yml:2:2: invalid YAML: key "display_name" is indented 1 space, deeper than key "command" on line 1, which already has a value; expected 0 spaces`}},
	{name: "empty", main: "", want: []string{"main.yml: empty file: expected a mapping"}},
	{name: "not a mapping", main: "- a\n- b\n",
		want: []string{"main.yml:1:1: expected a mapping at the top of the file, got a sequence"}},
	{name: "unsupported type", main: "type: spark\ncommand: echo\n",
		want: []string{`main.yml:1:7: type: job type "spark" is not supported yet (supported: command, pipeline, sweep, parallel)`}},
	{name: "unknown type", main: "type: magic\n",
		want: []string{`main.yml:1:7: type: unknown job type "magic"; expected command, pipeline, sweep or parallel`}},
	{name: "no command", main: "display_name: x\n", want: []string{"main.yml:1:1: a command job needs command:"}},
	{name: "pipeline keys in a command job", main: "command: echo\nsettings: {}\n",
		want: []string{"main.yml:2:1: settings: only valid in a pipeline job, not in a command job"}},
	{name: "command keys in a pipeline job", main: "command: echo\njobs: {s: {component: azureml:c:1}}\n",
		want: []string{"main.yml:1:1: command: only valid in a command job, not in a pipeline job"}},
	{name: "placeholders not given", main: "command: python a.py --x ${{inputs.x}} $[[--y ${{inputs.y}}]] --o ${{outputs.o}}\ninputs:\n  z: 1\n",
		want: []string{
			`main.yml:1:10: command: command uses ${{inputs.x}} outside $[[ ]] but the job gives no input "x" (inputs: z)`,
			`main.yml:1:10: command: command uses ${{outputs.o}} but the job declares no output "o" (outputs: none)`,
		}},
	{name: "bad command", main: "command: |\n  echo ${{inputs.x}\n",
		want: []string{"main.yml:1:10: command: command line 1, column 6: unterminated placeholder"}},
	{name: "bad name", main: "name: -bad\ncommand: echo\n",
		want: []string{`main.yml:1:7: name: invalid "-bad": expected letters, digits`}},
	{name: "duplicate key", main: "command: echo\ncommand: ls\n",
		want: []string{`main.yml:2:1: duplicate key "command" (first at line 1); expected each key once in a mapping`}},
	{name: "missing code", main: "command: echo\ncode: ./nope\n",
		want: []string{"main.yml:2:7: code: ./nope does not exist (resolved to nope)"}},
	{name: "environment not a reference", main: "command: echo\nenvironment: python:3.10\n",
		want: []string{`main.yml:2:14: environment: expected azureml:<name>:<version>, azureml:<name>@latest, azureml://registries/... or an inline environment mapping (image, conda_file), got "python:3.10"`}},
	{name: "inline environment without image", main: "command: echo\nenvironment:\n  name: e\n",
		want: []string{"main.yml:3:3: environment: an environment needs image, conda_file or build"}},
	{name: "missing conda file", main: "command: echo\nenvironment:\n  image: python\n  conda_file: conda.yml\n",
		want: []string{"main.yml:4:15: environment.conda_file: cannot read conda.yml: no such file or directory"}},
	{name: "bad limits", main: "command: echo\nlimits:\n  timeout: 1h\n",
		want: []string{"main.yml:3:12: limits.timeout: expected an integer, got a string"}},
	{name: "bad input mapping", main: "command: echo\ninputs:\n  a: {type: integer, value: x}\n  b: {type: uri_file}\n  c: {type: string, path: ./x}\n  d: {type: tensor, path: azureml:x:1}\n  e: {type: uri_folder, mode: rw_mount, path: https://x/y}\n",
		want: []string{
			`main.yml:3:29: inputs.a: expected an integer, got "x"`,
			"main.yml:4:6: inputs.b: expected path: (a data input) or value: (a literal) in the mapping",
			"main.yml:5:27: inputs.c.path: a string input takes value:, not path:",
			`main.yml:6:13: inputs.d.type: unknown value "tensor"; expected one of uri_file, uri_folder, mltable, custom_model, mlflow_model, string, integer, number, boolean`,
			`main.yml:7:31: inputs.e.mode: unknown value "rw_mount"; expected one of ro_mount, download, direct, eval_mount, eval_download`,
		}},
	{name: "binding in a job file", main: "command: echo\ninputs:\n  a: ${{parent.inputs.y}}\noutputs:\n  b: ${{parent.outputs.z}}\n",
		want: []string{
			"main.yml:3:6: inputs.a: ${{parent.inputs.y}}: a job file has no parent pipeline to bind to; give a value or a path",
			"main.yml:5:6: outputs.b: ${{parent.outputs.z}}: a job file has no parent pipeline to bind to",
		}},
	{name: "empty pipeline", main: "type: pipeline\njobs: {}\n",
		want: []string{"main.yml:1:1: a pipeline job needs at least one step in jobs:"}},
	{name: "partial binding", main: "command: echo\ninputs:\n  a: x-${{parent.inputs.y}}\n",
		want: []string{`main.yml:3:6: inputs.a: a ${{...}} binding must be the whole value, got "x-${{parent.inputs.y}}"`}},
	{name: "bad output", main: "command: echo\noutputs:\n  a: [1]\n  b: azureml:x\n  c: {type: string, name: '-x'}\n",
		want: []string{
			"main.yml:3:6: outputs.a: expected nothing, a ${{parent.outputs.<name>}} binding or a mapping with type/mode/path, got a sequence",
			"main.yml:4:6: outputs.b: expected nothing",
			`main.yml:5:13: outputs.c.type: unknown value "string"`,
			`main.yml:5:27: outputs.c.name: invalid "-x"`,
		}},
	{name: "component outside a pipeline", main: "command: echo\ncomponent: ./c.yml\n",
		want: []string{"main.yml:2:1: component: only valid in a pipeline step or a pipeline job without jobs:, not in a command job"}},
	{name: "dangling bindings", main: `type: pipeline
jobs:
  a:
    command: echo ${{outputs.o}}
    outputs:
      o:
  b:
    command: echo ${{inputs.i}}
    inputs:
      i: ${{parent.jobs.c.outputs.o}}
      j: ${{parent.jobs.a.outputs.nope}}
      k: ${{parent.inputs.nothere}}
      l: ${{inputs.self}}
      m: ${{parent.jobs.b.outputs.z}}
    outputs:
      z: ${{parent.outputs.missing}}
      y: ${{parent.inputs.x}}
`, want: []string{
		`main.yml:10:10: jobs.b.inputs.i: dangling binding: no step "c" in this pipeline (steps: a, b)`,
		`main.yml:11:10: jobs.b.inputs.j: dangling binding: step "a" has no output "nope" (outputs: o)`,
		`main.yml:12:10: jobs.b.inputs.k: dangling binding: no input "nothere" in this pipeline (inputs: none)`,
		"main.yml:13:10: jobs.b.inputs.l: a step input binds with ${{parent.inputs.<name>}} or ${{parent.jobs.<step>.outputs.<name>}}, not ${{inputs.self}}",
		`main.yml:14:10: jobs.b.inputs.m: step "b" binds to its own outputs`,
		`main.yml:16:10: jobs.b.outputs.z: dangling binding: no output "missing" in this pipeline (outputs: none)`,
		"main.yml:17:10: jobs.b.outputs.y: a step output binds with ${{parent.outputs.<name>}}, not ${{parent.inputs.x}}",
	}},
	{name: "cycle", main: `type: pipeline
jobs:
  a:
    command: echo ${{inputs.i}} ${{outputs.o}}
    inputs: {i: "${{parent.jobs.b.outputs.o}}"}
    outputs: {o: }
  b:
    command: echo ${{inputs.i}} ${{outputs.o}}
    inputs: {i: "${{parent.jobs.a.outputs.o}}"}
    outputs: {o: }
`, want: []string{"main.yml:3:3: jobs.a: dependency cycle: a -> b -> a"}},
	{name: "step against component", main: `type: pipeline
inputs:
  d: {type: uri_folder, path: ./data}
jobs:
  train:
    component: ./comp.yml
    inputs:
      data: ${{parent.inputs.d}}
      lr: 2.5
      mode: medium
      bogus: 1 # not declared: a warning at submit, as in Azure ML
    outputs:
      weights:
`, files: map[string]string{"comp.yml": trainComponent, "data/x.csv": "x\n"}, want: []string{
		`main.yml:5:3: jobs.train: component train needs input "epochs" (it is not optional and has no default)`,
		"main.yml:9:11: jobs.train.inputs.lr: 2.5 is above the maximum 1",
		`main.yml:10:13: jobs.train.inputs.mode: "medium" is not one of fast, slow`,
		`main.yml:13:7: jobs.train.outputs.weights: output "weights" is not declared by component train (outputs: model)`,
	}},
	{name: "component errors point into the component file", main: "type: pipeline\njobs:\n  s:\n    component: c/comp.yml\n",
		files: map[string]string{"c/comp.yml": "type: command\ncommand: echo ${{inputs.nope}}\n"},
		want:  []string{`c/comp.yml:2:10: command: command uses ${{inputs.nope}} but the component declares no input "nope" (inputs: none)`}},
	{name: "component yaml error", main: "type: pipeline\njobs:\n  s:\n    component: comp.yml\n",
		files: map[string]string{"comp.yml": "a: b\n c: d\n"},
		want:  []string{`comp.yml:2:2: invalid YAML: key "c" is indented 1 space, deeper than key "a" on line 1, which already has a value; expected 0 spaces`}},
	{name: "include cycle", main: "type: pipeline\njobs:\n  s:\n    component: a.yml\n",
		files: map[string]string{
			"a.yml": "type: pipeline\njobs:\n  t:\n    component: ./b.yml\n",
			"b.yml": "type: pipeline\njobs:\n  u:\n    type: pipeline\n    component: file:a.yml\n",
		},
		want: []string{"b.yml:5:16: jobs.u.component: component include cycle: a.yml -> b.yml -> a.yml"}},
	{name: "missing component file", main: "type: pipeline\njobs:\n  s:\n    component: ./nope.yml\n",
		want: []string{"main.yml:4:16: jobs.s.component: cannot read component file ./nope.yml: no such file or directory"}},
	{name: "remote component", main: "type: pipeline\njobs:\n  s:\n    component: https://x/c.yml\n",
		want: []string{`main.yml:4:16: jobs.s.component: expected azureml:<name>:<version>, azureml:<name>@latest, a component file (./train.yml) or an inline component mapping, got "https://x/c.yml"`}},
	{name: "pipeline step without component", main: "type: pipeline\njobs:\n  s:\n    type: pipeline\n    jobs: {}\n",
		want: []string{"main.yml:4:5: jobs.s: a pipeline step needs component: (a pipeline component)",
			"main.yml:5:5: jobs.s.jobs: only valid in a pipeline job file (a pipeline step runs a pipeline component), not in a pipeline step"}},
	{name: "type mismatch with component", main: "type: pipeline\njobs:\n  s:\n    type: pipeline\n    component: {type: command, command: echo}\n",
		want: []string{"main.yml:4:5: jobs.s: type is pipeline but the component is a command component"}},
	{name: "unsupported component type", main: "type: pipeline\njobs:\n  s:\n    component:\n      type: spark\n",
		want: []string{`main.yml:5:13: jobs.s.component.type: component type "spark" is not supported yet (supported: command, pipeline, parallel)`}},
	{name: "command in a component step", main: "type: pipeline\njobs:\n  s:\n    component: azureml:train@latest\n    command: echo\n",
		want: []string{"main.yml:5:14: jobs.s.command: a step that runs a component takes its command from the component; remove command"}},
	{name: "compute binding", main: "type: pipeline\njobs:\n  s:\n    component: azureml:train:1\n    compute: ${{parent.inputs.c}}\n",
		want: []string{`main.yml:3:3: jobs.s.compute: dangling binding: no input "c" in this pipeline (inputs: none)`}},
	{name: "bad step name", main: "type: pipeline\njobs:\n  1st:\n    command: echo\n",
		want: []string{`main.yml:3:3: jobs: invalid step name "1st"`}},
	{name: "bad set syntax", main: "command: echo\n", sets: []string{"command", "a..b=1", "command.x=1"},
		want: []string{
			"--set command: expected key=value",
			`--set a..b=1: invalid key "a..b"`,
			`--set command.x=1: command is a string, not a mapping, so it has no key "x"`,
		}},
	{name: "set value of the wrong type", main: "command: echo\n", sets: []string{"limits.timeout=abc", "tags={a"},
		want: []string{`--set tags={a: invalid YAML value "{a"`}},
	{name: "set value decoded", main: "command: echo\n", sets: []string{"limits.timeout=abc"},
		want: []string{"--set limits.timeout=abc: limits.timeout: expected an integer, got a string"}},
	{name: "set keeps an input's declared type", main: "command: echo ${{inputs.n}} ${{inputs.f}} ${{inputs.b}}\ninputs:\n  n: {type: integer, value: 3}\n  f: {type: number, default: 0.5}\n  b: {type: boolean, value: true}\n",
		sets: []string{"inputs.n=abc", "inputs.f=fast", "inputs.b=2"},
		want: []string{
			`--set inputs.n=abc: inputs.n: expected an integer, got "abc"`,
			`--set inputs.f=fast: inputs.f: expected a number, got "fast"`,
			`--set inputs.b=2: inputs.b: expected true or false, got "2"`,
		}},
	{name: "typed literal in the file", main: "command: echo ${{inputs.n}}\ninputs:\n  n:\n    type: integer\n    value: 1.5\n",
		want: []string{`main.yml:5:12: inputs.n: expected an integer, got "1.5"`}},
}

func TestParseJobErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range jobErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"main.yml": tt.main}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeFiles(t, files)
			j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{Sets: tt.sets})
			if err == nil {
				t.Fatalf("parsed without error: %+v", j)
			}
			checkErrors(t, dir, err, tt.want)
		})
	}
}

func TestParseJobOverrides(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"comp.yml": trainComponent,
		"main.yml": `type: pipeline
display_name: before
inputs:
  learning_rate: 0.01
  data: {type: uri_folder, path: azureml:iris:1}
jobs:
  train:
    component: comp.yml
    inputs:
      data: ${{parent.inputs.data}}
      lr: ${{parent.inputs.learning_rate}}
      epochs: 3
`,
	})
	j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{Sets: []string{
		"inputs.learning_rate=0.1",
		"settings.force_rerun=true",
		"jobs.train.compute=azureml:cpu",
		"display_name=after: now",
		"jobs.train.inputs.epochs=7",
		"tags={team: ml, tier: 2}",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if v := j.Inputs["learning_rate"]; v.Value == nil || *v.Value != "0.1" || v.Kind != TypeNumber {
		t.Errorf("inputs.learning_rate = %+v, want number 0.1", v)
	}
	if v := j.Inputs["learning_rate"].Pos.File; v != "--set inputs.learning_rate=0.1" {
		t.Errorf("overridden input's position = %q, want the flag", v)
	}
	if j.Settings == nil || j.Settings.ForceRerun == nil || !*j.Settings.ForceRerun {
		t.Errorf("settings.force_rerun = %+v, want true", j.Settings)
	}
	if got := j.Jobs["train"].Compute; got != "cpu" {
		t.Errorf("jobs.train.compute = %q, want cpu", got)
	}
	if j.DisplayName != "after: now" {
		t.Errorf("display_name = %q", j.DisplayName)
	}
	if v := j.Jobs["train"].Inputs["epochs"]; *v.Value != "7" || v.Kind != TypeInteger {
		t.Errorf("epochs = %+v", v)
	}
	if j.Tags["team"] != "ml" || j.Tags["tier"] != "2" {
		t.Errorf("tags = %v", j.Tags)
	}
}

// jobAcceptCase is a job file that must parse, and a check of the result.
type jobAcceptCase struct {
	name  string
	main  string
	files map[string]string
	check func(t *testing.T, j *Job)
}

var jobAcceptCases = []jobAcceptCase{
	{name: "ignored keys, defaults", main: `command: echo ${{inputs.x}}
inputs: {x: 1}
resources: {instance_count: 2}
distribution: {type: pytorch}
identity: {type: managed}
services: {}
queue_settings: {job_tier: spot}
properties: {a: b}
`, check: func(t *testing.T, j *Job) {
		if j.Type != JobCommand || *j.Inputs["x"].Value != "1" {
			t.Errorf("got %+v", j)
		}
	}},
	{name: "anchors and merge keys", main: `type: pipeline
jobs:
  a: &step
    environment: azureml:env:1
    command: echo ${{outputs.o}}
    outputs: {o: }
  b:
    <<: *step
    command: echo ${{inputs.i}}
    inputs: {i: "${{parent.jobs.a.outputs.o}}"}
    outputs: {}
`, check: func(t *testing.T, j *Job) {
		if j.Jobs["a"].Environment.Ref != "azureml:env:1" || j.Jobs["b"].Command != "echo ${{inputs.i}}" {
			t.Errorf("merge keys: %+v %+v", j.Jobs["a"], j.Jobs["b"])
		}
	}},
	{name: "registered and inline components", main: `type: pipeline
jobs:
  a:
    component: azureml:prep@latest
  b:
    component:
      type: command
      inputs:
        x: {type: uri_folder}
        n: {type: integer, optional: true}
      outputs:
        o:
      command: echo ${{inputs.x}} ${{inputs.n}} ${{outputs.o}}
    inputs:
      x: ${{parent.jobs.a.outputs.anything}}
`, check: func(t *testing.T, j *Job) {
		if j.Jobs["a"].Component.Ref != "azureml:prep@latest" {
			t.Errorf("a: %+v", j.Jobs["a"].Component)
		}
		c := j.Jobs["b"].Component.Inline
		if c == nil || c.Outputs["o"].Type != TypeURIFolder || !c.Inputs["n"].Optional {
			t.Errorf("b: %+v", c)
		}
	}},
	{name: "pipeline-level typed literal", main: `type: pipeline
inputs:
  n: {type: integer, default: 3}
  flag: {type: boolean, value: false}
  maybe: {type: string, optional: true}
jobs:
  s:
    command: echo ${{inputs.n}}
    inputs: {n: "${{parent.inputs.n}}"}
`, check: func(t *testing.T, j *Job) {
		n := j.Inputs["n"]
		if *n.Value != "3" || n.Kind != TypeInteger || n.Type != TypeInteger {
			t.Errorf("n = %+v", n)
		}
		if f := j.Inputs["flag"]; *f.Value != "false" || f.Kind != TypeBoolean {
			t.Errorf("flag = %+v", f)
		}
		if m := j.Inputs["maybe"]; !m.Optional || m.Value != nil {
			t.Errorf("maybe = %+v", m)
		}
	}},
	{name: "local paths", main: `command: ls ${{inputs.d}}
code: ./src
inputs:
  d: {type: uri_folder, path: ./data, mode: download}
outputs:
  o: {type: uri_folder, path: ./out, mode: upload}
  r: {path: "azureml://datastores/blob/paths/${{name}}/"}
`, files: map[string]string{"src/a.py": "", "data/x": ""}, check: func(t *testing.T, j *Job) {
		dir := filepath.Dir(j.File)
		if j.Code != filepath.Join(dir, "src") || j.Inputs["d"].Path != filepath.Join(dir, "data") {
			t.Errorf("code %q, input %q", j.Code, j.Inputs["d"].Path)
		}
		if j.Outputs["o"].Path != filepath.Join(dir, "out") || j.Outputs["r"].Path != "azureml://datastores/blob/paths/${{name}}/" {
			t.Errorf("outputs %+v %+v", j.Outputs["o"], j.Outputs["r"])
		}
	}},
	{name: "settings keys Azure ML includes unknown", main: `type: pipeline
settings:
  default_datestore: azureml:workspaceblobstore
  default_compute: azureml:cpu-cluster
  force_rerun: true
jobs:
  s: {command: echo}
`, check: func(t *testing.T, j *Job) {
		s := j.Settings
		if s == nil || s.DefaultCompute != "cpu-cluster" || s.ForceRerun == nil || !*s.ForceRerun {
			t.Errorf("settings = %+v", s)
		}
	}},
	{name: "additional_includes of a component file", main: `type: pipeline
jobs:
  s: {component: ./comp/c.yml}
`, files: map[string]string{
		"comp/c.yml":       "command: python main.py\ncode: ./src\nadditional_includes:\n  - ../common\n  - ../shared/util.py\n",
		"comp/src/main.py": "", "common/helper.py": "", "shared/util.py": "",
	}, check: func(t *testing.T, j *Job) {
		dir := filepath.Dir(j.File)
		c := j.Jobs["s"].Component.Inline
		want := []string{filepath.Join(dir, "common"), filepath.Join(dir, "shared", "util.py")}
		if len(c.AdditionalIncludes) != 2 || c.AdditionalIncludes[0] != want[0] || c.AdditionalIncludes[1] != want[1] {
			t.Errorf("additional_includes = %q, want %q", c.AdditionalIncludes, want)
		}
	}},
	{name: "inline conda mapping", main: `command: python -V
environment:
  image: python:3.11
  conda_file:
    dependencies: [python=3.11, {pip: [numpy]}]
`, check: func(t *testing.T, j *Job) {
		want := "dependencies: [python=3.11, {pip: [numpy]}]\n"
		if got := j.Environment.Inline.CondaFile; got != want {
			t.Errorf("conda file %q, want %q", got, want)
		}
	}},
}

func TestParseJobAccepts(t *testing.T) {
	t.Parallel()
	for _, tt := range jobAcceptCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"main.yml": tt.main}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeFiles(t, files)
			j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, j)
		})
	}
}

// TestSetTypedInput checks that --set on an input written with its type
// replaces the value and keeps the type.
func TestSetTypedInput(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"main.yml": "command: echo ${{inputs.n}}\ninputs:\n  n: {type: integer, value: 3}\n  s: {type: uri_file, path: a.csv}\n", "a.csv": "x\n"})
	j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{Sets: []string{"inputs.n=7", "inputs.s=8"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := j.Inputs["n"]; n.Type != TypeInteger || n.Value == nil || *n.Value != "7" {
		t.Errorf("inputs.n = %+v, want type integer, value 7", n)
	}
	// A data input is replaced whole: --set gives it a literal.
	if s := j.Inputs["s"]; s.Type != "" || s.Value == nil || *s.Value != "8" {
		t.Errorf("inputs.s = %+v, want the literal 8", s)
	}
}
