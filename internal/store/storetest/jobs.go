package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

func testJobs(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")

	want := store.Job{
		Workspace: "ws", Name: "train-1", Type: "command", DisplayName: "Train", ExperimentName: "exp",
		Status: "Queued", Spec: json.RawMessage(`{"command":"python train.py"}`),
		Plan: json.RawMessage(`{"steps":["train"]}`), CreatedAt: base,
	}
	// Steps may leave Workspace and Job empty: they belong to the job.
	noErr(t, s.CreateJob(ctx, want, []store.Step{{Name: "train", Status: "NotStarted"}}), "create")
	got, err := s.GetJob(ctx, "ws", "train-1")
	noErr(t, err, "get")
	same(t, "round trip", got, want)
	steps, err := s.ListSteps(ctx, "ws", "train-1")
	noErr(t, err, "list steps")
	same(t, "steps", steps, []store.Step{{Workspace: "ws", Job: "train-1", Name: "train", Status: "NotStarted"}})

	err = s.CreateJob(ctx, store.Job{Workspace: "ws", Name: "train-1", Status: "Running"},
		[]store.Step{{Name: "other"}})
	isErr(t, err, store.ErrConflict, "create taken name")
	got, err = s.GetJob(ctx, "ws", "train-1")
	noErr(t, err, "get after conflict")
	same(t, "unchanged by conflicting create", got, want)
	steps, err = s.ListSteps(ctx, "ws", "train-1")
	noErr(t, err, "list steps after conflict")
	same(t, "steps unchanged by conflicting create", names(steps, stepName), []string{"train"})

	// A duplicate step name fails the whole job: nothing is stored.
	err = s.CreateJob(ctx, store.Job{Workspace: "ws", Name: "dup"}, []store.Step{{Name: "a"}, {Name: "a"}})
	if err == nil {
		t.Error("create job with duplicate step names: no error")
	}
	_, err = s.GetJob(ctx, "ws", "dup")
	isErr(t, err, store.ErrNotFound, "job whose steps failed")

	// UpdateJob changes the mutable fields only.
	upd := want
	upd.Status, upd.Error = "Failed", "exit status 1"
	upd.Outputs = map[string]string{"model": "sha256:abc"}
	upd.StartedAt, upd.EndedAt = at(time.Second), at(time.Minute)
	upd.Archived, upd.CancelRequested = true, true
	sent := upd
	sent.DisplayName, sent.Type, sent.Spec = "ignored", "ignored", json.RawMessage(`{"ignored":true}`)
	sent.CreatedAt = base.Add(time.Hour)
	noErr(t, s.UpdateJob(ctx, sent), "update")
	got, err = s.GetJob(ctx, "ws", "train-1")
	noErr(t, err, "get after update")
	same(t, "after update", got, upd)

	// Clearing optional fields clears them.
	upd.Outputs, upd.StartedAt, upd.EndedAt, upd.Error = nil, nil, nil, ""
	upd.Archived, upd.CancelRequested = false, false
	noErr(t, s.UpdateJob(ctx, upd), "clear")
	got, err = s.GetJob(ctx, "ws", "train-1")
	noErr(t, err, "get after clear")
	same(t, "after clear", got, upd)

	// AddSteps adds steps to a job while it runs.
	noErr(t, s.AddSteps(ctx, store.Step{Workspace: "ws", Job: "train-1", Name: "trial_0", Status: "NotStarted",
		Outputs: map[string]string{"sweep/params": `{"lr":"0.1"}`}}), "add steps")
	steps, err = s.ListSteps(ctx, "ws", "train-1")
	noErr(t, err, "list steps after add")
	same(t, "added step", steps[1], store.Step{Workspace: "ws", Job: "train-1", Name: "trial_0", Status: "NotStarted",
		Outputs: map[string]string{"sweep/params": `{"lr":"0.1"}`}})
	isErr(t, s.AddSteps(ctx, store.Step{Workspace: "ws", Job: "train-1", Name: "trial_0"}), store.ErrConflict, "add taken step")
	isErr(t, s.AddSteps(ctx, store.Step{Workspace: "ws", Job: "nope", Name: "trial_0"}), store.ErrNotFound, "add to missing job")

	_, err = s.GetJob(ctx, "ws", "nope")
	isErr(t, err, store.ErrNotFound, "get missing")
	isErr(t, s.UpdateJob(ctx, store.Job{Workspace: "ws", Name: "nope"}), store.ErrNotFound, "update missing")
	isErr(t, s.UpdateJob(ctx, store.Job{Workspace: "other", Name: "train-1"}), store.ErrNotFound,
		"update in missing workspace")
}

