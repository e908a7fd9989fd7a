package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The files of the online endpoint tests: a pipeline that trains a
// scikit-learn model and saves it as an MLflow model, a score.py for it,
// and the endpoint and deployment files, as Azure ML's tutorials write them.
const (
	trainConda = `dependencies:
  - python=3.11
  - pip:
      - scikit-learn==1.9.1
      - mlflow==3.17.2
`
	trainScript = `import argparse, os, shutil, tempfile
import mlflow.sklearn
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
a = p.parse_args()
X, y = load_breast_cancer(return_X_y=True)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
print(f"training accuracy: {model.score(X, y):.3f}")
tmp = os.path.join(tempfile.mkdtemp(), "m")
mlflow.sklearn.save_model(model, tmp, serialization_format="pickle")
shutil.copytree(tmp, a.model, dirs_exist_ok=True)
`
	trainPipeline = `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: train for serving
settings: {default_compute: azureml:cpu}
outputs:
  model: {type: uri_folder}
jobs:
  train:
    type: command
    code: ./src
    environment:
      image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
      conda_file: ./conda.yml
    command: python train.py --model ${{outputs.model}}
    outputs:
      model: ${{parent.outputs.model}}
`
	servingEnvFile = `name: serving-env
version: "1"
image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
conda_file:
  dependencies:
    - python=3.11
    - pip:
        - scikit-learn==1.9.1
        - numpy
`
	scoreScript = `import json, os, pickle
import numpy as np

def init():
    global model
    # Registered from the job output "model", the files sit in a folder
    # of that name, as on Azure ML.
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.pkl"), "rb") as f:
        model = pickle.load(f)
    print("model loaded", flush=True)

def run(raw_data):
    data = json.loads(raw_data)["input_data"]
    if data == "boom":
        raise ValueError("boom")
    return model.predict(np.array(data)).tolist()
`
	endpointFile = `$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json
name: model-service
auth_mode: key
`
	blueFile = `$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: blue
endpoint_name: model-service
model: azureml:bc-model:1
code_configuration:
  code: ./
  scoring_script: score.py
environment: azureml:serving-env@latest
instance_type: Standard_DS3_v2
instance_count: 2
request_settings:
  request_timeout_ms: 10000
  max_queue_wait_ms: 10000
`
	// green serves the same model with no scoring script.
	greenFile = `$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: green
endpoint_name: model-service
model: azureml:bc-model@latest
instance_count: 1
request_settings:
  request_timeout_ms: 10000
  max_queue_wait_ms: 10000
`
)

// The first two rows of the breast cancer data set, both malignant (0).
const twoRows = `[[17.99,10.38,122.8,1001.0,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871,1.095,0.9053,8.589,153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193,25.38,17.33,184.6,2019.0,0.1622,0.6656,0.7119,0.2654,0.4601,0.1189],
[20.57,17.77,132.9,1326.0,0.08474,0.07864,0.0869,0.07017,0.1812,0.05667,0.5435,0.7339,3.398,74.08,0.005225,0.01308,0.0186,0.0134,0.01389,0.003532,24.99,23.41,158.8,1956.0,0.1238,0.1866,0.2416,0.186,0.275,0.08902]]`

// servingEnv is an env with a trained, registered model and an endpoint
// whose blue deployment (score.py, two instances) gets all the traffic.
type servingEnv struct {
	*env
	uri, key, secondary string
}

