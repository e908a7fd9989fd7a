package sqldb

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/store"
)

func setupDataflow(t *testing.T) *DataflowStore {
	t.Helper()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	if err := s.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	return s.Dataflow()
}

func res(kind factory.Kind, name string, refs ...dataflow.Ref) dataflow.Resource {
	return dataflow.Resource{Kind: kind, Name: name, Properties: []byte(`{"type":"X"}`), References: refs}
}

// TestDataflowResourceReferences: resources that name each other are
// written together in any order, a missing reference refuses the whole
// write, and deleting something still used is refused naming the user.
func TestDataflowResourceReferences(t *testing.T) {
	t.Parallel()
	c := setupDataflow(t)
	ctx := t.Context()
	ls := dataflow.Ref{Kind: factory.KindLinkedService, Name: "pg"}
	ds := dataflow.Ref{Kind: factory.KindDataset, Name: "orders"}
	pl := dataflow.Ref{Kind: factory.KindPipeline, Name: "copy"}
	// The pipeline comes first and names the dataset written after it.
	_, err := c.PutResources(ctx, "ws", []dataflow.Resource{
		res(factory.KindPipeline, "copy", ds), res(factory.KindDataset, "orders", ls), res(factory.KindLinkedService, "pg"),
		res(factory.KindTrigger, "nightly", pl),
	})
	if err != nil {
		t.Fatal(err)
	}
	// All or nothing: the second resource's missing reference undoes the
	// first.
	_, err = c.PutResources(ctx, "ws", []dataflow.Resource{res(factory.KindDataset, "fresh", ls), res(factory.KindDataset, "bad", dataflow.Ref{Kind: factory.KindLinkedService, Name: "nope"})})
	var missing *dataflow.MissingReferenceError
	if !errors.As(err, &missing) || missing.To.Name != "nope" {
		t.Fatalf("missing reference: got %v", err)
	}
	if _, err := c.GetResource(ctx, "ws", factory.KindDataset, "fresh"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused import left %q behind: %v", "fresh", err)
	}
	tests := []struct {
		kind   factory.Kind
		name   string
		usedBy string
	}{
		{factory.KindLinkedService, "PG", `dataset "orders"`}, // names are case-insensitive
		{factory.KindDataset, "orders", `pipeline "copy"`},
		{factory.KindPipeline, "copy", `trigger "nightly"`},
	}
	for _, tt := range tests {
		err := c.DeleteResource(ctx, "ws", tt.kind, tt.name)
		var inUse *dataflow.InUseError
		if !errors.As(err, &inUse) || !strings.Contains(err.Error(), tt.usedBy) {
			t.Errorf("delete %s %s: got %v, want it refused naming %s", tt.kind, tt.name, err, tt.usedBy)
		}
	}
	// Deleted from the top down, each goes.
	for _, r := range []dataflow.Ref{{Kind: factory.KindTrigger, Name: "nightly"}, pl, ds, ls} {
		if err := c.DeleteResource(ctx, "ws", r.Kind, r.Name); err != nil {
			t.Fatalf("delete %s: %v", r, err)
		}
	}
	if err := c.DeleteResource(ctx, "ws", factory.KindLinkedService, "pg"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete again: got %v", err)
	}
}

// TestDataflowResourceETag: a replace keeps the creation time and changes
// the etag; If-Match with an old etag is refused.
func TestDataflowResourceETag(t *testing.T) {
	t.Parallel()
	c := setupDataflow(t)
	ctx := t.Context()
	first, err := c.PutResources(ctx, "ws", []dataflow.Resource{res(factory.KindLinkedService, "pg")})
	if err != nil {
		t.Fatal(err)
	}
	again := res(factory.KindLinkedService, "pg")
	again.ETag = first[0].ETag
	second, err := c.PutResources(ctx, "ws", []dataflow.Resource{again})
	if err != nil {
		t.Fatal(err)
	}
	if second[0].ETag == first[0].ETag || !second[0].CreatedAt.Equal(first[0].CreatedAt) {
		t.Errorf("replace: etag %s -> %s, created %v -> %v", first[0].ETag, second[0].ETag, first[0].CreatedAt, second[0].CreatedAt)
	}
	var pre *dataflow.PreconditionError
	if _, err := c.PutResources(ctx, "ws", []dataflow.Resource{again}); !errors.As(err, &pre) {
		t.Fatalf("stale If-Match: got %v", err)
	}
	got, err := c.GetResource(ctx, "ws", factory.KindLinkedService, "pg")
	if err != nil || got.ETag != second[0].ETag || string(got.Properties) != `{"type":"X"}` {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := c.PutResources(ctx, "nows", []dataflow.Resource{res(factory.KindLinkedService, "pg")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no workspace: got %v", err)
	}
}

// TestDataflowSecrets: values are kept and read back only by SecretValue;
// the list carries names and times.
func TestDataflowSecrets(t *testing.T) {
	t.Parallel()
	c := setupDataflow(t)
	ctx := t.Context()
	for _, v := range []string{"first", "s3cr3t"} {
		if _, err := c.PutSecret(ctx, "ws", "pgpass", v); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := c.SecretValue(ctx, "ws", "PGPASS"); err != nil || v != "s3cr3t" {
		t.Fatalf("value: %q, %v", v, err)
	}
	list, err := c.ListSecrets(ctx, "ws")
	if err != nil || len(list) != 1 || list[0].Name != "pgpass" || list[0].UpdatedAt.Before(list[0].CreatedAt) {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := c.DeleteSecret(ctx, "ws", "pgpass"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SecretValue(ctx, "ws", "pgpass"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted secret: %v", err)
	}
	if _, err := c.ListSecrets(ctx, "nows"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no workspace: %v", err)
	}
}
