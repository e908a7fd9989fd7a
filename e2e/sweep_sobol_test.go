package e2e

import (
	"strconv"
	"strings"
	"testing"
)

const sobolSweep = `type: sweep
trial:
  command: python trial.py ${{search_space.x}} ${{search_space.y}} ${{search_space.c}}
  code: src
sampling_algorithm:
  type: random
  seed: 123
  rule: sobol
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
  y: {type: normal, mu: 4, sigma: 2}
  c: {type: choice, values: [a, b]}
objective: {goal: maximize, primary_metric: score}
limits:
  max_total_trials: 8
  max_concurrent_trials: 4
`

// checkSobolSweep runs a random sweep with rule: sobol in e, whose sampler
// environment TestSweepBayesian has built: its trials' values come from a
// Sobol sequence, so eight of them fill eight equal slices of each axis,
// which independent draws almost never do.
func checkSobolSweep(t *testing.T, e *env) {
	t.Helper()
	e.write("sobol.yml", sobolSweep)
	j := runSweep(t, e, "sobol.yml")
	trials := j.trials("")
	if len(trials) != 8 {
		t.Fatalf("%d trials, want 8", len(trials))
	}
	slices := make([]int, 8)
	var yBelow, cA int
	for name, s := range trials {
		x, errX := strconv.ParseFloat(s.Params["x"], 64)
		y, errY := strconv.ParseFloat(s.Params["y"], 64)
		if s.Status != "Completed" || errX != nil || errY != nil || x < 0 || x >= 1 {
			t.Fatalf("%s: %s with %v", name, s.Status, s.Params)
		}
		slices[int(x*8)]++
		if y < 4 {
			yBelow++
		}
		if s.Params["c"] == "a" {
			cA++
		}
	}
	for i, n := range slices {
		if n != 1 {
			t.Errorf("x slice %d of 8 holds %d trials: not a Sobol sequence (%v)", i, n, slices)
		}
	}
	if yBelow != 4 || cA != 4 {
		t.Errorf("%d of 8 trials have y below its mean, %d have c=a; want 4 and 4", yBelow, cA)
	}
	checkNestedSobol(t, e)
}

// checkNestedSobol runs the nested sweep with rule: sobol: the Sobol points
// have a coordinate for every parameter of every branch, and each trial
// gets its branch's.
func checkNestedSobol(t *testing.T, e *env) {
	t.Helper()
	e.write("src/trial.py", nestedTrial)
	y := strings.Replace(nestedSweep, "sampling_algorithm: grid", "sampling_algorithm: {type: random, seed: 9, rule: sobol}", 1)
	y = strings.Replace(y, "limits: {", "limits: {max_total_trials: 4, ", 1)
	e.write("nested-sobol.yml", y)
	names := map[string]int{}
	for name, s := range runSweep(t, e, "nested-sobol.yml").trials("") {
		names[s.Params["name"]]++
		if s.Status != "Completed" || (s.Params["momentum"] == "") == (s.Params["name"] == "sgd") {
			t.Errorf("%s: %s with %v", name, s.Status, s.Params)
		}
	}
	if names["sgd"] != 2 || names["adam"] != 2 {
		t.Errorf("branches picked %v times; a Sobol sequence of 4 splits the choice's axis 2 and 2", names)
	}
}
