package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scheduleView is the part of `ciel schedule show -o json` tests look at.
type scheduleView struct {
	Name    string `json:"name"`
	Trigger struct {
		Type       string `json:"type"`
		Expression string `json:"expression"`
		Frequency  string `json:"frequency"`
		TimeZone   string `json:"time_zone"`
		StartTime  string `json:"start_time"`
	} `json:"trigger"`
	IsEnabled     bool       `json:"is_enabled"`
	NextRunTime   *time.Time `json:"next_run_time"`
	TriggeredJobs []struct {
		TriggerTime time.Time `json:"trigger_time"`
		FiredAt     time.Time `json:"fired_at"`
		Job         string    `json:"job"`
		Error       string    `json:"error"`
	} `json:"triggered_jobs"`
	CreateJob map[string]any `json:"create_job"`
}

func showSchedule(e interface{ ok(...string) result }, t *testing.T, name string) scheduleView {
	t.Helper()
	r := e.ok("schedule", "show", "--name", name, "-o", "json")
	var v scheduleView
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("schedule show: %v\n%s", err, r.out)
	}
	return v
}

// listedJob is the part of `ciel job list -o json` tests look at.
type listedJob struct {
	Name           string            `json:"name"`
	DisplayName    string            `json:"display_name"`
	ExperimentName string            `json:"experiment_name"`
	Status         string            `json:"status"`
	Tags           map[string]string `json:"tags"`
	Settings       map[string]any    `json:"settings"`
	Inputs         map[string]any    `json:"inputs"`
}

// scheduledJobs lists the jobs schedule name started, as `ciel job list`
// shows them.
func scheduledJobs(e interface{ ok(...string) result }, t *testing.T, name string) []listedJob {
	t.Helper()
	r := e.ok("job", "list", "--all-results", "-o", "json")
	var all []listedJob
	if err := json.Unmarshal([]byte(r.out), &all); err != nil {
		t.Fatalf("job list: %v\n%s", err, r.out)
	}
	var out []listedJob
	for _, j := range all {
		if j.Tags["azureml.scheduleName"] == name {
			out = append(out, j)
		}
	}
	return out
}

// nextSlot returns the first time at or after from, at whole minutes of
// loc's clock, whose hour and minute ok accepts.
func nextSlot(t *testing.T, from time.Time, tz string, ok func(h, m int) bool) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	s := from.Truncate(time.Minute)
	if s.Before(from) {
		s = s.Add(time.Minute)
	}
	for i := 0; i < 3*24*60; i++ {
		if l := s.In(loc); ok(l.Hour(), l.Minute()) {
			return s
		}
		s = s.Add(time.Minute)
	}
	t.Fatal("no slot within three days")
	return time.Time{}
}

