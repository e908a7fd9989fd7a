package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// apiCheck is one request whose answer is checked against the document.
type apiCheck struct {
	method, tmpl, path, body string
	// noBody skips the body's check (an event stream, a tar).
	noBody bool
}

// TestOpenAPIAnswersMatchTheDocument drives the real server through the
// objects the studio shows (a pipeline job and its steps, data, a model, an
// online and a batch endpoint, a schedule, an MLflow run's metric history,
// datastores, the curated environments, CI/CD and Data Factory lists) and
// validates each answer, and each request body sent, against the OpenAPI
// document the server serves: status documented, JSON matching the schema.
func TestOpenAPIAnswersMatchTheDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base, _ := e.server()
	doc := servedDocument(t, base)

	e.write("pipe.yml", `type: pipeline
experiment_name: openapi
jobs:
  make:
    type: command
    outputs: {out: {type: uri_folder}}
    command: echo made > ${{outputs.out}}/f.txt
  use:
    type: command
    inputs:
      in: ${{parent.jobs.make.outputs.out}}
      n: 3
    command: cat ${{inputs.in}}/f.txt
`)
	jobName := e.submit("pipe.yml")
	if j := e.wait(jobName, 2*time.Minute); j.Status != "Completed" {
		t.Fatalf("pipeline %s: %s %s", jobName, j.Status, j.Error)
	}
	e.write("rows/a.csv", "x\n1\n")
	e.write("data.yml", "name: rows\ntype: uri_folder\npath: ./rows\n")
	e.ok("data", "create", "--file", "data.yml")
	e.write("mdl/model.txt", "m\n")
	e.ok("model", "create", "--name", "m", "--path", "mdl")
	e.write("ep.yml", "name: oep\nauth_mode: key\n")
	e.ok("online-endpoint", "create", "--file", "ep.yml")
	e.write("bep.yml", "name: bep\n")
	e.ok("batch-endpoint", "create", "--file", "bep.yml")
	e.write("job.yml", "type: command\ncommand: echo hi\n")
	e.write("sched.yml", "name: nightly\ntrigger: {type: cron, expression: \"0 3 * * *\"}\ncreate_job: ./job.yml\n")
	e.ok("schedule", "create", "--file", "sched.yml")

	// An MLflow run with a metric, through MLflow's REST API.
	var exp struct {
		ExperimentID string `json:"experiment_id"`
	}
	mlflow(t, base, "experiments/create", `{"name": "openapi-exp"}`, &exp)
	var run struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	mlflow(t, base, "runs/create", `{"experiment_id": "`+exp.ExperimentID+`", "start_time": 1}`, &run)
	runID := run.Run.Info.RunID
	for i, v := range []string{"1.5", "0.5", `"NaN"`} {
		mlflow(t, base, "runs/log-metric", `{"run_id": "`+runID+`", "key": "loss", "value": `+v+`, "timestamp": 1, "step": `+strconv.Itoa(i)+`}`, nil)
	}

	const w = "/api/v1/workspaces/ws"
	checks := []apiCheck{
		{method: "GET", tmpl: "/api/v1/health", path: "/api/v1/health"},
		{method: "GET", tmpl: "/api/v1/workspaces", path: "/api/v1/workspaces"},
		{method: "POST", tmpl: "/api/v1/workspaces", path: "/api/v1/workspaces", body: `{"name": "ws2", "location": "eastus", "tags": {"a": "b"}}`},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}", path: w},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/jobs", path: w + "/jobs"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/jobs", path: w + "/jobs?parent_job_name=" + jobName},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/jobs/{name}", path: w + "/jobs/" + jobName},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/jobs/{name}/logs", path: w + "/jobs/" + jobName + "/logs?step=use"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/jobs/{name}/outputs/{output}", path: w + "/jobs/" + jobName + "/outputs/out?step=make", noBody: true},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/events", path: w + "/events?job=" + jobName, noBody: true},
		{method: "POST", tmpl: "/api/v1/workspaces/{ws}/jobs", path: w + "/jobs", body: `{"type": "command", "command": "echo api", "display_name": "from the API"}`},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/runs/{run}/metrics/{key}/history", path: w + "/runs/" + runID + "/metrics/loss/history?max_points=10"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/{kind}", path: w + "/data"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/{kind}/{name}", path: w + "/data/rows"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/{kind}/{name}/versions", path: w + "/data/rows/versions"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/{kind}/{name}/versions/{version}", path: w + "/data/rows/versions/1"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/models", path: w + "/models"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/models/{name}", path: w + "/models/m"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/models/{name}/versions", path: w + "/models/m/versions"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/models/{name}/versions/{version}", path: w + "/models/m/versions/1"},
		{method: "PATCH", tmpl: "/api/v1/workspaces/{ws}/models/{name}/versions/{version}", path: w + "/models/m/versions/1", body: `{"set_tags": {"k": "v"}, "set_aliases": ["champion"]}`},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/models/{name}/aliases/{alias}", path: w + "/models/m/aliases/champion"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/datastores", path: w + "/datastores"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/online-endpoints", path: w + "/online-endpoints"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/online-endpoints/{name}", path: w + "/online-endpoints/oep"},
		{method: "POST", tmpl: "/api/v1/workspaces/{ws}/online-endpoints/{name}/credentials", path: w + "/online-endpoints/oep/credentials", body: `{}`},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/online-endpoints/{name}/deployments", path: w + "/online-endpoints/oep/deployments"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/batch-endpoints", path: w + "/batch-endpoints"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/batch-endpoints/{name}", path: w + "/batch-endpoints/bep"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/schedules", path: w + "/schedules"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/schedules/{name}", path: w + "/schedules/nightly"},
		{method: "POST", tmpl: "/api/v1/workspaces/{ws}/schedules/{name}/disable", path: w + "/schedules/nightly/disable"},
		{method: "GET", tmpl: "/api/v1/registries/{registry}/environments", path: "/api/v1/registries/azureml/environments"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/pipelines", path: w + "/pipelines"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/pipeline-runs", path: w + "/pipeline-runs"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/pipeline-pool", path: w + "/pipeline-pool"},
		{method: "POST", tmpl: "/api/v1/workspaces/{ws}/variable-groups", path: w + "/variable-groups", body: `{"name": "vg", "variables": {"a": "1", "b": "two"}}`},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/variable-groups", path: w + "/variable-groups"},
		{method: "PUT", tmpl: "/api/v1/workspaces/{ws}/datafactory/pipelines/{name}", path: w + "/datafactory/pipelines/p1",
			body: `{"properties": {"activities": [{"name": "w", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 0}}]}}`},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/datafactory/pipelines", path: w + "/datafactory/pipelines"},
		{method: "POST", tmpl: "/api/v1/workspaces/{ws}/datafactory/pipelines/{name}/createRun", path: w + "/datafactory/pipelines/p1/createRun", body: `{}`},
		{method: "POST", tmpl: "/api/v1/workspaces/{ws}/datafactory/queryPipelineRuns", path: w + "/datafactory/queryPipelineRuns",
			body: `{"lastUpdatedAfter": "2000-01-01T00:00:00Z", "lastUpdatedBefore": "2100-01-01T00:00:00Z"}`},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/datafactory/linkedservices", path: w + "/datafactory/linkedservices"},
		{method: "GET", tmpl: "/api/v1/workspaces/{ws}/datafactory/secrets", path: w + "/datafactory/secrets"},
	}
	for _, c := range checks {
		validateAnswer(t, doc, base, c)
	}
}

