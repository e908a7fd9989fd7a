package schedule_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/schedule"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
	"github.com/ciel-mlops/ciel/internal/trigger"
)

// fakeJobs stands in for the engine: Prepare makes the rows of a one-step
// job (or fails with err), Start records the jobs started.
type fakeJobs struct {
	mu      sync.Mutex
	err     error
	started []engine.Prepared
}

func (f *fakeJobs) Prepare(_ context.Context, ws string, job *spec.Job) (engine.Prepared, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return engine.Prepared{}, f.err
	}
	name := job.Name
	if name == "" {
		name = engine.NewJobName()
	}
	b, _ := json.Marshal(job)
	return engine.Prepared{
		Job: store.Job{Workspace: ws, Name: name, Type: job.Type, DisplayName: job.DisplayName, ExperimentName: job.ExperimentName,
			Status: engine.StatusQueued, Spec: b, Plan: []byte(`{}`)},
		Steps: []store.Step{{Name: "main", Status: engine.StatusNotStarted}},
	}, nil
}

func (f *fakeJobs) Start(p engine.Prepared) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, p)
}

func (f *fakeJobs) startedJobs() []engine.Prepared {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Prepared(nil), f.started...)
}

// bundle is what a test drives: the service, its store, its clock.
type bundle struct {
	svc   *schedule.Service
	st    *sqldb.Store
	jobs  *fakeJobs
	clock *time.Time
}

// setup opens a store at path (a new one when ""), with workspace ws, and a
// service on it whose clock starts at now.
func setup(t *testing.T, path string, now time.Time) *bundle {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "ciel.db")
	}
	st, err := sqldb.Open(t.Context(), sqldb.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil && !errors.Is(err, store.ErrConflict) {
		t.Fatal(err)
	}
	b := &bundle{st: st, jobs: &fakeJobs{}, clock: &now}
	b.svc = schedule.New(schedule.Config{Store: st.Schedules(), Jobs: b.jobs, Existing: st, Now: func() time.Time { return *b.clock }})
	return b
}

func commandJob() *spec.Job {
	v := "hello"
	return &spec.Job{Type: spec.JobCommand, Command: "echo ${{inputs.greeting}}", Name: "fixed",
		Inputs: map[string]*spec.InputValue{"greeting": {Value: &v, Kind: "string"}}}
}

func cronSchedule(name, expr string) *spec.Schedule {
	return &spec.Schedule{Name: name, Trigger: trigger.Definition{Type: "cron", Expression: expr},
		CreateJob: spec.ScheduledJob{Job: commandJob(), Source: "./job.yml"}}
}

// jobsOf returns the jobs of ws a schedule started, oldest first.
func (b *bundle) jobsOf(t *testing.T, name string) []store.Job {
	t.Helper()
	all, err := b.st.ListJobs(t.Context(), "ws", true)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Job
	for i := len(all) - 1; i >= 0; i-- {
		var sj spec.Job
		if err := json.Unmarshal(all[i].Spec, &sj); err != nil {
			t.Fatal(err)
		}
		if sj.Tags[schedule.TagScheduleName] == name {
			out = append(out, all[i])
		}
	}
	return out
}

