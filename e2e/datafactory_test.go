package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataFactoryResources drives `ciel data-factory` through the real
// binary: resources from ADF's JSON files and from --name/--properties, a
// bad file named at its line and column, a linked service type ciel cannot
// reach refused naming those it can, deleting one still in use refused
// naming its user, az datafactory's spelling, and 4xx JSON answers.
func TestDataFactoryResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("pg.json", `{"name": "pg", "properties": {"type": "PostgreSqlV2",
		"typeProperties": {"server": "127.0.0.1", "database": "shop", "username": "ciel"}}}`)
	r := e.ok("data-factory", "linked-service", "create", "--file", "pg.json", "--query", "properties.type", "-o", "tsv")
	if strings.TrimSpace(r.out) != "PostgreSqlV2" {
		t.Errorf("create printed %q", r.out)
	}

	e.write("bad.json", "{\n  \"name\": \"broken\",\n  \"properties\": {\"type\": \"MySql\",,}\n}\n")
	r = e.run("data-factory", "linked-service", "create", "--file", "bad.json")
	if r.code != 2 || !strings.Contains(r.err, "bad.json:3:34:") {
		t.Errorf("bad JSON: exit %d, stderr %q; want exit 2 naming bad.json:3:34", r.code, r.err)
	}
	e.write("sf.json", `{"name": "sf", "properties": {"type": "Snowflake", "typeProperties": {}}}`)
	r = e.run("data-factory", "linked-service", "create", "--file", "sf.json")
	for _, want := range []string{`"Snowflake"`, "PostgreSqlV2", "MariaDB", "AzureBlobStorage"} {
		if r.code == 0 || !strings.Contains(r.err, want) {
			t.Errorf("unreachable type: exit %d, stderr %q; want it refused naming %s", r.code, r.err, want)
		}
	}

	// The server's reference check places its error in the user's file.
	e.write("lost.json", "{\"name\": \"lost\",\n \"properties\": {\"type\": \"Parquet\",\n  \"linkedServiceName\": {\"referenceName\": \"nope\", \"type\": \"LinkedServiceReference\"}}}")
	r = e.run("data-factory", "dataset", "create", "--file", "lost.json")
	if r.code == 0 || !strings.Contains(r.err, `lost.json:3:42: properties.linkedServiceName.referenceName: no linked service "nope"`) {
		t.Errorf("missing reference: exit %d, stderr %q", r.code, r.err)
	}
	e.write("orders.props.json", `{"type": "PostgreSqlV2Table",
		"linkedServiceName": {"referenceName": "pg", "type": "LinkedServiceReference"}, "typeProperties": {"table": "orders"}}`)
	e.ok("data-factory", "dataset", "create", "--name", "orders", "--properties", "@orders.props.json")
	e.write("look.json", `{"name": "look", "properties": {"activities": [{"name": "first", "type": "Lookup",
		"typeProperties": {"source": {"type": "PostgreSqlV2Source"}, "dataset": {"referenceName": "orders", "type": "DatasetReference"}}}]}}`)
	// az datafactory's spelling reaches the same commands.
	e.ok("az", "datafactory", "pipeline", "create", "--factory-name", "f", "--file", "look.json")
	r = e.ok("data-factory", "pipeline", "list", "--query", "[].name", "-o", "tsv")
	if strings.TrimSpace(r.out) != "look" {
		t.Errorf("pipeline list: %q", r.out)
	}
	r = e.run("data-factory", "linked-service", "delete", "--name", "pg")
	if r.code == 0 || !strings.Contains(r.err, `dataset "orders"`) {
		t.Errorf("delete a linked service in use: exit %d, stderr %q", r.code, r.err)
	}
	r = e.run("data-factory", "dataset", "delete", "--name", "orders")
	if r.code == 0 || !strings.Contains(r.err, `pipeline "look"`) {
		t.Errorf("delete a dataset in use: exit %d, stderr %q", r.code, r.err)
	}

	tests := []struct {
		method, path, body string
		status             int
		say                string
	}{
		{"PUT", "/api/v1/workspaces/ws/datafactory/linkedservices/a..b", `{"properties": {"type": "MySql"}}`, 400, `invalid name "a..b"`},
		{"PUT", "/api/v1/workspaces/ws/datafactory/datasets/d", `{"properties": {"type": "Parquet", "linkedServiceName": {"referenceName": "nope", "type": "LinkedServiceReference"}}}`, 400, `body:1:75: properties.linkedServiceName.referenceName: no linked service "nope"`},
		{"PUT", "/api/v1/workspaces/ws/datafactory/pipelines/p", "{\"properties\": {\"activities\": 3}}", 400, "body:1:31: properties.activities: expected an array"},
		{"GET", "/api/v1/workspaces/ws/datafactory/pipelines/nope", "", 404, `pipeline "nope" not found`},
		{"DELETE", "/api/v1/workspaces/ws/datafactory/linkedservices/pg", "", 409, `dataset "orders"`},
		{"GET", "/api/v1/workspaces/ws/datafactory/linkedservices/versions", "", 404, `linked service "versions" not found`},
	}
	for _, tt := range tests {
		status, body := e.httpJSON(tt.method, tt.path, tt.body)
		msg, _ := body["error"].(map[string]any)["message"].(string)
		if status != tt.status || !strings.Contains(msg, tt.say) {
			t.Errorf("%s %s: %d %v; want %d saying %s", tt.method, tt.path, status, body, tt.status, tt.say)
		}
	}
}

