package run_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
)

// flaky is a pipeline whose B fails until it is fixed: A -> B -> C, and a
// ForEach D beside, whose second item fails until fixed.
func flaky(broken bool) string {
	f := "false"
	if broken {
		f = "true"
	}
	return pipeline("p", acts(
		act("A", "Fake", `{"output": {"v": 41}}`),
		act("B", "Fake", `{"fail": `+f+`, "seen": "@activity('A').output.v"}`, "A:Succeeded"),
		act("C", "Fake", ok, "B:Succeeded"),
		act("D", "ForEach", `{"items": [1, 2], "isSequential": true, "activities": [`+act("DInner", "Fake", `{"fail": `+f+`}`)+`]}`),
	))
}

// TestRerunFromFailure: the first run fails at B (and in D); once fixed,
// a rerun from failure reuses A's output without running it, runs B, C
// and the whole ForEach again, in the same run group.
func TestRerunFromFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, flaky(true))
	first, by := b.start(t, "p", nil)
	if first.Status != run.StatusFailed || by["B"][0].Status != run.StatusFailed || by["C"][0].Status != run.StatusSkipped {
		t.Fatalf("first run %s, activities %v", first.Status, statuses(by))
	}
	if _, err := b.r.Rerun(ctx, ws, "no-such-run", run.RerunOptions{FromFailure: true}); err == nil {
		t.Error("rerun of a missing run")
	}

	b.res.add(t, factory.KindPipeline, flaky(false))
	calls := len(b.fake.ran())
	started, err := b.r.Rerun(ctx, ws, first.RunID, run.RerunOptions{FromFailure: true})
	if err != nil {
		t.Fatal(err)
	}
	second, by2 := b.wait(t, started.RunID)
	if second.Status != run.StatusSucceeded {
		t.Fatalf("rerun %s: %s", second.Status, second.Message)
	}
	count := map[string]int{}
	for _, n := range b.fake.ran()[calls:] {
		count[n]++
	}
	if count["A"] != 0 || count["B"] != 1 || count["C"] != 1 || count["DInner"] != 2 {
		t.Errorf("rerun from failure ran %v, want B, C and the ForEach's two iterations, not A", count)
	}
	if len(by2["A"]) != 0 {
		t.Errorf("reused A was recorded again: %+v", by2["A"])
	}
	for _, c := range b.fake.calls[calls:] {
		if c.Name == "B" && c.TypeProperties["seen"] != int64(41) {
			t.Errorf("B saw A's output as %v, want the reused 41", c.TypeProperties["seen"])
		}
	}
	if second.RunGroupID != first.RunGroupID || second.ReferenceRunID != first.RunID || !second.IsLatest {
		t.Errorf("rerun record %+v", second)
	}
	if old, _ := b.r.GetRun(ctx, ws, first.RunID); old.IsLatest {
		t.Error("the first run is still latest")
	}

	// A rerun of the rerun still finds A's output, kept by the first run.
	third, err := b.r.Rerun(ctx, ws, second.RunID, run.RerunOptions{StartActivity: "C"})
	if err != nil {
		t.Fatal(err)
	}
	calls = len(b.fake.ran())
	if pr, _ := b.wait(t, third.RunID); pr.Status != run.StatusSucceeded {
		t.Errorf("rerun from C: %s (%s)", pr.Status, pr.Message)
	}
	if ran := b.fake.ran()[calls:]; strings.Join(ran, ",") != "C" {
		t.Errorf("rerun from C ran %v", ran)
	}
	if _, err := b.r.Rerun(ctx, ws, second.RunID, run.RerunOptions{StartActivity: "DInner"}); err == nil {
		t.Error("rerun from a nested activity was accepted")
	}
}

