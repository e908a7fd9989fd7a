package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The batch endpoint examples of azureml-examples
// (cli/endpoints/batch/deploy-models), run with the commands of their
// deploy-and-run.sh, az ml becoming ciel. Where a script reads data from a
// URL, the test gives a local copy instead, as a user without network
// would; the YAML files are used as they are.

const batchExamplesDir = "cli/endpoints/batch/deploy-models"

// batchCase runs one example's commands in a workspace of its own.
type batchCase struct {
	name string
	dir  string
	run  func(t *testing.T, e *azEnv)
}

// runBatchCases runs the cases side by side on one server, each in its own
// workspace on a private copy of the examples.
func runBatchCases(t *testing.T, cases []batchCase) {
	root := copyExamples(t)
	shared := newEnv(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := &azEnv{env: &env{t: t, home: shared.home, dir: filepath.Join(root, batchExamplesDir, c.dir)}, ws: fmt.Sprintf("batch%02d", i)}
			e.env.ok("workspace", "create", "--name", e.ws, "--resource-group", "rg", "--location", "eastus")
			c.run(t, e)
		})
	}
}

// invokeJob runs `batch-endpoint invoke ... --query name -o tsv`, as the
// scripts do, and returns the job's name.
func (e *azEnv) invokeJob(args ...string) string {
	e.t.Helper()
	r := e.ok(append([]string{"batch-endpoint", "invoke", "--query", "name", "-o", "tsv"}, args...)...)
	name := strings.TrimSpace(r.out)
	if name == "" || strings.ContainsAny(name, " \n{") {
		e.t.Fatalf("invoke printed %q, want the job's name", r.out)
	}
	return name
}

// completed streams a job to its end, as the scripts' `az ml job stream`
// does, and fails the test unless it completed.
func (e *azEnv) completed(job string) {
	e.t.Helper()
	r := e.run("job", "stream", "--name", job, "-w", e.ws)
	if j := e.show(job); j.Status != "Completed" {
		e.t.Fatalf("job %s is %s: %s\n%s", job, j.Status, j.Error, r.out)
	}
}

// predictionLine is a line of an MLflow deployment's predictions.csv:
// row, prediction, file.
var predictionLine = regexp.MustCompile(`^\d+,[01],heart-unlabeled-[0-3]\.csv$`)

