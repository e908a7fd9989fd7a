package e2e

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logMetricPy logs MLflow metrics to the trial's run over MLflow's REST API
// (what mlflow.log_metric sends), with the standard library only, so the
// trials of these tests start in a fraction of a second.
const logMetricPy = `import json, os, time, urllib.request

def log(key, value, step=0):
    body = json.dumps({"run_id": os.environ["MLFLOW_RUN_ID"], "key": key, "value": value,
                       "timestamp": int(time.time() * 1000), "step": step}).encode()
    req = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
                                 data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
`

// sweepJob is the part of `ciel job show -o json` of a sweep these tests
// read.
type sweepJob struct {
	Name       string            `json:"name"`
	Status     string            `json:"status"`
	Error      string            `json:"error"`
	RunID      string            `json:"run_id"`
	Properties map[string]string `json:"properties"`
	Outputs    map[string]struct {
		Digest string `json:"digest"`
	} `json:"outputs"`
	Jobs map[string]*sweepStep `json:"jobs"`
}

type sweepStep struct {
	Status     string             `json:"status"`
	Error      string             `json:"error"`
	Parent     string             `json:"parent"`
	Trial      bool               `json:"trial"`
	RunID      string             `json:"run_id"`
	Params     map[string]string  `json:"params"`
	Metrics    map[string]float64 `json:"metrics"`
	Properties map[string]string  `json:"properties"`
	StartTime  time.Time          `json:"start_time"`
	EndTime    time.Time          `json:"end_time"`
}

func (e *env) sweepShow(name string) sweepJob {
	e.t.Helper()
	r := e.ok("job", "show", "--name", name, "-o", "json")
	var j sweepJob
	if err := json.Unmarshal([]byte(r.out), &j); err != nil {
		e.t.Fatalf("job show: %v\n%s", err, r.out)
	}
	return j
}

// trials returns the trials of a sweep (of its sweep step parent, "" for a
// sweep job) by name.
func (j sweepJob) trials(parent string) map[string]*sweepStep {
	out := map[string]*sweepStep{}
	for n, s := range j.Jobs {
		if s.Trial && s.Parent == parent {
			out[n] = s
		}
	}
	return out
}

// runSweep submits a sweep file, waits for it and checks it completed.
func runSweep(t *testing.T, e *env, file string, args ...string) sweepJob {
	t.Helper()
	name := e.submit(file, args...)
	e.wait(name, 8*time.Minute)
	j := e.sweepShow(name)
	if j.Status != "Completed" {
		t.Fatalf("sweep %s is %s: %s", name, j.Status, j.Error)
	}
	return j
}

// maxOverlap is the largest number of trials running at one moment, from
// their recorded start and end times.
func maxOverlap(trials map[string]*sweepStep) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, s := range trials {
		edges = append(edges, edge{s.StartTime, 1}, edge{s.EndTime, -1})
	}
	sort.Slice(edges, func(a, b int) bool {
		if edges[a].at.Equal(edges[b].at) {
			return edges[a].delta < edges[b].delta
		}
		return edges[a].at.Before(edges[b].at)
	})
	n, top := 0, 0
	for _, x := range edges {
		n += x.delta
		top = max(top, n)
	}
	return top
}

const randomSweep = `$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
trial:
  command: >-
    python trial.py ${{search_space.x}} ${{search_space.lr}} ${{search_space.k}}
    ${{search_space.q}} ${{search_space.opt}} ${{inputs.tag}} ${{outputs.model}}
  code: src
inputs:
  tag: run-a
outputs:
  model:
sampling_algorithm:
  type: random
  seed: 11
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
  lr: {type: loguniform, min_value: -6, max_value: -1}
  k: {type: randint, upper: 5}
  q: {type: quniform, min_value: 0, max_value: 10, q: 2}
  opt: {type: choice, values: [adam, sgd]}
objective:
  goal: minimize
  primary_metric: loss
limits:
  max_total_trials: 4
  max_concurrent_trials: 4
experiment_name: sweep-random
`