// TestRerunRefusesRunning: a run in progress cannot be rerun.
func TestRerunRefusesRunning(t *testing.T) {
	t.Parallel()
	b := setup(t, pipeline("p", acts(act("Sleep", "Fake", `{"sleepMs": 30000}`))))
	ctx := context.Background()
	started, err := b.r.StartRun(ctx, run.RunRequest{Workspace: ws, Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.r.Rerun(ctx, ws, started.RunID, run.RerunOptions{}); !errors.Is(err, run.ErrNotDone) {
		t.Errorf("rerun of a running run: %v", err)
	}
	if err := b.r.Cancel(ctx, ws, started.RunID); err != nil {
		t.Fatal(err)
	}
	b.wait(t, started.RunID)
}

// TestRecover: a server killed mid-run leaves a run and an activity run
// InProgress; on start, Recover marks them Failed, and a rerun from
// failure reuses what had succeeded.
func TestRecover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, pipeline("p", acts(act("A", "Fake", `{"output": {"v": 1}}`), act("B", "Fake", ok, "A:Succeeded"))))
	// What a killed server leaves: A done, B started, the run open.
	t0 := time.Now().Add(-time.Minute).UTC()
	pr := run.PipelineRun{Workspace: ws, RunID: "r1", RunGroupID: "r1", PipelineName: "p", Status: run.StatusInProgress, RunStart: &t0,
		InvokedBy: run.InvokedBy{Name: "Manual", ID: "Manual", InvokedByType: "Manual"}, Parameters: map[string]any{}}
	if err := b.store.CreatePipelineRun(ctx, pr); err != nil {
		t.Fatal(err)
	}
	for _, a := range []run.ActivityRun{
		{Workspace: ws, PipelineRunID: "r1", ActivityRunID: "a1", ActivityName: "A", ActivityType: "Fake", Status: run.StatusSucceeded, ActivityRunStart: &t0, Output: map[string]any{"v": 1}},
		{Workspace: ws, PipelineRunID: "r1", ActivityRunID: "a2", ActivityName: "B", ActivityType: "Fake", Status: run.StatusInProgress, ActivityRunStart: &t0},
	} {
		if err := b.store.PutActivityRun(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := b.r.Recover(ctx)
	if err != nil || len(ids) != 1 || ids[0] != "r1" {
		t.Fatalf("recovered %v, %v", ids, err)
	}
	got, by := b.wait(t, "r1")
	if got.Status != run.StatusFailed || got.Message != "the server stopped during the run" || got.RunEnd == nil {
		t.Errorf("recovered run %+v", got)
	}
	if e := by["B"][0].Error; by["B"][0].Status != run.StatusFailed || e == nil || e.FailureType != "SystemError" {
		t.Errorf("recovered B %+v", by["B"][0])
	}
	again, err := b.r.Rerun(ctx, ws, "r1", run.RerunOptions{FromFailure: true})
	if err != nil {
		t.Fatal(err)
	}
	if pr, _ := b.wait(t, again.RunID); pr.Status != run.StatusSucceeded {
		t.Errorf("rerun %s", pr.Status)
	}
	if ran := b.fake.ran(); strings.Join(ran, ",") != "B" {
		t.Errorf("rerun ran %v, want only B", ran)
	}
}

// TestCloseMidRun: a runner closed under a run (the server stopping)
// records it Failed as Recover would, so it can be rerun from failure.
func TestCloseMidRun(t *testing.T) {
	t.Parallel()
	b := setup(t, pipeline("p", acts(act("Sleep", "Fake", `{"sleepMs": 30000}`))))
	ctx := context.Background()
	started, err := b.r.StartRun(ctx, run.RunRequest{Workspace: ws, Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(b.fake.ran()) == 1 })
	b.r.Close()
	got, err := b.store.GetPipelineRun(ctx, ws, started.RunID)
	if err != nil || got.Status != run.StatusFailed || got.Message != "the server stopped during the run" {
		t.Errorf("run after close: %+v, %v", got, err)
	}
	b.r = b.newRunner(t)
}