// TestDataFactoryImportAndSecrets imports the example factory folder all
// at once, and keeps a secret whose value no command or answer shows.
func TestDataFactoryImportAndSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const value = "hunter2-d0-not-print"
	e.write("pw.txt", value)
	outputs := []result{
		e.ok("data-factory", "secret", "set", "--name", "pg-password", "--file", "pw.txt"),
		e.ok("data-factory", "secret", "set", "--name", "other", "--value", value, "-o", "yaml"),
		e.ok("data-factory", "secret", "list", "-o", "json"),
		e.ok("data-factory", "secret", "list"),
	}
	for _, r := range outputs {
		if strings.Contains(r.out+r.err, value) {
			t.Errorf("a secret command printed the value: %q %q", r.out, r.err)
		}
	}
	if r := e.ok("data-factory", "secret", "list", "--query", "[].name", "-o", "tsv"); r.out != "other\npg-password\n" {
		t.Errorf("secret list: %q", r.out)
	}
	status, body := e.httpJSON("GET", "/api/v1/workspaces/ws/datafactory/secrets", "")
	if raw, _ := json.Marshal(body); status != 200 || strings.Contains(string(raw), value) {
		t.Errorf("GET secrets: %d %s", status, raw)
	}
	e.ok("data-factory", "secret", "delete", "--name", "other")

	example, err := filepath.Abs("../examples/dataflow/adf")
	if err != nil {
		t.Fatal(err)
	}
	r := e.ok("data-factory", "import", "--folder", example, "-o", "json")
	var imported []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal([]byte(r.out), &imported); err != nil || len(imported) != 5 {
		t.Fatalf("import: %v\n%s", err, r.out)
	}
	r = e.ok("data-factory", "trigger", "show", "--name", "nightly", "--query", "properties.runtimeState", "-o", "tsv")
	if strings.TrimSpace(r.out) != "Stopped" {
		t.Errorf("an imported trigger is %q, want Stopped", r.out)
	}
	// A folder with one bad file imports nothing.
	e.write("adf/linkedService/ok.json", `{"name": "ok", "properties": {"type": "FileServer", "typeProperties": {"host": "/tmp"}}}`)
	e.write("adf/pipeline/bad.json", "{\"name\": \"bad\",\n \"properties\": {\"activities\": [{\"name\": \"w\"}]}}")
	r = e.run("data-factory", "import", "--folder", "adf")
	if r.code == 0 || !strings.Contains(r.err, `activity`) || !strings.Contains(r.err, "nothing written") {
		t.Errorf("bad folder: exit %d, stderr %q", r.code, r.err)
	}
	if r := e.run("data-factory", "linked-service", "show", "--name", "ok"); r.code == 0 {
		t.Errorf("a refused import left linked service ok behind")
	}
}

// TestDataFactoryImportGallery imports the two vendored templates of Data
// Factory's template gallery (bulk copy and delta copy from a database)
// with their parameters files through `ciel data-factory import
// --template`, after creating the linked services they expect; a
// template whose linked service is missing imports nothing and is refused
// at the template's line.
func TestDataFactoryImportGallery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gallery, err := filepath.Abs("../internal/dataflow/arm/testdata/gallery")
	if err != nil {
		t.Fatal(err)
	}
	bulk, delta := filepath.Join(gallery, "bulk_copy_from_database"), filepath.Join(gallery, "delta_copy_from_database")

	r := e.run("data-factory", "import", "--template", delta+".json", "--parameters", delta+".parameters.json")
	if r.code == 0 || !strings.Contains(r.err, "delta_copy_from_database.json:") || !strings.Contains(r.err, `no linked service "pg_control"`) {
		t.Errorf("import before its linked services: exit %d, stderr %q", r.code, r.err)
	}
	if r := e.ok("data-factory", "dataset", "list", "-o", "json"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("a refused import left datasets: %s", r.out)
	}

	e.write("pg_source.json", `{"name": "pg_source", "properties": {"type": "PostgreSqlV2", "typeProperties": {"server": "127.0.0.1", "database": "shop", "username": "ciel"}}}`)
	e.write("pg_control.json", `{"name": "pg_control", "properties": {"type": "PostgreSqlV2", "typeProperties": {"server": "127.0.0.1", "database": "control", "username": "ciel"}}}`)
	e.write("lake.json", `{"name": "lake", "properties": {"type": "AzureBlobFS", "typeProperties": {"url": "https://lake.dfs.core.windows.net"}}}`)
	for _, f := range []string{"pg_source.json", "pg_control.json", "lake.json"} {
		e.ok("data-factory", "linked-service", "create", "--file", f)
	}
	r = e.ok("data-factory", "import", "--template", bulk+".json", "--parameters", bulk+".parameters.json", "-o", "json")
	var imported []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal([]byte(r.out), &imported); err != nil || len(imported) != 4 {
		t.Fatalf("bulk copy import: %v\n%s", err, r.out)
	}
	e.ok("data-factory", "import", "--template", delta+".json", "--parameters", delta+".parameters.json")
	r = e.ok("data-factory", "pipeline", "list", "--query", "[].name", "-o", "tsv")
	if got := strings.Fields(r.out); len(got) != 2 || got[0] != "BulkCopyfromDB_with_ControlTable" {
		t.Errorf("pipelines after both imports: %q", r.out)
	}
	r = e.ok("data-factory", "dataset", "show", "--name", "DataSource", "--query", "properties.linkedServiceName.referenceName", "-o", "tsv")
	if strings.TrimSpace(r.out) != "pg_source" {
		t.Errorf("DataSource's linked service: %q", r.out)
	}
	// The imported datasets hold on to the linked services.
	if r := e.run("data-factory", "linked-service", "delete", "--name", "lake"); r.code == 0 || !strings.Contains(r.err, "dataset") {
		t.Errorf("delete a linked service the templates use: exit %d, stderr %q", r.code, r.err)
	}
}
