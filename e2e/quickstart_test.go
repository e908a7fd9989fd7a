package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The README's quick start, command by command, on the real example: a
// conda environment built with uv from PyPI, scikit-learn steps, an evaluation
// metric at the end, then reuse and download.
func TestQuickstartExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a scikit-learn environment")
	}
	if _, err := exec.LookPath("uv"); err != nil {
		if exec.Command("python3", "-m", "venv", "--help").Run() != nil {
			t.Skip("neither uv nor python3 -m venv available")
		}
	}
	e := &env{t: t, home: t.TempDir()}
	src, err := filepath.Abs("../examples/pipeline")
	if err != nil {
		t.Fatal(err)
	}
	e.dir = src
	e.startServer()

	ws := e.ok("workspace", "create", "--name", "ml_workspace", "--resource-group", "ml_rg", "--location", "eastus", "-o", "json")
	if !strings.Contains(ws.out, `"resource_group": "ml_rg"`) || !strings.Contains(ws.out, `"location": "eastus"`) {
		t.Errorf("workspace does not keep resource group and location:\n%s", ws.out)
	}
	e.ok("configure", "--defaults", "workspace=ml_workspace")
	e.ok("compute", "create", "--name", "cpu-cluster", "--type", "local", "--max-concurrency", "2")
	e.ok("data", "create", "--name", "training_data", "--version", "1", "--type", "uri_file", "--path", "./data.csv")
	e.ok("environment", "create", "--file", "env.yml")
	e.ok("component", "create", "--file", "components/train.yml")

	r := e.ok("job", "create", "--file", "pipeline.yml", "--stream")
	m := regexp.MustCompile(`\[evaluate\] accuracy: ([0-9.]+)`).FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("no accuracy in the stream:\n%s", r.out)
	}
	if acc, _ := strconv.ParseFloat(m[1], 64); acc < 0.9 {
		t.Errorf("accuracy %v: the model did not learn", acc)
	}
	if !strings.Contains(r.out, "building environment") && !strings.Contains(r.out, "environment") {
		t.Logf("stream:\n%s", r.out)
	}
	name := firstJobName(t, e)
	out := t.TempDir()
	e.ok("job", "download", "--name", name, "--output-name", "model", "--download-path", out)
	if _, err := os.Stat(filepath.Join(out, "named-outputs", "model", "model.pkl")); err != nil {
		t.Errorf("model not downloaded: %v", err)
	}
	e.ok("job", "download", "--name", name, "--all", "--download-path", out)
	b, err := os.ReadFile(filepath.Join(out, "artifacts", "evaluate", "outputs", "metrics.json"))
	var metrics map[string]float64
	if err != nil || json.Unmarshal(b, &metrics) != nil || metrics["roc_auc"] < 0.9 {
		t.Errorf("artifacts/evaluate/outputs/metrics.json = %s, %v", b, err)
	}

	readmeTracking(t, e, name)

	// Nothing changed: every step is reused, the environment is not rebuilt.
	r = e.ok("job", "create", "--file", "pipeline.yml", "--stream")
	if strings.Count(r.out, "reused") < 3 {
		t.Errorf("second run did not reuse every step:\n%s", r.out)
	}

	readmeEndpoint(t, e, name)
}

// readmeEndpoint follows the README's online endpoint section with the
// files of examples/endpoint, after the quick start trained the model.
func readmeEndpoint(t *testing.T, e *env, job string) {
	dir, err := filepath.Abs("../examples/endpoint")
	if err != nil {
		t.Fatal(err)
	}
	e.dir = dir
	e.ok("model", "create", "--name", "best_model", "--path", "azureml://jobs/"+job+"/outputs/model")
	e.ok("online-endpoint", "create", "--file", "endpoint.yml")
	t.Cleanup(func() { e.run("online-endpoint", "delete", "--name", "model-service", "--yes") })
	if r := e.ok("online-deployment", "create", "--file", "blue.yml", "--all-traffic"); !strings.Contains(r.out, "Succeeded") {
		t.Fatalf("blue did not provision:\n%s", r.out)
	}
	r := e.ok("online-endpoint", "invoke", "--name", "model-service", "--request-file", "sample.json")
	var answer struct {
		Predictions   []float64 `json:"predictions"`
		Probabilities []float64 `json:"probabilities"`
	}
	if err := json.Unmarshal([]byte(r.out), &answer); err != nil || len(answer.Predictions) == 0 ||
		len(answer.Predictions) != len(answer.Probabilities) {
		t.Fatalf("invoke answered %q (%v)", r.out, err)
	}
	// The first sample row is a malignant tumour (class 0) in the data set.
	if answer.Predictions[0] != 0 {
		t.Errorf("predictions %v: the first row is class 0", answer.Predictions)
	}
	logs := e.ok("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "model-service")
	if !strings.Contains(logs.out, "model loaded") {
		t.Errorf("blue's log lacks its init() output:\n%s", logs.out)
	}

	// The rest of the README's walk, as written there.
	e.ok("online-deployment", "create", "--file", "green.yml")
	e.ok("online-endpoint", "update", "--name", "model-service", "--mirror-traffic", "green=10")
	e.ok("online-endpoint", "update", "--name", "model-service", "--traffic", "blue=90 green=10", "--mirror-traffic", "green=0")
	show := e.ok("online-endpoint", "show", "--name", "model-service", "-o", "json")
	var ep struct {
		Traffic       map[string]int `json:"traffic"`
		MirrorTraffic map[string]int `json:"mirror_traffic"`
	}
	if err := json.Unmarshal([]byte(show.out), &ep); err != nil || ep.Traffic["blue"] != 90 || ep.Traffic["green"] != 10 || ep.MirrorTraffic["green"] != 0 {
		t.Errorf("after the README's traffic steps: %s (%v)", show.out, err)
	}
	e.ok("online-deployment", "get-logs", "--name", "green", "--endpoint-name", "model-service")
	e.ok("online-deployment", "update", "--file", "green.yml", "--set", "instance_count=3")
	e.ok("online-endpoint", "invoke", "--name", "model-service", "--request-file", "sample.json")
	e.ok("online-endpoint", "delete", "--name", "model-service", "--yes")
}

// readmeTracking runs the README's tracking commands on the quick start's
// job: the example's steps log with MLflow, so the filter, the table and
// compare show the metrics.
func readmeTracking(t *testing.T, e *env, job string) {
	r := e.ok("run", "list", "--experiment", "breast-cancer", "--filter", "metrics.accuracy > 0.9", "-o", "json")
	var runs []map[string]any
	if err := json.Unmarshal([]byte(r.out), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("run list --filter metrics.accuracy > 0.9: want the evaluate run, got %s (%v)", r.out, err)
	}
	table := e.ok("job", "show", "--name", job, "-o", "table")
	for _, want := range []string{"accuracy", "roc_auc", "train_accuracy", "n_estimators"} {
		if !strings.Contains(table.out, want) {
			t.Errorf("job show -o table lacks %s:\n%s", want, table.out)
		}
	}
	all := e.ok("run", "list", "--experiment", "breast-cancer", "-o", "json")
	var every []struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal([]byte(all.out), &every); err != nil || len(every) < 2 {
		t.Fatalf("run list: %s (%v)", all.out, err)
	}
	cmp := e.ok("run", "compare", every[0].RunID, every[1].RunID)
	if !strings.Contains(cmp.out, "accuracy") && !strings.Contains(cmp.out, "n_estimators") {
		t.Errorf("run compare shows no metric or param:\n%s", cmp.out)
	}
}