func TestAzureMLExamplesBatchEndpoints(t *testing.T) {
	t.Parallel()
	if exec.Command("uv", "--version").Run() != nil {
		t.Skip("the deployments' environments are built with uv")
	}
	runBatchCases(t, []batchCase{
		{name: "heart-classifier-mlflow", dir: "heart-classifier-mlflow", run: func(t *testing.T, e *azEnv) {
			const ep, dep = "heart-classifier-x1y2z", "classifier-xgboost-mlflow"
			// The script registers --path "model"; the model is in the
			// deployment's folder.
			e.ok("model", "create", "--name", "heart-classifier-mlflow", "--type", "mlflow_model", "--path", "deployment-simple/model")
			e.ok("data", "create", "-f", "heart-dataset-unlabeled.yml")
			e.ok("compute", "create", "-n", "batch-cluster", "--type", "amlcompute", "--min-instances", "0", "--max-instances", "5")
			e.ok("batch-endpoint", "create", "-n", ep, "-f", "endpoint.yml")
			e.ok("batch-endpoint", "show", "--name", ep)
			e.ok("batch-deployment", "create", "--file", "deployment-simple/deployment.yml", "--endpoint-name", ep, "--set-default")
			e.ok("batch-endpoint", "update", "--name", ep, "--set", "defaults.deployment_name="+dep)
			e.ok("batch-deployment", "show", "--name", dep, "--endpoint-name", ep)
			job := e.invokeJob("--name", ep, "--input", "azureml:heart-dataset-unlabeled@latest")
			if r := e.ok("batch-deployment", "list-jobs", "--name", dep, "--endpoint-name", ep, "--query", "[].name", "-o", "tsv"); strings.TrimSpace(r.out) != job {
				t.Errorf("list-jobs lacks %s:\n%s", job, r.out)
			}
			e.completed(job)
			out := downloaded(t, e, job, "score")
			b, err := os.ReadFile(filepath.Join(out, "predictions.csv"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) != 303 { // 100 + 100 + 100 + 3 rows
				t.Errorf("predictions.csv has %d lines, want 303", len(lines))
			}
			for _, l := range lines {
				if !predictionLine.MatchString(l) {
					t.Errorf("predictions.csv line %q is not row,prediction,file", l)
					break
				}
			}
			// A second deployment, with a scoring script, is created beside
			// the default one.
			e.ok("batch-deployment", "create", "--file", "deployment-custom/deployment.yml", "--endpoint-name", ep)
			if got := e.ok("batch-endpoint", "show", "--name", ep, "-o", "json").out; !strings.Contains(got, `"deployment_name": "`+dep+`"`) {
				t.Errorf("the second deployment took the default:\n%s", got)
			}
			e.ok("batch-endpoint", "delete", "--name", ep, "--yes")
		}},
		{name: "custom-outputs-parquet", dir: "custom-outputs-parquet", run: func(t *testing.T, e *azEnv) {
			const ep = "heart-classifier-p9q8r"
			e.ok("model", "create", "--name", "heart-classifier-sklpipe", "--type", "custom_model", "--path", "model")
			e.ok("compute", "create", "-n", "batch-cluster", "--type", "amlcompute", "--min-instances", "0", "--max-instances", "5")
			e.ok("batch-endpoint", "create", "-n", ep, "-f", "endpoint.yml")
			e.ok("batch-deployment", "create", "--file", "deployment.yml", "--endpoint-name", ep, "--set-default")
			// The script's input is heart-disease-uci/data on a public
			// blob store; the local copy is heart-classifier-mlflow's.
			job := e.invokeJob("--name", ep, "--input", "../heart-classifier-mlflow/data", "--input-type", "uri_folder")
			e.completed(job)
			out := downloaded(t, e, job, "score")
			py := venvPython()
			if py == "" {
				t.Skip("no .venv with pandas to read the parquet files")
			}
			check := exec.Command(py, "-c", `import glob, os, sys, pandas as pd
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.parquet"))):
    d = pd.read_parquet(f)
    print(os.path.basename(f), len(d), sorted(d["prediction"].unique().tolist()))
`, out)
			got, err := check.CombinedOutput()
			if err != nil {
				t.Fatalf("read the parquet files: %v\n%s", err, got)
			}
			lines := strings.Split(strings.TrimSpace(string(got)), "\n")
			want := []string{"heart-unlabeled-0.parquet 100", "heart-unlabeled-1.parquet 100", "heart-unlabeled-2.parquet 100", "heart-unlabeled-3.parquet 3"}
			if len(lines) != len(want) {
				t.Fatalf("parquet files:\n%s", got)
			}
			for i, w := range want {
				if !strings.HasPrefix(lines[i], w+" [") {
					t.Errorf("parquet %d: %q, want %q with predictions", i, lines[i], w)
				}
			}
		}},
		{name: "hello-batch", dir: "../deploy-pipelines/hello-batch", run: runHelloBatch},
	})
}

// runHelloBatch runs deploy-pipelines/hello-batch's deploy-and-run.sh: a
// pipeline component deployment, then one made from a pipeline job.
func runHelloBatch(t *testing.T, e *azEnv) {
	const ep = "hello-batch-k3j9x"
	e.ok("component", "create", "-f", "hello-component/hello.yml")
	e.ok("compute", "create", "-n", "batch-cluster", "--type", "amlcompute", "--min-instances", "0", "--max-instances", "5")
	e.ok("batch-endpoint", "create", "--name", ep, "-f", "endpoint.yml")
	e.ok("batch-endpoint", "show", "--name", ep)
	e.ok("batch-deployment", "create", "--endpoint", ep, "-f", "deployment.yml", "--set-default")
	if got := e.ok("batch-deployment", "show", "--name", "hello-batch-dpl", "--endpoint-name", ep, "--query", "[type, component, settings.default_compute]", "-o", "tsv").out; strings.Join(strings.Fields(got), " ") != "pipeline azureml:hello_batch:1 batch-cluster" {
		t.Errorf("deployment shows %q, want pipeline azureml:hello_batch:1 batch-cluster", got)
	}
	job := e.invokeJob("-n", ep)
	e.completed(job)
	j := e.show(job)
	if j.Type != "pipeline" || j.ExperimentName != ep || j.Tags["azureml.batch_deployment"] != "hello-batch-dpl" {
		t.Errorf("invocation job: type %s, experiment %s, tags %v", j.Type, j.ExperimentName, j.Tags)
	}
	if log := e.ok("job", "stream", "-n", job).out; !strings.Contains(log, "hello world!") {
		t.Errorf("the component's step did not print hello world!:\n%s", log)
	}
	// The pipeline job that tries the component, then a deployment made
	// from it.
	pj := strings.TrimSpace(e.ok("job", "create", "-f", "pipeline-job.yml", "--query", "name", "-o", "tsv").out)
	e.completed(pj)
	if got := e.show(pj); got.ExperimentName != "hello-pipeline-batch" {
		t.Errorf("pipeline-job.yml ran in experiment %q", got.ExperimentName)
	}
	e.ok("batch-deployment", "create", "--endpoint", ep, "--set", "job_definition=azureml:"+pj, "-f", "deployment-from-job.yml")
	fromJob := e.invokeJob("-n", ep, "--deployment-name", "hello-batch-from-job")
	e.completed(fromJob)
	// The job's one step is the component's, reused from the runs before.
	if steps := e.show(fromJob).Jobs; len(steps) != 1 || steps[pj+"/hello_batch/main_job"].Status != "Completed" {
		t.Errorf("the deployment from job %s ran steps %v, want its step %s/hello_batch/main_job", pj, steps, pj)
	}
	if got := strings.Fields(e.ok("batch-endpoint", "list-jobs", "--name", ep, "--query", "[].name", "-o", "tsv").out); len(got) != 2 {
		t.Errorf("list-jobs: %v, want the two invocations", got)
	}
	e.ok("batch-endpoint", "delete", "-n", ep, "--yes")
}