const randomTrial = logMetricPy + `
import sys
x, lr, k, q, opt, tag, out = sys.argv[1:]
# Azure ML gives a trial its values as AZUREML_SWEEP_<name> too.
for name, v in zip(["x", "lr", "k", "q", "opt"], [x, lr, k, q, opt]):
    got = os.environ.get("AZUREML_SWEEP_" + name)
    assert got == v, "AZUREML_SWEEP_%s is %r, the argument %r" % (name, got, v)
log("loss", (float(x) - 0.3) ** 2)
with open(os.path.join(out, "model.txt"), "w") as f:
    f.write(" ".join([x, lr, k, q, opt, tag]))
`

// A random sweep with a seed draws the same values every time; every
// distribution stays in its range; each trial has its values as
// AZUREML_SWEEP_<name> variables too; the sweep's output is its best trial's.
func TestSweepRandomSeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("src/trial.py", randomTrial)
	e.write("sweep.yml", randomSweep)
	a := runSweep(t, e, "sweep.yml")
	b := runSweep(t, e, "sweep.yml")
	ta, tb := a.trials(""), b.trials("")
	if len(ta) != 4 || len(tb) != 4 {
		t.Fatalf("trials: %d and %d, want 4 each", len(ta), len(tb))
	}
	best, bestLoss := "", math.Inf(1)
	for name, s := range ta {
		if s.Status != "Completed" {
			t.Errorf("%s: %s %s", name, s.Status, s.Error)
		}
		p := s.Params
		if tb[name] == nil || !equalParams(p, tb[name].Params) {
			t.Errorf("%s: params %v then %v with the same seed", name, p, tb[name])
		}
		x, _ := strconv.ParseFloat(p["x"], 64)
		lr, _ := strconv.ParseFloat(p["lr"], 64)
		k, kerr := strconv.Atoi(p["k"])
		q, _ := strconv.ParseFloat(p["q"], 64)
		if x < 0 || x > 1 || lr < math.Exp(-6) || lr > math.Exp(-1) || kerr != nil || k < 0 || k > 4 ||
			math.Mod(q, 2) != 0 || q < 0 || q > 10 || (p["opt"] != "adam" && p["opt"] != "sgd") {
			t.Errorf("%s: values out of their distributions: %v", name, p)
		}
		loss, ok := s.Metrics["loss"]
		if !ok {
			t.Errorf("%s logged no loss: %v", name, s.Metrics)
		}
		if loss < bestLoss {
			best, bestLoss = name, loss
		}
	}
	if a.Properties["best_trial"] != best || a.Properties["best_child_run_id"] != ta[best].RunID || ta[best].RunID == "" {
		t.Errorf("properties %v, want best_trial %s (run %s)", a.Properties, best, ta[best].RunID)
	}
	dst := t.TempDir()
	e.ok("job", "download", "--name", a.Name, "--output-name", "model", "--download-path", dst)
	got, _ := os.ReadFile(filepath.Join(dst, "named-outputs", "model", "model.txt"))
	if !strings.HasPrefix(string(got), ta[best].Params["x"]+" ") || !strings.HasSuffix(string(got), " run-a") {
		t.Errorf("the sweep's output holds %q, want the best trial's (x=%s)", got, ta[best].Params["x"])
	}
}

