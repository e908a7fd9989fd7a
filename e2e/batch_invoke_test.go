package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// invoked is what the tests read of the job `batch-endpoint invoke`
// prints.
type invoked struct {
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	ExperimentName string            `json:"experiment_name"`
	Tags           map[string]string `json:"tags"`
}

func (e *env) invoke(args ...string) invoked {
	e.t.Helper()
	r := e.ok(append([]string{"batch-endpoint", "invoke", "-o", "json"}, args...)...)
	var j invoked
	if err := json.Unmarshal([]byte(r.out), &j); err != nil || j.Name == "" {
		e.t.Fatalf("invoke: %v\n%s", err, r.out)
	}
	return j
}

// scored waits for a scoring job to complete and returns the named file of
// its output score.
func (e *env) scored(job, file string) string {
	e.t.Helper()
	if j := e.wait(job, 3*time.Minute); j.Status != "Completed" {
		r := e.run("job", "stream", "--name", job)
		e.t.Fatalf("job %s is %s: %s\n%s", job, j.Status, j.Error, r.out)
	}
	dst := e.t.TempDir()
	e.ok("job", "download", "--name", job, "--output-name", "score", "--download-path", dst)
	b, err := os.ReadFile(filepath.Join(dst, "named-outputs", "score", file))
	if err != nil {
		e.t.Fatalf("job %s: %v", job, err)
	}
	return string(b)
}

// An invocation runs the deployment's scoring script over the files of a
// local folder (uploaded by the CLI) or a data asset, in mini-batches, and
// its results land in the job's output score; --deployment-name picks a
// deployment that is not the default; list-jobs lists what ran.
func TestBatchEndpointInvoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.batchScorer()
	e.write("model3/factor.txt", "3\n")
	e.write("data/a.txt", "1\n2\n")
	e.write("data/b.txt", "10\n")
	e.write("data/c.txt", "5\n")
	e.write("endpoint.yml", "name: scorer\nauth_mode: aad_token\n")
	e.ok("batch-endpoint", "create", "--file", "endpoint.yml")
	e.ok("batch-deployment", "create", "--file", "alpha.yml")
	e.ok("batch-deployment", "create", "--file", "beta.yml", "--set", "model.path=model3", "settings.output_file_name=tripled.csv")
	// A model deployment scores one input: none, or inputs by name, is
	// refused.
	e.write("inputs.yml", "inputs:\n  x: {type: uri_folder, path: data}\n")
	for args, want := range map[string]string{
		"--name scorer":                   "input: give the data to score",
		"--name scorer --file inputs.yml": "it takes one input (--input), not named inputs and outputs",
	} {
		if r := e.run(append([]string{"batch-endpoint", "invoke"}, strings.Fields(args)...)...); r.code == 0 || !strings.Contains(r.err, want) {
			t.Errorf("invoke %s: exit %d, %s", args, r.code, r.err)
		}
	}

	j := e.invoke("--name", "scorer", "--input", "./data", "--input-type", "uri_folder")
	if j.Type != "parallel" || j.ExperimentName != "scorer" || j.Tags["azureml.batch_endpoint"] != "scorer" || j.Tags["azureml.batch_deployment"] != "alpha" {
		t.Errorf("job: %+v", j)
	}
	// Three files in mini-batches of two, in order: (a, b), (c).
	if got, want := e.scored(j.Name, "predictions.csv"), "a.txt,2\na.txt,4\nb.txt,20\nc.txt,10\n"; got != want {
		t.Errorf("predictions.csv = %q, want %q", got, want)
	}

	e.ok("data", "create", "--name", "numbers", "--version", "1", "--type", "uri_folder", "--path", "./data")
	j2 := e.invoke("--name", "scorer", "--deployment-name", "beta", "--input", "azureml:numbers@latest", "--mini-batch-size", "1")
	if got, want := e.scored(j2.Name, "tripled.csv"), "a.txt,3\na.txt,6\nb.txt,30\nc.txt,15\n"; got != want {
		t.Errorf("beta's tripled.csv = %q, want %q", got, want)
	}
	log := e.ok("job", "stream", "--name", j2.Name).out
	if !strings.Contains(log, "3 mini-batch(es)") {
		t.Errorf("--mini-batch-size 1 did not make 3 mini-batches:\n%s", log)
	}

	// --output-path writes the results to a datastore folder too.
	lake := t.TempDir()
	e.write("lake.yml", "name: lake\ntype: local\npath: "+lake+"\n")
	e.ok("datastore", "create", "--file", "lake.yml")
	j4 := e.invoke("--name", "scorer", "--input", "./data", "--output-path", "azureml://datastores/lake/paths/scores/${{name}}")
	if got, want := e.scored(j4.Name, "predictions.csv"), "a.txt,2\na.txt,4\nb.txt,20\nc.txt,10\n"; got != want {
		t.Errorf("predictions.csv = %q, want %q", got, want)
	}
	if got := readAt(t, filepath.Join(lake, "scores", j4.Name, "predictions.csv")); got != "a.txt,2\na.txt,4\nb.txt,20\nc.txt,10\n" {
		t.Errorf("the datastore's predictions.csv = %q", got)
	}

	var listed []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(e.ok("batch-endpoint", "list-jobs", "--name", "scorer", "-o", "json").out), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 || listed[0].Name != j4.Name || listed[1].Name != j2.Name || listed[2].Name != j.Name {
		t.Errorf("list-jobs: %+v, want %s, %s then %s", listed, j4.Name, j2.Name, j.Name)
	}
	r := e.ok("batch-deployment", "list-jobs", "--name", "alpha", "--endpoint-name", "scorer")
	if !strings.Contains(r.out, j.Name) || strings.Contains(r.out, j2.Name) {
		t.Errorf("alpha's list-jobs:\n%s", r.out)
	}

	// A failing scoring script fails the job once the error threshold is
	// passed, and the job says why.
	e.write("code/batch_driver.py", "def init():\n    pass\n\ndef run(mini_batch):\n    raise ValueError('cannot score ' + ','.join(mini_batch))\n")
	e.write("strict.yml", strings.Replace(strings.Replace(batchDeploymentFile, "%s", "strict", 1), "error_threshold: -1", "error_threshold: 0", 1))
	e.ok("batch-deployment", "create", "--file", "strict.yml")
	j3 := e.invoke("--name", "scorer", "--deployment-name", "strict", "--input", "./data")
	if got := e.wait(j3.Name, 3*time.Minute); got.Status != "Failed" {
		t.Errorf("a scoring script that raises: job %s", got.Status)
	}
	if log := e.run("job", "stream", "--name", j3.Name).out; !strings.Contains(log, "ValueError: cannot score") {
		t.Errorf("the log does not say why:\n%s", log)
	}

	// What an invocation cannot run is refused before a job exists.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--input", "azureml:nosuch@latest"}, "data asset azureml:nosuch@latest not found in workspace ws"},
		{[]string{"--input", "./data", "--deployment-name", "gamma"}, "batch deployment gamma of endpoint scorer not found"},
		{[]string{"--input", "./nowhere"}, "--input: stat"},
		{[]string{"--input", "./data", "--set", "output_file_name=../x.csv"}, "expected a file name"},
	} {
		r := e.run(append([]string{"batch-endpoint", "invoke", "--name", "scorer"}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.err, c.want) {
			t.Errorf("invoke %v: exit %d, want an error with %q:\n%s", c.args, r.code, c.want, r.err)
		}
	}
	if jobs := e.ok("batch-endpoint", "list-jobs", "--name", "scorer", "-o", "json").out; strings.Count(jobs, `"name"`) != 4 {
		t.Errorf("refused invocations were listed:\n%s", jobs)
	}
}

