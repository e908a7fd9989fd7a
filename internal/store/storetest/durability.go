package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

const (
	writers        = 16 // goroutines updating steps at once
	stepsPerWriter = 8
)

// stepNames returns the steps writer g owns.
func stepNames(g int) []string {
	out := make([]string, stepsPerWriter)
	for i := range out {
		out[i] = fmt.Sprintf("w%02d/s%02d", g, i)
	}
	return out
}

// finalStep is the state runSteps leaves step name in.
func finalStep(ws, job, name string) store.Step {
	return store.Step{Workspace: ws, Job: job, Name: name, Status: "Completed", Attempt: 1, PID: 100,
		ExitCode: intp(0), Outputs: map[string]string{"out": "sha256:" + name},
		StartedAt: at(time.Second), EndedAt: at(2 * time.Second)}
}

// runSteps has `writers` goroutines drive every step of job through
// Queued, Running and Completed, one UpdateSteps call per change, while
// others read, and while some callers' updates fail. It returns the names
// of every step.
func runSteps(t *testing.T, s store.Store, ws, job string) []string {
	t.Helper()
	ctx := t.Context()
	var all []string
	for g := range writers {
		all = append(all, stepNames(g)...)
	}
	steps := make([]store.Step, len(all))
	for i, n := range all {
		steps[i] = store.Step{Name: n, Status: "NotStarted"}
	}
	noErr(t, s.CreateJob(ctx, store.Job{Workspace: ws, Name: job, Status: "Running", CreatedAt: base}, steps),
		"create job")

	var wg sync.WaitGroup
	done := make(chan struct{})
	for g := range writers {
		wg.Go(func() {
			for _, n := range stepNames(g) {
				st := store.Step{Workspace: ws, Job: job, Name: n, Status: "Queued"}
				if err := s.UpdateSteps(ctx, st); err != nil {
					t.Errorf("writer %d: queue %s: %v", g, n, err)
					return
				}
				st.Status, st.Attempt, st.PID, st.StartedAt = "Running", 1, 100, at(time.Second)
				if err := s.UpdateSteps(ctx, st); err != nil {
					t.Errorf("writer %d: start %s: %v", g, n, err)
					return
				}
				if g%4 == 0 {
					// A caller whose update fails shares batches with the
					// others and must not take them down with it.
					bad := store.Step{Workspace: ws, Job: job, Name: n + "-missing", Status: "Running"}
					isErr(t, s.UpdateSteps(ctx, bad), store.ErrNotFound, "update missing step")
				}
				if err := s.UpdateSteps(ctx, finalStep(ws, job, n)); err != nil {
					t.Errorf("writer %d: finish %s: %v", g, n, err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.ListSteps(ctx, ws, job); err != nil {
					t.Errorf("list steps while writing: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	return all
}

// checkSteps fails unless every step of job is in its final state.
func checkSteps(t *testing.T, s store.Store, ws, job string, all []string) {
	t.Helper()
	got, err := s.ListSteps(t.Context(), ws, job)
	noErr(t, err, "list steps")
	want := make([]store.Step, len(all))
	for i, n := range all {
		want[i] = finalStep(ws, job, n)
	}
	same(t, "steps after concurrent updates", got, want)
}

func testConcurrentUpdateSteps(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	fixture(t, s, "ws")
	all := runSteps(t, s, "ws", "p")
	checkSteps(t, s, "ws", "p", all)
}

func testDurability(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	w := store.Workspace{Name: "ws", Description: "kept", Tags: map[string]string{"k": "v"}, CreatedAt: base}
	noErr(t, s.CreateWorkspace(ctx, w), "create workspace")
	fixture(t, s, "gone")

	var assets []store.Asset
	for _, v := range []string{"1", "2", "3"} {
		a := data("d", v, v)
		noErr(t, s.PutAsset(ctx, a, false), "put "+v)
		assets = append([]store.Asset{a}, assets...)
	}
	noErr(t, s.PutAsset(ctx, data("d", "2", "replaced"), true), "replace 2")
	assets[1].Spec = json.RawMessage(`{"v":"replaced"}`)
	noErr(t, s.ArchiveAsset(ctx, "ws", store.KindData, "d", "3", true), "archive 3")
	assets[0].Archived = true
	noErr(t, s.PutAsset(ctx, data("tmp", "1", ""), false), "put tmp")
	noErr(t, s.DeleteAsset(ctx, "ws", store.KindData, "tmp", ""), "delete tmp")
	noErr(t, s.DeleteWorkspace(ctx, "gone"), "delete workspace")

	all := runSteps(t, s, "ws", "p")
	job, err := s.GetJob(ctx, "ws", "p")
	noErr(t, err, "get job")
	job.Status, job.EndedAt, job.Outputs = "Completed", at(time.Hour), map[string]string{"o": "sha256:o"}
	noErr(t, s.UpdateJob(ctx, job), "update job")
	r := store.Reuse{Key: "k", Workspace: "ws", Job: "p", Step: all[0],
		Outputs: map[string]string{"out": "sha256:x"}, CreatedAt: base}
	noErr(t, s.PutReuse(ctx, r), "put reuse")

	noErr(t, s.Close(), "close")
	s = open(t)

	gotW, err := s.GetWorkspace(ctx, "ws")
	noErr(t, err, "get workspace after reopen")
	same(t, "workspace after reopen", gotW, w)
	_, err = s.GetWorkspace(ctx, "gone")
	isErr(t, err, store.ErrNotFound, "deleted workspace after reopen")
	gotA, err := s.ListAssets(ctx, "ws", store.KindData, "d")
	noErr(t, err, "list assets after reopen")
	same(t, "assets after reopen", gotA, assets)
	_, err = s.GetAsset(ctx, "ws", store.KindData, "tmp", "1")
	isErr(t, err, store.ErrNotFound, "deleted asset after reopen")
	latest, err := s.GetAsset(ctx, "ws", store.KindData, "d", "")
	noErr(t, err, "latest after reopen")
	same(t, "latest after reopen", latest.Version, "2")
	gotJ, err := s.GetJob(ctx, "ws", "p")
	noErr(t, err, "get job after reopen")
	same(t, "job after reopen", gotJ, job)
	checkSteps(t, s, "ws", "p", all)
	gotR, err := s.GetReuse(ctx, "ws", "k")
	noErr(t, err, "get reuse after reopen")
	same(t, "reuse after reopen", gotR, r)
	active, err := s.ListActiveJobs(ctx)
	noErr(t, err, "active jobs after reopen")
	if len(active) != 0 {
		t.Errorf("active jobs after reopen: %v", names(active, jobName))
	}

	// The reopened store takes writes too.
	noErr(t, s.PutAsset(ctx, data("d", "4", "4"), false), "put after reopen")
}