func equalParams(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

const gridSweep = `type: sweep
trial:
  command: python -c "import time; time.sleep(1)" && python trial.py ${{search_space.a}} ${{search_space.b}}
  code: src
sampling_algorithm: grid
search_space:
  a: {type: choice, values: [1, 2, 3]}
  b: {type: choice, values: [x, y]}
objective: {goal: maximize, primary_metric: score}
limits:
  max_concurrent_trials: 2
`

const gridTrial = logMetricPy + `
import sys
log("score", float(sys.argv[1]) + (0.5 if sys.argv[2] == "y" else 0))
`

// A grid sweep runs every combination once, never more trials at once than
// max_concurrent_trials, and max_total_trials cuts the grid short.
func TestSweepGridLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("src/trial.py", gridTrial)
	e.write("grid.yml", gridSweep)
	all := runSweep(t, e, "grid.yml")
	trials := all.trials("")
	combos := map[string]bool{}
	for name, s := range trials {
		if s.Status != "Completed" {
			t.Errorf("%s: %s", name, s.Status)
		}
		combos[s.Params["a"]+s.Params["b"]] = true
	}
	if len(trials) != 6 || len(combos) != 6 {
		t.Errorf("%d trials covering %v, want the 6 combinations once each", len(trials), combos)
	}
	if n := maxOverlap(trials); n != 2 {
		t.Errorf("at most %d trials ran at once, want 2 (max_concurrent_trials)", n)
	}
	if best := all.Properties["best_trial"]; trials[best] == nil || trials[best].Params["a"] != "3" || trials[best].Params["b"] != "y" {
		t.Errorf("best trial %q, want a=3 b=y", best)
	}

	cut := runSweep(t, e, "grid.yml", "--set", "limits.max_total_trials=4", "--set", "limits.max_concurrent_trials=3")
	trials = cut.trials("")
	if len(trials) != 4 {
		t.Errorf("%d trials, want 4 (max_total_trials)", len(trials))
	}
	if n := maxOverlap(trials); n > 3 {
		t.Errorf("%d trials ran at once, want at most 3", n)
	}
}

const banditSweep = `type: sweep
trial:
  command: python trial.py ${{search_space.quality}}
  code: src
sampling_algorithm: grid
search_space:
  quality: {type: choice, values: [good, bad]}
objective: {goal: maximize, primary_metric: accuracy}
early_termination:
  type: bandit
  slack_factor: 0.2
  evaluation_interval: 1
  delay_evaluation: 2
limits:
  max_total_trials: 2
  max_concurrent_trials: 2
`

const banditTrial = logMetricPy + `
import sys
for i in range(40):
    log("accuracy", 0.9 if sys.argv[1] == "good" else 0.3, step=i)
    time.sleep(0.25)
`

// The bandit policy cancels the trial that falls behind while it runs.
func TestSweepEarlyTermination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("src/trial.py", banditTrial)
	e.write("bandit.yml", banditSweep)
	j := runSweep(t, e, "bandit.yml")
	trials := j.trials("")
	if len(trials) != 2 {
		t.Fatalf("%d trials, want 2", len(trials))
	}
	for name, s := range trials {
		switch s.Params["quality"] {
		case "good":
			if s.Status != "Completed" || j.Properties["best_trial"] != name {
				t.Errorf("good trial %s: %s, best %q", name, s.Status, j.Properties["best_trial"])
			}
		case "bad":
			if s.Status != "Canceled" || !strings.Contains(s.Error, "bandit early termination policy") {
				t.Errorf("bad trial %s: %s %q, want canceled by the policy", name, s.Status, s.Error)
			}
			if d := s.EndTime.Sub(s.StartTime); d > 8*time.Second {
				t.Errorf("bad trial ran %s, its full length: not stopped early", d)
			}
		}
	}
}

const bayesSweep = `type: sweep
trial:
  command: python trial.py ${{search_space.x}} ${{search_space.y}} ${{search_space.c}}
  code: src
sampling_algorithm:
  type: bayesian
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
  y: {type: quniform, min_value: 0, max_value: 10, q: 0.5}
  c: {type: choice, values: [a, b]}
objective: {goal: maximize, primary_metric: score}
limits:
  max_total_trials: 7
  max_concurrent_trials: 2
`

const bayesTrial = logMetricPy + `
import sys
x, y, c = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
log("score", -(x - 0.7) ** 2 - (y - 4) ** 2 / 100 + (0.1 if c == "b" else 0))
`

