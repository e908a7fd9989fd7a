package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// jobCount is how many jobs the env's workspace holds.
func (e *env) jobCount() int {
	e.t.Helper()
	r := e.ok("job", "list", "-o", "json")
	var jobs []json.RawMessage
	if err := json.Unmarshal([]byte(r.out), &jobs); err != nil {
		e.t.Fatalf("job list: %v\n%s", err, r.out)
	}
	return len(jobs)
}

// TestYAMLErrorsNameTheLine submits broken job files through the real
// binary: each is refused before anything reaches the server, with the line
// and column where the file is wrong, what was expected there, and the line
// under a caret.
func TestYAMLErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, content string
		want          string // the first line of stderr
		caret         string // the line shown, then the caret line
	}{
		{"key indented too deep", "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ntype: command\ncommand: python train.py\nenvironment:\n  image: python:3.11\n   conda_file: env.yml\ninputs:\n  lr: 0.1\n",
			`ERROR: deep.yml:6:4: invalid YAML: key "conda_file" is indented 3 spaces, deeper than key "image" on line 5, which already has a value; expected 2 spaces`,
			"  6 |    conda_file: env.yml\n    |    ^"},
		{"key between two blocks", "type: command\ncommand: echo\nenvironment:\n    image: python\n    conda_file: env.yml\n  name: env\ncompute: local\n",
			`ERROR: between.yml:6:3: invalid YAML: key "name" is indented 2 spaces, which matches no enclosing block; expected 4 spaces (like key "conda_file" on line 5) or 0 (like key "environment" on line 3)`,
			"  6 |   name: env\n    |   ^"},
		{"tab indentation", "type: command\ncommand: echo hi\nenvironment_variables:\n  A: \"1\"\n\tB: \"2\"\n",
			`ERROR: tab.yml:5:1: invalid YAML: tab character in the indentation; expected spaces (YAML does not indent with tabs)`,
			"  5 | \tB: \"2\"\n    | ^"},
		{"unclosed bracket", "type: command\ncommand: echo hi\ntags:\n  a: [1, 2\n  b: \"3\"\ninputs:\n  x: 1\n",
			`ERROR: bracket.yml:4:6: invalid YAML: '[' is not closed before line 6, which starts a new key; expected a matching ']'`,
			"  4 |   a: [1, 2\n    |      ^"},
		{"unclosed brace", "type: command\ncommand: echo hi\nlimits: {timeout: 60\ncompute: local\n",
			`ERROR: brace.yml:3:9: invalid YAML: '{' is not closed before line 4, which starts a new key; expected a matching '}'`,
			"  3 | limits: {timeout: 60\n    |         ^"},
		{"unclosed quote", "type: command\ncommand: \"echo hi\ntags:\n  a: b\n",
			`ERROR: quote.yml:2:10: invalid YAML: double-quoted string is never closed; expected a closing "`,
			"  2 | command: \"echo hi\n    |          ^"},
		{"duplicate key", "type: command\ncommand: echo hi\ntags:\n  a: x\n  a: y\n",
			`ERROR: dup.yml:5:3: tags: duplicate key "a" (first at line 4); expected each key once in a mapping`, ""},
		{"key without a colon", "type: command\ncommand: echo hi\ntags:\n  a: x\n  b\n  c: z\n",
			`ERROR: colon.yml:5:3: invalid YAML: expected a key followed by ':' here, like key "a" on line 4; found "b" without one`,
			"  5 |   b\n    |   ^"},
		{"list item at the wrong indent", "type: command\ncommand: echo hi\nenvironment:\n  image: python\n  conda_file:\n    dependencies:\n      - python=3.11\n     - pip\n",
			`ERROR: items.yml:8:6: invalid YAML: list item is indented 5 spaces, which matches no enclosing block; expected 6 spaces (like the list item on line 7) or 4 (like key "dependencies" on line 6)`,
			"  8 |      - pip\n    |      ^"},
	}
	files := map[string]string{
		"key indented too deep": "deep.yml", "key between two blocks": "between.yml", "tab indentation": "tab.yml",
		"unclosed bracket": "bracket.yml", "unclosed brace": "brace.yml", "unclosed quote": "quote.yml",
		"duplicate key": "dup.yml", "key without a colon": "colon.yml", "list item at the wrong indent": "items.yml",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := files[tc.name]
			e.write(file, tc.content)
			r := e.run("job", "create", "--file", file)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", r.code, r.err)
			}
			lines := strings.SplitN(strings.TrimRight(r.err, "\n"), "\n", 2)
			if lines[0] != tc.want {
				t.Errorf("stderr first line\n got %s\nwant %s", lines[0], tc.want)
			}
			var snippet string
			if len(lines) > 1 {
				snippet = lines[1]
			}
			if snippet != tc.caret {
				t.Errorf("stderr shows\n%s\nwant\n%s", snippet, tc.caret)
			}
		})
	}
	if n := e.jobCount(); n != 0 {
		t.Errorf("%d jobs were submitted from broken files", n)
	}
}

