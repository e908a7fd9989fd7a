package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// batchDeploymentFile is a model batch deployment with a scoring script,
// as Azure ML's tutorials write them; name and settings vary per test.
const batchDeploymentFile = `$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: %s
endpoint_name: scorer
type: model
model:
  name: doubler
  path: model
code_configuration:
  code: code
  scoring_script: batch_driver.py
environment:
  name: host-python
  image: python
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 1
    timeout: 60
  error_threshold: -1
  logging_level: info
`

// batchEndpointView and batchDeploymentView are what the tests read of
// `show -o json`.
type batchEndpointView struct {
	Name     string `json:"name"`
	AuthMode string `json:"auth_mode"`
	Defaults struct {
		DeploymentName string `json:"deployment_name"`
	} `json:"defaults"`
}

type batchDeploymentView struct {
	Name      string `json:"name"`
	IsDefault bool   `json:"is_default"`
	Model     string `json:"model"`
	Settings  struct {
		MiniBatchSize  int    `json:"mini_batch_size"`
		OutputFileName string `json:"output_file_name"`
	} `json:"settings"`
}

func (e *env) batchEndpoint(name string) batchEndpointView {
	e.t.Helper()
	var v batchEndpointView
	r := e.ok("batch-endpoint", "show", "--name", name, "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		e.t.Fatalf("batch-endpoint show: %v\n%s", err, r.out)
	}
	return v
}

func (e *env) batchDeployments(endpoint string) []batchDeploymentView {
	e.t.Helper()
	var v []batchDeploymentView
	r := e.ok("batch-deployment", "list", "--endpoint-name", endpoint, "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		e.t.Fatalf("batch-deployment list: %v\n%s", err, r.out)
	}
	return v
}

// batchScorer writes the files of a scoring deployment: a "model" (the
// factor to multiply by) and a scoring script that reads it from
// AZUREML_MODEL_DIR and returns one line per number in each file.
func (e *env) batchScorer() {
	e.write("model/factor.txt", "2\n")
	e.write("code/batch_driver.py", `import glob, os

def init():
    global factor
    path = glob.glob(os.path.join(os.environ["AZUREML_MODEL_DIR"], "*", "factor.txt"))[0]
    factor = int(open(path).read())

def run(mini_batch):
    out = []
    for f in mini_batch:
        for line in open(f):
            if line.strip():
                out.append(f"{os.path.basename(f)},{int(line) * factor}")
    return out
`)
	for _, name := range []string{"alpha", "beta", "gamma"} {
		e.write(name+".yml", strings.Replace(batchDeploymentFile, "%s", name, 1))
	}
}

