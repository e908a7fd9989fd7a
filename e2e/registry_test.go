package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A pipeline whose train step writes an MLflow-shaped model folder (an
// MLmodel file beside the weights) to its output and a note to ./outputs.
const modelPipeline = `
type: pipeline
display_name: model lineage
inputs:
  raw:
    type: uri_file
    path: azureml:training_data:1
outputs:
  model:
    type: uri_folder
jobs:
  prep:
    type: command
    inputs:
      raw: ${{parent.inputs.raw}}
    outputs:
      clean: {type: uri_folder}
    command: tr a-z A-Z < ${{inputs.raw}} > ${{outputs.clean}}/clean.txt
  train:
    type: command
    inputs:
      data: ${{parent.jobs.prep.outputs.clean}}
    outputs:
      model: ${{parent.outputs.model}}
    command: >-
      printf 'flavors: {}\n' > ${{outputs.model}}/MLmodel &&
      wc -l < ${{inputs.data}}/clean.txt > ${{outputs.model}}/weights.txt &&
      mkdir -p outputs/notes && echo trained > outputs/notes/readme.txt
`

// modelVersion is the part of `ciel model show -o json` the test reads.
type modelVersion struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Type    string   `json:"type"`
	Path    string   `json:"path"`
	Aliases []string `json:"aliases"`
	JobName string   `json:"job_name"`
	Lineage struct {
		Job    string `json:"job"`
		Step   string `json:"step"`
		Output string `json:"output"`
		Inputs []struct {
			Step, Input, Asset, Digest string
		} `json:"inputs"`
	} `json:"lineage"`
}

func (e *env) modelJSON(args ...string) modelVersion {
	e.t.Helper()
	r := e.ok(append(args, "-o", "json")...)
	var v modelVersion
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		e.t.Fatalf("ciel %v: %v\n%s", args, err, r.out)
	}
	return v
}

func TestModelRegistryFromJobOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("raw.txt", "a\nb\nc\n")
	e.write("pipeline.yml", modelPipeline)
	e.ok("data", "create", "--name", "training_data", "--version", "1", "--type", "uri_file", "--path", "raw.txt")
	job := e.submit("pipeline.yml")
	if j := e.wait(job, 2*60e9); j.Status != "Completed" {
		t.Fatalf("job %s: %+v", job, j)
	}

	v := e.modelJSON("model", "create", "--name", "best_model", "--version", "1",
		"--path", "azureml://jobs/"+job+"/outputs/model", "--tags", "team=ml")
	if v.Version != "1" || v.Type != "mlflow_model" || v.Path != "mlflow-artifacts:/models/best_model/1" ||
		v.JobName != job || v.Lineage.Step != "train" || v.Lineage.Output != "model" {
		t.Fatalf("created version = %+v", v)
	}
	var fromData bool
	for _, in := range v.Lineage.Inputs {
		fromData = fromData || (in.Step == "prep" && in.Asset == "azureml:training_data:1")
	}
	if !fromData {
		t.Errorf("lineage does not reach the data asset: %+v", v.Lineage.Inputs)
	}

	v2 := e.modelJSON("model", "create", "--name", "best_model",
		"--path", "azureml://jobs/"+job+"/outputs/artifacts/paths/train/outputs/notes")
	if v2.Version != "2" || v2.Type != "custom_model" {
		t.Errorf("version from artifacts = %+v", v2)
	}

	e.ok("model", "update", "--name", "best_model", "--version", "1", "--set-alias", "champion", "--set", "description=first")
	if got := e.modelJSON("model", "show", "--name", "best_model", "--label", "champion"); got.Version != "1" {
		t.Errorf("champion = %+v", got)
	}
	if got := e.modelJSON("model", "show", "--name", "best_model"); got.Version != "2" {
		t.Errorf("latest = %s, want 2", got.Version)
	}
	e.ok("model", "archive", "--name", "best_model", "--version", "2")
	if got := e.modelJSON("model", "show", "--name", "best_model", "--label", "latest"); got.Version != "1" {
		t.Errorf("latest with 2 archived = %s, want 1", got.Version)
	}
	e.ok("model", "restore", "--name", "best_model", "--version", "2")
	if list := e.ok("model", "list", "--name", "best_model"); !strings.Contains(list.out, "champion") {
		t.Errorf("version list lacks the alias:\n%s", list.out)
	}

	e.ok("model", "download", "--name", "best_model", "--version", "1", "--download-path", "dl")
	if b, err := os.ReadFile(filepath.Join(e.dir, "dl", "best_model", "weights.txt")); err != nil || strings.TrimSpace(string(b)) != "3" {
		t.Errorf("downloaded weights = %q, %v", b, err)
	}

	// The MLflow registry API sees the same data.
	st, out := e.httpJSON("GET", "/ws/ws/api/2.0/mlflow/registered-models/alias?name=best_model&alias=champion", "")
	mv, _ := out["model_version"].(map[string]any)
	if st != 200 || mv["version"] != "1" || mv["description"] != "first" {
		t.Errorf("MLflow get-by-alias = %d %v", st, out)
	}

	for _, bad := range [][]string{
		{"model", "create", "--name", "m", "--path", "azureml://jobs/nope/outputs/model"},
		{"model", "create", "--name", "m", "--path", "azureml://jobs/" + job + "/outputs/nope"},
		{"model", "show", "--name", "best_model", "--version", "9"},
	} {
		r := e.run(bad...)
		if r.code == 0 || !strings.Contains(r.err, "not") || strings.Contains(r.err, "panic") {
			t.Errorf("ciel %v: exit %d, stderr %q", bad, r.code, r.err)
		}
	}
	if r := e.run("model", "create", "--name", "m", "--version", "x", "--path", "raw.txt"); r.code != 2 {
		t.Errorf("bad --version: exit %d, want 2", r.code)
	}
}