// Bayesian sampling asks Optuna's TPE sampler, in an environment ciel
// builds from PyPI, for each new trial given the finished ones; then a
// Sobol sweep uses the same environment.
func TestSweepBayesian(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the optuna environment")
	}
	e := newEnv(t)
	e.write("src/trial.py", bayesTrial)
	e.write("bayes.yml", bayesSweep)
	j := runSweep(t, e, "bayes.yml")
	trials := j.trials("")
	if len(trials) != 7 {
		t.Fatalf("%d trials, want 7", len(trials))
	}
	seen := map[string]bool{}
	for name, s := range trials {
		x, _ := strconv.ParseFloat(s.Params["x"], 64)
		y, _ := strconv.ParseFloat(s.Params["y"], 64)
		if s.Status != "Completed" || x < 0 || x > 1 || y < 0 || y > 10 || math.Mod(y, 0.5) != 0 ||
			(s.Params["c"] != "a" && s.Params["c"] != "b") {
			t.Errorf("%s: %s with %v", name, s.Status, s.Params)
		}
		seen[s.Params["x"]] = true
	}
	if len(seen) != 7 {
		t.Errorf("trials repeat values: %v", seen)
	}
	found, _ := filepath.Glob(filepath.Join(e.home, "envs", "*", "lib", "python*", "site-packages", "optuna"))
	if len(found) != 1 {
		t.Errorf("no optuna environment under %s/envs: %v", e.home, found)
	}
	checkSobolSweep(t, e)
}

const sweepPipeline = `type: pipeline
experiment_name: sweep-pipeline
jobs:
  tune:
    type: sweep
    inputs:
      data: {type: uri_file, path: ./data.txt}
    outputs:
      model:
    trial: ./train.yml
    sampling_algorithm: grid
    search_space:
      lr: {type: choice, values: [0.1, 0.5, 0.9]}
    objective: {goal: maximize, primary_metric: score}
    limits: {max_total_trials: 3, max_concurrent_trials: 3}
  use:
    inputs:
      model: ${{parent.jobs.tune.outputs.model}}
    command: cat ${{inputs.model}}/model.txt
`

const sweepTrainComponent = `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: train
version: 1
inputs:
  data: {type: uri_file}
  lr: {type: number, default: 0.01}
outputs:
  model: {type: uri_folder}
code: ./src
command: python train.py ${{inputs.data}} ${{inputs.lr}} ${{outputs.model}}
`

const sweepTrain = logMetricPy + `
import sys
data, lr, out = sys.argv[1:]
log("score", float(lr))
with open(os.path.join(out, "model.txt"), "w") as f:
    f.write("trained on %s with lr=%s\n" % (open(data).read().strip(), lr))
`

// A sweep step of a pipeline: its trials' runs are children of its run,
// its best trial's output feeds the next step, and job list
// --parent-job-name lists the pipeline's steps and the sweep's trials.
func TestSweepPipelineStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("data.txt", "iris\n")
	e.write("src/train.py", sweepTrain)
	e.write("train.yml", sweepTrainComponent)
	e.write("pipeline.yml", sweepPipeline)
	r := e.ok("job", "create", "--file", "pipeline.yml", "--stream")
	if !strings.Contains(r.out, "[use] trained on iris with lr=0.9\n") {
		t.Errorf("the next step did not get the best trial's model:\n%s", r.out)
	}
	m := runIDLine.FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("no RunId in the stream:\n%s", r.out)
	}
	j := e.sweepShow(m[1])
	tune := j.Jobs["tune"]
	if j.Status != "Completed" || tune == nil || tune.Status != "Completed" || tune.RunID == "" {
		t.Fatalf("job %s / tune: %+v", j.Status, tune)
	}
	trials := j.trials("tune")
	if len(trials) != 3 || trials[tune.Properties["best_trial"]] == nil || trials[tune.Properties["best_trial"]].Params["lr"] != "0.9" {
		t.Errorf("trials %v, best %v", trials, tune.Properties)
	}
	for name, s := range trials {
		_, run := e.httpJSON("GET", "/ws/ws/api/2.0/mlflow/runs/get?run_id="+s.RunID, "")
		if parentTag(run) != tune.RunID {
			t.Errorf("%s: parent run %q, want the sweep step's %s", name, parentTag(run), tune.RunID)
		}
	}
	_, run := e.httpJSON("GET", "/ws/ws/api/2.0/mlflow/runs/get?run_id="+tune.RunID, "")
	if parentTag(run) != j.RunID {
		t.Errorf("sweep step's parent run %q, want the pipeline's %s", parentTag(run), j.RunID)
	}

	var children []struct {
		Name, Type, Status string
		ParentJobName      string `json:"parent_job_name"`
	}
	list := e.ok("job", "list", "--parent-job-name", m[1], "-o", "json")
	if err := json.Unmarshal([]byte(list.out), &children); err != nil || len(children) != 2 ||
		children[0].Name != "tune" || children[0].Type != "sweep" || children[1].Name != "use" || children[1].ParentJobName != m[1] {
		t.Errorf("children of the pipeline: %v %s", err, list.out)
	}
	list = e.ok("job", "list", "--parent-job-name", m[1]+"/tune")
	for _, w := range []string{"tune/trial_0", "tune/trial_1", "tune/trial_2", "Completed"} {
		if !strings.Contains(list.out, w) {
			t.Errorf("trials of the sweep step lack %q:\n%s", w, list.out)
		}
	}
	if r := e.run("job", "list", "--parent-job-name", "nope"); r.code == 0 || !strings.Contains(r.err, `job "nope" not found`) {
		t.Errorf("unknown parent: exit %d, %s", r.code, r.err)
	}
}