func setupServing(t *testing.T) servingEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds scikit-learn and MLflow environments")
	}
	if _, err := exec.LookPath("uv"); err != nil {
		t.Skip("uv is needed to build the environments in reasonable time")
	}
	e := newEnv(t)
	e.write("train/conda.yml", trainConda)
	e.write("train/src/train.py", trainScript)
	e.write("train/pipeline.yml", trainPipeline)
	e.ok("compute", "create", "--name", "cpu", "--type", "local", "--max-concurrency", "1")
	job := e.submit("train/pipeline.yml")
	if j := e.wait(job, 10*time.Minute); j.Status != "Completed" {
		t.Fatalf("training pipeline %s: %s %s", job, j.Status, j.Error)
	}
	e.ok("model", "create", "--name", "bc-model", "--path", "azureml://jobs/"+job+"/outputs/model")

	e.write("deploy/env.yml", servingEnvFile)
	e.write("deploy/score.py", scoreScript)
	e.write("deploy/endpoint.yml", endpointFile)
	e.write("deploy/blue.yml", blueFile)
	e.write("deploy/green.yml", greenFile)
	e.write("deploy/sample.json", `{"input_data": `+twoRows+`}`)
	e.ok("environment", "create", "--file", "deploy/env.yml")
	e.ok("online-endpoint", "create", "--file", "deploy/endpoint.yml")
	r := e.ok("online-deployment", "create", "--file", "deploy/blue.yml", "--all-traffic")
	if !strings.Contains(r.out, `"provisioning_state": "Succeeded"`) {
		t.Fatalf("blue did not provision:\n%s\n%s", r.out, r.err)
	}
	var ep struct {
		ScoringURI string         `json:"scoring_uri"`
		State      string         `json:"provisioning_state"`
		Traffic    map[string]int `json:"traffic"`
	}
	decodeOut(t, e.ok("online-endpoint", "show", "--name", "model-service", "-o", "json"), &ep)
	if ep.State != "Succeeded" || ep.Traffic["blue"] != 100 || !strings.HasPrefix(ep.ScoringURI, "http://127.0.0.1:") {
		t.Fatalf("endpoint after --all-traffic: %+v", ep)
	}
	var cred struct {
		Primary   string `json:"primaryKey"`
		Secondary string `json:"secondaryKey"`
	}
	decodeOut(t, e.ok("online-endpoint", "get-credentials", "--name", "model-service", "-o", "json"), &cred)
	if cred.Primary == "" || cred.Secondary == "" || cred.Primary == cred.Secondary {
		t.Fatalf("credentials: %+v", cred)
	}
	return servingEnv{env: e, uri: ep.ScoringURI, key: cred.Primary, secondary: cred.Secondary}
}

func decodeOut(t *testing.T, r result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.out), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.out)
	}
}

// scored is one scoring answer.
type scored struct {
	status     int
	body       string
	deployment string
}

// score posts body to the scoring URI with key (and a deployment header
// when set).
func (s servingEnv) score(key, deployment, body string) scored {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.uri, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if deployment != "" {
		req.Header.Set("azureml-model-deployment", deployment)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("score: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return scored{status: resp.StatusCode, body: string(b), deployment: resp.Header.Get("azureml-model-deployment")}
}

// pids returns the worker process ids of a deployment.
func (s servingEnv) pids(deployment string) []int {
	s.t.Helper()
	var d struct {
		Instances []struct {
			PID   int    `json:"pid"`
			State string `json:"state"`
		} `json:"instances"`
	}
	decodeOut(s.t, s.ok("online-deployment", "show", "--name", deployment, "--endpoint-name", "model-service", "-o", "json"), &d)
	var out []int
	for _, in := range d.Instances {
		if in.State == "Running" {
			out = append(out, in.PID)
		}
	}
	return out
}

// load scores requests from several goroutines until stopped, counting
// failures.
type load struct {
	ok, failed atomic.Int64
	stop       chan struct{}
	wg         sync.WaitGroup
	mu         sync.Mutex
	firstFail  string
}

func (s servingEnv) startLoad(workers int) *load {
	return s.startLoadOf(workers, `{"input_data": `+twoRows+`}`)
}

// startLoadOf is startLoad with a request body of the caller's.
func (s servingEnv) startLoadOf(workers int, request string) *load {
	l := &load{stop: make(chan struct{})}
	body := []byte(request)
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, s.uri, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+s.key)
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						l.ok.Add(1)
						continue
					}
					err = fmt.Errorf("%d %s", resp.StatusCode, b)
				}
				l.failed.Add(1)
				l.mu.Lock()
				if l.firstFail == "" {
					l.firstFail = err.Error()
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// end stops the load and fails the test if any request failed.
func (l *load) end(t *testing.T, during string) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if l.failed.Load() > 0 || l.ok.Load() < 20 {
		t.Fatalf("during %s: %d requests failed (first: %s), %d succeeded", during, l.failed.Load(), l.firstFail, l.ok.Load())
	}
	t.Logf("during %s: %d requests, none failed", during, l.ok.Load())
}