func testListJobs(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")

	jobs, err := s.ListJobs(ctx, "ws", true)
	noErr(t, err, "list empty")
	if len(jobs) != 0 {
		t.Errorf("empty workspace lists %v", jobs)
	}
	// Same CreatedAt for all: creation order decides "newest".
	for _, n := range []string{"b", "c", "a", "d"} {
		newJob(t, s, "ws", n)
	}
	for _, n := range []string{"c", "d"} {
		j, err := s.GetJob(ctx, "ws", n)
		noErr(t, err, "get "+n)
		j.Archived = true
		noErr(t, s.UpdateJob(ctx, j), "archive "+n)
	}
	for _, tc := range []struct {
		name     string
		archived bool
		want     []string
	}{
		{"without archived", false, []string{"a", "b"}},
		{"with archived", true, []string{"d", "a", "c", "b"}},
	} {
		jobs, err := s.ListJobs(ctx, "ws", tc.archived)
		noErr(t, err, tc.name)
		same(t, tc.name, names(jobs, jobName), tc.want)
	}
}

func testListActiveJobs(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws1")
	fixture(t, s, "ws2")

	status := map[string]string{
		"queued": "Queued", "running": "Running", "not-started": "NotStarted",
		"cancel-requested": "CancelRequested", "done": "Completed", "failed": "Failed", "canceled": "Canceled",
	}
	order := []string{"queued", "running", "done", "not-started", "failed", "cancel-requested", "canceled"}
	for i, n := range order {
		ws := []string{"ws1", "ws2"}[i%2]
		noErr(t, s.CreateJob(ctx, store.Job{Workspace: ws, Name: n, Status: status[n], CreatedAt: base}, nil),
			"create "+n)
	}
	active, err := s.ListActiveJobs(ctx)
	noErr(t, err, "list active")
	got := map[string]bool{}
	for _, j := range active {
		got[j.Workspace+"/"+j.Name] = true
	}
	same(t, "active jobs", got, map[string]bool{
		"ws1/queued": true, "ws2/running": true, "ws2/not-started": true, "ws2/cancel-requested": true,
	})

	// A job that finishes drops out.
	noErr(t, s.UpdateJob(ctx, store.Job{Workspace: "ws2", Name: "running", Status: "Completed"}), "finish")
	active, err = s.ListActiveJobs(ctx)
	noErr(t, err, "list active after finish")
	if len(active) != 3 {
		t.Errorf("after one finished, %d active jobs, want 3", len(active))
	}
}

func testSteps(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")
	newJob(t, s, "ws", "p", "train", "sub/train", "b", "a", "prep")

	steps, err := s.ListSteps(ctx, "ws", "p")
	noErr(t, err, "list")
	same(t, "ordered by name", names(steps, stepName), []string{"a", "b", "prep", "sub/train", "train"})

	full := store.Step{
		Workspace: "ws", Job: "p", Name: "train", Status: "Completed", Attempt: 2,
		ReusedFrom: "old/train", Outputs: map[string]string{"model": "sha256:1"}, Error: "first try died",
		ExitCode: intp(0), PID: 4242, StartedAt: at(time.Second), EndedAt: at(2 * time.Second),
		Log: "sha256:" + strings.Repeat("0", 64),
	}
	failed := store.Step{Workspace: "ws", Job: "p", Name: "a", Status: "Failed", Attempt: 1, ExitCode: intp(137)}
	noErr(t, s.UpdateSteps(ctx, full, failed), "update two")
	noErr(t, s.UpdateSteps(ctx), "update none")
	steps, err = s.ListSteps(ctx, "ws", "p")
	noErr(t, err, "list after update")
	same(t, "after update", steps, []store.Step{
		failed,
		{Workspace: "ws", Job: "p", Name: "b", Status: "NotStarted"},
		{Workspace: "ws", Job: "p", Name: "prep", Status: "NotStarted"},
		{Workspace: "ws", Job: "p", Name: "sub/train", Status: "NotStarted"},
		full,
	})

	// Retrying clears what the new attempt has not produced yet.
	retry := store.Step{Workspace: "ws", Job: "p", Name: "train", Status: "Running", Attempt: 3, PID: 99,
		StartedAt: at(time.Minute)}
	noErr(t, s.UpdateSteps(ctx, retry), "retry")
	steps, err = s.ListSteps(ctx, "ws", "p")
	noErr(t, err, "list after retry")
	same(t, "after retry", steps[4], retry)

	_, err = s.ListSteps(ctx, "ws", "nope")
	isErr(t, err, store.ErrNotFound, "list steps of missing job")
	newJob(t, s, "ws", "empty")
	steps, err = s.ListSteps(ctx, "ws", "empty")
	noErr(t, err, "list steps of job without steps")
	if len(steps) != 0 {
		t.Errorf("job without steps lists %v", steps)
	}
}