// parentTag is the mlflow.parentRunId tag of a runs/get answer.
func parentTag(run map[string]any) string {
	r, _ := run["run"].(map[string]any)
	data, _ := r["data"].(map[string]any)
	tags, _ := data["tags"].([]any)
	for _, t := range tags {
		if m, _ := t.(map[string]any); m["key"] == "mlflow.parentRunId" {
			s, _ := m["value"].(string)
			return s
		}
	}
	return ""
}

// A wrong sweep file is refused with the place of each mistake.
func TestSweepBadFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct{ name, yaml, want string }{
		{"grid of uniform", `type: sweep
trial:
  command: echo ${{search_space.x}}
sampling_algorithm: grid
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
objective: {goal: maximize, primary_metric: m}
`, "bad.yml:6:6: search_space.x: grid sampling supports only choice, not uniform"},
		{"unknown distribution", `type: sweep
trial:
  command: echo ${{search_space.x}}
sampling_algorithm: random
search_space:
  x: {type: gaussian, mu: 0}
objective: {goal: maximize, primary_metric: m}
limits: {max_total_trials: 2}
`, `bad.yml:6:13: search_space.x.type: unknown distribution "gaussian"`},
		{"bad bounds", `type: sweep
trial:
  command: echo ${{search_space.x}}
sampling_algorithm: random
search_space:
  x: {type: uniform, min_value: 2, max_value: 1}
objective: {goal: maximize, primary_metric: m}
limits: {max_total_trials: 2}
`, "bad.yml:6:6: search_space.x: invalid distribution: uniform min_value 2 must be less than max_value 1"},
		{"unknown search space name", `type: sweep
trial:
  command: echo ${{search_space.y}}
sampling_algorithm: random
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
objective: {goal: maximize, primary_metric: m}
limits: {max_total_trials: 2}
`, `bad.yml:3:12: trial.command: command uses ${{inputs.y}}`},
		{"no objective, no max_total_trials", `type: sweep
trial:
  command: echo ${{search_space.x}}
sampling_algorithm: random
search_space:
  x: {type: choice, values: [1, 2]}
`, "a sweep needs objective: with goal (maximize or minimize) and primary_metric"},
		{"bad goal and policy", `type: sweep
trial:
  command: echo ${{search_space.x}}
sampling_algorithm: random
search_space:
  x: {type: choice, values: [1, 2]}
objective: {goal: best, primary_metric: m}
limits: {max_total_trials: 2}
early_termination: {type: bandit, slack_factor: 0.1, slack_amount: 0.2}
`, `bad.yml:7:19: objective.goal: expected maximize or minimize, got "best"`},
	}
	for _, c := range cases {
		e.write("bad.yml", c.yaml)
		r := e.run("job", "create", "--file", "bad.yml")
		if r.code == 0 || !strings.Contains(r.err, c.want) {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant %q", c.name, r.code, r.err, c.want)
		}
	}
}
