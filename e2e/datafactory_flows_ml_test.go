package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dbtest"
)

// copyDir copies a folder's files into another.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		writeAt(t, filepath.Join(dst, rel), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDataFactoryFlowTrain runs train_orders: delta_copy (run by
// ExecutePipeline) copies the orders to Parquet in the lake, a ciel
// activity registers the folder as the data asset orders, and an Azure ML
// command job (examples/dataflow/orders/ml, kept in the lake) trains a
// scikit-learn model on azureml:orders@latest with pandas and logs its r2
// with MLflow. The data version and the job name the factory run.
func TestDataFactoryFlowTrain(t *testing.T) {
	t.Parallel()
	e := venvEnv(t)
	e.dir = t.TempDir() // venvEnv's commands run in the package folder
	f := newFlowEnv(t, e, nil)
	copyDir(t, filepath.Join("..", "examples", "dataflow", "orders", "ml"), filepath.Join(f.lake, "ml"))
	e.ok("environment", "create", "--name", "AzureML-sklearn-1.5", "--image", "python")
	f.sql(ordersTables()...)
	// amount = 2.5 * quantity + noise: a fit the job must find.
	f.sql(`INSERT INTO orders (id, customer, amount, updated_at, quantity)
		SELECT g, 'c' || (g % 7), 2.5 * (g % 40) + ((g * 7919) % 10) / 10.0, '2026-11-01'::timestamp + g * interval '1 minute', g % 40
		FROM generate_series(1, 400) g`)
	pr := f.runPipeline("train_orders", "")

	acts := f.activityRuns(pr.RunID)
	var train struct {
		JobName string `json:"jobName"`
		Status  string `json:"status"`
	}
	json.Unmarshal(acts["Train"].Output, &train)
	if train.JobName == "" || train.Status != "Completed" {
		t.Fatalf("Train output: %s", acts["Train"].Output)
	}
	if j := f.show(train.JobName); j.Status != "Completed" {
		t.Errorf("job %s: %+v", train.JobName, j)
	}
	var data struct {
		Path string            `json:"path"`
		Tags map[string]string `json:"tags"`
	}
	mustJSON(t, f.ok("data", "show", "--name", "orders", "--version", "1", "-o", "json").out, &data)
	if data.Tags["datafactory.pipelineRunId"] != pr.RunID || data.Tags["datafactory.pipelineName"] != "train_orders" ||
		!strings.HasSuffix(data.Path, "datastores/lake/paths/curated/orders") {
		t.Errorf("data asset orders:1: %+v; want tags naming run %s", data, pr.RunID)
	}
	var runs []struct {
		Data struct {
			Metrics map[string]float64 `json:"metrics"`
			Params  map[string]string  `json:"params"`
		} `json:"data"`
		Metrics map[string]float64 `json:"metrics"`
		Params  map[string]string  `json:"params"`
	}
	out := f.ok("run", "list", "--experiment", "orders", "-o", "json").out
	mustJSON(t, out, &runs)
	if len(runs) != 1 {
		t.Fatalf("runs of experiment orders: %s", out)
	}
	m, p := runs[0].Metrics, runs[0].Params
	if m == nil {
		m, p = runs[0].Data.Metrics, runs[0].Data.Params
	}
	if m["r2"] < 0.95 || p["rows"] != "400" || p["files"] != "1" {
		t.Errorf("the training run's metrics %v, params %v; want r2 >= 0.95 over 400 rows in 1 file\n%s", m, p, out)
	}
	dl := t.TempDir()
	f.ok("job", "download", "--name", train.JobName, "--output-name", "model", "--download-path", dl)
	if _, err := os.Stat(filepath.Join(dl, "named-outputs", "model", "model", "MLmodel")); err != nil {
		t.Errorf("the job's model output: %v", err)
	}
}

// TestDataFactoryFlowExample runs examples/dataflow/orders/run.sh as the
// README says, with this test's ciel: two rounds of train_orders, the
// second copying only the new orders, each training run logging r2.
func TestDataFactoryFlowExample(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs two training jobs")
	}
	if arrowPython() == "" {
		t.Skip("no .venv (scripts/pyenv.sh)")
	}
	dbtest.Postgres(t) // skips, or fails under CI, when there is no PostgreSQL
	work := t.TempDir()
	cmd := exec.Command("../examples/dataflow/orders/run.sh", work)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(cielBin)+string(os.PathListSeparator)+os.Getenv("PATH"), "CIEL_URL=", "CIEL_TOKEN=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"files=1, rows=400", "files=2, rows=600", "r2=0.99"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("run.sh's output lacks %q:\n%s", want, out)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(work, "lake", "curated", "orders", "*.parquet")); len(files) != 2 {
		t.Errorf("the lake holds %v; want two Parquet files", files)
	}
}
