package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cli/jobs/parallel and cli/jobs/pipelines: the parallel job examples whose
// data is in the repository. Each builds the environment its conda file
// asks for from PyPI (Python 3.7 or 3.8, the scikit-learn its pickled model
// needs), so they are skipped with -short or without uv or venv.
//
// Not run: 1a_oj_sales_prediction (its conda file leaves mlflow unpinned,
// and mlflow 3 refuses to save the GradientBoostingRegressor its
// run() saves, without skops_trusted_types: it fails on Azure ML as it does
// here), 3a_mnist_batch_identification and
// mnist-batch-identification-using-parallel (their prepare step downloads
// MNIST from a URL).
func TestAzureMLExamplesParallel(t *testing.T) {
	t.Parallel()
	irisRows := func(step string) func(t *testing.T, e *azEnv, name string) {
		return func(t *testing.T, e *azEnv, name string) {
			dir := downloaded(t, e, name, step+".job_output_file")
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			if len(files) != 1 {
				t.Fatalf("output holds %v, want one file", files)
			}
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			// iris.csv has 75 lines and no header; the MLTable reads its
			// first line as one (all_files_same_headers), as Azure ML does.
			if len(lines) != 74 || lines[0] != "4.9 3.0 1.4 0.2 Iris-setosa" || !strings.Contains(string(b), " Iris-virginica\n") {
				t.Errorf("%d rows, first %q:\n%s", len(lines), lines[0], b)
			}
		}
	}
	runAzCases(t, []azCase{
		{name: "2a_iris_batch_prediction", dir: "cli/jobs/parallel/2a_iris_batch_prediction", file: "pipeline.yml",
			skip: buildsEnvironments,
			want: []string{"[batch_prediction] [parallel]", "mini-batch(es) of mltable; 4 worker(s) (2 per instance)",
				"succeeded, 0 failed; 74 item(s), 0 failed; 74 row(s) appended to job_output_file"},
			check: irisRows("batch_prediction")},
		{name: "iris-batch-prediction-using-parallel", dir: "cli/jobs/pipelines/iris-batch-prediction-using-parallel", file: "pipeline.yml",
			skip:  buildsEnvironments,
			want:  []string{"74 item(s), 0 failed; 74 row(s) appended to job_output_file"},
			check: irisRows("batch_prediction")},
	})
}