func TestOnlineEndpointLifecycle(t *testing.T) {
	t.Parallel()
	s := setupServing(t)

	t.Run("invoke", func(t *testing.T) {
		r := s.ok("online-endpoint", "invoke", "--name", "model-service", "--request-file", "deploy/sample.json")
		if strings.TrimSpace(r.out) != "[0, 0]" {
			t.Fatalf("invoke printed %q, want [0, 0]", r.out)
		}
	})
	t.Run("auth refusals", func(t *testing.T) {
		body := `{"input_data": ` + twoRows + `}`
		for _, key := range []string{"", "wrong-key"} {
			got := s.score(key, "", body)
			if got.status != 401 || !strings.Contains(got.body, `"code":"Unauthorized"`) {
				t.Errorf("key %q: %d %s, want 401 with a JSON error", key, got.status, got.body)
			}
		}
		if got := s.score(s.secondary, "", body); got.status != 200 {
			t.Errorf("secondary key: %d %s", got.status, got.body)
		}
		// Each request left its access-log line in the server's log (written
		// in batches, every 50 ms).
		wants := []string{"msg=score", "endpoint=model-service", "status=401 error=Unauthorized instance=-1", "deployment=blue status=200 error=\"\""}
		var text string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			b, _ := os.ReadFile(filepath.Join(s.home, "logs", "server.log"))
			if text = string(b); containsAll(text, wants) {
				break
			}
		}
		if !containsAll(text, wants) {
			t.Errorf("server.log lacks access lines with %q:\n%s", wants, lastLines(text, 10))
		}
	})
	t.Run("crashing run", func(t *testing.T) {
		before := s.pids("blue")
		got := s.score(s.key, "", `{"input_data": "boom"}`)
		if got.status != 500 || !strings.Contains(got.body, "ValueError: boom") || !strings.Contains(got.body, `"code": "ScoringError"`) {
			t.Fatalf("run() raising: %d %s, want 500 naming the error", got.status, got.body)
		}
		if ok := s.score(s.key, "", `{"input_data": `+twoRows+`}`); ok.status != 200 {
			t.Fatalf("after the error: %d %s", ok.status, ok.body)
		}
		if after := s.pids("blue"); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("workers restarted after a Python exception: %v -> %v", before, after)
		}
	})
	t.Run("mlflow deployment", func(t *testing.T) {
		r := s.ok("online-deployment", "create", "--file", "deploy/green.yml")
		if !strings.Contains(r.out, `"model": "azureml:bc-model:1"`) {
			t.Errorf("green does not name its resolved model:\n%s", r.out)
		}
		for body, want := range map[string]string{
			`{"input_data": ` + twoRows + `}`:                "[0, 0]",
			`{"dataframe_split": {"data": ` + twoRows + `}}`: `{"predictions": [0, 0]}`,
			`{"instances": ` + twoRows + `}`:                 `{"predictions": [0, 0]}`,
			`{"inputs": ` + twoRows + `}`:                    `{"predictions": [0, 0]}`,
			`{"nothing": 1}`:                                 `"code": "BadRequest"`,
		} {
			got := s.score(s.key, "green", body)
			if !strings.Contains(got.body, want) || got.deployment != "green" {
				t.Errorf("green with %.40s...: %d %s, want %s", body, got.status, got.body, want)
			}
		}
	})
	t.Run("traffic split", func(t *testing.T) {
		s.ok("online-endpoint", "update", "--name", "model-service", "--traffic", "blue=90 green=10")
		counts := map[string]int{}
		for range 500 {
			got := s.score(s.key, "", `{"input_data": `+twoRows+`}`)
			if got.status != 200 {
				t.Fatalf("%d %s", got.status, got.body)
			}
			counts[got.deployment]++
		}
		if counts["green"] < 40 || counts["green"] > 60 || counts["blue"]+counts["green"] != 500 {
			t.Fatalf("90/10 split over 500 requests: %v", counts)
		}
	})
	t.Run("mirror traffic", func(t *testing.T) {
		s.ok("online-endpoint", "update", "--name", "model-service", "--traffic", "blue=100 green=0")
		s.ok("online-endpoint", "update", "--name", "model-service", "--mirror-traffic", "green=20")
		for range 100 {
			if got := s.score(s.key, "", `{"input_data": `+twoRows+`}`); got.deployment != "blue" {
				t.Fatalf("live answer from %q", got.deployment)
			}
		}
		metric := regexp.MustCompile(`ciel_endpoint_mirrored_requests_total\{endpoint="model-service",deployment="green"\} (\d+)`)
		m := metric.FindStringSubmatch(s.metrics())
		if m == nil || m[1] != "20" {
			t.Fatalf("mirrored to green: %v, want 20 of 100", m)
		}
		s.ok("online-endpoint", "update", "--name", "model-service", "--mirror-traffic", "")
	})
	t.Run("worker killed under load", func(t *testing.T) {
		before := s.pids("blue")
		l := s.startLoad(4)
		time.Sleep(500 * time.Millisecond)
		if err := syscall.Kill(before[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the killed worker replaced", time.Minute, func() bool {
			now := s.pids("blue")
			return len(now) == 2 && now[0] != before[0] && now[1] != before[0]
		})
		time.Sleep(500 * time.Millisecond)
		l.end(t, "a worker kill")
		if !strings.Contains(s.metrics(), `ciel_deployment_worker_restarts_total{endpoint="model-service",deployment="blue"} 1`) {
			t.Errorf("the restart is not counted")
		}
	})
	t.Run("update with no failed request", func(t *testing.T) {
		before := s.pids("blue")
		l := s.startLoad(4)
		time.Sleep(300 * time.Millisecond)
		r := s.ok("online-deployment", "update", "--file", "deploy/blue.yml", "--set", "instance_count=3", "-o", "json")
		time.Sleep(300 * time.Millisecond)
		l.end(t, "an update")
		if !strings.Contains(r.out, `"instance_count": 3`) || !strings.Contains(r.out, `"provisioning_state": "Succeeded"`) {
			t.Fatalf("update:\n%s", r.out)
		}
		after := s.pids("blue")
		if len(after) != 3 {
			t.Fatalf("instances after update: %v", after)
		}
		for _, p := range after {
			for _, q := range before {
				if p == q {
					t.Errorf("worker %d of the old deployment still serves", p)
				}
			}
		}
		l = s.startLoad(4)
		for _, split := range []string{"blue=50 green=50", "green=100", "blue=100"} {
			time.Sleep(300 * time.Millisecond)
			s.ok("online-endpoint", "update", "--name", "model-service", "--traffic", split)
		}
		time.Sleep(300 * time.Millisecond)
		l.end(t, "traffic shifts")
	})
	t.Run("logs", func(t *testing.T) {
		r := s.ok("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "model-service", "--lines", "200")
		for _, want := range []string{"model loaded", "ValueError: boom", "[instance-0]", "restarting"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("logs lack %q:\n%s", want, r.out)
			}
		}
	})
	t.Run("survives a server restart", func(t *testing.T) {
		_, oldPID := s.server()
		s.ok("server", "stop")
		waitFor(t, "the old server gone", 30*time.Second, func() bool { return !alive(oldPID) })
		var ep struct {
			ScoringURI string `json:"scoring_uri"`
		}
		decodeOut(t, s.ok("online-endpoint", "show", "--name", "model-service", "-o", "json"), &ep)
		if ep.ScoringURI != s.uri {
			t.Errorf("scoring URI changed across a restart: %s -> %s", s.uri, ep.ScoringURI)
		}
		waitFor(t, "blue serving again", 2*time.Minute, func() bool {
			return s.score(s.key, "", `{"input_data": `+twoRows+`}`).status == 200
		})
	})
	t.Run("deletes", func(t *testing.T) {
		r := s.run("online-deployment", "delete", "--name", "blue", "--endpoint-name", "model-service", "--yes")
		if r.code != 2 || !strings.Contains(r.err, "gets 100%") {
			t.Errorf("deleting a deployment with traffic: exit %d %s", r.code, r.err)
		}
		s.ok("online-deployment", "delete", "--name", "green", "--endpoint-name", "model-service", "--yes")
		if got := s.score(s.key, "green", "{}"); got.status != 404 {
			t.Errorf("deleted deployment answered %d %s", got.status, got.body)
		}
		s.ok("online-endpoint", "delete", "--name", "model-service", "--yes")
		if r := s.run("online-endpoint", "show", "--name", "model-service"); r.code != 1 || !strings.Contains(r.err, "not found") {
			t.Errorf("show after delete: exit %d %s", r.code, r.err)
		}
		if got := s.score(s.key, "", "{}"); got.status != 404 {
			t.Errorf("deleted endpoint answered %d", got.status)
		}
	})
}