func testUpdateStepsAtomic(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")
	newJob(t, s, "ws", "p", "a", "b")

	for _, tc := range []struct {
		name  string
		steps []store.Step
	}{
		{"missing step", []store.Step{
			{Workspace: "ws", Job: "p", Name: "a", Status: "Running"},
			{Workspace: "ws", Job: "p", Name: "zzz", Status: "Running"},
		}},
		{"missing job", []store.Step{
			{Workspace: "ws", Job: "p", Name: "b", Status: "Running"},
			{Workspace: "ws", Job: "nope", Name: "a", Status: "Running"},
		}},
		{"missing workspace", []store.Step{
			{Workspace: "ws", Job: "p", Name: "a", Status: "Running"},
			{Workspace: "nope", Job: "p", Name: "a", Status: "Running"},
		}},
	} {
		isErr(t, s.UpdateSteps(ctx, tc.steps...), store.ErrNotFound, tc.name)
		steps, err := s.ListSteps(ctx, "ws", "p")
		noErr(t, err, tc.name+": list")
		for _, st := range steps {
			if st.Status != "NotStarted" {
				t.Errorf("%s: step %s changed to %s by a failed update", tc.name, st.Name, st.Status)
			}
		}
	}
}

func testReuse(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")

	_, err := s.GetReuse(ctx, "ws", "k1")
	isErr(t, err, store.ErrNotFound, "get before put")
	r := store.Reuse{Key: "k1", Workspace: "ws", Job: "j1", Step: "train",
		Outputs: map[string]string{"model": "sha256:1"}, CreatedAt: base}
	noErr(t, s.PutReuse(ctx, r), "put")
	got, err := s.GetReuse(ctx, "ws", "k1")
	noErr(t, err, "get")
	same(t, "round trip", got, r)

	r2 := store.Reuse{Key: "k1", Workspace: "ws", Job: "j2", Step: "train",
		Outputs: map[string]string{"model": "sha256:2"}, CreatedAt: base.Add(time.Hour)}
	noErr(t, s.PutReuse(ctx, r2), "replace")
	got, err = s.GetReuse(ctx, "ws", "k1")
	noErr(t, err, "get replaced")
	same(t, "replaced", got, r2)

	_, err = s.GetReuse(ctx, "ws", "k2")
	isErr(t, err, store.ErrNotFound, "get other key")
	_, err = s.GetReuse(ctx, "elsewhere", "k1")
	isErr(t, err, store.ErrNotFound, "get in missing workspace")
}

func testCancelledWrite(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	fixture(t, s, "ws")
	newJob(t, s, "ws", "p", "a")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.UpdateSteps(ctx, store.Step{Workspace: "ws", Job: "p", Name: "a", Status: "Running"})
	isErr(t, err, context.Canceled, "update with cancelled context")
	steps, err := s.ListSteps(t.Context(), "ws", "p")
	noErr(t, err, "list")
	same(t, "status after cancelled update", steps[0].Status, "NotStarted")
	isErr(t, s.CreateWorkspace(ctx, store.Workspace{Name: "late"}), context.Canceled, "create with cancelled context")
	_, err = s.GetWorkspace(t.Context(), "late")
	isErr(t, err, store.ErrNotFound, "workspace from cancelled create")
}