// servedDocument fetches and loads the server's OpenAPI document.
func servedDocument(t *testing.T, base string) *openapi3.T {
	t.Helper()
	code, body := send(t, "GET", base+"/api/v1/openapi.json", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("openapi.json: %d", code)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// validateAnswer sends c and checks the request body and the answer
// against c's operation in doc; a success is expected.
func validateAnswer(t *testing.T, doc *openapi3.T, base string, c apiCheck) {
	t.Helper()
	what := c.method + " " + c.path
	item := doc.Paths.Value(c.tmpl)
	if item == nil || item.GetOperation(c.method) == nil {
		t.Errorf("%s: no operation %s %s in the document", what, c.method, c.tmpl)
		return
	}
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" || c.method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Errorf("%s: %d %s", what, resp.StatusCode, body)
		return
	}
	route := &routers.Route{Spec: doc, Path: c.tmpl, PathItem: item, Method: c.method, Operation: item.GetOperation(c.method)}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true,
		MultiError: true, ExcludeResponseBody: c.noBody}
	vreq, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	vreq.Header = req.Header.Clone()
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: pathParams(c.tmpl, strings.SplitN(c.path, "?", 2)[0]),
		Route: route, Options: opts}
	ctx := context.Background()
	if c.body != "" {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s: the request body does not match the document: %v", what, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s: the answer (%d) does not match the document: %v\n%.600s", what, resp.StatusCode, err, body)
	}
}

// pathParams matches path against tmpl's segments.
func pathParams(tmpl, path string) map[string]string {
	out := map[string]string{}
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	for i := range min(len(ts), len(ps)) {
		if strings.HasPrefix(ts[i], "{") {
			out[strings.Trim(ts[i], "{}")] = ps[i]
		}
	}
	return out
}

// mlflow posts to the workspace's MLflow REST API and decodes the answer.
func mlflow(t *testing.T, base, call, body string, out any) {
	t.Helper()
	code, b := send(t, "POST", base+"/ws/ws/api/2.0/mlflow/"+call, strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if code != http.StatusOK {
		t.Fatalf("mlflow %s: %d %s", call, code, b)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			t.Fatalf("mlflow %s: %v", call, err)
		}
	}
}
