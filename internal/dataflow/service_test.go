package dataflow_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

func setup(t *testing.T, cfg dataflow.Config) *dataflow.Service {
	t.Helper()
	s, _ := setupStore(t, cfg)
	return s
}

// setupStore returns a service over a fresh store with workspace "ws",
// and the store.
func setupStore(t *testing.T, cfg dataflow.Config) (*dataflow.Service, *sqldb.Store) {
	t.Helper()
	st, err := sqldb.Open(context.Background(), sqldb.Config{Path: filepath.Join(t.TempDir(), "ciel.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	cfg.Store = st.Dataflow()
	return dataflow.New(cfg), st
}

func doc(t *testing.T, kind factory.Kind, file, body string) dataflow.Document {
	t.Helper()
	d, err := dataflow.ParseDocument(kind, "", file, []byte(body))
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
			"ifTrueActivities": [{"name": "look", "type": "Lookup", "typeProperties": {"source": {"type": "PostgreSqlV2Source"}, "dataset": {"referenceName": "orders", "type": "DatasetReference"}}}]}}],
		"parameters": {"day": {"type": "String"}}}}`
)

// TestParseDocumentErrors: every bad file is refused by the factory
// package's parser at its line and column; a name given outside the file
// fills a missing "name" and refuses another.
func TestParseDocumentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, given, body, want string
	}{
		{"syntax", "", "{\n  \"name\": \"pg\",\n  \"properties\": {\"type\": \"MySql\",}\n}", "pg.json:3:"},
		{"wrong type", "", "{\"name\": \"pg\",\n \"properties\": {\"type\": 7}}", "pg.json:2:25: properties.type: expected a string"},
		{"no name", "", `{"properties": {"type": "MySql"}}`, `pg.json:1:1: missing "name"`},
		{"other name", "pg", "{\n\"name\": \"other\", \"properties\": {\"type\": \"MySql\"}}", `pg.json:2:9: name: the file names linked service "other", not "pg"`},
		{"unreachable", "sf", `{"properties": {"type": "Snowflake"}}`, `unknown linked service type "Snowflake"; known: PostgreSqlV2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dataflow.ParseDocument(factory.KindLinkedService, tt.given, "pg.json", []byte(tt.body))
			var fe *factory.Error
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want a *factory.Error containing %q", err, tt.want)
			}
		})
	}
	d, err := dataflow.ParseDocument(factory.KindLinkedService, "PG", "pg.json", []byte(`{"properties": {"type": "MySql"}}`))
	if err != nil || d.Name() != "PG" || string(d.Properties) != `{"type":"MySql"}` {
		t.Errorf("named from outside: %+v, %v", d, err)
	}
}

// TestServicePutReferences: a reference to a resource the store does not
// hold is refused at its place in the file; once it exists the resource
// is stored with its references, and what it uses cannot be deleted.
func TestServicePutReferences(t *testing.T) {
	t.Parallel()
	s := setup(t, dataflow.Config{})
	ctx := t.Context()
	_, err := s.Put(ctx, "ws", doc(t, factory.KindDataset, "orders.json", ordersDS), "")
	if err == nil || !strings.Contains(err.Error(), `orders.json:2:`) || !strings.Contains(err.Error(), `no linked service "pg"`) {
		t.Fatalf("missing reference: %v", err)
	}
	for _, d := range []dataflow.Document{doc(t, factory.KindLinkedService, "", pgLS), doc(t, factory.KindDataset, "", ordersDS), doc(t, factory.KindPipeline, "", copyPL)} {
		if _, err := s.Put(ctx, "ws", d, ""); err != nil {
			t.Fatal(err)
		}
	}
	var inUse *dataflow.InUseError
	if err := s.Delete(ctx, "ws", factory.KindDataset, "orders"); !errors.As(err, &inUse) || !strings.Contains(err.Error(), `pipeline "copy"`) {
		t.Errorf("delete a dataset a nested activity uses: %v", err)
	}
	p, err := s.Pipeline(ctx, "ws", "COPY")
	if err != nil || p.Name != "copy" || len(p.Activities) != 1 || p.Activities[0].Type != "IfCondition" {
		t.Errorf("pipeline: %+v, %v", p, err)
	}
	if _, err := s.CreateRun(ctx, "ws", "copy", nil); !errors.Is(err, dataflow.ErrNoRuntime) {
		t.Errorf("run with no runtime: %v", err)
	}
}

// TestServiceImport: a folder imports all together whatever the order of
// its references; one bad file refuses all of it, naming the file, line
// and column.
func TestServiceImport(t *testing.T) {
	t.Parallel()
	s := setup(t, dataflow.Config{})
	dir := t.TempDir()
	files := map[string]string{
		"pipeline/copy.json":        copyPL,
		"dataset/orders.json":       ordersDS,
		"linkedService/pg.json":     pgLS,
		"linkedService/broken.json": "{\"name\": \"broken\", \"properties\": {\n\"type\": }}",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dataflow.LoadFolder(dir, nil); err == nil || !strings.Contains(err.Error(), "linkedService/broken.json:2:9") {
		t.Fatalf("bad folder: got %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "linkedService/broken.json")); err != nil {
		t.Fatal(err)
	}
	docs, err := dataflow.LoadFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Import(t.Context(), "ws", docs)
	if err != nil || len(rs) != 3 {
		t.Fatalf("import: %d resources, %v", len(rs), err)
	}
	var inUse *dataflow.InUseError
	if err := s.Delete(t.Context(), "ws", factory.KindLinkedService, "pg"); !errors.As(err, &inUse) || !strings.Contains(err.Error(), `dataset "orders"`) {
		t.Errorf("imported references are not kept: %v", err)
	}
}
