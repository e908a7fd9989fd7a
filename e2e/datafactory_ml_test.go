package e2e

import (
	"path/filepath"
	"testing"
)

// TestDataFactoryMLJob runs a factory pipeline whose `ciel` activities
// register a data asset over what sits in a datastore (registerData) and
// then submit a job file kept in that datastore with the run's parameters,
// wait for it and output its job name and outputs; the job and the data
// version carry tags naming the factory run, so lineage reads back to it.
func TestDataFactoryMLJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lake := t.TempDir()
	writeAt(t, filepath.Join(lake, "orders", "part-0.csv"), "id,amount\n1,2.5\n")
	writeAt(t, filepath.Join(lake, "orders", "part-1.csv"), "id,amount\n2,4\n")
	writeAt(t, filepath.Join(lake, "ml", "job.yml"), `type: command
code: ./src
command: python train.py --greeting ${{inputs.greeting}} --orders ${{inputs.orders}} --out ${{outputs.result}}
inputs:
  greeting: hello
  orders:
    type: uri_folder
    path: azureml://datastores/lake/paths/orders
outputs:
  result:
    type: uri_folder
`)
	writeAt(t, filepath.Join(lake, "ml", "src", "train.py"), `import argparse, os
p = argparse.ArgumentParser()
for a in ("--greeting", "--orders", "--out"):
    p.add_argument(a)
a = p.parse_args()
n = len([f for f in os.listdir(a.orders) if f.endswith(".csv")])
open(os.path.join(a.out, "summary.txt"), "w").write("%s: %d files" % (a.greeting, n))
`)
	e.write("lake.yml", "name: lake\ntype: local\npath: "+lake+"\n")
	e.ok("datastore", "create", "--file", "lake.yml")
	e.write("train_orders.json", `{"name": "train_orders", "properties": {
		"parameters": {"greeting": {"type": "String"}},
		"activities": [
			{"name": "Register", "type": "ciel", "typeProperties": {"registerData": {"name": "orders", "type": "uri_folder",
				"path": "azureml://datastores/lake/paths/orders"}}},
			{"name": "Train", "type": "AzureMLExecutePipeline", "dependsOn": [{"activity": "Register", "dependencyConditions": ["Succeeded"]}],
				"typeProperties": {"jobFile": "azureml://datastores/lake/paths/ml/job.yml", "experimentName": "orders",
					"mlPipelineParameters": {"greeting": "@pipeline().parameters.greeting", "orders": "azureml:orders@latest"}}}]}}`)
	e.ok("data-factory", "pipeline", "create", "--file", "train_orders.json")

	r := e.run("data-factory", "pipeline", "create-run", "--name", "train_orders", "--parameters", `{"greeting": "hi"}`, "--wait", "-o", "json")
	if r.code != 0 {
		t.Fatalf("create-run: exit %d, stderr %s", r.code, r.err)
	}
	var pr struct {
		RunID, Status, Message string
	}
	mustJSON(t, r.out, &pr)
	if pr.Status != "Succeeded" {
		t.Fatalf("create-run: run %+v", pr)
	}
	var acts struct {
		Value []struct {
			ActivityName string         `json:"activityName"`
			Status       string         `json:"status"`
			Output       map[string]any `json:"output"`
		} `json:"value"`
	}
	mustJSON(t, e.ok("data-factory", "activity-run", "query", "--run-id", pr.RunID, "-o", "json").out, &acts)
	out := map[string]map[string]any{}
	for _, a := range acts.Value {
		out[a.ActivityName] = a.Output
	}
	job, _ := out["Train"]["jobName"].(string)
	outputs, _ := out["Train"]["outputs"].(map[string]any)
	if job == "" || out["Train"]["status"] != "Completed" || outputs["result"] != "azureml://jobs/"+job+"/outputs/result" {
		t.Fatalf("Train output %v", out["Train"])
	}
	reg, _ := out["Register"]["registeredData"].(map[string]any)
	if reg["id"] != "azureml:orders:1" {
		t.Errorf("Register output %v", out["Register"])
	}

	var shown struct {
		ExperimentName string            `json:"experiment_name"`
		Tags           map[string]string `json:"tags"`
	}
	mustJSON(t, e.ok("job", "show", "--name", job, "-o", "json").out, &shown)
	if shown.Tags["datafactory.pipelineRunId"] != pr.RunID || shown.Tags["datafactory.activityName"] != "Train" || shown.ExperimentName != "orders" {
		t.Errorf("job show: %+v; want tags naming run %s", shown, pr.RunID)
	}
	var data struct {
		Tags map[string]string `json:"tags"`
	}
	mustJSON(t, e.ok("data", "show", "--name", "orders", "--version", "1", "-o", "json").out, &data)
	if data.Tags["datafactory.pipelineRunId"] != pr.RunID || data.Tags["datafactory.pipelineName"] != "train_orders" {
		t.Errorf("data show tags %v; want them naming run %s", data.Tags, pr.RunID)
	}
	// The job read the registered folder through azureml:orders@latest.
	dl := t.TempDir()
	e.ok("job", "download", "--name", job, "--output-name", "result", "--download-path", dl)
	fileHas(t, filepath.Join(dl, "named-outputs", "result", "summary.txt"), "hi: 2 files")

	// A model registered from the job's output names, in its lineage, the
	// data asset version azureml:orders@latest resolved to and the factory
	// run that registered it.
	e.ok("model", "create", "--name", "orders-model", "--path", "azureml://jobs/"+job+"/outputs/result")
	var m struct {
		Lineage struct {
			Job    string `json:"job"`
			Inputs []struct {
				Input  string            `json:"input"`
				Asset  string            `json:"asset"`
				Origin map[string]string `json:"origin"`
			} `json:"inputs"`
		} `json:"lineage"`
	}
	mustJSON(t, e.ok("model", "show", "--name", "orders-model", "--version", "1", "-o", "json").out, &m)
	found := false
	for _, in := range m.Lineage.Inputs {
		if in.Input == "orders" {
			found = true
			if in.Asset != "azureml:orders:1" || in.Origin["datafactory.pipelineRunId"] != pr.RunID || in.Origin["datafactory.pipelineName"] != "train_orders" {
				t.Errorf("lineage input %+v; want azureml:orders:1 from factory run %s", in, pr.RunID)
			}
		}
	}
	if m.Lineage.Job != job || !found {
		t.Errorf("model lineage %+v; want job %s reading input orders", m.Lineage, job)
	}
}