func (b *bundle) fire(t *testing.T, at time.Time) {
	t.Helper()
	*b.clock = at
	if err := b.svc.FireDue(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestFiring(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 1, 10, 0, 20, 0, time.UTC)
	b := setup(t, "", t0)
	sc, err := b.svc.Create(t.Context(), "ws", cronSchedule("every_minute", "* * * * *"))
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Truncate(time.Minute).Add(time.Minute); !sc.NextFire.Equal(want) || !sc.Enabled {
		t.Fatalf("created: next %s enabled %v, want next %s", sc.NextFire, sc.Enabled, want)
	}
	b.fire(t, t0.Add(30*time.Second)) // 10:00:50: not due
	if n := len(b.jobsOf(t, "every_minute")); n != 0 {
		t.Fatalf("%d jobs before the first time", n)
	}
	b.fire(t, sc.NextFire.Add(200*time.Millisecond))
	b.fire(t, sc.NextFire.Add(900*time.Millisecond)) // a second tick in the same minute
	jobs := b.jobsOf(t, "every_minute")
	if len(jobs) != 1 || len(b.jobs.startedJobs()) != 1 {
		t.Fatalf("after one due time: %d jobs, %d started; want 1", len(jobs), len(b.jobs.startedJobs()))
	}
	j := jobs[0]
	var sj spec.Job
	_ = json.Unmarshal(j.Spec, &sj)
	if j.DisplayName != "every_minute-20240101T100100Z" || j.ExperimentName != "every_minute" || j.Name == "fixed" ||
		sj.Tags[schedule.TagTriggerTime] != "2024-01-01T10:01:00Z" || *sj.Inputs["greeting"].Value != "hello" {
		t.Fatalf("fired job: %+v %+v", j, sj)
	}
	got, _ := b.svc.Get(t.Context(), "ws", "every_minute")
	if want := time.Date(2024, 1, 1, 10, 2, 0, 0, time.UTC); !got.NextFire.Equal(want) {
		t.Fatalf("next after firing: %s, want %s", got.NextFire, want)
	}
	fs, _ := b.svc.Firings(t.Context(), "ws", "every_minute", 10)
	if len(fs) != 1 || fs[0].Job != j.Name {
		t.Fatalf("firings: %+v", fs)
	}
}

// TestCatchUpAndRestart: times that passed while no server ran fire once,
// and a restarted service does not fire them again.
func TestCatchUpAndRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ciel.db")
	t0 := time.Date(2024, 1, 1, 10, 0, 20, 0, time.UTC)
	b := setup(t, path, t0)
	if _, err := b.svc.Create(t.Context(), "ws", cronSchedule("s", "*/5 * * * *")); err != nil {
		t.Fatal(err)
	}
	b.st.Close()

	// Down from 10:00:20 to 10:31:10: the 10:05 ... 10:30 times passed.
	back := time.Date(2024, 1, 1, 10, 31, 10, 0, time.UTC)
	b2 := setup(t, path, back)
	b2.fire(t, back)
	jobs := b2.jobsOf(t, "s")
	if len(jobs) != 1 || jobs[0].DisplayName != "s-20240101T100500Z" {
		t.Fatalf("after the downtime: %+v, want one job for 10:05", jobs)
	}
	sc, _ := b2.svc.Get(t.Context(), "ws", "s")
	if want := time.Date(2024, 1, 1, 10, 35, 0, 0, time.UTC); !sc.NextFire.Equal(want) {
		t.Fatalf("next: %s, want %s", sc.NextFire, want)
	}
	b2.st.Close()

	// Restarted again at once: nothing is due, nothing fires twice.
	b3 := setup(t, path, back.Add(time.Second))
	b3.fire(t, back.Add(time.Second))
	if n := len(b3.jobsOf(t, "s")); n != 1 {
		t.Fatalf("restart fired again: %d jobs", n)
	}
	b3.fire(t, time.Date(2024, 1, 1, 10, 35, 0, 0, time.UTC))
	if n := len(b3.jobsOf(t, "s")); n != 2 {
		t.Fatalf("next time: %d jobs, want 2", n)
	}
}

func TestDisableEnableDelete(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 1, 10, 0, 20, 0, time.UTC)
	b := setup(t, "", t0)
	ctx := t.Context()
	if _, err := b.svc.Create(ctx, "ws", cronSchedule("s", "* * * * *")); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Delete(ctx, "ws", "s"); !errors.Is(err, schedule.ErrEnabled) {
		t.Fatalf("delete enabled: %v, want ErrEnabled", err)
	}
	off, err := b.svc.SetEnabled(ctx, "ws", "s", false)
	if err != nil || off.Enabled {
		t.Fatalf("disable: %+v, %v", off, err)
	}
	b.fire(t, t0.Add(10*time.Minute))
	if n := len(b.jobsOf(t, "s")); n != 0 {
		t.Fatalf("a disabled schedule fired %d jobs", n)
	}
	on, err := b.svc.SetEnabled(ctx, "ws", "s", true)
	if want := time.Date(2024, 1, 1, 10, 11, 0, 0, time.UTC); err != nil || !on.NextFire.Equal(want) {
		t.Fatalf("enable: next %s, %v; want %s (the missed times do not fire)", on.NextFire, err, want)
	}
	b.fire(t, t0.Add(10*time.Minute+5*time.Second))
	if n := len(b.jobsOf(t, "s")); n != 0 {
		t.Fatalf("enabling fired %d missed jobs", n)
	}
	b.fire(t, time.Date(2024, 1, 1, 10, 11, 0, 0, time.UTC))
	if n := len(b.jobsOf(t, "s")); n != 1 {
		t.Fatalf("enabled: %d jobs, want 1", n)
	}
	if _, err := b.svc.SetEnabled(ctx, "ws", "s", false); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Delete(ctx, "ws", "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Get(ctx, "ws", "s"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if n := len(b.jobsOf(t, "s")); n != 1 {
		t.Fatalf("deleting the schedule deleted its jobs: %d left", n)
	}
}

func TestFailedFiringCarriesOn(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 1, 10, 0, 20, 0, time.UTC)
	b := setup(t, "", t0)
	if _, err := b.svc.Create(t.Context(), "ws", cronSchedule("s", "* * * * *")); err != nil {
		t.Fatal(err)
	}
	b.jobs.err = spec.Errorf(spec.Pos{}, "compute %q not found", "cpu")
	b.fire(t, time.Date(2024, 1, 1, 10, 1, 0, 0, time.UTC))
	fs, _ := b.svc.Firings(t.Context(), "ws", "s", 10)
	if len(fs) != 1 || fs[0].Job != "" || fs[0].Error == "" {
		t.Fatalf("failed firing: %+v", fs)
	}
	b.jobs.err = nil
	b.fire(t, time.Date(2024, 1, 1, 10, 2, 0, 0, time.UTC))
	if n := len(b.jobsOf(t, "s")); n != 1 {
		t.Fatalf("after a failed firing: %d jobs, want 1", n)
	}
}

