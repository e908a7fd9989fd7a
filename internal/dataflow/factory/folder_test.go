package factory

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func names[T Resource](list []T) []string {
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = r.ResourceName()
	}
	return out
}

func TestLoadFolder(t *testing.T) {
	t.Parallel()
	f, err := LoadFolder("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		got  []string
		want []string
	}{
		{"linked services (key vault first)", names(f.LinkedServices), []string{"vault", "lake", "pg"}},
		{"datasets", names(f.Datasets), []string{"parquet_out", "pg_table"}},
		{"pipelines (executed before executor)", names(f.Pipelines), []string{"copy_tables", "nightly"}},
		{"triggers", names(f.Triggers), []string{"daily", "hourly_window"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	wantNotes := []string{
		"factory/: the factory's own settings, skipped",
		"integrationRuntime/: integration runtimes (ciel runs every activity itself), skipped",
		"publish_config.json: not part of a factory, skipped",
	}
	if !reflect.DeepEqual(f.Notes, wantNotes) {
		t.Errorf("notes: got %q, want %q", f.Notes, wantNotes)
	}

	win := f.Triggers[1]
	if len(win.Pipelines) != 1 || win.Pipelines[0].PipelineReference.ReferenceName != "copy_tables" ||
		string(win.Pipelines[0].Parameters["day"]) != `"@trigger().outputs.windowStartTime"` {
		t.Errorf("tumbling window pipeline not normalised into Pipelines: %+v", win.Pipelines)
	}
	ds := f.Datasets[1]
	if ds.Type != "PostgreSqlV2Table" || ds.LinkedServiceName.ReferenceName != "pg" || ds.Parameters["table"].Type != "string" {
		t.Errorf("dataset pg_table: %+v", ds)
	}

	// The pipeline's activities and the ones nested in control activities.
	var walked []string
	err = Walk(f.Pipelines[0].Activities, func(where string, a *Activity) error {
		walked = append(walked, where+" "+a.Type+" "+a.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[0] Lookup ListTables",
		"[1] ForEach EachTable",
		"[1].typeProperties.activities[0] Copy CopyOne",
		"[1].typeProperties.activities[1] AppendVariable Count",
		"[2] IfCondition Check",
		"[2].typeProperties.ifFalseActivities[0] Fail Nothing",
	}
	if !reflect.DeepEqual(walked, want) {
		t.Errorf("walk:\n got %q\nwant %q", walked, want)
	}
	sw := f.Pipelines[1].Activities[0]
	nested, err := sw.Nested()
	if err != nil {
		t.Fatal(err)
	}
	if len(nested) != 2 || nested[0].Field != "cases[0].activities" || nested[0].Case != "full" ||
		nested[0].Activities[0].Name != "RunCopy" || nested[1].Field != "defaultActivities" {
		t.Errorf("switch containers: %+v", nested)
	}
	dep := f.Pipelines[0].Activities[1].DependsOn
	if len(dep) != 1 || dep[0].Activity != "ListTables" || dep[0].DependencyConditions[0] != DependSucceeded {
		t.Errorf("dependsOn: %+v", dep)
	}
}

// writeFactory writes files (relative path -> content) under a new folder.
func writeFactory(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadFolderReferences(t *testing.T) {
	t.Parallel()
	const pg = `{"name": "pg", "properties": {"type": "PostgreSqlV2", "typeProperties": {}}}`
	const table = `{"name": "t", "properties": {"type": "PostgreSqlV2Table", "linkedServiceName": {"referenceName": "pg"}}}`
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{{
		name: "dataset names a missing linked service",
		files: map[string]string{
			"dataset/t.json": `{"name": "t", "properties": {
  "type": "PostgreSqlV2Table",
  "linkedServiceName": {"referenceName": "nope"}}}`,
		},
		want: `dataset/t.json:3:42: properties.linkedServiceName.referenceName: no linked service "nope"`,
	}, {
		name: "activity input names a missing dataset",
		files: map[string]string{
			"linkedService/pg.json": pg,
			"dataset/t.json":        table,
			"pipeline/p.json": `{"name": "p", "properties": {"activities": [
  {"name": "c", "type": "Copy", "inputs": [{"referenceName": "t"}],
   "outputs": [{"referenceName": "missing"}],
   "typeProperties": {"source": {}, "sink": {}}}]}}`,
		},
		want: `pipeline/p.json:3:34: properties.activities[0].outputs[0].referenceName: no dataset "missing" (there are: t)`,
	}, {
		name: "execute pipeline names a missing pipeline",
		files: map[string]string{
			"pipeline/p.json": `{"name": "p", "properties": {"activities": [
  {"name": "run", "type": "ExecutePipeline",
   "typeProperties": {"pipeline": {"referenceName": "other", "type": "PipelineReference"}}}]}}`,
		},
		want: `pipeline/p.json:3:53: properties.activities[0].typeProperties.pipeline.referenceName: no pipeline "other" (there are: p)`,
	}, {
		name: "tumbling window names a missing pipeline",
		files: map[string]string{
			"trigger/w.json": `{"name": "w", "properties": {"type": "TumblingWindowTrigger",
  "pipeline": {"pipelineReference": {"referenceName": "gone"}},
  "typeProperties": {"frequency": "Hour", "interval": 1, "startTime": "2026-01-01T00:00:00Z"}}}`,
		},
		want: `trigger/w.json:2:55: properties.pipeline.pipelineReference.referenceName: no pipeline "gone"`,
	}, {
		name: "key vault secret in a linked service that is not a vault",
		files: map[string]string{
			"linkedService/pg.json": pg,
			"linkedService/my.json": `{"name": "my", "properties": {"type": "MySql", "typeProperties": {
  "password": {"type": "AzureKeyVaultSecret", "store": {"referenceName": "pg"}, "secretName": "x"}}}}`,
		},
		want: `linkedService/my.json:2:74: properties.typeProperties.password.store.referenceName: linked service "pg" is PostgreSqlV2, not an AzureKeyVault to hold secrets`,
	}, {
		name: "key vault secret names a missing vault",
		files: map[string]string{
			"linkedService/my.json": `{"name": "my", "properties": {"type": "MySql", "typeProperties": {
  "password": {"type": "AzureKeyVaultSecret", "store": {"referenceName": "kv"}, "secretName": "x"}}}}`,
		},
		want: `linkedService/my.json:2:74: properties.typeProperties.password.store.referenceName: no linked service "kv" (there are: my)`,
	}, {
		name: "same name twice",
		files: map[string]string{
			"linkedService/pg.json":  pg,
			"linkedService/PG2.json": `{"name": "PG", "properties": {"type": "PostgreSqlV2"}}`,
		},
		want: `linkedService/pg.json:1:10: name: linked service "pg" is defined twice (also in linkedService/PG2.json)`,
	}, {
		name: "one error per bad file",
		files: map[string]string{
			"pipeline/a.json": `{"name": "a"}`,
			"pipeline/b.json": `{"name": "b", "properties": []}`,
		},
		want: "pipeline/a.json:1:1: missing \"properties\"; expected {\"name\": ..., \"properties\": {...}}\n" +
			"pipeline/b.json:1:29: properties: expected an object, got an array",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadFolder(writeFactory(t, c.files))
			if err == nil {
				t.Fatalf("loaded; want %s", c.want)
			}
			if err.Error() != c.want {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
		})
	}
}

func TestCheckExisting(t *testing.T) {
	t.Parallel()
	f := &Factory{}
	_, err := Parser{}.ParseInto(f, KindDataset, "t.json", []byte(`{"name": "t", "properties": {"type": "MySqlTable",
  "linkedServiceName": {"referenceName": "db"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `t.json:2:42: properties.linkedServiceName.referenceName: no linked service "db"`
	if err := f.Check(nil); err == nil || err.Error() != want {
		t.Errorf("check with nothing outside: got %v, want %s", err, want)
	}
	exists := func(k Kind, name string) bool { return k == KindLinkedService && name == "db" }
	if err := f.Check(exists); err != nil {
		t.Errorf("check with db existing: %v", err)
	}
}
