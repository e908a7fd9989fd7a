package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The CLI behaviour scripts depend on, through the real binary: `--query`
// and `-o tsv` as az gives them, flags that fill in the placeholders of the
// azureml-examples files, and the small commands.
func TestCLIScripting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tsv := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(e.ok(args...).out)
	}

	if got := tsv("workspace", "show", "--name", "ws", "--query", "location", "-o", "tsv"); got != "eastus" {
		t.Errorf("workspace show --query location -o tsv = %q", got)
	}
	e.write("job.yml", "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"+
		"type: command\nname: <job_name>\ncommand: echo hello\nexperiment_name: scripting\n")
	job := tsv("job", "create", "--file", "job.yml", "--name", "scripted_job_1", "--query", "name", "-o", "tsv")
	if job != "scripted_job_1" {
		t.Fatalf("job create --name over a placeholder, --query name -o tsv = %q", job)
	}
	e.wait(job, 60*time.Second)
	if got := tsv("job", "show", "-n", job, "--query", "status", "-o", "tsv"); got != "Completed" {
		t.Errorf("job show --query status -o tsv = %q", got)
	}
	if got := tsv("job", "list", "--query", "[?name=='"+job+"'] | length(@)", "-o", "tsv"); got != "1" {
		t.Errorf("job list --query filter = %q", got)
	}
	if got := tsv("experiment", "list", "--query", "[?name=='scripting'].name | [0]", "-o", "tsv"); got != "scripting" {
		t.Errorf("experiment list = %q\n%s", got, e.ok("experiment", "list").out)
	}

	// The azureml-examples endpoint files keep placeholders; the names come
	// from the command line, and the scoring URI from --query.
	e.write("endpoint.yml", "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\nname: <endpoint_name>\nauth_mode: key\n")
	uri := tsv("online-endpoint", "create", "--file", "endpoint.yml", "--name", "script-ep", "--query", "scoring_uri", "-o", "tsv")
	if !strings.HasPrefix(uri, "http://127.0.0.1:") || strings.Contains(uri, "\"") {
		t.Errorf("online-endpoint create --query scoring_uri -o tsv = %q", uri)
	}
	e.write("src/score.py", "def init(): pass\ndef run(raw): return {'echo': raw}\n")
	e.write("model/model.pkl", "not really a model")
	e.write("model.yml", "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: <model_name>\npath: model\ntype: custom_model\n")
	if got := tsv("model", "create", "--file", "model.yml", "--name", "script-model", "--set", "version=3", "--query", "[name, version]", "-o", "tsv"); got != "script-model\n3" {
		t.Errorf("model create --file --name --set = %q", got)
	}
	e.write("blue-deployment.yml", "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n"+
		"name: blue\nendpoint_name: <endpoint_name>\nmodel: azureml:script-model:3\n"+
		"code_configuration:\n  code: ./src\n  scoring_script: score.py\ninstance_type: Standard_DS2_v2\ninstance_count: 1\n")
	if got := tsv("online-deployment", "create", "--file", "blue-deployment.yml", "--endpoint-name", "script-ep", "--all-traffic",
		"--query", "provisioning_state", "-o", "tsv"); got != "Succeeded" {
		t.Errorf("online-deployment create --endpoint-name over a placeholder = %q", got)
	}
	e.write("req.json", `{"x": [1, 2]}`)
	if got := tsv("online-endpoint", "invoke", "--name", "script-ep", "--request-file", "req.json", "--query", "echo", "-o", "tsv"); got != `{"x": [1, 2]}` {
		t.Errorf("invoke --query echo -o tsv = %q", got)
	}

	// Table columns stay aligned over blank cells.
	table := e.ok("online-deployment", "list", "--endpoint-name", "script-ep", "-o", "table").out
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) < 3 || strings.Index(lines[0], "Endpoint") != strings.Index(lines[2], "script-ep") {
		t.Errorf("deployment list table misaligned:\n%s", table)
	}

	var v struct{ Version, Commit, GoVersion string }
	decodeOut(t, e.ok("version", "-o", "json"), &v)
	if v.Version == "" || v.Commit == "" {
		t.Errorf("version -o json: %+v", v)
	}
	if r := e.ok("completion", "bash"); !strings.Contains(r.out, "__start_ciel") {
		t.Errorf("completion bash is not a bash completion script:\n%.200s", r.out)
	}
	if r := e.run("job", "show", "-n", job, "--query", "[?", "-o", "tsv"); r.code != 2 || !strings.Contains(r.err, "invalid jmespath query") {
		t.Errorf("bad --query: exit %d, %s", r.code, r.err)
	}
}

