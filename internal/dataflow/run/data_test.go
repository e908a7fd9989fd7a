package run_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
)

// TestDataActivityResolution: before a data activity runs, its dataset
// references' parameters are evaluated in the pipeline, the dataset's
// typeProperties with dataset() bound, its linked service's with
// linkedService() bound, and secrets (Key Vault, SecureString) filled in;
// no secret reaches the activity run's record.
func TestDataActivityResolution(t *testing.T) {
	t.Parallel()
	b := setup(t, pipeline("p", acts(
		`{"name": "CopyOrders", "type": "Copy",
		  "inputs": [{"referenceName": "PgTable", "type": "DatasetReference", "parameters": {"table": "@pipeline().parameters.table"}}],
		  "outputs": [{"referenceName": "Lake", "type": "DatasetReference", "parameters": {"folder": "@concat('out/', pipeline().parameters.table)"}}],
		  "typeProperties": {"source": {"type": "PostgreSqlV2Source"}, "sink": {"type": "ParquetSink"}}}`,
		act("Look", "Lookup", `{"source": {"type": "PostgreSqlV2Source"}, "dataset": {"referenceName": "PgTable", "type": "DatasetReference", "parameters": {"table": "watermark"}}, "firstRowOnly": true}`, "CopyOrders:Succeeded"),
	), `"parameters": {"table": {"type": "String"}}`))
	b.res.add(t, factory.KindLinkedService, `{"name": "Pg", "properties": {"type": "PostgreSqlV2",
		"parameters": {"db": {"type": "String", "defaultValue": "shop"}},
		"typeProperties": {"server": "localhost", "database": "@{linkedService().db}", "username": "ciel",
			"password": {"type": "AzureKeyVaultSecret", "store": {"referenceName": "kv", "type": "LinkedServiceReference"}, "secretName": "pg-password"}}}}`)
	b.res.add(t, factory.KindLinkedService, `{"name": "Store", "properties": {"type": "AzureBlobStorage",
		"typeProperties": {"connectionString": {"type": "SecureString", "value": "DefaultEndpointsProtocol=https;AccountKey=k3y"}}}}`)
	b.res.add(t, factory.KindDataset, `{"name": "PgTable", "properties": {"type": "PostgreSqlV2Table",
		"linkedServiceName": {"referenceName": "Pg", "type": "LinkedServiceReference", "parameters": {"db": "@concat('shop_', dataset().table)"}},
		"parameters": {"table": {"type": "String"}},
		"schema": [{"name": "id", "type": "integer"}],
		"typeProperties": {"schema": "public", "table": "@dataset().table"}}}`)
	b.res.add(t, factory.KindDataset, `{"name": "Lake", "properties": {"type": "Parquet",
		"linkedServiceName": {"referenceName": "Store", "type": "LinkedServiceReference"},
		"parameters": {"folder": {"type": "String"}},
		"typeProperties": {"location": {"type": "AzureBlobStorageLocation", "container": "data", "folderPath": {"value": "@dataset().folder", "type": "Expression"}}}}}`)

	pr, by := b.start(t, "p", map[string]any{"table": "orders"})
	if pr.Status != run.StatusSucceeded {
		t.Fatalf("run %s: %s", pr.Status, pr.Message)
	}
	copyCall, lookCall := b.fake.calls[0], b.fake.calls[1]
	in := copyCall.Inputs[0]
	if in.Name != "PgTable" || in.Type != "PostgreSqlV2Table" || in.Properties["table"] != "orders" || len(in.Schema) != 1 {
		t.Errorf("input dataset %+v", in)
	}
	ls := in.LinkedService
	if ls.Type != "PostgreSqlV2" || ls.Properties["database"] != "shop_orders" || ls.Properties["password"] != "s3cret" {
		t.Errorf("input linked service %+v", ls)
	}
	out := copyCall.Outputs[0]
	loc, _ := out.Properties["location"].(map[string]any)
	if loc["folderPath"] != "out/orders" || !strings.Contains(out.LinkedService.Properties["connectionString"].(string), "AccountKey=k3y") {
		t.Errorf("output dataset %+v", out)
	}
	if len(lookCall.Inputs) != 1 || lookCall.Inputs[0].Properties["table"] != "watermark" {
		t.Errorf("Lookup's dataset %+v", lookCall.Inputs)
	}
	rec, _ := json.Marshal(by)
	if strings.Contains(string(rec), "s3cret") || strings.Contains(string(rec), "k3y") {
		t.Errorf("a secret reached the activity run records: %s", rec)
	}

	// A missing secret fails the activity, naming the secret.
	b.res.add(t, factory.KindLinkedService, `{"name": "Pg", "properties": {"type": "PostgreSqlV2", "parameters": {"db": {"type": "String"}}, "typeProperties": {
		"password": {"type": "AzureKeyVaultSecret", "store": {"referenceName": "kv"}, "secretName": "nope"}}}}`)
	pr, by = b.start(t, "p", map[string]any{"table": "orders"})
	if e := by["CopyOrders"][0].Error; pr.Status != run.StatusFailed || e == nil || !strings.Contains(e.Message, `secret "nope"`) {
		t.Errorf("run %s, error %+v", pr.Status, e)
	}
}