// The lifecycle of a batch endpoint and its deployments through the CLI:
// the first deployment becomes the default, --set-default and
// `update --set defaults.deployment_name=` move it, the default cannot be
// deleted while others remain, and deleting the endpoint takes its
// deployments.
func TestBatchEndpointLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("endpoint.yml", "$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\nname: scorer\ndescription: doubles numbers\nauth_mode: aad_token\n")
	e.batchScorer()

	e.ok("batch-endpoint", "create", "--file", "endpoint.yml")
	if ep := e.batchEndpoint("scorer"); ep.AuthMode != "aad_token" || ep.Defaults.DeploymentName != "" {
		t.Fatalf("new endpoint: %+v", ep)
	}
	r := e.ok("batch-deployment", "create", "--file", "alpha.yml")
	if !strings.Contains(r.out, `"is_default": true`) {
		t.Errorf("the first deployment is not the default:\n%s", r.out)
	}
	e.ok("batch-deployment", "create", "--file", "beta.yml", "--set", "settings.mini_batch_size=7")
	if got := e.batchEndpoint("scorer").Defaults.DeploymentName; got != "alpha" {
		t.Errorf("a second deployment moved the default to %q", got)
	}
	deps := e.batchDeployments("scorer")
	if len(deps) != 2 || deps[0].Name != "alpha" || !deps[0].IsDefault || deps[1].IsDefault || deps[1].Settings.MiniBatchSize != 7 {
		t.Fatalf("deployments: %+v", deps)
	}
	if deps[0].Model != "azureml:doubler:1" || deps[0].Settings.OutputFileName != "predictions.csv" {
		t.Errorf("alpha: %+v", deps[0])
	}

	// --set-default, az's flag, and the --endpoint prefix azureml-examples
	// write for --endpoint-name.
	e.ok("batch-deployment", "create", "--file", "gamma.yml", "--endpoint", "scorer", "--set-default")
	if got := e.batchEndpoint("scorer").Defaults.DeploymentName; got != "gamma" {
		t.Errorf("--set-default: default is %q", got)
	}
	e.ok("batch-endpoint", "update", "--name", "scorer", "--set", "defaults.deployment_name=beta")
	if got := e.batchEndpoint("scorer").Defaults.DeploymentName; got != "beta" {
		t.Errorf("update --set defaults.deployment_name=beta: default is %q", got)
	}
	r = e.run("batch-endpoint", "update", "--name", "scorer", "--set", "defaults.deployment_name=nosuch")
	if r.code != 2 || !strings.Contains(r.err, "endpoint scorer has no deployment nosuch (it has alpha, beta, gamma)") {
		t.Errorf("default to a missing deployment: exit %d\n%s", r.code, r.err)
	}

	r = e.run("batch-deployment", "delete", "--name", "beta", "--endpoint-name", "scorer", "--yes")
	if r.code != 2 || !strings.Contains(r.err, "deployment beta is the default of endpoint scorer; make another the default first") {
		t.Errorf("deleting the default: exit %d\n%s", r.code, r.err)
	}
	e.ok("batch-deployment", "delete", "--name", "alpha", "--endpoint-name", "scorer", "--yes")
	e.ok("batch-deployment", "delete", "--name", "gamma", "--endpoint-name", "scorer", "--yes")
	e.ok("batch-deployment", "delete", "--name", "beta", "--endpoint-name", "scorer", "--yes")
	if got := e.batchEndpoint("scorer").Defaults.DeploymentName; got != "" {
		t.Errorf("the last deployment is gone, the default is still %q", got)
	}

	// create on an existing endpoint changes it, as az does.
	e.write("endpoint2.yml", "name: scorer\ndescription: now tripled\n")
	e.ok("batch-endpoint", "create", "--file", "endpoint2.yml")
	if r := e.ok("batch-endpoint", "list", "-o", "table"); !strings.Contains(r.out, "scorer") || !strings.Contains(r.out, "now tripled") {
		t.Errorf("list:\n%s", r.out)
	}
	e.ok("batch-deployment", "create", "--file", "alpha.yml")
	e.ok("batch-endpoint", "delete", "--name", "scorer", "--yes")
	r = e.run("batch-endpoint", "show", "--name", "scorer")
	if r.code != 1 || !strings.Contains(r.err, "batch endpoint scorer not found in workspace ws") {
		t.Errorf("show after delete: exit %d\n%s", r.code, r.err)
	}
	r = e.run("batch-deployment", "show", "--name", "alpha", "--endpoint-name", "scorer")
	if r.code != 1 {
		t.Errorf("a deployment outlived its endpoint:\n%s", r.out)
	}
}