// Deleting a workspace stops what works for it: its running job is
// canceled and its processes killed, its endpoint stops answering (old key
// included), and its files under CIEL_HOME go. Another workspace is
// untouched.
func TestWorkspaceDeleteStopsItsWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok("workspace", "create", "--name", "doomed")
	pidFile := filepath.Join(e.dir, "child.pid")
	e.write("long.yml", "type: command\ncommand: sleep 300 & echo $! > "+pidFile+"; wait\n")
	name := strings.TrimSpace(e.ok("job", "create", "-w", "doomed", "--file", "long.yml", "--query", "name", "-o", "tsv").out)
	waitFor(t, "the job's process", 60*time.Second, func() bool { b, _ := os.ReadFile(pidFile); return len(strings.TrimSpace(string(b))) > 0 })
	b, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}

	e.write("ep.yml", "name: doomed-ep\nauth_mode: key\n")
	e.write("src/score.py", "def init(): pass\ndef run(raw): return 'still here'\n")
	e.write("model.pkl", "not really a model")
	e.write("dep.yml", "name: blue\nendpoint_name: doomed-ep\nmodel: ./model.pkl\ncode_configuration:\n  code: ./src\n  scoring_script: score.py\n")
	uri := strings.TrimSpace(e.ok("online-endpoint", "create", "-w", "doomed", "--file", "ep.yml", "--query", "scoring_uri", "-o", "tsv").out)
	e.ok("online-deployment", "create", "-w", "doomed", "--file", "dep.yml", "--all-traffic")
	key := strings.TrimSpace(e.ok("online-endpoint", "get-credentials", "-w", "doomed", "--name", "doomed-ep", "--query", "primaryKey", "-o", "tsv").out)
	score := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, uri, strings.NewReader(`{"a": 1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("score: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := score(); code != 200 || !strings.Contains(body, "still here") {
		t.Fatalf("endpoint before the delete: %d %s", code, body)
	}
	jobDir := filepath.Join(e.home, "jobs", "doomed")
	logDir := filepath.Join(e.home, "serving", "logs", "doomed")
	for _, d := range []string{jobDir, logDir} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("before the delete: %v", err)
		}
	}

	e.ok("workspace", "delete", "--name", "doomed", "--yes")

	if alive(pid) {
		t.Errorf("the job's process %d is still running after its workspace was deleted", pid)
	}
	if code, body := score(); code != http.StatusNotFound && code != http.StatusUnauthorized {
		t.Errorf("the deleted workspace's endpoint answered the old key: %d %s", code, body)
	}
	for _, d := range []string{jobDir, logDir} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there after the delete (%v)", d, err)
		}
	}
	if r := e.run("workspace", "show", "--name", "doomed"); r.code == 0 {
		t.Errorf("workspace show after delete: exit 0\n%s", r.out)
	}
	// A new workspace of the same name starts empty: no job, no endpoint.
	e.ok("workspace", "create", "--name", "doomed")
	if r := e.run("job", "show", "-w", "doomed", "-n", name); r.code == 0 {
		t.Errorf("the old job shows in a new workspace of the same name:\n%s", r.out)
	}
	var eps []json.RawMessage
	decodeOut(t, e.ok("online-endpoint", "list", "-w", "doomed", "-o", "json"), &eps)
	if len(eps) != 0 {
		t.Errorf("endpoints in the new workspace: %d", len(eps))
	}
	// The other workspace still works.
	e.write("hi.yml", "type: command\ncommand: echo hi\n")
	if j := e.wait(e.submit("hi.yml"), 60*time.Second); j.Status != "Completed" {
		t.Errorf("a job in the other workspace: %s", j.Status)
	}
}