// TestUndeclaredInputIsAWarning submits a pipeline whose step binds an
// input its component does not declare, with the component as a file and
// registered: Azure ML accepts it, so ciel warns and runs the job.
func TestUndeclaredInputIsAWarning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("train.yml", checkedComponentYAML)
	e.ok("component", "create", "--file", "train.yml")
	// Different epochs, so the second job runs rather than reuses the first.
	for comp, epochs := range map[string]string{"./train.yml": "2", "azureml:train:1": "3"} {
		t.Run(comp, func(t *testing.T) {
			e.write("warn.yml", "type: pipeline\njobs:\n  train:\n    component: "+comp+"\n    inputs:\n      epochs: "+epochs+"\n      extra: 5\n")
			r := e.ok("job", "create", "--file", "warn.yml", "-o", "json")
			want := `WARNING: warn.yml:7:14: step train: input "extra" is not declared by component train (inputs: epochs, mode); it is ignored`
			if strings.TrimRight(r.err, "\n") != want {
				t.Errorf("stderr\n got %s\nwant %s", r.err, want)
			}
			var j job
			if err := json.Unmarshal([]byte(r.out), &j); err != nil || j.Name == "" {
				t.Fatalf("job create output: %v\n%s", err, r.out)
			}
			if done := e.wait(j.Name, 2*time.Minute); done.Status != "Completed" {
				t.Fatalf("job %s ended %s: %s %+v", j.Name, done.Status, done.Error, done.Jobs)
			}
			log := e.ok("job", "stream", "--name", j.Name).out
			if !strings.Contains(log, "epochs="+epochs+" mode=fast") {
				t.Errorf("the step did not run its command with its declared inputs:\n%s", log)
			}
		})
	}
}

// checkedComponentYAML is a component whose literal inputs have a type, an
// enum, a minimum and a maximum.
const checkedComponentYAML = `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: train
version: "1"
type: command
inputs:
  epochs: {type: integer, min: 1, max: 10}
  mode: {type: string, enum: [fast, slow], default: fast}
command: echo epochs=${{inputs.epochs}} mode=${{inputs.mode}}
environment:
  image: python:3.11
`

// TestLiteralTypesCheckedAtSubmit gives literal inputs values that do not
// fit their declaration, in the file and with --set, for a component file
// and a registered one: each is refused at submit, naming where the value
// was written, and no job is created.
func TestLiteralTypesCheckedAtSubmit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("train.yml", checkedComponentYAML)
	e.ok("component", "create", "--file", "train.yml")
	pipeline := func(comp string) string {
		return "type: pipeline\ninputs:\n  epochs: 3\n  mode: fast\njobs:\n  train:\n    component: " + comp +
			"\n    inputs:\n      epochs: ${{parent.inputs.epochs}}\n      mode: ${{parent.inputs.mode}}\n"
	}
	cases := []struct {
		name, file, content string
		sets                []string
		want                []string // stderr lines
	}{
		{"integer given text in the file", "text.yml", strings.Replace(pipeline("./train.yml"), "epochs: 3", "epochs: abc", 1), nil,
			[]string{`ERROR: text.yml:3:11: step train, input "epochs" (given by ${{parent.inputs.epochs}}): expected an integer, got "abc"`}},
		{"enum and max, registered component", "enum.yml", strings.Replace(strings.Replace(pipeline("azureml:train:1"), "epochs: 3", "epochs: 11", 1), "mode: fast", "mode: medium", 1), nil,
			[]string{
				`ERROR: enum.yml:3:11: step train, input "epochs" (given by ${{parent.inputs.epochs}}): 11 is above the maximum 10`,
				`enum.yml:4:9: step train, input "mode" (given by ${{parent.inputs.mode}}): "medium" is not one of fast, slow`,
			}},
		{"--set names the flag", "set.yml", pipeline("azureml:train:1"), []string{"--set", "inputs.epochs=abc"},
			[]string{`ERROR: --set inputs.epochs=abc: step train, input "epochs" (given by ${{parent.inputs.epochs}}): expected an integer, got "abc"`}},
		{"step literal against a component file", "step.yml", "type: pipeline\njobs:\n  train:\n    component: ./train.yml\n    inputs:\n      epochs: 0\n", nil,
			[]string{`ERROR: step.yml:6:15: jobs.train.inputs.epochs: 0 is below the minimum 1`}},
		{"typed job input given text with --set", "typed.yml", "type: command\ncommand: echo ${{inputs.n}}\ninputs:\n  n: {type: integer, value: 3}\n", []string{"--set", "inputs.n=three"},
			[]string{`ERROR: --set inputs.n=three: inputs.n: expected an integer, got "three"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.write(tc.file, tc.content)
			r := e.run(append([]string{"job", "create", "--file", tc.file}, tc.sets...)...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", r.code, r.err)
			}
			if got := strings.TrimRight(r.err, "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("stderr\n got %s\nwant %s", got, strings.Join(tc.want, "\n"))
			}
		})
	}
	if n := e.jobCount(); n != 0 {
		t.Errorf("%d jobs were created from refused files", n)
	}
}
