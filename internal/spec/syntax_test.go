package spec

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyntaxErrors parses broken files of each kind ciel reads and checks
// the exact position and message of the YAML error.
func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	parsers := map[string]func(file string, data []byte) error{
		"job":         func(f string, b []byte) error { _, err := ParseJob(f, b, Options{}); return err },
		"component":   func(f string, b []byte) error { _, err := ParseComponent(f, b, Options{}); return err },
		"environment": func(f string, b []byte) error { _, err := ParseEnvironment(f, b, Options{}); return err },
		"data":        func(f string, b []byte) error { _, err := ParseData(f, b, Options{}); return err },
		"compute":     func(f string, b []byte) error { _, err := ParseCompute(f, b, Options{}); return err },
		"endpoint":    func(f string, b []byte) error { _, err := ParseOnlineEndpoint(f, b, Options{}); return err },
		"deployment":  func(f string, b []byte) error { _, err := ParseOnlineDeployment(f, b, Options{}); return err },
		"model":       func(f string, b []byte) error { _, err := ParseModel(f, b, Options{}); return err },
		"schedule":    func(f string, b []byte) error { _, err := ParseSchedule(f, b, Options{}); return err },
		"datastore":   func(f string, b []byte) error { _, err := ParseDatastore(f, b, Options{}); return err },
	}
	tests := []struct {
		kind, doc, want string
	}{
		{"job", "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ntype: command\ncommand: python train.py\nenvironment:\n  image: python:3.11\n   conda_file: env.yml\n",
			`bad.yml:6:4: invalid YAML: key "conda_file" is indented 3 spaces, deeper than key "image" on line 5, which already has a value; expected 2 spaces`},
		{"job", "type: pipeline\njobs:\n  train:\n    type: command\n    command: echo\n    environment:\n      image: python\n   compute: local\n",
			`bad.yml:8:4: invalid YAML: key "compute" is indented 3 spaces, which matches no enclosing block; expected 4 spaces (like key "environment" on line 6) or 2 (like key "train" on line 3)`},
		{"job", "type: command\ncommand: echo\ntags:\n\tteam: ml\n",
			`bad.yml:4:1: invalid YAML: tab character in the indentation; expected spaces (YAML does not indent with tabs)`},
		{"job", "type: command\ncommand: echo\ntags: [a, b\ncompute: local\n",
			`bad.yml:3:7: invalid YAML: '[' is never closed; expected a matching ']'`},
		{"component", "name: train\ntype: command\ninputs:\n  lr: {type: number, default: 0.1\n  epochs:\n    type: integer\n",
			`bad.yml:4:7: invalid YAML: '{' is not closed before line 5, which starts a new key; expected a matching '}'`},
		{"environment", "name: env\nimage: \"python:3.11\nconda_file: conda.yml\n",
			`bad.yml:2:8: invalid YAML: double-quoted string is never closed; expected a closing "`},
		{"data", "name: iris\nversion: 1\ntype uri_file\npath: ./iris.csv\n",
			`bad.yml:3:1: invalid YAML: expected a key followed by ':' here, like key "version" on line 2; found "type" without one`},
		{"compute", "name: cpu\ntype: local\nmax_instances: 4\n- extra\n",
			`bad.yml:4:1: invalid YAML: expected a key here, like key "max_instances" on line 3; found a list item`},
		{"endpoint", "name: svc\nauth_mode: key\ntags:\n  - a\n  b: c\n",
			`bad.yml:5:3: invalid YAML: expected a list item ("- ") here, like the list item on line 4; found key "b"`},
		{"deployment", "name: blue\nendpoint_name: svc\nmodel: azureml:m:1\ninstance_count: 1\nrequest_settings:\n  request_timeout_ms: 3000\n max_concurrent_requests_per_instance: 1\n",
			`bad.yml:7:2: invalid YAML: key "max_concurrent_requests_per_instance" is indented 1 space, which matches no enclosing block; expected 2 spaces (like key "request_timeout_ms" on line 6) or 0 (like key "request_settings" on line 5)`},
		{"model", "name: m\nversion: 1\npath: ./model\ntags:\n  stage: 'prod\n",
			`bad.yml:5:10: invalid YAML: single-quoted string is never closed; expected a closing '`},
		{"schedule", "name: nightly\ntrigger:\n  type: cron\n  expression: \"0 2 * * *\"\n time_zone: UTC\ncreate_job: ./job.yml\n",
			`bad.yml:5:2: invalid YAML: key "time_zone" is indented 1 space, which matches no enclosing block; expected 2 spaces (like key "expression" on line 4) or 0 (like key "trigger" on line 2)`},
		{"datastore", "name: local_store\ntype: azure_blob\naccount_name: acct\ncontainer_name: data\ncredentials:\n  account_key: \"abc\n",
			`bad.yml:6:16: invalid YAML: double-quoted string is never closed; expected a closing "`},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.kind, i), func(t *testing.T) {
			t.Parallel()
			err := parsers[tt.kind]("bad.yml", []byte(tt.doc))
			if err == nil || err.Error() != tt.want {
				t.Errorf("parse %s:\n got %v\nwant %s", tt.kind, err, tt.want)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 150) + ": [1, 2}"
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"caret under the column", &Error{Pos: Pos{File: "a.yml", Line: 6, Col: 4}, Source: "   conda_file: env.yml"},
			"  6 |    conda_file: env.yml\n    |    ^"},
		{"tabs kept so the caret lines up", &Error{Pos: Pos{Line: 12, Col: 3}, Source: "\t\tb: 1"},
			"  12 | \t\tb: 1\n     | \t\t^"},
		{"long line shown around the column", &Error{Pos: Pos{Line: 1, Col: 158}, Source: long},
			"  1 | ..." + strings.Repeat("x", 42) + ": [1, 2}\n    |    " + strings.Repeat(" ", 49) + "^"},
		{"no column", &Error{Pos: Pos{Line: 2}, Source: "a: b"}, "  2 | a: b"},
		{"no line kept", &Error{Pos: Pos{Line: 2, Col: 1}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Snippet(); got != tt.want {
				t.Errorf("Snippet() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestCondaFileSyntax checks that a broken conda file an environment names
// is refused when the environment is parsed, at the conda file's own line.
func TestCondaFileSyntax(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"env.yml":   "name: env\nimage: python:3.11\nconda_file: conda.yml\n",
		"conda.yml": "name: train\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy\n   - pandas\n",
	})
	_, err := ParseEnvironmentFile(filepath.Join(dir, "env.yml"), Options{})
	want := `conda.yml:6:4: invalid YAML: list item is indented 3 spaces, which matches no enclosing block; expected 4 spaces (like key "pip" on line 4) or 2 (like the list item on line 4)`
	if err == nil || strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "") != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
