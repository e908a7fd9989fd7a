package dataflow_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqlite"
)

func setup(t *testing.T, cfg dataflow.Config) *dataflow.Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "ciel.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	cfg.Store = st.Dataflow()
	return dataflow.New(cfg)
}

func doc(t *testing.T, kind factory.Kind, file, body string) dataflow.Document {
	t.Helper()
	d, err := dataflow.ParseDocument(kind, file, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const (
	pgLS     = `{"name": "pg", "properties": {"type": "PostgreSqlV2", "typeProperties": {"server": "localhost", "database": "shop"}}}`
	ordersDS = `{"name": "orders", "properties": {"type": "PostgreSqlV2Table",
		"linkedServiceName": {"referenceName": "pg", "type": "LinkedServiceReference"}, "typeProperties": {"table": "orders"}}}`
	copyPL = `{"name": "copy", "properties": {"activities": [
		{"name": "check", "type": "IfCondition", "typeProperties": {"expression": {"value": "@true", "type": "Expression"},
			"ifTrueActivities": [{"name": "look", "type": "Lookup", "typeProperties": {"dataset": {"referenceName": "orders", "type": "DatasetReference"}}}]}}],
		"parameters": {"day": {"type": "String"}}}}`
)

// TestParseDocumentErrors: every bad file is refused at its line and
// column, saying what was expected.
func TestParseDocumentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"syntax", "{\n  \"name\": \"pg\",\n  \"properties\": {\"type\": \"MySql\",}\n}", "pg.json:3:34: invalid character '}'"},
		{"truncated", "{\"name\": \"pg\",\n \"properties\": {", "pg.json:2:"},
		{"no properties", `{"name": "pg"}`, `pg.json:1:1: expected "properties": {...}`},
		{"wrong type", "{\"name\": \"pg\",\n \"properties\": {\"type\": 7}}", "pg.json:2:25: properties.type: expected a string, got JSON number"},
		{"trailing", `{"name": "pg", "properties": {}} {}`, "unexpected data after the JSON object"},
		{"array", `[]`, "pg.json:1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dataflow.ParseDocument(factory.KindLinkedService, "pg.json", []byte(tt.body))
			var se *spec.Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want a *spec.Error containing %q", err, tt.want)
			}
		})
	}
}

// TestServiceValidates: a type ciel cannot reach is refused naming it and
// the types it can; a bad name, a dataset with no linked service and two
// activities of one name are refused; a missing reference is refused.
func TestServiceValidates(t *testing.T) {
	t.Parallel()
	s := setup(t, dataflow.Config{})
	tests := []struct {
		name string
		kind factory.Kind
		body string
		want []string
	}{
		{"unreachable type", factory.KindLinkedService, `{"name": "sf", "properties": {"type": "Snowflake"}}`, []string{`"Snowflake"`, "PostgreSqlV2", "MariaDB", "AzureBlobStorage"}},
		{"bad name", factory.KindLinkedService, `{"name": "../etc", "properties": {"type": "MySql"}}`, []string{`invalid linked service name "../etc"`}},
		{"no linked service", factory.KindDataset, `{"name": "d", "properties": {"type": "Parquet"}}`, []string{"linkedServiceName"}},
		{"twin activities", factory.KindPipeline, `{"name": "p", "properties": {"activities": [{"name": "w", "type": "Wait"},
			{"name": "f", "type": "ForEach", "typeProperties": {"activities": [{"name": "W", "type": "Wait"}]}}]}}`, []string{`two activities are named "W"`}},
		{"missing reference", factory.KindDataset, ordersDS, []string{`dataset "orders" references linked service "pg", which does not exist`}},
	}
	for _, tt := range tests {
		_, err := s.Put(t.Context(), "ws", doc(t, tt.kind, "", tt.body), "")
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: got %v, want it to say %s", tt.name, err, w)
			}
		}
	}
}

// TestServiceImport: a folder imports all together whatever the order of
// its references; one bad file refuses all of it, naming every problem.
func TestServiceImport(t *testing.T) {
	t.Parallel()
	s := setup(t, dataflow.Config{})
	ctx := t.Context()
	bad := []dataflow.File{
		{Path: "pipeline/copy.json", Data: []byte(copyPL)},
		{Path: "dataset/orders.json", Data: []byte(ordersDS)},
		{Path: "linkedService/pg.json", Data: []byte(pgLS)},
		{Path: "linkedService/broken.json", Data: []byte("{\"properties\": {\n\"type\": }")},
	}
	_, err := dataflow.FolderDocuments(bad)
	if err == nil || !strings.Contains(err.Error(), "linkedService/broken.json:2:9") {
		t.Fatalf("bad folder: got %v", err)
	}
	good := append(bad[:3:3], dataflow.File{Path: "factory/f.json", Data: []byte("ignored")},
		dataflow.File{Path: "linkedService/fs.json", Data: []byte(`{"properties": {"type": "FileServer"}}`)})
	docs, err := dataflow.FolderDocuments(good)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Import(ctx, "ws", docs)
	if err != nil || len(rs) != 4 {
		t.Fatalf("import: %d resources, %v", len(rs), err)
	}
	if _, err := s.LinkedService(ctx, "ws", "FS"); err != nil {
		t.Errorf("a file's name names a resource without one: %v", err)
	}
	// The nested Lookup's dataset is a reference: the dataset is in use.
	var inUse *dataflow.InUseError
	if err := s.Delete(ctx, "ws", factory.KindDataset, "orders"); !errors.As(err, &inUse) || !strings.Contains(err.Error(), `pipeline "copy"`) {
		t.Errorf("delete a dataset in use: %v", err)
	}
	p, err := s.Pipeline(ctx, "ws", "copy")
	if err != nil || p.Name != "copy" || len(p.Activities) != 1 || p.Activities[0].Type != "IfCondition" {
		t.Errorf("pipeline: %+v, %v", p, err)
	}
	if _, err := s.CreateRun(ctx, "ws", "copy", nil); !errors.Is(err, dataflow.ErrNoRuntime) {
		t.Errorf("run with no runtime: %v", err)
	}
}
