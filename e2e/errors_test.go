package e2e

import (
	"net/http"
	"strings"
	"testing"
)

func TestBadFilesNameTheirLocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, file, content string
		want                []string
	}{
		{"yaml syntax", "syntax.yml", "type: command\ncommand: [echo\n", []string{"syntax.yml:"}},
		{"wrong type", "typed.yml", "type: command\ncommand: echo\nlimits:\n  timeout: [1, 2]\n", []string{"typed.yml:4:"}},
		{"dangling binding", "dangling.yml", `type: pipeline
jobs:
  a:
    type: command
    command: echo a
  b:
    type: command
    inputs:
      x: ${{parent.jobs.nope.outputs.y}}
    command: echo ${{inputs.x}}
`, []string{"dangling.yml:9:", "nope"}},
		{"undeclared placeholder", "placeholder.yml", "type: command\ncommand: echo ${{inputs.missing}}\n", []string{"placeholder.yml:", "missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.write(tc.file, tc.content)
			r := e.run("job", "create", "--file", tc.file)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", r.code, r.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.err, w) {
					t.Errorf("stderr %q lacks %q", r.err, w)
				}
			}
			if strings.Contains(r.err, "goroutine") || strings.Contains(r.err, "panic") {
				t.Errorf("stack trace reached the user: %s", r.err)
			}
		})
	}
}

func TestUnknownReferencesNameTheFix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, content, want string
	}{
		{"component", "type: pipeline\njobs:\n  a:\n    component: azureml:nothere:1\n", "ciel component create"},
		{"data", "type: command\ncommand: cat ${{inputs.d}}\ninputs:\n  d: {type: uri_file, path: azureml:nodata:1}\n", "ciel data create"},
		{"environment", "type: command\ncommand: echo\nenvironment: azureml:noenv@latest\n", "ciel environment create"},
		{"compute", "type: command\ncommand: echo\ncompute: azureml:nocluster\n", "ciel compute create"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.write(tc.name+".yml", tc.content)
			r := e.run("job", "create", "--file", tc.name+".yml")
			if r.code == 0 || !strings.Contains(r.err, tc.want) || !strings.Contains(r.err, tc.name+".yml:") {
				t.Errorf("exit %d, stderr %q: want a located error naming %q", r.code, r.err, tc.want)
			}
		})
	}
}

func TestHTTPErrorsAreJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		method, path, body string
		status             int
		target             string
	}{
		{"POST", "/api/v1/workspaces", `{"name": 5}`, http.StatusBadRequest, "name"},
		{"POST", "/api/v1/workspaces", `{"name": "ok", "colour": "red"}`, http.StatusBadRequest, "colour"},
		{"POST", "/api/v1/workspaces", `{"name": "bad name!"}`, http.StatusBadRequest, "name"},
		{"POST", "/api/v1/workspaces", `not json`, http.StatusBadRequest, ""},
		{"POST", "/api/v1/workspaces/ws/jobs", `{"type": "command", "command": "echo", "limits": {"timeout": "x"}}`, http.StatusBadRequest, "limits.timeout"},
		{"POST", "/api/v1/workspaces/ws/jobs", `{"type": "command", "command": ""}`, http.StatusBadRequest, ""},
		{"GET", "/api/v1/workspaces/ws/jobs/nope", ``, http.StatusNotFound, "name"},
		{"GET", "/api/v1/workspaces/nows/jobs", ``, http.StatusNotFound, "workspace"},
		{"POST", "/api/v1/workspaces/ws/data", `{"name": "d", "type": "uri_file", "path": "/etc/passwd"}`, http.StatusBadRequest, "path"},
		{"GET", "/api/v1/nothing", ``, http.StatusNotFound, ""},
	}
	for _, tc := range cases {
		status, body := e.httpJSON(tc.method, tc.path, tc.body)
		errObj, _ := body["error"].(map[string]any)
		if status != tc.status || errObj == nil || errObj["message"] == "" {
			t.Errorf("%s %s %s: status %d body %v, want %d with an error body", tc.method, tc.path, tc.body, status, body, tc.status)
			continue
		}
		if tc.target != "" && errObj["target"] != tc.target {
			t.Errorf("%s %s %s: target %v, want %q (%v)", tc.method, tc.path, tc.body, errObj["target"], tc.target, errObj["message"])
		}
	}
}
