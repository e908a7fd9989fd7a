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
	e.wait(name, 4*time.Minute)
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
log("loss", (float(x) - 0.3) ** 2)
with open(os.path.join(out, "model.txt"), "w") as f:
    f.write(" ".join([x, lr, k, q, opt, tag]))
`

// A random sweep with a seed draws the same values every time; every
// distribution stays in its range; the sweep's output is its best trial's.
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
// builds from PyPI, for each new trial given the finished ones.
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
}