// The azureml-examples files under cli/schedules, run as its README and
// CI workflows run them: created unchanged (with --set where the workflow
// sets values), shown, listed, disabled, deleted; a per-minute copy of the
// cron schedules fires, and the pipeline each submits completes.
func TestScheduleAzureMLExamples(t *testing.T) {
	t.Parallel()
	root := copyExamples(t)
	e := &env{t: t, home: t.TempDir(), dir: filepath.Join(root, "cli", "schedules")}
	e.startServer()
	e.ok("workspace", "create", "--name", "ws", "--resource-group", "rg", "--location", "eastus")
	e.ok("configure", "--defaults", "workspace=ws")
	for _, args := range workspaceHas {
		e.ok(args...)
	}

	before := time.Now().UTC().Truncate(time.Second)
	e.ok("schedule", "create", "--file", "cron-job-schedule.yml")
	e.ok("schedule", "create", "--file", "recurrence-job-schedule.yml")
	// The cron files again, every minute, as the workflow's --set does.
	e.ok("schedule", "create", "--file", "cron-job-schedule.yml", "--set", "name=every_minute", "trigger.expression=* * * * *")
	e.ok("schedule", "create", "--file", "cron-with-settings-job-schedule.yml", "--set", "trigger.expression=* * * * *")
	after := time.Now().UTC()

	hourly := showSchedule(e, t, "simple_cron_job_schedule")
	if hourly.Trigger.Type != "cron" || hourly.Trigger.Expression != "0 * * * *" || hourly.Trigger.TimeZone != "Pacific Standard Time" ||
		!hourly.IsEnabled || hourly.CreateJob["type"] != "pipeline" {
		t.Errorf("cron schedule: %+v", hourly)
	}
	onTheHour := func(_, m int) bool { return m == 0 }
	checkNext(t, "hourly cron", hourly.NextRunTime, nextSlot(t, before, "America/Los_Angeles", onTheHour), nextSlot(t, after, "America/Los_Angeles", onTheHour))

	rec := showSchedule(e, t, "simple_recurrence_job_schedule")
	pattern := func(h, m int) bool {
		return strings.Contains(",4,5,10,11,12,", fmt.Sprintf(",%d,", h)) && (m == 0 || m == 30)
	}
	checkNext(t, "recurrence", rec.NextRunTime, nextSlot(t, before, "America/Los_Angeles", pattern), nextSlot(t, after, "America/Los_Angeles", pattern))

	r := e.ok("schedule", "list", "-o", "json")
	var list []scheduleView
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 4 {
		t.Fatalf("schedule list: %v\n%s", err, r.out)
	}
	if r := e.ok("schedule", "list"); !strings.Contains(r.out, "every 1 day at hours 4,5,10,11,12 minutes 0,30") {
		t.Errorf("schedule list table:\n%s", r.out)
	}

	// At the next minute each per-minute schedule submits its pipeline.
	for _, name := range []string{"every_minute", "cron_with_settings_job_schedule"} {
		var v scheduleView
		waitFor(t, name+" to fire", 150*time.Second, func() bool {
			v = showSchedule(e, t, name)
			return len(v.TriggeredJobs) > 0
		})
		f := v.TriggeredJobs[len(v.TriggeredJobs)-1]
		if f.Job == "" || f.TriggerTime.Second() != 0 {
			t.Fatalf("%s fired %+v", name, f)
		}
		j := e.wait(f.Job, 120*time.Second)
		if j.Status != "Completed" {
			t.Fatalf("%s's job %s ended %s: %s", name, f.Job, j.Status, j.Error)
		}
		jobs := scheduledJobs(e, t, name)
		if len(jobs) == 0 || jobs[len(jobs)-1].DisplayName != name+"-"+f.TriggerTime.UTC().Format("20060102T150405Z") {
			t.Errorf("%s's jobs as listed: %+v", name, jobs)
		}
	}
	// The settings file's overrides reached its job: ${{name}} in the
	// input, its tags and settings.
	v := showSchedule(e, t, "cron_with_settings_job_schedule")
	name := v.TriggeredJobs[len(v.TriggeredJobs)-1].Job
	if out := e.ok("job", "stream", "--name", name).out; !strings.Contains(out, "hello "+name) {
		t.Errorf("step a did not echo the job's name:\n%s", out)
	}
	r = e.ok("job", "show", "--name", name, "-o", "json")
	var shown listedJob
	_ = json.Unmarshal([]byte(r.out), &shown)
	if shown.Tags["schedule"] != "cron_with_settings_schedule" || shown.Tags["azureml.scheduleName"] != "cron_with_settings_job_schedule" ||
		shown.Settings["continue_on_step_failure"] != true || shown.ExperimentName != "cron_with_settings_job_schedule" {
		t.Errorf("job of the settings schedule: %+v", shown)
	}

	// Disable, then delete, as schedule.sh does; an enabled one is kept.
	if r := e.run("schedule", "delete", "--name", "simple_cron_job_schedule"); r.code == 0 || !strings.Contains(r.err, "disable it first") {
		t.Errorf("deleting an enabled schedule: exit %d, %s", r.code, r.err)
	}
	for _, s := range list {
		e.ok("schedule", "disable", "--name", s.Name)
		e.ok("schedule", "delete", "--name", s.Name)
	}
	if r := e.ok("schedule", "list", "-o", "json"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("after deleting all: %s", r.out)
	}
	if len(scheduledJobs(e, t, "every_minute")) == 0 {
		t.Error("deleting a schedule deleted its jobs")
	}
}

