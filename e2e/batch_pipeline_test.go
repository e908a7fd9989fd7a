package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A pipeline component deployment: invocations start pipeline jobs of the
// deployed component, their inputs given by name in an invocation file
// (az's `--f inputs.yml`, its literal written with default:), or the one
// data input given by --input; what a model deployment takes is refused,
// as is a path on the server's disk sent over the API.
func TestBatchPipelineDeployment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok("compute", "create", "--name", "cpu", "--type", "local", "--max-concurrency", "2")
	e.write("count/pipeline.yml", `$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
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
    command: cat ${{inputs.d}}/*.txt | wc -l > ${{outputs.c}}/${{inputs.l}}.txt
`)
	e.write("count/deployment.yml", "name: count-dpl\nendpoint_name: counter\ntype: pipeline\ncomponent: pipeline.yml\nsettings:\n  default_compute: cpu\n  continue_on_step_failure: false\n")
	e.write("count/inputs.yml", "inputs:\n  data:\n    type: uri_folder\n    path: data\n  label:\n    type: string\n    default: total\noutputs:\n  counts:\n    type: uri_folder\n    mode: upload\n")
	e.write("count/data/a.txt", "1\n2\n3\n")
	e.write("count/data/b.txt", "4\n")
	e.ok("batch-endpoint", "create", "--name", "counter")
	e.ok("batch-deployment", "create", "--file", "count/deployment.yml")
	// A pipeline deployment shows what it runs, none of a model
	// deployment's settings.
	shown := e.ok("batch-deployment", "show", "--name", "count-dpl", "--endpoint-name", "counter", "-o", "json").out
	for _, key := range []string{`"mini_batch_size"`, `"resources"`, `"retry_settings"`, `"error_threshold"`, `"max_concurrency_per_instance"`} {
		if strings.Contains(shown, key) {
			t.Errorf("batch-deployment show of a pipeline deployment has %s:\n%s", key, shown)
		}
	}
	if !strings.Contains(shown, `"component"`) {
		t.Errorf("batch-deployment show names no component:\n%s", shown)
	}

	byFile := e.invoke("--name", "counter", "--f", "count/inputs.yml")
	if byFile.Type != "pipeline" || byFile.Tags["azureml.batch_deployment"] != "count-dpl" {
		t.Errorf("invocation: %+v", byFile)
	}
	if got := e.countOutput(byFile.Name, "total.txt"); got != "4" {
		t.Errorf("total.txt: %q, want 4 lines counted", got)
	}
	// --set changes the file's values; --input fills the one data input,
	// the literal keeping its default.
	set := e.invoke("--name", "counter", "--file", "count/inputs.yml", "--set", "inputs.label.default=again")
	if got := e.countOutput(set.Name, "again.txt"); got != "4" {
		t.Errorf("again.txt: %q", got)
	}
	one := e.invoke("--name", "counter", "--input", "count/data")
	if got := e.countOutput(one.Name, "lines.txt"); got != "4" {
		t.Errorf("lines.txt: %q", got)
	}

	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"batch-endpoint", "invoke", "--name", "counter", "--input", "count/data", "--mini-batch-size", "5"},
			"mini_batch_size, instance_count and output_file_name apply to model deployments only"},
		{[]string{"batch-endpoint", "invoke", "--name", "counter", "--set", "inputs.label=x"}, "give --file <inputs.yml>"},
		{[]string{"batch-deployment", "create", "--file", "count/deployment.yml", "--set", "component=azureml:nothing@latest", "--name", "missing"},
			"component azureml:nothing@latest not found in workspace ws"},
		{[]string{"batch-deployment", "create", "--file", "count/deployment.yml", "--set", "settings.default_compute=gpu", "--name", "nocompute"},
			"compute gpu not found"},
	}
	for _, r := range refusals {
		res := e.run(r.args...)
		if res.code == 0 || !strings.Contains(res.err, r.want) {
			t.Errorf("ciel %s: exit %d, stderr %q, want %q", strings.Join(r.args, " "), res.code, res.err, r.want)
		}
	}
	// A command job is no job_definition; a model deployment takes no
	// invocation file.
	cmd := strings.TrimSpace(e.ok("job", "create", "--file", e.write("cmd.yml", "command: echo hi\ncompute: azureml:cpu\n"), "--query", "name", "-o", "tsv").out)
	e.write("count/from-job.yml", "name: from-job\nendpoint_name: counter\ntype: pipeline\njob_definition: azureml:"+cmd+"\n")
	if res := e.run("batch-deployment", "create", "--file", "count/from-job.yml"); res.code == 0 || !strings.Contains(res.err, "is a command job; job_definition deploys a pipeline job") {
		t.Errorf("job_definition of a command job: exit %d, %s", res.code, res.err)
	}

	// Over the API, an input naming a path on the server's disk is refused.
	base, _ := e.server()
	code, body := send(t, "POST", base+"/api/v1/workspaces/ws/batch-endpoints/counter/invoke",
		strings.NewReader(`{"inputs": {"data": {"type": "uri_folder", "path": "/etc"}}}`), map[string]string{"Content-Type": "application/json"})
	if code != 400 || !strings.Contains(body, "path on the server's disk") {
		t.Errorf("invoke with a server path: %d %s", code, body)
	}
	code, body = send(t, "POST", base+"/api/v1/workspaces/ws/batch-endpoints/counter/invoke",
		strings.NewReader(`{"inputs": ["x"]}`), map[string]string{"Content-Type": "application/json"})
	if code != 400 || !strings.Contains(body, `"error"`) {
		t.Errorf("invoke with inputs not a mapping: %d %s", code, body)
	}
	// Null ports are not given: the data input is then missing, which is
	// the job's error, not a crash of the server.
	code, body = send(t, "POST", base+"/api/v1/workspaces/ws/batch-endpoints/counter/invoke",
		strings.NewReader(`{"inputs": {"data": null, "label": null}, "outputs": {"counts": null}}`), map[string]string{"Content-Type": "application/json"})
	if code >= 500 || !strings.Contains(body, "data") {
		t.Errorf("invoke with null ports: %d %s", code, body)
	}
	e.ok("batch-endpoint", "show", "--name", "counter") // the server still answers
}

// countOutput waits for a job and returns the trimmed content of a file of
// its output counts.
func (e *env) countOutput(job, file string) string {
	e.t.Helper()
	if j := e.wait(job, 2*time.Minute); j.Status != "Completed" {
		e.t.Fatalf("job %s is %s: %s\n%s", job, j.Status, j.Error, e.run("job", "stream", "--name", job).out)
	}
	dst := e.t.TempDir()
	e.ok("job", "download", "--name", job, "--output-name", "counts", "--download-path", dst)
	b, err := os.ReadFile(filepath.Join(dst, "named-outputs", "counts", file))
	if err != nil {
		e.t.Fatalf("job %s: %v", job, err)
	}
	return strings.TrimSpace(string(b))
}
