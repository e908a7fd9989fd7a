package e2e

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// seedPipeline is the file, with the training step's
// `pip install azureml-sdk` left out (it downloads the SDK's dependency
// tree); `pip --version` shows the job's own pip is the one on PATH.
const seedPipeline = `trigger:
  branches:
    include:
      - main
pool:
  vmImage: "ubuntu-latest"
steps:
  - task: UsePythonVersion@0
    inputs:
      versionSpec: "3.x"
  - script: |
      pip --version
      python train.py
    displayName: "Run Training Script"
  - task: PublishBuildArtifacts@1
    inputs:
      PathtoPublish: "outputs"
      ArtifactName: "Model"
`

const trainPy = `import os, sys
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as f:
    f.write("weights from " + os.environ["BUILD_SOURCEVERSION"] + "\n")
print("trained with", sys.executable)
`

type pipelineRun struct {
	ID            int64
	Status        string
	Result        string
	Reason        string
	SourceBranch  string
	SourceVersion string
	Error         string
	Jobs          []struct {
		Name, Result string
		Steps        []struct{ DisplayName, Status string }
	}
	Links struct{ Web struct{ Href string } } `json:"_links"`
}

// runs lists the workspace's pipeline runs over HTTP.
func (e *env) runs() []pipelineRun {
	e.t.Helper()
	base, _ := e.server()
	code, body := send(e.t, "GET", base+"/api/v1/workspaces/ws/pipeline-runs", nil, nil)
	if code != 200 {
		e.t.Fatalf("list runs: %d %s", code, body)
	}
	var out []pipelineRun
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestPipelineRetrainsOnPushToMain: the file at the root of a
// hosted repository retrains on a push to main, publishes outputs as the
// artifact Model, and a push to another branch starts nothing.
func TestPipelineRetrainsOnPushToMain(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	e := newEnv(t)
	base, _ := e.server()
	e.ok("repos", "create", "--name", "churn")
	json1 := map[string]string{"Content-Type": "application/json"}
	if code, body := send(t, "POST", base+"/api/v1/workspaces/ws/pipelines",
		strings.NewReader(`{"name": "retrain", "repository": "churn", "yamlPath": "azure-pipelines.yml"}`), json1); code != 201 {
		t.Fatalf("create pipeline: %d %s", code, body)
	}
	src := commitTree(t, map[string]string{"azure-pipelines.yml": seedPipeline, "train.py": trainPy})
	remote := base + "/git/ws/churn.git"
	gitOK(t, src, "push", "-q", remote, "main")
	head := strings.TrimSpace(gitOK(t, src, "rev-parse", "HEAD"))

	// The run exists when git push returns.
	runs := e.runs()
	if len(runs) != 1 || runs[0].Reason != "individualCI" || runs[0].SourceVersion != head || runs[0].SourceBranch != "refs/heads/main" {
		t.Fatalf("runs after the push: %+v", runs)
	}
	id := runs[0].ID
	var run pipelineRun
	waitFor(t, "the run to complete", 3*time.Minute, func() bool {
		code, body := send(t, "GET", fmt.Sprintf("%s/api/v1/workspaces/ws/pipeline-runs/%d", base, id), nil, nil)
		if code != 200 {
			t.Fatalf("get run: %d %s", code, body)
		}
		_ = json.Unmarshal([]byte(body), &run)
		return run.Status == "completed"
	})
	_, logText := send(t, "GET", fmt.Sprintf("%s/api/v1/workspaces/ws/pipeline-runs/%d/logs", base, id), nil, nil)
	if run.Result != "succeeded" {
		t.Fatalf("run %+v\nlog:\n%s", run, logText)
	}
	if !strings.Contains(logText, "Starting: Run Training Script") || !strings.Contains(logText, "trained with") {
		t.Errorf("log lacks the training step:\n%s", logText)
	}

	resp, err := http.Get(fmt.Sprintf("%s/api/v1/workspaces/ws/pipeline-runs/%d/artifacts/Model", base, id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("download Model: %d %s", resp.StatusCode, b)
	}
	files := map[string]string{}
	tr := tar.NewReader(resp.Body)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[strings.TrimPrefix(h.Name, "./")] = string(b)
	}
	if files["model.txt"] != "weights from "+head+"\n" {
		t.Fatalf("artifact Model holds %v", files)
	}

	// A push to another branch starts nothing.
	gitOK(t, src, "checkout", "-q", "-b", "feature")
	gitOK(t, src, "commit", "-q", "--allow-empty", "-m", "feature work")
	gitOK(t, src, "push", "-q", remote, "feature")
	if runs := e.runs(); len(runs) != 1 {
		t.Fatalf("a push to feature started runs: %+v", runs)
	}
}
