package sqldb

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/schedule"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/trigger"
)

func openSchedules(t *testing.T) (*ScheduleStore, *Store) {
	t.Helper()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	for _, ws := range []string{"ws", "ws2"} {
		if err := s.CreateWorkspace(t.Context(), store.Workspace{Name: ws}); err != nil {
			t.Fatal(err)
		}
	}
	return s.Schedules(), s
}

func testSchedule(ws, name string, next time.Time) schedule.Schedule {
	return schedule.Schedule{Workspace: ws, Name: name, Trigger: trigger.Definition{Type: "cron", Expression: "* * * * *"},
		Job: &spec.Job{Type: spec.JobCommand, Command: "echo hi"}, Since: next.Add(-time.Minute), Enabled: true, NextFire: next}
}

func TestSchedules(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, _ := openSchedules(t)
	t0 := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)

	a, err := c.PutSchedule(ctx, testSchedule("ws", "a", t0))
	if err != nil {
		t.Fatal(err)
	}
	if a.Revision != 1 || a.CreatedAt.IsZero() {
		t.Fatalf("created %+v", a)
	}
	if _, err := c.PutSchedule(ctx, testSchedule("ws", "b", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSchedule(ctx, testSchedule("nope", "a", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing workspace: %v, want ErrNotFound", err)
	}
	upd := testSchedule("ws", "a", t0.Add(2*time.Minute))
	upd.Description = "changed"
	a2, err := c.PutSchedule(ctx, upd)
	if err != nil || a2.Revision != 2 || !a2.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("replace: %+v, %v", a2, err)
	}
	got, err := c.GetSchedule(ctx, "ws", "a")
	if err != nil || got.Description != "changed" || !got.NextFire.Equal(t0.Add(2*time.Minute)) || got.Job.Command != "echo hi" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := c.GetSchedule(ctx, "ws", "zz"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	list, err := c.ListSchedules(ctx, "ws")
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if list, err := c.ListSchedules(ctx, "ws2"); err != nil || len(list) != 0 {
		t.Fatalf("empty workspace: %+v, %v", list, err)
	}
	if _, err := c.ListSchedules(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("list in a missing workspace: %v", err)
	}

	due, err := c.DueSchedules(ctx, t0.Add(30*time.Minute))
	if err != nil || len(due) != 1 || due[0].Name != "a" {
		t.Fatalf("due: %+v, %v", due, err)
	}
	off, err := c.SetScheduleEnabled(ctx, "ws", "a", false, time.Time{})
	if err != nil || off.Enabled || !off.NextFire.IsZero() || off.Revision != 3 {
		t.Fatalf("disable: %+v, %v", off, err)
	}
	if due, _ := c.DueSchedules(ctx, t0.Add(24*time.Hour)); len(due) != 1 || due[0].Name != "b" {
		t.Fatalf("due after disabling a: %+v", due)
	}
	if _, err := c.SetScheduleEnabled(ctx, "ws", "zz", true, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("enable missing: %v", err)
	}
	if err := c.DeleteSchedule(ctx, "ws", "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSchedule(ctx, "ws", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestFireSchedule checks that a firing records the job, the firing and
// the next fire time together, only against the schedule it read.
func TestFireSchedule(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, s := openSchedules(t)
	t0 := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	sc, err := c.PutSchedule(ctx, testSchedule("ws", "a", t0))
	if err != nil {
		t.Fatal(err)
	}
	job := store.Job{Workspace: "ws", Name: "job1", Type: spec.JobCommand, Status: "Queued", Spec: []byte(`{}`), Plan: []byte(`{}`)}
	steps := []store.Step{{Name: "main", Status: "NotStarted"}}
	f := schedule.Firing{Workspace: "ws", Schedule: "a", TriggerTime: t0, FiredAt: t0.Add(time.Second), Job: "job1"}
	next := t0.Add(time.Minute)

	// A schedule changed since it was read is not fired.
	stale := sc
	stale.Revision--
	if err := c.FireSchedule(ctx, stale, f, next, &job, steps); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale revision: %v, want ErrConflict", err)
	}
	if _, err := s.GetJob(ctx, "ws", "job1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused firing left its job: %v", err)
	}

	if err := c.FireSchedule(ctx, sc, f, next, &job, steps); err != nil {
		t.Fatal(err)
	}
	if j, err := s.GetJob(ctx, "ws", "job1"); err != nil || j.Status != "Queued" {
		t.Fatalf("fired job: %+v, %v", j, err)
	}
	if st, err := s.ListSteps(ctx, "ws", "job1"); err != nil || len(st) != 1 {
		t.Fatalf("fired job's steps: %+v, %v", st, err)
	}
	after, _ := c.GetSchedule(ctx, "ws", "a")
	if !after.NextFire.Equal(next) || after.Revision != sc.Revision {
		t.Fatalf("after firing: next %s revision %d", after.NextFire, after.Revision)
	}
	// The same firing again (a second server, a retry) finds next_fire moved.
	job.Name = "job2"
	if err := c.FireSchedule(ctx, sc, f, next, &job, steps); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("fired twice: %v, want ErrConflict", err)
	}
	// A firing whose job name is taken records nothing.
	job.Name = "job1"
	if err := c.FireSchedule(ctx, after, f, next.Add(time.Minute), &job, steps); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken job name: %v, want ErrConflict", err)
	}
	if again, _ := c.GetSchedule(ctx, "ws", "a"); !again.NextFire.Equal(next) {
		t.Fatalf("a failed firing moved next_fire to %s", again.NextFire)
	}
	// A failed firing (no job) and the end of the schedule (no next).
	failed := schedule.Firing{Workspace: "ws", Schedule: "a", TriggerTime: next, FiredAt: next, Error: "compute gone"}
	if err := c.FireSchedule(ctx, after, failed, time.Time{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	fs, err := c.ListFirings(ctx, "ws", "a", 10)
	if err != nil || len(fs) != 2 || fs[0].Error != "compute gone" || fs[1].Job != "job1" || !fs[1].TriggerTime.Equal(t0) {
		t.Fatalf("firings: %+v, %v", fs, err)
	}
	if due, _ := c.DueSchedules(ctx, t0.Add(24*time.Hour)); len(due) != 0 {
		t.Fatalf("a schedule with no next fire time is due: %+v", due)
	}
	// Deleting the workspace deletes its schedules and their firings.
	if err := s.DeleteWorkspace(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
	if fs, _ := c.ListFirings(ctx, "ws", "a", 10); len(fs) != 0 {
		t.Fatalf("firings outlived their workspace: %+v", fs)
	}
}
