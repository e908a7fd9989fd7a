package tracking_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

func envMap(kvs []string) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestObserverPipeline(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	ctx := context.Background()
	obs := tracking.NewObserver(tracking.ObserverConfig{Store: b.st, BaseURL: "http://host:1", Token: "tok"})
	step := func(name string, attempt int) engine.StepInfo {
		return engine.StepInfo{Workspace: "ws", Job: "job1", JobType: "pipeline", Experiment: "exp",
			Display: "my pipeline", Step: name, Attempt: attempt}
	}
	env1, err := obs.StepStarting(ctx, step("train", 1))
	if err != nil {
		t.Fatal(err)
	}
	e := envMap(env1)
	if e["MLFLOW_TRACKING_URI"] != "http://host:1/ws/ws" || e["MLFLOW_EXPERIMENT_NAME"] != "exp" ||
		e["MLFLOW_TRACKING_TOKEN"] != "tok" || len(e["MLFLOW_RUN_ID"]) != 32 ||
		!strings.Contains(e["MLFLOW_RUN_CONTEXT"], e["MLFLOW_RUN_ID"]) {
		t.Fatalf("step environment: %v", e)
	}
	obs.StepFinished(ctx, step("train", 1), engine.StatusFailed)
	env2, err := obs.StepStarting(ctx, step("train", 2)) // the retry keeps the run
	if err != nil {
		t.Fatal(err)
	}
	if got := envMap(env2)["MLFLOW_RUN_ID"]; got != e["MLFLOW_RUN_ID"] {
		t.Errorf("retry got run %s, want %s", got, e["MLFLOW_RUN_ID"])
	}
	if r, _ := b.st.GetRun(ctx, "ws", e["MLFLOW_RUN_ID"]); r.Info.Status != tracking.StatusRunning {
		t.Errorf("retried run status %s", r.Info.Status)
	}
	obs.StepFinished(ctx, step("train", 2), engine.StatusCompleted)
	obs.StepFinished(ctx, step("reused", 0), engine.StatusCompleted) // reused: never started
	if _, err := obs.StepStarting(ctx, step("stuck", 1)); err != nil {
		t.Fatal(err)
	}
	obs.JobFinished(ctx, "ws", "job1", engine.StatusCanceled)

	links, err := b.st.JobRuns(ctx, "ws", "job1")
	if err != nil || len(links) != 4 {
		t.Fatalf("job runs: %v %v", links, err)
	}
	want := map[string]string{"": tracking.StatusKilled, "train": tracking.StatusFinished,
		"reused": tracking.StatusFinished, "stuck": tracking.StatusKilled}
	var parent string
	for _, l := range links {
		if l.Step == "" {
			parent = l.RunID
		}
	}
	for _, l := range links {
		r, err := b.st.GetRun(ctx, "ws", l.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Info.Status != want[l.Step] || r.Info.EndTime == nil {
			t.Errorf("run of step %q: status %s end %v, want %s", l.Step, r.Info.Status, r.Info.EndTime, want[l.Step])
		}
		if l.Step != "" && (r.Tag(tracking.TagParentRunID) != parent || r.Info.RunName != l.Step || r.Tag(tracking.TagCielStep) != l.Step) {
			t.Errorf("step run %q: name %q tags %v", l.Step, r.Info.RunName, r.Tags)
		}
		if l.Step == "" && r.Info.RunName != "my pipeline" {
			t.Errorf("parent run name %q", r.Info.RunName)
		}
	}
}

func TestObserverCommandJob(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	ctx := context.Background()
	obs := tracking.NewObserver(tracking.ObserverConfig{Store: b.st, BaseURL: "http://h"})
	s := engine.StepInfo{Workspace: "ws", Job: "cmd1", JobType: "command", Experiment: "Default", Display: "hello", Step: "main"}
	env, err := obs.StepStarting(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	id := envMap(env)["MLFLOW_RUN_ID"]
	obs.StepFinished(ctx, s, engine.StatusCompleted)
	obs.JobFinished(ctx, "ws", "cmd1", engine.StatusCompleted)
	r, err := b.st.GetRun(ctx, "ws", id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.ExperimentID != "0" || r.Info.RunName != "hello" || r.Info.Status != tracking.StatusFinished || r.Tag(tracking.TagParentRunID) != "" {
		t.Errorf("command job run: %+v", r)
	}
	if _, ok := envMap(env)["MLFLOW_TRACKING_TOKEN"]; ok {
		t.Error("no token configured, none expected in the environment")
	}
}

func TestObserverUnknownWorkspace(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	obs := tracking.NewObserver(tracking.ObserverConfig{Store: b.st, BaseURL: "http://h"})
	_, err := obs.StepStarting(context.Background(), engine.StepInfo{Workspace: "gone", Job: "j", JobType: "command",
		Experiment: "e", Step: "main"})
	if err == nil {
		t.Error("a step in an unknown workspace must fail to start")
	}
}

// TestObserverExperimentDeletedMidJob checks a step still gets a run when
// the job's experiment was deleted after an earlier step started.
func TestObserverExperimentDeletedMidJob(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	ctx := context.Background()
	obs := tracking.NewObserver(tracking.ObserverConfig{Store: b.st, BaseURL: "http://h"})
	step := func(name string) engine.StepInfo {
		return engine.StepInfo{Workspace: "ws", Job: "j", JobType: "pipeline", Experiment: "gone", Display: "p", Step: name, Attempt: 1}
	}
	if _, err := obs.StepStarting(ctx, step("a")); err != nil {
		t.Fatal(err)
	}
	e, err := b.st.GetExperimentByName(ctx, "ws", "gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.st.SetExperimentStage(ctx, "ws", e.ID, tracking.StageDeleted); err != nil {
		t.Fatal(err)
	}
	env, err := obs.StepStarting(ctx, step("b"))
	if err != nil {
		t.Fatalf("step after the experiment was deleted: %v", err)
	}
	r, err := b.st.GetRun(ctx, "ws", envMap(env)["MLFLOW_RUN_ID"])
	if err != nil || r.Info.ExperimentID != e.ID || r.Info.LifecycleStage != tracking.StageActive {
		t.Errorf("run of step b: %+v %v", r.Info, err)
	}
}
