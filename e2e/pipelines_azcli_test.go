package e2e

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// azStep is an AzureCLI@2 step running script.
func azStep(name, display, script string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    - task: AzureCLI@2\n")
	if name != "" {
		fmt.Fprintf(&b, "      name: %s\n", name)
	}
	fmt.Fprintf(&b, "      displayName: %s\n      inputs:\n        azureSubscription: ml-connection\n", display)
	fmt.Fprintf(&b, "        scriptType: bash\n        scriptLocation: inlineScript\n        inlineScript: |\n")
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		fmt.Fprintf(&b, "          %s\n", line)
	}
	return b.String()
}

// trainRegisterDeploy is a three-stage pipeline whose AzureCLI@2 steps use
// az ml as real ML pipelines do: submit the training job and poll it, pass
// its name to the next stage as an output variable, register the model,
// and deploy it to an online endpoint that answers.
var trainRegisterDeploy = `trigger:
  branches:
    include: [main]
stages:
- stage: Train
  jobs:
  - job: train
    steps:
` + azStep("submit", "Train with az ml job create", `
set -e
az version --query '"azure-cli"' -o tsv
az ml compute create --name cpu --type local --max-concurrency 1 -o none
job=$(az ml job create -f train/pipeline.yml --query name -o tsv)
echo "submitted $job"
status=$(az ml job show -n "$job" --query status -o tsv)
while [ "$status" != Completed ]; do
  case "$status" in Failed|Canceled) echo "job $job: $status"; exit 1;; esac
  sleep 2
  status=$(az ml job show -n "$job" --query status -o tsv)
done
echo "##vso[task.setvariable variable=job;isOutput=true]$job"`) + `- stage: Register
  dependsOn: Train
  jobs:
  - job: register
    variables:
      job: $[ stageDependencies.Train.train.outputs['submit.job'] ]
    steps:
` + azStep("", "Register the model", `az ml model create --name bc-model --path azureml://jobs/$(job)/outputs/model -o none`) + `- stage: Deploy
  dependsOn: Register
  jobs:
  - job: deploy
    steps:
` + azStep("", "Deploy and invoke", `
set -e
az ml environment create -f deploy/env.yml -o none
az ml online-endpoint create -f deploy/endpoint.yml -o none
az ml online-deployment create -f deploy/blue.yml --all-traffic -o none
az ml online-endpoint invoke --name model-service --request-file deploy/sample.json`)

// TestPipelineTrainRegisterDeploy: a push runs train -> register -> deploy,
// whose steps drive ciel with az ml; the endpoint answers at the end, and
// the job and the model record the run and commit they came from.
func TestPipelineTrainRegisterDeploy(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds scikit-learn and MLflow environments")
	}
	for _, tool := range []string{"git", "uv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is needed", tool)
		}
	}
	e := newEnv(t)
	base, _ := e.server()
	e.ok("repos", "create", "--name", "mlops")
	e.ok("pipelines", "create", "--name", "cd", "--repository", "mlops")
	src := commitTree(t, map[string]string{"azure-pipelines.yml": trainRegisterDeploy})
	for name, content := range map[string]string{
		"train/conda.yml": trainConda, "train/src/train.py": trainScript, "train/pipeline.yml": trainPipeline,
		"deploy/env.yml": servingEnvFile, "deploy/score.py": scoreScript, "deploy/endpoint.yml": endpointFile,
		"deploy/blue.yml": blueFile, "deploy/sample.json": `{"input_data": ` + twoRows + `}`,
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gitOK(t, src, "add", ".")
	gitOK(t, src, "commit", "-qm", "train, register, deploy")
	head := strings.TrimSpace(gitOK(t, src, "rev-parse", "HEAD"))
	gitOK(t, src, "push", "-q", base+"/git/ws/mlops.git", "main")

	runs := e.runs()
	if len(runs) != 1 {
		t.Fatalf("runs after the push: %+v", runs)
	}
	var run pipelineRun
	waitFor(t, "the run to complete", 10*time.Minute, func() bool {
		decodeOut(t, e.ok("pipelines", "runs", "show", "--id", strconv.FormatInt(runs[0].ID, 10), "-o", "json"), &run)
		return run.Status == "completed"
	})
	if run.Result != "succeeded" {
		_, log := send(t, "GET", fmt.Sprintf("%s/api/v1/workspaces/ws/pipeline-runs/%d/logs", base, run.ID), nil, nil)
		t.Fatalf("run %+v\nlog:\n%s", run, log)
	}
	// Its page in the studio, where Azure DevOps puts a build's (_links.web.href).
	if want := fmt.Sprintf("%s/workspaces/ws/pipeline-runs/%d", base, run.ID); run.Links.Web.Href != want {
		t.Errorf("run _links.web.href = %q, want %q", run.Links.Web.Href, want)
	} else if code, page := send(t, "GET", want, nil, nil); code != 200 || !strings.Contains(page, "<script") {
		t.Errorf("GET %s: %d %.200s", want, code, page)
	}
	_, log := send(t, "GET", fmt.Sprintf("%s/api/v1/workspaces/ws/pipeline-runs/%d/logs", base, run.ID), nil, nil)
	if !strings.Contains(log, "[0, 0]") {
		t.Errorf("the deploy stage's invoke did not answer [0, 0]:\n%s", log)
	}
	e.write("sample.json", `{"input_data": `+twoRows+`}`)
	if r := e.ok("online-endpoint", "invoke", "--name", "model-service", "--request-file", "sample.json"); strings.TrimSpace(r.out) != "[0, 0]" {
		t.Errorf("the deployed endpoint answered %q, want [0, 0]", r.out)
	}
	var model struct {
		Tags    map[string]string
		Lineage struct {
			Job    string
			Origin map[string]string
		}
	}
	decodeOut(t, e.ok("model", "show", "--name", "bc-model", "--version", "1", "-o", "json"), &model)
	if model.Tags["ci.commit"] != head || model.Tags["ci.run"] != strconv.FormatInt(run.ID, 10) || model.Tags["ci.pipeline"] != "cd" {
		t.Errorf("model tags %v do not name run %d and commit %s", model.Tags, run.ID, head)
	}
	var jobs []struct {
		Name string
		Tags map[string]string
	}
	decodeOut(t, e.ok("job", "list", "-o", "json"), &jobs)
	if len(jobs) != 1 || jobs[0].Tags["ci.commit"] != head {
		t.Errorf("jobs %+v: the training job does not name the commit", jobs)
	}
	// The model's lineage reads the CI run and commit back from the job that produced it.
	if l := model.Lineage; len(jobs) == 1 && (l.Job != jobs[0].Name || l.Origin["ci.commit"] != head ||
		l.Origin["ci.run"] != strconv.FormatInt(run.ID, 10) || l.Origin["ci.pipeline"] != "cd") {
		t.Errorf("model lineage %+v does not name job %s, run %d and commit %s", l, jobs[0].Name, run.ID, head)
	}
	// The run lists what its steps created.
	var shown struct {
		Created []struct{ Kind, Name, Version string }
	}
	decodeOut(t, e.ok("pipelines", "runs", "show", "--id", strconv.FormatInt(run.ID, 10), "-o", "json"), &shown)
	kinds := map[string]string{}
	for _, c := range shown.Created {
		kinds[c.Kind] = c.Name + c.Version
	}
	want := map[string]string{"job": jobs[0].Name, "model": "bc-model1", "online-endpoint": "model-service",
		"online-deployment": "model-service/blue"}
	if !maps.Equal(kinds, want) {
		t.Errorf("run %d created %v, want %v", run.ID, shown.Created, want)
	}
}