// metrics returns the scoring listener's Prometheus metrics.
func (s servingEnv) metrics() string {
	s.t.Helper()
	base := s.uri[:strings.Index(s.uri, "/endpoints/")]
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Bad endpoint and deployment files are refused before anything runs, with
// the file's line and column.
func TestOnlineEndpointFileErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("ep.yml", "name: model-service\nauth_mode: aad_token\ntraffic: {blue: 90}\n")
	e.write("dep.yml", "name: blue\nendpoint_name: model-service\ninstance_count: 0\ncode_configuration:\n  code: ./nowhere\n  scoring_script: score.py\n")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"online-endpoint", "create", "--file", "ep.yml"}, []string{
			"ep.yml:2:12: auth_mode: aad_token needs Microsoft Entra ID", "ep.yml:3:10: traffic: percents add up to 90"}},
		{[]string{"online-deployment", "create", "--file", "dep.yml"}, []string{
			"dep.yml:3:17: instance_count: expected an integer from 1 to 64, got 0", "dep.yml:5:9: code_configuration.code: ./nowhere does not exist"}},
		{[]string{"online-endpoint", "update", "--name", "model-service", "--traffic", "blue=ninety"}, []string{"whole number"}},
	}
	for _, tt := range tests {
		r := e.run(tt.args...)
		if r.code != 2 {
			t.Errorf("ciel %v: exit %d, want 2\n%s", tt.args, r.code, r.err)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.err, w) {
				t.Errorf("ciel %v: stderr lacks %q:\n%s", tt.args, w, r.err)
			}
		}
	}
	r := e.run("online-endpoint", "show", "--name", "nothing-here")
	if r.code != 1 || !strings.Contains(r.err, "ciel online-endpoint create --name nothing-here") {
		t.Errorf("show of a missing endpoint: exit %d %s", r.code, r.err)
	}
	code, body := e.httpJSON("POST", "/api/v1/workspaces/ws/online-endpoints", `{"name": "x"}`)
	if code != 400 || body["error"] == nil {
		t.Errorf("bad endpoint name over the API: %d %v", code, body)
	}
}

