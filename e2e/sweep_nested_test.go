package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// nestedSweep has conditional parameters: momentum only for sgd, beta only
// for adam, each used inside $[[ ]]; lr for all.
const nestedSweep = `type: sweep
trial:
  command: >-
    python trial.py --lr ${{search_space.lr}} --name ${{search_space.name}}
    $[[--momentum ${{search_space.momentum}}]] $[[--beta ${{search_space.beta}}]]
  code: src
sampling_algorithm: grid
search_space:
  lr: {type: choice, values: [0.1, 0.2]}
  optimizer:
    type: choice
    values:
      - name: sgd
        momentum: {type: choice, values: [0.5, 0.9]}
      - name: adam
        beta: 0.99
objective: {goal: maximize, primary_metric: score}
limits: {max_concurrent_trials: 3}
`

const nestedTrial = logMetricPy + `
import argparse
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, required=True)
p.add_argument("--name", required=True)
p.add_argument("--momentum", type=float)
p.add_argument("--beta", type=float)
a = p.parse_args()
# A parameter the trial's choice did not give is neither an argument nor a
# variable; the choice's own variable is the picked mapping as JSON.
assert (a.momentum is None) == (a.name == "adam") and (a.beta is None) == (a.name == "sgd"), vars(a)
assert ("AZUREML_SWEEP_momentum" in os.environ) == (a.momentum is not None)
picked = json.loads(os.environ["AZUREML_SWEEP_optimizer"])
assert picked["name"] == a.name, picked
log("score", a.lr * (a.momentum or a.beta))
`

// A sweep whose choice holds mappings of parameters draws each mapping's
// own parameters only for the trials that pick it: grid sampling walks
// every branch, and the trials get exactly their branch's values.
func TestSweepNestedChoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("src/trial.py", nestedTrial)
	e.write("nested.yml", nestedSweep)
	j := runSweep(t, e, "nested.yml")
	trials := j.trials("")
	got := map[string]bool{}
	for name, s := range trials {
		if s.Status != "Completed" {
			t.Errorf("%s: %s %s", name, s.Status, s.Error)
		}
		p := s.Params
		var picked map[string]any
		if err := json.Unmarshal([]byte(p["optimizer"]), &picked); err != nil || picked["name"] != p["name"] {
			t.Errorf("%s: optimizer param %q does not name %q", name, p["optimizer"], p["name"])
		}
		got[strings.Join([]string{p["lr"], p["name"], p["momentum"], p["beta"]}, " ")] = true
	}
	want := []string{"0.1 sgd 0.5 ", "0.1 sgd 0.9 ", "0.1 adam  0.99", "0.2 sgd 0.5 ", "0.2 sgd 0.9 ", "0.2 adam  0.99"}
	for _, w := range want {
		if !got[w] {
			t.Errorf("no trial with lr, name, momentum, beta = %q; got %v", w, got)
		}
	}
	if len(trials) != len(want) {
		t.Errorf("%d trials, want %d", len(trials), len(want))
	}
	if best := trials[j.Properties["best_trial"]]; best == nil || best.Params["lr"] != "0.2" || best.Params["beta"] != "0.99" {
		t.Errorf("best trial %q, want lr 0.2 with adam's beta 0.99", j.Properties["best_trial"])
	}

	// Random sampling draws the same shape; the command may not use a
	// conditional parameter outside $[[ ]], and bayesian sampling takes
	// no nested choice.
	random := strings.Replace(nestedSweep, "sampling_algorithm: grid", "sampling_algorithm: {type: random, seed: 5}", 1)
	random = strings.Replace(random, "limits: {", "limits: {max_total_trials: 4, ", 1)
	e.write("random.yml", random)
	for name, s := range runSweep(t, e, "random.yml").trials("") {
		if s.Status != "Completed" || (s.Params["momentum"] == "") == (s.Params["name"] == "sgd") {
			t.Errorf("%s: %s with %v", name, s.Status, s.Params)
		}
	}
	for _, c := range []struct{ yaml, want string }{
		{strings.Replace(nestedSweep, "$[[--momentum ${{search_space.momentum}}]]", "--momentum ${{search_space.momentum}}", 1),
			"bad.yml:3:12: trial.command: command uses search_space.momentum outside $[[ ]]"},
		{strings.Replace(random, "type: random", "type: bayesian", 1),
			"bad.yml:11:5: search_space.optimizer: bayesian sampling does not support nested choices"},
	} {
		e.write("bad.yml", c.yaml)
		if r := e.run("job", "create", "--file", "bad.yml"); r.code == 0 || !strings.Contains(r.err, c.want) {
			t.Errorf("exit %d, stderr:\n%s\nwant %q", r.code, r.err, c.want)
		}
	}
}
