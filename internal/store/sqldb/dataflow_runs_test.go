package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/store"
)

func TestDataflowRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ciel.db")
	s := openTest(t, path)
	if err := s.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, group, pipeline string, st run.Status, at time.Time) run.PipelineRun {
		return run.PipelineRun{Workspace: "ws", RunID: id, RunGroupID: group, PipelineName: pipeline, Status: st,
			RunStart: &at, LastUpdated: at, Parameters: map[string]any{"day": "2026-11-01"}}
	}
	if err := s.CreatePipelineRun(ctx, run.PipelineRun{Workspace: "nows", RunID: "x", RunGroupID: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("run in a missing workspace: %v", err)
	}
	for _, r := range []run.PipelineRun{
		mk("r1", "r1", "copy", run.StatusFailed, t0),
		mk("r2", "r2", "other", run.StatusInProgress, t0.Add(time.Minute)),
		mk("r3", "r1", "copy", run.StatusQueued, t0.Add(2*time.Minute)),
		mk("r4", "r4", "copy", run.StatusCanceling, t0.Add(3*time.Minute)),
	} {
		if err := s.CreatePipelineRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreatePipelineRun(ctx, mk("r1", "r1", "copy", run.StatusQueued, t0)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate run id: %v", err)
	}
	// r3 reruns r1: only r3 is latest in the group.
	if r1, _ := s.GetPipelineRun(ctx, "ws", "r1"); r1.IsLatest {
		t.Error("r1 still latest after r3 joined its group")
	}
	if r3, _ := s.GetPipelineRun(ctx, "ws", "r3"); !r3.IsLatest || r3.Parameters["day"] != "2026-11-01" {
		t.Errorf("r3 %+v", r3)
	}
	// An update keeps isLatest as stored.
	r1 := mk("r1", "r1", "copy", run.StatusFailed, t0)
	r1.IsLatest, r1.Message = true, "Operation on target B failed"
	if err := s.UpdatePipelineRun(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetPipelineRun(ctx, "ws", "r1"); got.IsLatest || got.Message != r1.Message {
		t.Errorf("updated r1 %+v", got)
	}
	if err := s.UpdatePipelineRun(ctx, mk("zz", "zz", "copy", run.StatusFailed, t0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing run: %v", err)
	}
	if _, err := s.GetPipelineRun(ctx, "ws", "zz"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get of a missing run: %v", err)
	}

	cases := []struct {
		q    run.RunQuery
		want []string
	}{
		{run.RunQuery{}, []string{"r4", "r3", "r2", "r1"}},
		{run.RunQuery{PipelineName: "copy"}, []string{"r4", "r3", "r1"}},
		{run.RunQuery{Status: run.StatusQueued}, []string{"r3"}},
		{run.RunQuery{RunGroupID: "r1"}, []string{"r3", "r1"}},
		{run.RunQuery{After: t0.Add(time.Minute), Before: t0.Add(3 * time.Minute)}, []string{"r3", "r2"}},
		{run.RunQuery{Limit: 1}, []string{"r4"}},
	}
	for _, tc := range cases {
		runs, err := s.ListPipelineRuns(ctx, "ws", tc.q)
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.RunID)
		}
		if err != nil || len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) || (len(ids) > 1 && ids[1] != tc.want[1]) {
			t.Errorf("list %+v: %v, %v; want %v", tc.q, ids, err, tc.want)
		}
	}
	if _, err := s.ListPipelineRuns(ctx, "nows", run.RunQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("list in a missing workspace: %v", err)
	}

	// Activity runs: upserted by id, listed in start order.
	act := func(id, name string, st run.Status, at time.Time) run.ActivityRun {
		return run.ActivityRun{Workspace: "ws", PipelineRunID: "r2", ActivityRunID: id, ActivityName: name, Status: st, ActivityRunStart: &at,
			Output: map[string]any{"rowsCopied": 3}}
	}
	for _, a := range []run.ActivityRun{
		act("a2", "B", run.StatusInProgress, t0.Add(2*time.Second)),
		act("a1", "A", run.StatusInProgress, t0.Add(time.Second)),
		act("a1", "A", run.StatusSucceeded, t0.Add(time.Second)),
	} {
		if err := s.PutActivityRun(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutActivityRun(ctx, run.ActivityRun{Workspace: "ws", PipelineRunID: "nope", ActivityRunID: "a"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("activity run of a missing run: %v", err)
	}
	acts, err := s.ListActivityRuns(ctx, "ws", "r2")
	if err != nil || len(acts) != 2 || acts[0].ActivityName != "A" || acts[0].Status != run.StatusSucceeded || acts[1].ActivityName != "B" {
		t.Fatalf("activity runs %+v, %v", acts, err)
	}

	// A server stopped under r2, r3 and r4: reopen and recover.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	at := t0.Add(time.Hour)
	ids, err := s.MarkInterrupted(ctx, "the server stopped during the run", at)
	if err != nil || len(ids) != 3 {
		t.Fatalf("interrupted %v, %v", ids, err)
	}
	want := map[string]run.Status{"r1": run.StatusFailed, "r2": run.StatusFailed, "r3": run.StatusFailed, "r4": run.StatusCancelled}
	for id, st := range want {
		r, err := s.GetPipelineRun(ctx, "ws", id)
		if err != nil || r.Status != st {
			t.Errorf("%s after recovery: %s, %v", id, r.Status, err)
		}
		if id == "r2" && (r.Message != "the server stopped during the run" || r.RunEnd == nil || *r.DurationInMs != time.Hour.Milliseconds()-time.Minute.Milliseconds()) {
			t.Errorf("r2 after recovery %+v", r)
		}
	}
	acts, _ = s.ListActivityRuns(ctx, "ws", "r2")
	if acts[0].Status != run.StatusSucceeded || acts[1].Status != run.StatusFailed || acts[1].Error == nil || acts[1].ActivityRunEnd == nil {
		t.Errorf("activity runs after recovery %+v", acts)
	}
	if ids, _ := s.MarkInterrupted(ctx, "again", at); len(ids) != 0 {
		t.Errorf("a second recovery changed %v", ids)
	}

	// The workspace's deletion takes its runs.
	if err := s.DeleteWorkspace(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPipelineRun(ctx, "ws", "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("run outlived its workspace: %v", err)
	}
}
