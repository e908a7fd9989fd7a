package spec

import (
	"path/filepath"
	"testing"
)

func TestParseComponentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "input without type", yaml: "type: command\ncommand: echo\ninputs:\n  a: {optional: true}\n",
			want: []string{"c.yml:4:6: inputs.a: type is required; expected one of uri_file,"}},
		{name: "input written as a scalar", yaml: "type: command\ncommand: echo\ninputs:\n  a: integer\n",
			want: []string{"c.yml:4:6: inputs.a: expected a mapping with type (and optional, default, description, ...), got a string"}},
		{name: "bad default and bounds", yaml: `type: command
command: echo
inputs:
  n: {type: integer, default: 2.5}
  m: {type: number, default: 5, max: 3}
  s: {type: string, min: 1, default: c, enum: [a, b]}
`, want: []string{
			`c.yml:4:31: inputs.n.default: expected an integer, got "2.5"`,
			"c.yml:5:30: inputs.m.default: 5 is above the maximum 3",
			"c.yml:6:26: inputs.s.min: min applies to integer and number inputs, not string",
			`c.yml:6:38: inputs.s.default: "c" is not one of a, b`,
		}},
		{name: "command uses undeclared ports", yaml: "type: command\ninputs:\n  a: {type: string, optional: true}\ncommand: echo ${{inputs.a}} $[[${{inputs.b}}]] ${{outputs.c}}\n",
			want: []string{
				`c.yml:4:10: command: command uses ${{inputs.b}} but the component declares no input "b" (inputs: a)`,
				`c.yml:4:10: command: command uses ${{outputs.c}} but the component declares no output "c" (outputs: none)`,
			}},
		{name: "no command", yaml: "type: command\nname: x\n", want: []string{"c.yml:1:1: a command component needs command:"}},
		{name: "no jobs", yaml: "type: pipeline\nname: x\n", want: []string{"c.yml:1:1: a pipeline component needs jobs:"}},
		{name: "pipeline component bindings", yaml: `type: pipeline
inputs:
  a: {type: uri_folder}
outputs:
  o: {type: uri_folder}
jobs:
  s:
    command: echo ${{inputs.x}} ${{outputs.y}}
    inputs: {x: "${{parent.inputs.b}}"}
    outputs: {y: "${{parent.outputs.p}}"}
`, want: []string{
			`c.yml:9:17: jobs.s.inputs.x: dangling binding: no input "b" in this pipeline (inputs: a)`,
			`c.yml:10:18: jobs.s.outputs.y: dangling binding: no output "p" in this pipeline (outputs: o)`,
		}},
		{name: "additional_includes", yaml: `type: command
command: echo
additional_includes:
  - ./missing
  - https://example.com/lib.zip
  - ./a/lib
  - ./b/lib
`, want: []string{
			`c.yml:4:5: additional_includes: ./missing does not exist`,
			`c.yml:5:5: additional_includes: "https://example.com/lib.zip": only local files and folders can be included`,
			`c.yml:7:5: additional_includes: "./b/lib": another include (line 6) is also named lib in the snapshot`,
		}},
		{name: "additional_includes not a sequence", yaml: "type: command\ncommand: echo\nadditional_includes: ./lib\n",
			want: []string{`c.yml:3:22: additional_includes: expected a sequence of local files or folders, got a string`}},
		{name: "additional_includes in a pipeline component", yaml: "type: pipeline\njobs: {s: {command: echo}}\nadditional_includes: [x]\n",
			want: []string{`c.yml:3:1: additional_includes: only valid in a command component, not in a pipeline component`}},
		{name: "unknown key", yaml: "type: command\ncommand: echo\nfoo: 1\n",
			want: []string{`c.yml:3:1: unknown key "foo" in a command component; known keys: $schema, additional_includes, code, command, description,`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"c.yml": tt.yaml, "a/lib/x.py": "", "b/lib/y.py": ""})
			c, err := ParseComponentFile(filepath.Join(dir, "c.yml"), Options{})
			if err == nil {
				t.Fatalf("parsed without error: %+v", c)
			}
			checkErrors(t, dir, err, tt.want)
		})
	}
}

