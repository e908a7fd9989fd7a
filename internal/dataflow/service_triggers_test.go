package dataflow_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/store"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

const (
	waitPL      = `{"name": "nap", "properties": {"parameters": {"at": {"type": "String"}}, "activities": [{"name": "w", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 0}}]}}`
	everyMinute = `{"name": "often", "properties": {"type": "ScheduleTrigger",
		"typeProperties": {"recurrence": {"frequency": "Minute", "interval": 1, "startTime": "2026-11-01T00:00:00Z"}},
		"pipelines": [{"pipelineReference": {"referenceName": "nap", "type": "PipelineReference"},
			"parameters": {"at": "@trigger().scheduledTime"}}]}}`
)

// TestServiceTriggers wires the trigger scheduler and the pipeline runner
// into the service as the server does: the scheduler's runtime state is
// the one shown; a started trigger cannot be changed or deleted; a firing
// starts the pipeline through TriggerStarter, which gives the same run
// back for the same trigger run; a definition the scheduler cannot fire
// is refused at create, at its place in the file.
func TestServiceTriggers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, st := setupStore(t, dataflow.Config{})
	runner, err := run.New(run.Config{Store: st, Resources: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(runner.Close)
	clk := &fakeClock{t: time.Date(2026, 11, 1, 10, 0, 30, 0, time.UTC)}
	starter := &dataflow.TriggerStarter{Runs: runner, Find: st}
	sched := triggers.New(triggers.Config{Store: st.DataflowTriggers(), Starter: starter, Now: clk.Now})
	s.SetRuns(runner)
	s.SetTriggers(sched)

	bad := "{\"name\": \"bad\", \"properties\": {\"type\": \"ScheduleTrigger\",\n \"typeProperties\": {\"recurrence\": {\"frequency\": \"Day\", \"interval\": 1, \"schedule\": {\"hours\": [25]}}},\n \"pipelines\": []}}"
	d, err := dataflow.ParseDocument(factory.KindTrigger, "", "bad.json", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = s.Put(ctx, "ws", d, ""); err == nil || !strings.Contains(err.Error(), "bad.json:2:") || !strings.Contains(err.Error(), "properties.typeProperties.recurrence.startTime: required") {
		t.Errorf("a trigger the scheduler cannot fire: %v", err)
	}

	for _, d := range []dataflow.Document{doc(t, factory.KindPipeline, "", waitPL), doc(t, factory.KindTrigger, "", everyMinute)} {
		if _, err := s.Put(ctx, "ws", d, ""); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := s.StartTrigger(ctx, "ws", "OFTEN"); err != nil || r.RuntimeState != dataflow.TriggerStarted {
		t.Fatalf("start: %+v, %v", r, err)
	}
	if list, err := s.List(ctx, "ws", factory.KindTrigger); err != nil || len(list) != 1 || list[0].RuntimeState != dataflow.TriggerStarted {
		t.Errorf("list shows %+v, %v", list, err)
	}
	var started *dataflow.TriggerStartedError
	if _, err := s.Put(ctx, "ws", doc(t, factory.KindTrigger, "", everyMinute), ""); !errors.As(err, &started) {
		t.Errorf("replace a started trigger: %v", err)
	}
	if err := s.Delete(ctx, "ws", factory.KindTrigger, "often"); !errors.As(err, &started) {
		t.Errorf("delete a started trigger: %v", err)
	}

	clk.Set(time.Date(2026, 11, 1, 10, 1, 5, 0, time.UTC))
	if err := sched.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	truns, err := s.TriggerRuns(ctx, "ws", dataflow.RunQuery{PipelineName: "often"})
	if err != nil || len(truns) != 1 || truns[0].TriggeredPipelines["nap"] == "" {
		t.Fatalf("trigger runs: %+v, %v", truns, err)
	}
	runID := truns[0].TriggeredPipelines["nap"]
	pr, err := runner.Wait(ctx, "ws", runID)
	if err != nil || pr.Status != run.StatusSucceeded || pr.InvokedBy.ID != truns[0].ID || pr.InvokedBy.InvokedByType != triggers.TypeSchedule {
		t.Errorf("the run the trigger started: %+v, %v", pr, err)
	}
	if at, _ := pr.Parameters["at"].(string); !strings.HasPrefix(at, "2026-11-01T10:01:00") {
		t.Errorf("parameter over @trigger(): %v", pr.Parameters)
	}
	again, err := starter.StartRun(ctx, "ws", "NAP", nil, triggers.InvokedBy{Name: "often", ID: truns[0].ID, Type: triggers.TypeSchedule})
	if err != nil || again != runID {
		t.Errorf("a second start for one trigger run gave %q, %v; want %q", again, err, runID)
	}

	if r, err := s.StopTrigger(ctx, "ws", "often"); err != nil || r.RuntimeState != dataflow.TriggerStopped {
		t.Fatalf("stop: %+v, %v", r, err)
	}
	if err := s.Delete(ctx, "ws", factory.KindTrigger, "often"); err != nil {
		t.Errorf("delete a stopped trigger: %v", err)
	}
	if state, err := sched.RuntimeState(ctx, "ws", "often"); err != nil || state != triggers.Stopped {
		t.Errorf("a deleted trigger's state: %q, %v", state, err)
	}
}

type datastores map[string]datastore.Datastore

func (d datastores) Get(_ context.Context, _, name string) (datastore.Datastore, error) {
	ds, ok := d[name]
	if !ok {
		return ds, store.ErrNotFound
	}
	return ds, nil
}

// TestDatastoreFiles: a local folder datastore opens as a files.FS that
// reads the folder, and is kept for the next listing; an unknown
// datastore is not found.
func TestDatastoreFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ds := datastores{"drop": {Name: "drop", Type: datastore.TypeLocal, Path: dir}}
	d := &dataflow.DatastoreFiles{Datastores: ds}
	first, err := d.FS(t.Context(), "ws", "drop")
	if err != nil {
		t.Fatal(err)
	}
	list, err := first.List(t.Context(), "")
	if err != nil || len(list) != 1 || list[0].Name != "a.csv" || list[0].Size != 4 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	again, err := d.FS(t.Context(), "ws", "drop")
	if err != nil || again != first {
		t.Errorf("second open: %v, %v; want the same file system", again, err)
	}
	if _, err := d.FS(t.Context(), "ws", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown datastore: %v", err)
	}
}

// TestServiceSecrets: the runtime's Key Vault references read the
// workspace's secret store, whatever vault and version they name; a
// missing one says how to set it.
func TestServiceSecrets(t *testing.T) {
	t.Parallel()
	s := setup(t, dataflow.Config{})
	if _, err := s.SetSecret(t.Context(), "ws", "pg-password", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Secrets().Secret(t.Context(), "ws", "keyvault", "pg-password", ""); err != nil || v != "s3cret" {
		t.Errorf("secret: %q, %v", v, err)
	}
	if _, err := s.Secrets().Secret(t.Context(), "ws", "keyvault", "nope", ""); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "secret set --name nope") {
		t.Errorf("missing secret: %v", err)
	}
}