// A deployment naming a model, environment or scoring script that does not
// exist is refused when it is created or updated, as Azure ML refuses it,
// and nothing is stored or changed.
func TestOnlineDeploymentRefsCheckedUpFront(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("ep.yml", "name: refs\nauth_mode: key\n")
	e.ok("online-endpoint", "create", "--file", "ep.yml")
	e.write("src/score.py", "def init(): pass\ndef run(raw): return raw\n")
	e.write("model.pkl", "not really a model")
	code := "code_configuration:\n  code: ./src\n  scoring_script: %s\n"
	tests := []struct {
		name, file, want string
	}{
		{"model", "model: azureml:nosuch:1\n" + fmt.Sprintf(code, "score.py"),
			"model azureml:nosuch:1 not found in workspace ws; register it with: ciel model create --name nosuch"},
		{"environment", "model: ./model.pkl\nenvironment: azureml:nope:1\n" + fmt.Sprintf(code, "score.py"),
			"environment azureml:nope:1 not found in workspace ws"},
		{"script", "model: ./model.pkl\n" + fmt.Sprintf(code, "other.py"),
			"script.yml:6:19: code_configuration.scoring_script: other.py is not a file in the code folder"},
	}
	for _, tt := range tests {
		e.write(tt.name+".yml", "name: blue\nendpoint_name: refs\n"+tt.file)
		r := e.run("online-deployment", "create", "--file", tt.name+".yml")
		if r.code == 0 || !strings.Contains(r.err, tt.want) {
			t.Errorf("%s: exit %d, want an error with %q:\n%s", tt.name, r.code, tt.want, r.err)
		}
	}
	if r := e.run("online-deployment", "show", "--name", "blue", "--endpoint-name", "refs"); r.code == 0 {
		t.Errorf("a refused deployment was stored:\n%s", r.out)
	}

	// An update naming a missing model leaves the deployment as it was.
	e.write("ok.yml", "name: blue\nendpoint_name: refs\nmodel: ./model.pkl\n"+fmt.Sprintf(code, "score.py"))
	e.ok("online-deployment", "create", "--file", "ok.yml")
	r := e.run("online-deployment", "update", "--file", "model.yml")
	if r.code == 0 || !strings.Contains(r.err, "model azureml:nosuch:1 not found") {
		t.Errorf("update to a missing model: exit %d\n%s", r.code, r.err)
	}
	var d struct {
		Model string `json:"model"`
		State string `json:"provisioning_state"`
	}
	if err := json.Unmarshal([]byte(e.ok("online-deployment", "show", "--name", "blue", "--endpoint-name", "refs", "-o", "json").out), &d); err != nil {
		t.Fatal(err)
	}
	if d.State != "Succeeded" || strings.Contains(d.Model, "nosuch") {
		t.Errorf("after a refused update the deployment is %+v, want it unchanged and Succeeded", d)
	}
}