func checkNext(t *testing.T, what string, got *time.Time, want ...time.Time) {
	t.Helper()
	for _, w := range want {
		if got != nil && got.Equal(w) {
			return
		}
	}
	t.Errorf("%s: next run %v, want %v", what, got, want)
}

// scheduledJobFile is a quick command job the lifecycle tests schedule.
const scheduledJobFile = `$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
command: echo "scheduled run of ${{inputs.who}}"
environment: azureml:sklearn-1.5@latest
inputs:
  who: nobody
`

// everyMinuteFrom is a per-minute recurrence from start, whose job says
// its own name.
func everyMinuteFrom(name string, start time.Time) string {
	return fmt.Sprintf(`name: %s
trigger:
  type: recurrence
  frequency: minute
  interval: 1
  start_time: "%s"
create_job:
  job: ./job.yml
  inputs:
    who: ${{name}}
`, name, start.UTC().Format(time.RFC3339))
}

// A time that comes due while the server is down fires once when it
// starts again; a server killed after the firing does not fire it again;
// a disabled schedule does not fire; enabling it does not fire the times
// it missed.
func TestScheduleRestartDisableEnable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok(workspaceHas[1]...)
	e.write("job.yml", scheduledJobFile)
	start := time.Now().UTC().Add(8 * time.Second).Truncate(time.Second)
	e.write("restart.yml", everyMinuteFrom("restart", start))
	e.write("off.yml", everyMinuteFrom("off", start))
	e.ok("schedule", "create", "--file", "restart.yml")
	e.ok("schedule", "create", "--file", "off.yml")
	if v := e.ok("schedule", "disable", "--name", "off", "-o", "json"); !strings.Contains(v.out, `"is_enabled": false`) {
		t.Fatalf("disable: %s", v.out)
	}

	e.ok("server", "stop")
	if time.Now().After(start) {
		t.Fatalf("setup took past the first firing at %s; the test proves nothing", start)
	}
	time.Sleep(time.Until(start.Add(1500 * time.Millisecond)))
	restarted := time.Now().UTC()
	e.ok("server", "start")

	var v scheduleView
	waitFor(t, "the missed time to fire", 30*time.Second, func() bool {
		v = showSchedule(e, t, "restart")
		return len(v.TriggeredJobs) > 0
	})
	f := v.TriggeredJobs[0]
	if !f.TriggerTime.Equal(start) || f.FiredAt.Before(restarted) {
		t.Fatalf("firing %+v: want trigger time %s, fired after the restart at %s", f, start, restarted)
	}
	if want := start.Add(time.Minute); v.NextRunTime == nil || !v.NextRunTime.Equal(want) {
		t.Errorf("next run %v, want %s", v.NextRunTime, want)
	}

	// Kill the server hard right after the firing; the next one neither
	// fires that time again nor loses its job.
	_, pid := e.server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server to die", 10*time.Second, func() bool { return !alive(pid) })
	j := e.wait(f.Job, 90*time.Second) // starts a new server
	if j.Status != "Completed" {
		t.Fatalf("scheduled job ended %s: %s", j.Status, j.Error)
	}
	if out := e.ok("job", "stream", "--name", f.Job).out; !strings.Contains(out, "scheduled run of "+f.Job) {
		t.Errorf("the job's log lacks its own name:\n%s", out)
	}
	time.Sleep(2 * time.Second) // a few firing passes of the new server
	if time.Now().After(start.Add(55 * time.Second)) {
		t.Skip("too slow to check before the next minute's firing")
	}
	if jobs := scheduledJobs(e, t, "restart"); len(jobs) != 1 {
		t.Fatalf("%d jobs after the restarts, want exactly 1: %+v", len(jobs), jobs)
	}
	if jobs := scheduledJobs(e, t, "off"); len(jobs) != 0 {
		t.Fatalf("the disabled schedule fired: %+v", jobs)
	}
	off := showSchedule(e, t, "off")
	if off.IsEnabled || off.NextRunTime != nil || len(off.TriggeredJobs) != 0 {
		t.Errorf("disabled schedule: %+v", off)
	}
	// Enabled again: its next time is ahead, the one it missed stays missed.
	e.ok("schedule", "enable", "--name", "off")
	off = showSchedule(e, t, "off")
	if want := start.Add(time.Minute); !off.IsEnabled || off.NextRunTime == nil || !off.NextRunTime.Equal(want) {
		t.Errorf("enabled: %+v, want next run %s", off, want)
	}
	time.Sleep(1500 * time.Millisecond)
	if jobs := scheduledJobs(e, t, "off"); len(jobs) != 0 {
		t.Fatalf("enabling fired a missed time: %+v", jobs)
	}
}