func TestEndTime(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 1, 10, 0, 20, 0, time.UTC)
	b := setup(t, "", t0)
	def := cronSchedule("s", "* * * * *")
	def.Trigger.EndTime = "2024-01-01T10:02:00Z"
	if _, err := b.svc.Create(t.Context(), "ws", def); err != nil {
		t.Fatal(err)
	}
	for m := 1; m <= 4; m++ {
		b.fire(t, time.Date(2024, 1, 1, 10, m, 0, 0, time.UTC))
	}
	if n := len(b.jobsOf(t, "s")); n != 2 {
		t.Fatalf("%d jobs, want 2 (10:01 and 10:02)", n)
	}
	sc, _ := b.svc.Get(t.Context(), "ws", "s")
	if !sc.NextFire.IsZero() {
		t.Fatalf("next after the end: %s", sc.NextFire)
	}
	def.Name, def.Trigger.EndTime = "past", "2023-01-01T00:00:00Z"
	def.Trigger.StartTime = "2022-01-01T00:00:00Z"
	var ie *schedule.InvalidError
	if _, err := b.svc.Create(t.Context(), "ws", def); !errors.As(err, &ie) || ie.Field != "trigger.end_time" {
		t.Fatalf("end time passed: %v", err)
	}
}

func TestCreateFromExistingJob(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 1, 10, 0, 20, 0, time.UTC)
	b := setup(t, "", t0)
	ctx := t.Context()
	p, _ := b.jobs.Prepare(ctx, "ws", commandJob())
	if err := b.st.CreateJob(ctx, p.Job, p.Steps); err != nil {
		t.Fatal(err)
	}
	v := "from the schedule at " + spec.MacroTriggerTime
	def := &spec.Schedule{Name: "copy", Trigger: trigger.Definition{Type: "recurrence", Frequency: "minute", Interval: 1},
		CreateJob: spec.ScheduledJob{JobName: "fixed", Source: "azureml:fixed",
			Overrides: &spec.JobOverrides{Inputs: map[string]*spec.InputValue{"greeting": {Value: &v}}}}}
	sc, err := b.svc.Create(ctx, "ws", def)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Job.Name != "" || *sc.Job.Inputs["greeting"].Value != v {
		t.Fatalf("captured job: %+v", sc.Job)
	}
	// No start time: a minute recurrence fires at once, then every minute.
	b.fire(t, t0)
	jobs := b.jobsOf(t, "copy")
	if len(jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(jobs))
	}
	var sj spec.Job
	_ = json.Unmarshal(jobs[0].Spec, &sj)
	if got := *sj.Inputs["greeting"].Value; got != "from the schedule at 2024-01-01T10:00:20Z" {
		t.Fatalf("input of the fired job: %q", got)
	}

	def.CreateJob.JobName = "no_such_job"
	var ie *schedule.InvalidError
	if _, err := b.svc.Create(ctx, "ws", def); !errors.As(err, &ie) || ie.Field != "create_job" {
		t.Fatalf("missing job: %v", err)
	}
}

func TestCreateRefusesBadSchedules(t *testing.T) {
	t.Parallel()
	b := setup(t, "", time.Now())
	tests := []struct {
		name  string
		edit  func(*spec.Schedule)
		field string
	}{
		{"bad name", func(s *spec.Schedule) { s.Name = "a/b" }, "name"},
		{"bad time zone", func(s *spec.Schedule) { s.Trigger.TimeZone = "Nowhere" }, "trigger.time_zone"},
		{"bad expression", func(s *spec.Schedule) { s.Trigger.Expression = "* *" }, "trigger.expression"},
		{"server path", func(s *spec.Schedule) { s.CreateJob.Job.Code = "/etc" }, "create_job.job.code"},
	}
	for _, tc := range tests {
		def := cronSchedule("s", "* * * * *")
		tc.edit(def)
		_, err := b.svc.Create(t.Context(), "ws", def)
		var ie *schedule.InvalidError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%s: %v, want a problem with %s", tc.name, err, tc.field)
		}
	}
	b.jobs.err = spec.Errorf(spec.Pos{File: "job.yml", Line: 3}, "environment %q not found", "env")
	var se *spec.Error
	if _, err := b.svc.Create(t.Context(), "ws", cronSchedule("s", "* * * * *")); !errors.As(err, &se) {
		t.Errorf("a job that does not resolve: %v, want its *spec.Error", err)
	}
}
