package sqldb

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
	"github.com/ciel-mlops/ciel/internal/store"
)

func TestDataflowTriggers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	if err := s.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	c := s.DataflowTriggers()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	def := factory.Trigger{Name: "tw", Type: triggers.TypeTumblingWindow, TypeProperties: json.RawMessage(`{"frequency":"Hour"}`)}
	if _, err := c.PutTrigger(ctx, triggers.State{Workspace: "nope", Name: "tw", Definition: def}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing workspace: %v", err)
	}
	st, err := c.PutTrigger(ctx, triggers.State{Workspace: "ws", Name: "tw", Definition: def, RuntimeState: triggers.Started, Next: t0})
	if err != nil || st.Revision != 1 {
		t.Fatalf("put: %+v, %v", st, err)
	}
	w := triggers.Window{Workspace: "ws", Trigger: "tw", Start: t0, End: t0.Add(time.Hour), Status: triggers.WindowWaiting}
	run := triggers.Run{Workspace: "ws", ID: "R1", TriggerName: "tw", TriggerType: def.Type, Timestamp: t0, Status: triggers.RunInProgress,
		Properties: map[string]string{"a": "b"}, Trigger: map[string]any{"name": "tw"}}
	if err := c.AdvanceTrigger(ctx, st, t0.Add(time.Hour), []triggers.Run{run}, []triggers.Window{w}); err != nil {
		t.Fatal(err)
	}
	// A second advance from the same read is refused and writes nothing.
	w2 := w
	w2.Start, w2.End = w.End, w.End.Add(time.Hour)
	if err := c.AdvanceTrigger(ctx, st, t0.Add(2*time.Hour), nil, []triggers.Window{w2}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale advance: %v", err)
	}
	if n, _ := c.CountWindows(ctx, "ws", "tw", triggers.WindowWaiting, t0, t0.Add(3*time.Hour)); n != 1 {
		t.Fatalf("%d windows after a refused advance", n)
	}
	running := w
	running.Status, running.Attempt = triggers.WindowRunning, 1
	if err := c.UpdateWindow(ctx, w, running, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateWindow(ctx, w, running, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update from a stale window: %v", err)
	}
	if err := c.RecordBlob(ctx, "ws", "tw", triggers.Blob{Path: "a/b.csv", Size: 3, ModTime: t0}, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTrigger(ctx, "ws", "tw"); err != nil {
		t.Fatal(err)
	}
	ws, _ := c.ListWindows(ctx, "ws", "tw", nil, 0)
	blobs, _ := c.ListBlobs(ctx, "ws", "tw")
	runs, _ := c.ListRuns(ctx, triggers.RunQuery{Workspace: "ws", Trigger: "tw"})
	if len(ws) != 0 || len(blobs) != 0 || len(runs) != 1 || runs[0].Properties["a"] != "b" || runs[0].Trigger["name"] != "tw" {
		t.Fatalf("after delete: windows %v, blobs %v, runs %+v", ws, blobs, runs)
	}
	if err := c.DeleteTrigger(ctx, "ws", "tw"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
}
