package spec

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSweep(t *testing.T) {
	t.Parallel()
	const head = "type: sweep\ntrial:\n  command: python t.py --x ${{search_space.x}} --a ${{inputs.a}}\ninputs: {a: 1}\n"
	tests := []struct {
		name, yaml string
		check      func(t *testing.T, j *Job)
		err        string
	}{
		{name: "random with seed", yaml: head + "sampling_algorithm: {type: random, seed: 7}\n" +
			"search_space:\n  x: {type: loguniform, min_value: -3, max_value: -1}\n" +
			"objective: {goal: Minimize, primary_metric: loss}\n" +
			"limits: {max_total_trials: 5, max_concurrent_trials: 2, timeout: 60, trial_timeout: 10}\n" +
			"early_termination: {type: bandit, slack_amount: 0.1, evaluation_interval: 2, delay_evaluation: 1}\n",
			check: func(t *testing.T, j *Job) {
				s := j.Sweep
				if j.Type != JobSweep || s.Algorithm != SamplingRandom || s.Seed == nil || *s.Seed != 7 || s.Goal != "minimize" ||
					s.PrimaryMetric != "loss" || s.MaxTotalTrials != 5 || s.MaxConcurrent != 2 || s.TimeoutSeconds != 60 ||
					s.TrialTimeout != 10 || s.EarlyTermination.Type != "bandit" || s.EarlyTermination.SlackAmount != 0.1 {
					t.Errorf("sweep %+v", s)
				}
				if !strings.Contains(j.Command, "--x ${{inputs.x}}") {
					t.Errorf("command %q: search_space not turned into an input", j.Command)
				}
				if s.Policy() == nil {
					t.Error("no policy")
				}
			}},
		{name: "grid without max_total_trials", yaml: head + "sampling_algorithm: grid\nsearch_space:\n  x: {type: choice, values: [1, b, true]}\n" +
			"objective: {goal: maximize, primary_metric: acc}\n",
			check: func(t *testing.T, j *Job) {
				if got := j.Sweep.SearchSpace["x"].Values; strings.Join(got, ",") != "1,b,true" {
					t.Errorf("values %v", got)
				}
			}},
		{name: "bayesian with normal", yaml: head + "sampling_algorithm: bayesian\nsearch_space:\n  x: {type: normal, mu: 0, sigma: 1}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			err: "sweep.yml:7:6: search_space.x: bayesian sampling supports only choice, uniform and quniform, not normal"},
		{name: "missing key of a distribution", yaml: head + "sampling_algorithm: random\nsearch_space:\n  x: {type: quniform, min_value: 0, max_value: 1}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			err: "sweep.yml:7:6: search_space.x: a quniform distribution needs q"},
		{name: "truncation out of range", yaml: head + "sampling_algorithm: random\nsearch_space:\n  x: {type: randint, upper: 3}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n" +
			"early_termination: {type: truncation_selection, truncation_percentage: 100}\n",
			err: "sweep.yml:10:20: early_termination: truncation_selection: invalid early termination policy"},
		{name: "unknown sampling", yaml: head + "sampling_algorithm: sobol\nsearch_space:\n  x: {type: randint, upper: 3}\n" +
			"objective: {goal: maximize, primary_metric: acc}\n",
			err: `sweep.yml:5:21: sampling_algorithm: expected random, grid or bayesian, got "sobol" (Sobol is a rule of random sampling: {type: random, rule: sobol})`},
		{name: "random with rule sobol", yaml: head + "sampling_algorithm: {type: random, seed: 3, rule: Sobol, logbase: e}\n" +
			"search_space:\n  x: {type: normal, mu: 0, sigma: 1}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 4}\n",
			check: func(t *testing.T, j *Job) {
				if s := j.Sweep; s.Algorithm != SamplingRandom || s.Rule != RuleSobol || *s.Seed != 3 {
					t.Errorf("sweep %+v", s)
				}
			}},
		{name: "random with rule random", yaml: head + "sampling_algorithm: {type: random, rule: random}\n" +
			"search_space:\n  x: {type: randint, upper: 3}\nobjective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 4}\n",
			check: func(t *testing.T, j *Job) {
				if s := j.Sweep; s.Algorithm != SamplingRandom || s.Rule != "" {
					t.Errorf("sweep %+v", s)
				}
			}},
		{name: "unknown rule", yaml: head + "sampling_algorithm: {type: random, rule: halton}\n" +
			"search_space:\n  x: {type: randint, upper: 3}\nobjective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 4}\n",
			err: `sweep.yml:5:42: sampling_algorithm.rule: expected random or sobol, got "halton"`},
		{name: "rule sobol on grid", yaml: head + "sampling_algorithm: {type: grid, rule: sobol}\n" +
			"search_space:\n  x: {type: choice, values: [1, 2]}\nobjective: {goal: maximize, primary_metric: acc}\n",
			err: `sweep.yml:5:40: sampling_algorithm.rule: rule sobol is random sampling's; grid sampling takes none`},
		{name: "command key outside the trial", yaml: head + "command: echo\nsampling_algorithm: grid\nsearch_space:\n  x: {type: choice, values: [1]}\n" +
			"objective: {goal: maximize, primary_metric: acc}\n",
			err: "sweep.yml:5:1: command: only valid in a command job"},
		{name: "nested choice", yaml: "type: sweep\ntrial:\n  command: python t.py $[[--lr ${{search_space.lr}}]] $[[--m ${{search_space.m}}]]\n" +
			"sampling_algorithm: random\nsearch_space:\n  opt:\n    type: choice\n    values:\n" +
			"      - {lr: 0.1, m: {type: uniform, min_value: 0, max_value: 1}}\n      - {lr: {type: choice, values: [1, 2]}}\n      - plain\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			check: func(t *testing.T, j *Job) {
				p := j.Sweep.SearchSpace["opt"]
				if len(p.Values) != 3 || p.Values[2] != "plain" || len(p.Nested) != 3 || p.Nested[2] != nil ||
					p.Nested[0]["lr"].Values[0] != "0.1" || p.Nested[0]["m"].Type != "uniform" || p.Nested[1]["lr"].Type != "choice" {
					t.Errorf("opt %+v", p)
				}
				if got := j.Sweep.ParamTypes(); len(got) != 3 || len(got["m"]) != 1 || got["m"][0] != "uniform" {
					t.Errorf("ParamTypes() = %v", got)
				}
				if c := j.Sweep.Conditional(); !c["lr"] || !c["m"] || c["opt"] {
					t.Error("lr and m are given by some values of opt only")
				}
			}},
		{name: "nested parameter outside $[[ ]]", yaml: "type: sweep\ntrial:\n  command: python t.py --m ${{search_space.m}}\n" +
			"sampling_algorithm: random\nsearch_space:\n  opt: {type: choice, values: [{m: 1}, none]}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			err: "sweep.yml:3:12: trial.command: command uses search_space.m outside $[[ ]], but only the trials whose nested choice gives it have a value"},
		{name: "nested parameter every value gives", yaml: "type: sweep\ntrial:\n  command: python t.py --m ${{search_space.m}}\n" +
			"sampling_algorithm: random\nsearch_space:\n  opt: {type: choice, values: [{m: 1}, {m: 2, k: 3}]}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			check: func(t *testing.T, j *Job) {
				if c := j.Sweep.Conditional(); c["m"] || !c["k"] {
					t.Error("m is in every value of opt, k in one")
				}
			}},
		{name: "nested name clash", yaml: head + "sampling_algorithm: random\nsearch_space:\n  x: {type: randint, upper: 3}\n" +
			"  y: {type: choice, values: [{x: 1}]}\nobjective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			err: `sweep.yml:8:6: search_space.y: invalid distribution: y and x both give a trial "x"`},
		{name: "bad nested distribution", yaml: head + "sampling_algorithm: random\nsearch_space:\n  x: {type: choice, values: [{z: {type: uniform, min_value: 2, max_value: 1}}]}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			err: "search_space.x.values[0].z: invalid distribution: uniform min_value 2 must be less than max_value 1"},
		{name: "nested list value", yaml: head + "sampling_algorithm: random\nsearch_space:\n  x: {type: choice, values: [{z: [1, 2]}]}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			err: "search_space.x.values[0].z: expected a distribution (a mapping with type:) or a constant, got a sequence"},
		{name: "nested choice under bayesian", yaml: head + "sampling_algorithm: bayesian\nsearch_space:\n  x: {type: choice, values: [{z: 1}, 2]}\n" +
			"objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 3}\n",
			err: "sweep.yml:7:6: search_space.x: bayesian sampling does not support nested choices"},
		{name: "nested uniform under grid", yaml: head + "sampling_algorithm: grid\nsearch_space:\n  x: {type: choice, values: [{z: {type: uniform, min_value: 0, max_value: 1}}]}\n" +
			"objective: {goal: maximize, primary_metric: acc}\n",
			err: "sweep.yml:7:6: search_space.x.values[0].z: grid sampling supports only choice, not uniform"},
		{name: "no trial", yaml: "type: sweep\nsampling_algorithm: grid\nsearch_space:\n  x: {type: choice, values: [1]}\n",
			err: "a sweep needs trial:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j, err := ParseJob(filepath.Join(t.TempDir(), "sweep.yml"), []byte(tt.yaml), Options{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, j)
		})
	}
}