// create_job: azureml:<job> copies a job already run, with the overrides
// the file gives; with no start time a per-minute recurrence fires at
// once, and ${{creation_context.trigger_time}} reaches the job.
func TestScheduleExistingJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok(workspaceHas[1]...)
	e.write("job.yml", scheduledJobFile)
	base := e.submit("job.yml")
	if j := e.wait(base, 90*time.Second); j.Status != "Completed" {
		t.Fatalf("job %s: %s %s", base, j.Status, j.Error)
	}
	e.write("s.yml", fmt.Sprintf(`name: again
trigger: {type: recurrence, frequency: minute, interval: 1}
create_job:
  type: command
  job: azureml:%s
  inputs:
    who: at ${{creation_context.trigger_time}}
  tags: {copied: "yes"}
`, base))
	created := time.Now().UTC().Truncate(time.Second)
	e.ok("schedule", "create", "--file", "s.yml")
	var v scheduleView
	waitFor(t, "the schedule to fire", 30*time.Second, func() bool {
		v = showSchedule(e, t, "again")
		return len(v.TriggeredJobs) > 0
	})
	f := v.TriggeredJobs[0]
	if f.TriggerTime.Before(created) || f.TriggerTime.After(created.Add(5*time.Second)) {
		t.Errorf("first trigger time %s, want the creation time %s", f.TriggerTime, created)
	}
	if j := e.wait(f.Job, 90*time.Second); j.Status != "Completed" {
		t.Fatalf("scheduled copy %s: %s %s", f.Job, j.Status, j.Error)
	}
	want := "scheduled run of at " + f.TriggerTime.UTC().Format(time.RFC3339)
	if out := e.ok("job", "stream", "--name", f.Job).out; !strings.Contains(out, want) {
		t.Errorf("the copy's log lacks %q:\n%s", want, out)
	}
	if jobs := scheduledJobs(e, t, "again"); len(jobs) != 1 || jobs[0].Tags["copied"] != "yes" {
		t.Errorf("copied jobs: %+v", jobs)
	}
	if r := e.run("schedule", "create", "--file", "s.yml", "--set", "create_job.job=azureml:no_such_job"); r.code == 0 ||
		!strings.Contains(r.err, `no job named "no_such_job"`) {
		t.Errorf("a missing job: exit %d, %s", r.code, r.err)
	}
}