func TestParseComponent(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"c.yml": trainComponent + "version: 2\n"})
	c, err := ParseComponentFile(filepath.Join(dir, "c.yml"), Options{Sets: []string{"name=renamed"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "renamed" || c.Version != "2" || c.Type != JobCommand {
		t.Errorf("name %q version %q type %q", c.Name, c.Version, c.Type)
	}
	lr := c.Inputs["lr"]
	if lr.Default == nil || *lr.Default != "0.1" || *lr.Min != 0 || *lr.Max != 1 {
		t.Errorf("lr = %+v", lr)
	}
	if got := c.Inputs["mode"].Enum; len(got) != 2 || got[0] != "fast" {
		t.Errorf("mode enum = %v", got)
	}
}

func TestParseEnvironment(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"env/env.yml":        "name: sk\nversion: 3\nimage: python:3.11\nconda_file: conda.yml\nbuild:\n  path: ./ctx\ntags: {a: 1}\n",
		"env/conda.yml":      "dependencies: [python=3.11]\n",
		"env/ctx/Dockerfile": "FROM python\n",
		"bad.yml":            "name: x\ndescription: nothing to build\n",
	})
	e, err := ParseEnvironmentFile(filepath.Join(dir, "env/env.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "sk" || e.Version != "3" || e.CondaFile != "dependencies: [python=3.11]\n" || e.BuildPath != filepath.Join(dir, "env/ctx") || e.Tags["a"] != "1" {
		t.Errorf("got %+v", e)
	}
	_, err = ParseEnvironmentFile(filepath.Join(dir, "bad.yml"), Options{})
	checkErrors(t, dir, err, []string{"bad.yml:1:1: an environment needs image, conda_file or build"})
}

func TestParseData(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"d/local.yml":  "name: iris\nversion: 1\npath: ./iris.csv\ntype: uri_file\n",
		"d/iris.csv":   "a\n",
		"d/remote.yml": "name: iris\npath: https://example.com/iris.csv\n",
		"d/bad.yml":    "type: table\npath: ./nope\n",
	})
	x, err := ParseDataFile(filepath.Join(dir, "d/local.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x.Path != filepath.Join(dir, "d/iris.csv") || x.Type != TypeURIFile || x.Version != "1" {
		t.Errorf("got %+v", x)
	}
	x, err = ParseDataFile(filepath.Join(dir, "d/remote.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x.Path != "https://example.com/iris.csv" || x.Type != TypeURIFolder {
		t.Errorf("got %+v", x)
	}
	_, err = ParseDataFile(filepath.Join(dir, "d/bad.yml"), Options{})
	checkErrors(t, dir, err, []string{
		"d/bad.yml:1:1: a data asset needs name:",
		`d/bad.yml:1:7: type: unknown value "table"; expected one of uri_file, uri_folder, mltable`,
		"d/bad.yml:2:7: path: ./nope does not exist",
	})
}

func TestParseCompute(t *testing.T) {
	t.Parallel()
	c, err := ParseCompute("cpu.yml", []byte("$schema: x\nname: cpu-cluster\ntype: amlcompute\nsize: STANDARD_DS3_v2\nmin_instances: 0\nmax_instances: 4\nmax_concurrency: 2\nlocation: westeurope\nidle_time_before_scale_down: 120\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "cpu-cluster" || c.Type != "amlcompute" || c.MaxInstances != 4 || c.MaxConcurrency != 2 {
		t.Errorf("got %+v", c)
	}
	_, err = ParseCompute("bad.yml", []byte("name: c\ntype: vm\nmin_instances: 5\nmax_instances: 2\n"), Options{})
	checkErrors(t, "", err, []string{
		`bad.yml:2:7: type: unknown value "vm"; expected one of local, amlcompute, kubernetes, computeinstance`,
		"bad.yml:3:16: min_instances: 5 is more than max_instances (2)",
	})
	_, err = ParseCompute("bad.yml", []byte("type: local\nmax_instances: -1\n"), Options{})
	checkErrors(t, "", err, []string{
		"bad.yml:1:1: a compute needs name:",
		"bad.yml:2:16: max_instances: expected a number >= 0, got -1",
	})
}