// venvPython is the shared virtualenv's python (scripts/pyenv.sh builds
// it with the pinned mlflow), or "" when there is none.
func venvPython() string {
	p, err := filepath.Abs(filepath.Join("..", ".venv", "bin", "python"))
	if err != nil {
		return ""
	}
	if exec.Command(p, "-c", "import mlflow, sklearn").Run() != nil {
		return ""
	}
	return p
}

// An MLflow model deployed with no scoring script: ciel scores each CSV
// file with the model in the model's own environment, one line
// row,prediction,file per input row, as Azure ML does.
func TestBatchEndpointMLflowModel(t *testing.T) {
	t.Parallel()
	py := venvPython()
	if py == "" {
		t.Skip("no .venv with mlflow and scikit-learn (scripts/pyenv.sh builds it)")
	}
	e := newEnv(t)
	e.write("train.py", `import mlflow.sklearn, pandas as pd
from sklearn.tree import DecisionTreeClassifier
X = pd.DataFrame({"x": [1, 2, 3, 10, 11, 12], "y": [0, 1, 0, 1, 0, 1]})
model = DecisionTreeClassifier(random_state=0).fit(X, ["small"] * 3 + ["big"] * 3)
mlflow.sklearn.save_model(model, "model", serialization_format="pickle")
`)
	train := exec.Command(py, "train.py")
	train.Dir = e.dir
	if out, err := train.CombinedOutput(); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	e.write("data/first.csv", "x,y\n1,0\n12,1\n")
	e.write("data/second.csv", "x,y\n11,1\n")
	e.ok("model", "create", "--name", "sizer", "--type", "mlflow_model", "--path", "./model")
	e.write("endpoint.yml", "name: sizes\n")
	e.write("deployment.yml", "name: sizer-mlflow\nendpoint_name: sizes\ntype: model\nmodel: azureml:sizer@latest\nsettings:\n  mini_batch_size: 1\n")
	e.ok("batch-endpoint", "create", "--file", "endpoint.yml")
	r := e.ok("batch-deployment", "create", "--file", "deployment.yml", "-o", "json")
	if !strings.Contains(r.out, `"model": "azureml:sizer:1"`) {
		t.Errorf("the deployment is not pinned to version 1:\n%s", r.out)
	}
	j := e.invoke("--name", "sizes", "--input", "./data")
	if got, want := e.scored(j.Name, "predictions.csv"), "0,small,first.csv\n1,big,first.csv\n0,big,second.csv\n"; got != want {
		t.Errorf("predictions.csv = %q, want %q", got, want)
	}
}
