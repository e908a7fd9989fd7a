package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// venvEnv is a test's ciel whose server (and so every step) finds the
// repository's .venv (scripts/pyenv.sh: mlflow, scikit-learn, pandas) first
// on PATH: it stands in for Azure ML's curated sklearn environment.
func venvEnv(t *testing.T) *env {
	t.Helper()
	bin, err := filepath.Abs("../.venv/bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bin, "python")); err != nil {
		t.Skip("no .venv: run scripts/pyenv.sh")
	}
	e := &env{t: t, home: t.TempDir(), dir: t.TempDir(), vars: []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}}
	e.startServer()
	e.ok("workspace", "create", "--name", "ws", "--resource-group", "rg", "--location", "eastus")
	e.ok("configure", "--defaults", "workspace=ws")
	return e
}

// The sweep files of azureml-examples, unchanged (see
// testdata/azureml-examples/README.md), run as their READMEs say, with
// the real mlflow client logging each trial's metric.
func TestAzureMLExamplesSweep(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs mlflow in every trial")
	}
	e := venvEnv(t)
	root := copyExamples(t)
	e.ok("compute", "create", "--name", "cpu-cluster", "--type", "amlcompute", "--max-instances", "4")
	e.ok("environment", "create", "--name", "AzureML-sklearn-1.5", "--image", "python")

	e.dir = filepath.Join(root, "cli/jobs/basics")
	hello := runSweep(t, e, "hello-sweep.yml")
	trials := hello.trials("")
	if len(trials) != 4 || hello.Properties["best_trial"] == "" {
		t.Errorf("hello-sweep: %d trials, properties %v", len(trials), hello.Properties)
	}
	for name, s := range trials {
		if _, ok := s.Metrics["random_metric"]; !ok || s.Status != "Completed" || s.Params["A"] != "0.5" {
			t.Errorf("hello-sweep %s: %s, metrics %v, params %v", name, s.Status, s.Metrics, s.Params)
		}
	}

	// The iris CSV the file reads from a public URL, made from the copy
	// scikit-learn ships, with the column names the script expects.
	e.dir = filepath.Join(root, "cli/jobs/single-step/scikit-learn/iris")
	csv := irisCSV(t)
	// Two trials, not the file's 20: each logs a model through autolog,
	// which takes a minute on a busy machine.
	iris := runSweep(t, e, "job-sweep.yml", "--set", "inputs.iris_csv.path="+csv,
		"--set", "limits.max_total_trials=2", "--set", "limits.max_concurrent_trials=2")
	trials = iris.trials("")
	best := iris.Properties["best_trial"]
	if len(trials) != 2 || trials[best] == nil {
		t.Fatalf("iris sweep: %d trials, best %q", len(trials), best)
	}
	for name, s := range trials {
		f1, ok := s.Metrics["training_f1_score"]
		if !ok || s.Status != "Completed" || s.Params["kernel"] == "" {
			t.Errorf("iris %s: %s, metrics %v, params %v", name, s.Status, s.Metrics, s.Params)
		}
		if ok && f1 < trials[best].Metrics["training_f1_score"] {
			t.Errorf("best trial %s has f1 %v, but %s has %v (goal: minimize)", best, trials[best].Metrics["training_f1_score"], name, f1)
		}
	}
}

// azureml-examples' LightGBM sweep, unchanged, in the curated
// AzureML-lightgbm-3.3 environment built from ciel's catalogue (PyPI):
// mlflow.autolog() logs the trials' test-multi_logloss, which picks the best.
func TestAzureMLExamplesLightGBMSweep(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the curated lightgbm environment from PyPI")
	}
	if exec.Command("uv", "--version").Run() != nil {
		t.Skip("curated environments are built with uv")
	}
	e := newEnv(t)
	root := copyExamples(t)
	e.ok("compute", "create", "--name", "cpu-cluster", "--type", "amlcompute", "--max-instances", "4")
	e.dir = filepath.Join(root, "cli/jobs/single-step/lightgbm/iris")
	csv := irisCSV(t)
	// Two trials, not the file's 20.
	j := runSweep(t, e, "job-sweep.yml", "--set", "inputs.iris_csv.path="+csv,
		"--set", "limits.max_total_trials=2", "--set", "limits.max_concurrent_trials=2")
	trials := j.trials("")
	best := j.Properties["best_trial"]
	if len(trials) != 2 || trials[best] == nil {
		t.Fatalf("lightgbm sweep: %d trials, best %q", len(trials), best)
	}
	for name, s := range trials {
		loss, ok := s.Metrics["test-multi_logloss"]
		if !ok || s.Status != "Completed" || s.Params["boosting"] == "" {
			t.Errorf("%s: %s, metrics %v, params %v", name, s.Status, s.Metrics, s.Params)
		}
		if ok && loss < trials[best].Metrics["test-multi_logloss"] {
			t.Errorf("best trial %s has loss %v, but %s has %v (goal: minimize)", best, trials[best].Metrics["test-multi_logloss"], name, loss)
		}
	}
}

// irisCSV writes the iris CSV azureml-examples read from a public URL,
// made from the copy scikit-learn ships, with the column names their
// scripts expect.
func irisCSV(t *testing.T) string {
	t.Helper()
	csv := filepath.Join(t.TempDir(), "iris.csv")
	python, _ := filepath.Abs("../.venv/bin/python")
	mk := exec.Command(python, "-c", `import sys
from sklearn.datasets import load_iris
d = load_iris(as_frame=True)
f = d.frame.rename(columns={"target": "species"})
f["species"] = [d.target_names[i] for i in f["species"]]
f.to_csv(sys.argv[1], index=False)`, csv)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make iris.csv: %v\n%s", err, out)
	}
	return csv
}