// Bad files and names are refused with the file's line and column or a
// 4xx, and nothing is stored.
func TestBatchEndpointErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.batchScorer()
	e.write("ep-key.yml", "name: scorer\nauth_mode: key\n")
	e.write("dep-bad.yml", "name: bad\nendpoint_name: scorer\nmodel: ./model\ncode_configuration: {code: ./code, scoring_script: batch_driver.py}\nenvironment: {image: python}\nsettings:\n  mini_batch_size: 0\n  output_file_name: ../../x.csv\n")
	e.write("dep-pipeline.yml", "name: hello-batch-dpl\nendpoint_name: scorer\ntype: pipeline\ncomponent: azureml:hello_batch@latest\n")
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"batch-endpoint", "create", "--file", "ep-key.yml"}, 2, []string{"ep-key.yml:2:12: auth_mode: unknown value \"key\"; batch endpoints take aad_token only"}},
		{[]string{"batch-endpoint", "create", "--name", "no_underscores"}, 2, []string{"invalid endpoint name \"no_underscores\""}},
		{[]string{"batch-deployment", "create", "--file", "dep-bad.yml"}, 2, []string{
			"dep-bad.yml:7:20: settings.mini_batch_size: expected an integer from 1 to 1000000, got 0",
			"dep-bad.yml:8:21: settings.output_file_name: output_file_name \"../../x.csv\": expected a file name"}},
		{[]string{"batch-deployment", "create", "--file", "dep-pipeline.yml"}, 1, []string{"component azureml:hello_batch@latest not found in workspace ws; create it with: ciel component create"}},
		{[]string{"batch-deployment", "create", "--file", "alpha.yml"}, 1, []string{"batch endpoint scorer not found in workspace ws; create it with: ciel batch-endpoint create --name scorer"}},
		{[]string{"batch-deployment", "create", "--file", "alpha.yml", "--name", "x"}, 2, []string{"invalid deployment name \"x\""}},
		{[]string{"batch-endpoint", "invoke", "--name", "scorer"}, 1, []string{"batch endpoint scorer not found in workspace ws"}},
		{[]string{"batch-endpoint", "invoke", "--name", "scorer", "--input", "./code", "--output-path", "./out"}, 2, []string{`output_path "./out": expected a datastore folder, azureml://datastores/<datastore>/paths/<path>`}},
		{[]string{"batch-endpoint", "update", "--name", "scorer", "--set", "traffic.blue=100"}, 2, []string{"settable fields are defaults.deployment_name"}},
	}
	for _, tt := range tests {
		r := e.run(tt.args...)
		if r.code != tt.code {
			t.Errorf("ciel %v: exit %d, want %d\n%s", tt.args, r.code, tt.code, r.err)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.err, w) {
				t.Errorf("ciel %v: stderr lacks %q:\n%s", tt.args, w, r.err)
			}
		}
	}

	// A model registered nowhere is refused at create, as Azure ML
	// refuses it.
	e.ok("batch-endpoint", "create", "--name", "scorer")
	e.write("dep-ref.yml", "name: ref\nendpoint_name: scorer\nmodel: azureml:nosuch@latest\n")
	r := e.run("batch-deployment", "create", "--file", "dep-ref.yml")
	if r.code != 1 || !strings.Contains(r.err, "model azureml:nosuch@latest not found in workspace ws; register it with: ciel model create --name nosuch") {
		t.Errorf("missing model: exit %d\n%s", r.code, r.err)
	}
	e.write("dep-compute.yml", strings.Replace(strings.Replace(batchDeploymentFile, "%s", "cpt", 1), "resources:", "compute: azureml:batch-cluster\nresources:", 1))
	r = e.run("batch-deployment", "create", "--file", "dep-compute.yml")
	if r.code != 1 || !strings.Contains(r.err, "compute batch-cluster not found in workspace ws; create it with: ciel compute create --name batch-cluster") {
		t.Errorf("missing compute: exit %d\n%s", r.code, r.err)
	}
	if deps := e.batchDeployments("scorer"); len(deps) != 0 {
		t.Errorf("refused deployments were stored: %+v", deps)
	}
	r = e.run("batch-endpoint", "invoke", "--name", "scorer", "--input", "azureml:nodata@latest")
	if r.code != 2 || !strings.Contains(r.err, "batch endpoint scorer has no deployments; create one with: ciel batch-deployment create") {
		t.Errorf("invoke with no deployment: exit %d\n%s", r.code, r.err)
	}

	// Over the API: names that could become paths, a hostile output file
	// name and an unknown field get a 400 with a JSON body.
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", "/api/v1/workspaces/ws/batch-endpoints", `{"name": "../etc"}`, "invalid endpoint name"},
		{"POST", "/api/v1/workspaces/ws/batch-endpoints", `{"name": "scorer", "default_deployment": "a/b"}`, "invalid deployment name"},
		{"POST", "/api/v1/workspaces/ws/batch-endpoints/scorer/deployments", `{"name": "dpl", "instance_count": 1, "model": {"path": "blob:x"},
			"settings": {"max_concurrency_per_instance": 1, "mini_batch_size": 1, "output_action": "append_row", "output_file_name": "../../../x",
			"retry_settings": {"max_retries": 1, "timeout": 1}, "error_threshold": -1}}`, "expected a file name"},
		{"POST", "/api/v1/workspaces/ws/batch-endpoints/scorer/deployments", `{"name": "dpl", "bogus": 1}`, "bogus"},
		{"POST", "/api/v1/workspaces/ws/batch-endpoints/scorer/invoke", `{"input": "azureml:x@latest", "job_name": "../x"}`, "job_name"},
		{"POST", "/api/v1/workspaces/ws/batch-endpoints/scorer/invoke", `{"input": "/etc"}`, "the ciel CLI uploads local folders"},
	} {
		code, body := e.httpJSON(c.method, c.path, c.body)
		if msg, _ := json.Marshal(body["error"]); code != 400 || !strings.Contains(string(msg), c.want) {
			t.Errorf("%s %s %s: %d %s, want 400 with %q", c.method, c.path, c.body, code, msg, c.want)
		}
	}
}
