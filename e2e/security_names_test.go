package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The probe's requests over HTTP to the real server: names that would be
// paths, paths on the server's own disk, NULs. Each is a 4xx with a JSON
// error naming the field, never names the server's home, and changes
// nothing.

// refused sends a request and checks it is a 4xx with a JSON error body
// naming target (when given) and not naming CIEL_HOME.
func (e *env) refused(method, path, body, target string) {
	e.t.Helper()
	status, answer := e.httpJSON(method, path, body)
	errObj, _ := answer["error"].(map[string]any)
	msg, _ := errObj["message"].(string)
	if status < 400 || status > 499 || msg == "" {
		e.t.Errorf("%s %s %s: status %d body %v, want a 4xx with a JSON error", method, path, body, status, answer)
		return
	}
	if target != "" && errObj["target"] != target {
		e.t.Errorf("%s %s %s: target %v, want %q (%s)", method, path, body, errObj["target"], target, msg)
	}
	if strings.Contains(msg, e.home) {
		e.t.Errorf("%s %s: the message names the server's home: %s", method, path, msg)
	}
}

// jobNames lists the workspace's jobs.
func (e *env) jobNames() []string {
	e.t.Helper()
	var jobs []struct {
		Name string `json:"name"`
	}
	r := e.ok("job", "list", "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &jobs); err != nil {
		e.t.Fatalf("job list: %v\n%s", err, r.out)
	}
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return names
}

func TestSecurityNamesJobsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, body, target string
	}{
		{"output name climbs to /etc", `{"type":"command","command":"echo hi","outputs":{"../../../../../../../../etc":{}}}`, "outputs"},
		{"step named ..", `{"type":"pipeline","jobs":{"..":{"type":"command","command":"echo hi"}}}`, "jobs"},
		{"step name with a slash", `{"type":"pipeline","jobs":{"a/../../b":{"type":"command","command":"echo hi"}}}`, "jobs"},
		{"input name climbs", `{"type":"command","command":"echo","inputs":{"../x":{"value":"1"}}}`, "inputs"},
		{"code: /etc", `{"type":"command","command":"cat passwd","code":"/etc"}`, "code"},
		{"code: ../..", `{"type":"command","command":"ls","code":"../.."}`, "code"},
		{"code: /", `{"type":"command","command":"ls","code":"/"}`, "code"},
		{"data input on the server", `{"type":"command","command":"cat ${{inputs.d}}","inputs":{"d":{"type":"uri_file","path":"/etc/passwd"}}}`, "inputs.d.path"},
		{"NUL in command", `{"type":"command","command":"echo a\u0000b"}`, "command"},
		{"NUL in a variable", `{"type":"command","command":"echo","environment_variables":{"X":"\u0000"}}`, "environment_variables.X"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.refused("POST", "/api/v1/workspaces/ws/jobs", tc.body, tc.target)
		})
	}
	if names := e.jobNames(); len(names) != 0 {
		t.Errorf("refused requests created jobs %v", names)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.home, "jobs")); len(entries) != 0 {
		t.Errorf("refused requests left %d folders under CIEL_HOME/jobs", len(entries))
	}
}

func TestSecurityNamesAssetsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		method, path, body, target string
	}{
		{"POST", "/api/v1/workspaces/ws/models", `{"name":"../evil","path":"azureml://jobs/x/outputs/model"}`, "name"},
		{"POST", "/api/v1/workspaces/ws/models", `{"name":"a/b","path":"azureml://jobs/x/outputs/model"}`, "name"},
		{"POST", "/api/v1/workspaces/ws/models", `{"name":"...","path":"azureml://jobs/x/outputs/model"}`, "name"},
		{"POST", "/api/v1/workspaces/ws/online-endpoints", `{"name":"../ep"}`, "name"},
		{"POST", "/api/v1/workspaces/ws/online-endpoints", `{"name":"a/b/c"}`, "name"},
		{"POST", "/api/v1/workspaces/ws/environments", `{"name":"e","image":"python:3.12","build_path":"/etc"}`, "build_path"},
		{"POST", "/api/v1/workspaces/ws/environments", `{"name":"e","version":"../1","image":"python:3.12"}`, "version"},
		{"POST", "/api/v1/workspaces/ws/components", `{"name":"c","command":"echo","outputs":{"../../x":{"type":"uri_folder"}}}`, "outputs"},
		{"POST", "/api/v1/workspaces/ws/data", `{"name":"d","type":"uri_folder","path":"../.."}`, "path"},
	}
	for _, tc := range cases {
		e.refused(tc.method, tc.path, tc.body, tc.target)
	}
	for _, kind := range []string{"environment", "component", "data"} {
		var list []any
		r := e.ok(kind, "list", "-o", "json")
		if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 0 {
			t.Errorf("refused requests created a %s (%v): %s", kind, err, r.out)
		}
	}

	// A deployment's code must be an upload, and the error says which field.
	if status, body := e.httpJSON("POST", "/api/v1/workspaces/ws/online-endpoints", `{"name":"sec-ep"}`); status != http.StatusCreated {
		t.Fatalf("create endpoint: %d %v", status, body)
	}
	e.refused("POST", "/api/v1/workspaces/ws/online-endpoints/sec-ep/deployments",
		`{"name":"blue","code_configuration":{"code":"/etc","scoring_script":"passwd"}}`, "code_configuration.code")
}

func TestSecurityNamesStepLogQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("hello.yml", "type: command\ncommand: echo hello\n")
	name := e.submit("hello.yml")
	if j := e.wait(name, 2*time.Minute); j.Status != "Completed" {
		t.Fatalf("job %s: %s %s", name, j.Status, j.Error)
	}
	for _, step := range []string{"\x00", "main\x00", "..", "../../../..", "/etc/passwd", "main/../..", "a\nb"} {
		e.refused("GET", fmt.Sprintf("/api/v1/workspaces/ws/jobs/%s/logs?step=%s", name, url.QueryEscape(step)), "", "step")
	}
	// The job's own log still reads.
	base, _ := e.server()
	resp, err := http.Get(base + "/api/v1/workspaces/ws/jobs/" + name + "/logs?step=main")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("log of step main: %d", resp.StatusCode)
	}
}