// A bad file is refused with file:line:col and what was expected; so is a
// bad schedule sent over the API.
func TestScheduleBadFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("job.yml", scheduledJobFile)
	e.write("tz.yml", `name: tz
trigger:
  type: cron
  expression: "0 * * * *"
  time_zone: Middle Earth Standard Time
create_job: ./job.yml
`)
	e.write("bad.yml", `name: bad
trigger:
  type: recurrence
  frequency: fortnight
  interval: 1
create_job:
  job: ./missing.yml
`)
	e.write("iana.yml", `name: iana
trigger: {type: cron, expression: "0 9 * * 1-5", time_zone: Europe/Berlin}
create_job: ./job.yml
`)
	e.write("import.yml", `name: nightly_import
trigger: {type: recurrence, frequency: day, interval: 1}
import_data: ./my_snowflake_import.yml
`)
	for _, c := range []struct {
		file string
		want []string
	}{
		{"tz.yml", []string{`tz.yml:5:14: trigger.time_zone: unknown time zone "Middle Earth Standard Time"`}},
		{"import.yml", []string{"import.yml:3:14: import_data: data import schedules are not supported", "a schedule trigger (ciel data-factory)"}},
		{"bad.yml", []string{`bad.yml:4:14: trigger.frequency: unknown frequency "fortnight"`,
			"bad.yml:7:8: create_job.job: cannot read job file ./missing.yml"}},
		{"iana.yml", []string{`iana.yml:2:61: trigger.time_zone: unknown time zone "Europe/Berlin": Azure ML takes Windows time zone names; for Europe/Berlin write "W. Europe Standard Time"`}},
	} {
		r := e.run("schedule", "create", "--file", c.file)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", c.file, r.code, r.err)
		}
		for _, w := range c.want {
			if !strings.Contains(r.err, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", c.file, w, r.err)
			}
		}
	}
	code, body := e.httpJSON("POST", "/api/v1/workspaces/ws/schedules",
		`{"name": "../x", "trigger": {"type": "cron", "expression": "* * * * *"}, "create_job": {"job_name": "j"}}`)
	if errBody, _ := body["error"].(map[string]any); code != 400 || errBody["target"] != "name" {
		t.Errorf("bad name over the API: %d %v", code, body)
	}
	code, body = e.httpJSON("POST", "/api/v1/workspaces/ws/schedules",
		`{"name": "x", "trigger": {"type": "cron", "expression": "* * * * *", "time_zone": "Nowhere"}, "create_job": {"job_name": "j"}}`)
	if errBody, _ := body["error"].(map[string]any); code != 400 || errBody["target"] != "trigger.time_zone" {
		t.Errorf("bad time zone over the API: %d %v", code, body)
	}
	if code, _ := e.httpJSON("GET", "/api/v1/workspaces/ws/schedules/nope", ""); code != 404 {
		t.Errorf("missing schedule: %d, want 404", code)
	}
}

// TestScheduleUpdate: update replaces an existing schedule with the file's
// (here a --set trigger), and refuses a name that has no schedule rather
// than creating one.
func TestScheduleUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok(workspaceHas[1]...)
	e.write("job.yml", scheduledJobFile)
	e.write("s.yml", `name: nightly
trigger: {type: cron, expression: "0 2 * * *"}
create_job: ./job.yml
`)
	e.ok("schedule", "create", "--file", "s.yml")
	e.ok("schedule", "update", "--file", "s.yml", "--set", `trigger.expression=0 3 * * *`)
	if v := showSchedule(e, t, "nightly"); v.Trigger.Expression != "0 3 * * *" || v.NextRunTime == nil || v.NextRunTime.Hour() != 3 {
		t.Errorf("after update: trigger %+v, next run %v", v.Trigger, v.NextRunTime)
	}
	r := e.run("schedule", "update", "--file", "s.yml", "--name", "missing")
	if r.code == 0 || !strings.Contains(r.err, `schedule "missing" not found`) {
		t.Errorf("update of a missing schedule: exit %d\n%s", r.code, r.err)
	}
	if r := e.run("schedule", "show", "--name", "missing"); r.code == 0 {
		t.Errorf("update created the missing schedule:\n%s", r.out)
	}
}
