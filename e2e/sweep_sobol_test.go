package e2e

import (
	"strconv"
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
}