// TestWebActivity: the call goes out with its method, headers and body;
// a JSON answer is the output; an error status fails the activity.
func TestWebActivity(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/fail" {
			http.Error(w, "no such thing", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "token": r.Header.Get("X-Token"), "body": string(body)})
	}))
	defer srv.Close()
	b := setup(t, pipeline("p", acts(
		act("Call", "WebActivity", `{"url": "`+srv.URL+`/ok", "method": "POST", "headers": {"X-Token": "t1"}, "body": {"rows": 3}}`),
		act("Missing", "WebActivity", `{"url": "`+srv.URL+`/fail", "method": "GET"}`),
	)))
	pr, by := b.start(t, "p", nil)
	out, _ := by["Call"][0].Output.(map[string]any)
	if out["method"] != "POST" || out["token"] != "t1" || out["body"] != `{"rows":3}` || out["statusCode"] != float64(200) {
		t.Errorf("Call output %v", out)
	}
	if e := by["Missing"][0].Error; pr.Status != run.StatusFailed || e == nil || !strings.Contains(e.Message, "404") {
		t.Errorf("run %s, Missing error %+v", pr.Status, e)
	}
}

// TestJobActivity: a `ciel` activity submits its job with its parameters
// and the run's lineage, and waits; a failed job fails it.
func TestJobActivity(t *testing.T) {
	t.Parallel()
	b := setup(t, pipeline("p", acts(
		act("Train", "ciel", `{"jobFile": "jobs/train.yml", "parameters": {"epochs": 3}, "experimentName": "orders"}`),
		act("Azure", "AzureMLExecutePipeline", `{"mlPipelineId": "train-pipeline", "mlPipelineParameters": {"fail": true}}`, "Train:Succeeded"),
		act("Register", "ciel", `{"registerData": {"name": "orders", "path": "@{concat('azureml://datastores/workspaceblobstore/paths/', 'orders')}", "tags": {"n": 1}}}`, "Train:Succeeded"),
		act("NoPath", "ciel", `{"registerData": {"name": "orders"}}`, "Train:Succeeded"),
	)))
	pr, by := b.start(t, "p", nil)
	out, _ := by["Train"][0].Output.(map[string]any)
	if out["jobName"] != "job-1" || out["status"] != "Completed" {
		t.Errorf("Train output %v", out)
	}
	req := b.jobs.reqs[0]
	if req.JobFile != "jobs/train.yml" || req.Parameters["epochs"] != int64(3) || req.ExperimentName != "orders" ||
		req.FactoryRunID != pr.RunID || req.ActivityName != "Train" || req.ActivityRunID != by["Train"][0].ActivityRunID {
		t.Errorf("job request %+v", req)
	}
	if req.PipelineName != "p" || req.Factory == "" {
		t.Errorf("job request names no pipeline or factory: %+v", req)
	}
	reg, _ := by["Register"][0].Output.(map[string]any)
	if d, _ := reg["registeredData"].(map[string]any); d["path"] != "azureml://datastores/workspaceblobstore/paths/orders" {
		t.Errorf("Register output %v", reg)
	}
	if d := b.jobs.data; len(d) != 1 || d[0].Tags["n"] != "1" || d[0].ActivityName != "Register" || d[0].FactoryRunID != pr.RunID {
		t.Errorf("data requests %+v", d)
	}
	if e := by["NoPath"][0].Error; e == nil || !strings.Contains(e.Message, "name and path are required") {
		t.Errorf("NoPath error %+v", e)
	}
	if b.jobs.reqs[1].PipelineID != "train-pipeline" {
		t.Errorf("AzureMLExecutePipeline request %+v", b.jobs.reqs[1])
	}
	if e := by["Azure"][0].Error; pr.Status != run.StatusFailed || e == nil || !strings.Contains(e.Message, "train.py exited 1") {
		t.Errorf("run %s, Azure error %+v", pr.Status, e)
	}
	if _, err := b.r.QueryActivityRuns(context.Background(), ws, "nope"); err == nil {
		t.Error("activity runs of a missing run")
	}
}
