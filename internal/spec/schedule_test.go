package spec

import (
	"path/filepath"
	"testing"
	"time"
)

// schedulePipeline is the pipeline job the schedule cases name, shaped
// like azureml-examples' cli/schedules/simple-pipeline-job.yml.
const schedulePipeline = `type: pipeline
display_name: hello_pipeline_abc
compute: azureml:cpu-cluster
inputs:
  hello_string_top_level_input: "hello world"
outputs:
  out:
jobs:
  a:
    command: echo hello ${{inputs.hello_string}}
    environment: azureml:env@latest
    inputs:
      hello_string: ${{parent.inputs.hello_string_top_level_input}}
  b:
    command: echo world >> ${{outputs.world_output}}/world.txt
    environment: azureml:env@latest
    outputs:
      world_output: ${{parent.outputs.out}}
`

const scheduleCommand = `type: command
command: echo hi
environment: azureml:env@latest
environment_variables: {A: "1"}
`

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"pipeline.yml": schedulePipeline,
		"command.yml":  scheduleCommand,
		"cron.yml": `$schema: https://azuremlschemas.azureedge.net/latest/schedule.schema.json
name: simple_cron_job_schedule
display_name: Simple cron job schedule
description: a simple hourly cron job schedule
tags: {team: ml}
trigger:
  type: cron
  expression: "0 * * * *"
  start_time: "2022-07-10T10:00:00" # optional
  time_zone: "Pacific Standard Time"
create_job: ./pipeline.yml
`,
		"settings.yml": `name: with_settings
trigger:
  type: cron
  expression: "0 * * * *"
create_job:
  type: pipeline
  job: ./pipeline.yml
  experiment_name: nightly
  settings:
    continue_on_step_failure: true
  inputs:
    hello_string_top_level_input: ${{name}}
  outputs:
    out:
      type: uri_folder
      path: azureml://datastores/workspaceblobstore/paths/${{name}}/out
  tags:
    schedule: with_settings
`,
		"recurrence.yml": `name: simple_recurrence_job_schedule
trigger:
  type: recurrence
  frequency: day
  interval: 1
  schedule:
    hours: [4,5,10,11,12]
    minutes: [0,30]
  time_zone: "Pacific Standard Time"
create_job: file:pipeline.yml
`,
		"existing.yml": `name: from_job
trigger: {type: recurrence, frequency: week, interval: 2, schedule: {hours: 9, minutes: 0, week_days: monday}}
create_job:
  job: azureml:/subscriptions/x/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/jobs/tidy_lamp_1
  inputs:
    when: ${{creation_context.trigger_time}}
  settings: {default_compute: azureml:cpu}
`,
		"command-schedule.yml": `name: cmd
trigger: {type: cron, expression: "*/5 * * * *"}
create_job:
  type: command
  job: ./command.yml
  environment_variables: {B: "2"}
  compute: azureml:other
`,
	})
	parse := func(name string, sets ...string) *Schedule {
		t.Helper()
		s, err := ParseScheduleFile(filepath.Join(dir, name), Options{Sets: sets})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s
	}

	s := parse("cron.yml")
	if s.Name != "simple_cron_job_schedule" || s.Trigger.Type != "cron" || s.Trigger.Expression != "0 * * * *" ||
		s.Trigger.TimeZone != "Pacific Standard Time" || s.Trigger.StartTime != "2022-07-10T10:00:00" || s.Tags["team"] != "ml" {
		t.Errorf("cron schedule: %+v", s)
	}
	if j := s.CreateJob.Job; j == nil || j.Type != JobPipeline || len(j.Jobs) != 2 || s.CreateJob.Source != "./pipeline.yml" {
		t.Fatalf("cron schedule's job: %+v", s.CreateJob)
	}

	s = parse("cron.yml", "name=ci_test", `trigger.expression=* * * * *`)
	if s.Name != "ci_test" || s.Trigger.Expression != "* * * * *" {
		t.Errorf("--set: name %q, expression %q", s.Name, s.Trigger.Expression)
	}

	s = parse("settings.yml")
	j := s.CreateJob.Job
	if j.ExperimentName != "nightly" || j.Settings == nil || j.Settings.ContinueOnStepFailure == nil || !*j.Settings.ContinueOnStepFailure ||
		j.Tags["schedule"] != "with_settings" || j.Compute != "cpu-cluster" {
		t.Errorf("overrides not applied: %+v", j)
	}
	if in := j.Inputs["hello_string_top_level_input"]; in == nil || in.Value == nil || *in.Value != MacroName {
		t.Errorf("input with ${{name}}: %+v", in)
	}
	if o := j.Outputs["out"]; o == nil || o.Path != "azureml://datastores/workspaceblobstore/paths/${{name}}/out" {
		t.Errorf("output path with ${{name}}: %+v", o)
	}
	ExpandMacros(j, "quirky_lamp_1", time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC))
	if v := *j.Inputs["hello_string_top_level_input"].Value; v != "quirky_lamp_1" {
		t.Errorf("expanded input: %q", v)
	}
	if p := j.Outputs["out"].Path; p != "azureml://datastores/workspaceblobstore/paths/quirky_lamp_1/out" {
		t.Errorf("expanded output path: %q", p)
	}

	s = parse("recurrence.yml")
	if p := s.Trigger.Schedule; p == nil || len(p.Hours) != 5 || len(p.Minutes) != 2 || s.Trigger.Interval != 1 || s.CreateJob.Job == nil {
		t.Errorf("recurrence: %+v %+v", s.Trigger, s.CreateJob)
	}

	s = parse("existing.yml")
	o := s.CreateJob.Overrides
	if s.CreateJob.JobName != "tidy_lamp_1" || s.CreateJob.Job != nil || o == nil || o.Settings == nil || o.Settings.DefaultCompute != "cpu" {
		t.Fatalf("existing job: %+v", s.CreateJob)
	}
	if in := o.Inputs["when"]; in == nil || in.Value == nil || *in.Value != MacroTriggerTime {
		t.Errorf("override input with the trigger time: %+v", in)
	}
	if p := s.Trigger.Schedule; p.Hours[0] != 9 || p.WeekDays[0] != "monday" {
		t.Errorf("single values for lists: %+v", p)
	}

	s = parse("command-schedule.yml")
	if j := s.CreateJob.Job; j.EnvironmentVariables["A"] != "1" || j.EnvironmentVariables["B"] != "2" || j.Compute != "other" {
		t.Errorf("command overrides: %+v", j)
	}
}

func TestParseScheduleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"unknown time zone", map[string]string{"s.yml": `name: s
trigger:
  type: cron
  expression: "0 * * * *"
  time_zone: Mars Standard Time
create_job: azureml:job1
`}, []string{`s.yml:5:14: trigger.time_zone: unknown time zone "Mars Standard Time"`}},
		{"bad cron", map[string]string{"s.yml": `name: s
trigger: {type: cron, expression: "0 25 * * *"}
create_job: azureml:job1
`}, []string{`s.yml:2:35: trigger.expression: "0 25 * * *"`}},
		{"bad recurrence", map[string]string{"s.yml": `name: s
trigger:
  type: recurrence
  frequency: day
  interval: 1
  schedule:
    hours: [4, 24]
    minutes: 0
create_job: azureml:job1
`}, []string{`s.yml:7:12: trigger.schedule.hours: 24 is out of range`}},
		{"missing keys", map[string]string{"s.yml": `display_name: x
`}, []string{"s.yml:1:1: name is required", "s.yml:1:1: trigger is required", "s.yml:1:1: create_job is required"}},
		{"unknown key and bad type", map[string]string{"s.yml": `name: s
trigger: {type: hourly}
create_job: azureml:job1
enabled: true
`}, []string{`s.yml:2:17: trigger.type: unknown value "hourly"; expected one of cron, recurrence`, `s.yml:4:1: unknown key "enabled" in a schedule`}},
		{"job file missing", map[string]string{"s.yml": `name: s
trigger: {type: cron, expression: "* * * * *"}
create_job: ./nope.yml
`}, []string{"s.yml:3:13: create_job: cannot read job file ./nope.yml"}},
		{"error inside the job file", map[string]string{
			"s.yml": `name: s
trigger: {type: cron, expression: "* * * * *"}
create_job: ./job.yml
`,
			"job.yml": `type: command
command: echo ${{inputs.nope}}
environment: azureml:env@latest
`}, []string{`job.yml:2:10: command: command uses ${{inputs.nope}} outside $[[ ]] but the job gives no input "nope"`}},
		{"override of an input the job lacks", map[string]string{
			"s.yml": `name: s
trigger: {type: cron, expression: "* * * * *"}
create_job:
  job: ./job.yml
  inputs:
    nope: 3
`,
			"job.yml": scheduleCommand}, []string{`s.yml:6:11: create_job.inputs.nope: the job has no input "nope"`}},
		{"settings on a command job", map[string]string{
			"s.yml": `name: s
trigger: {type: cron, expression: "* * * * *"}
create_job:
  job: ./job.yml
  settings: {continue_on_step_failure: true}
`,
			"job.yml": scheduleCommand}, []string{`s.yml:5:13: create_job.settings: only valid for a pipeline job`}},
		{"no job in the mapping", map[string]string{"s.yml": `name: s
trigger: {type: cron, expression: "* * * * *"}
create_job: {type: pipeline}
`}, []string{"s.yml:3:13: create_job: job is required"}},
		{"data import schedule", map[string]string{"s.yml": `name: s
trigger: {type: cron, expression: "0 * * * *"}
import_data: ./my_snowflake_import.yml
`}, []string{`s.yml:3:14: import_data: data import schedules are not supported (ciel has no Azure ML connections to import from): ` +
			`copy the data on a schedule with a Data Factory pipeline and a schedule trigger (ciel data-factory), or schedule a job that fetches it (create_job)`}},
		{"monitor schedule", map[string]string{"s.yml": `name: s
trigger: {type: recurrence, frequency: day, interval: 1}
create_monitor:
  compute: {instance_type: standard_e4s_v3}
`}, []string{`s.yml:4:3: create_monitor: model monitoring schedules are not supported: ` +
			`schedule a job that computes the signals you need and logs them with MLflow (create_job)`}},
		{"bad job name", map[string]string{"s.yml": `name: s
trigger: {type: cron, expression: "* * * * *"}
create_job: azureml:../x
`}, []string{`s.yml:3:13: create_job: "azureml:../x": invalid job name`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, tc.files)
			_, err := ParseScheduleFile(filepath.Join(dir, "s.yml"), Options{})
			checkErrors(t, dir, err, tc.want)
		})
	}
}

func TestCheckSubmittedSchedule(t *testing.T) {
	t.Parallel()
	val := "x"
	tests := []struct {
		name  string
		s     Schedule
		field string
	}{
		{"bad name", Schedule{Name: "../x", CreateJob: ScheduledJob{JobName: "j"}}, "name"},
		{"no job", Schedule{Name: "s"}, "create_job"},
		{"both", Schedule{Name: "s", CreateJob: ScheduledJob{JobName: "j", Job: &Job{Type: JobCommand}}}, "create_job"},
		{"server path in the job", Schedule{Name: "s", CreateJob: ScheduledJob{Job: &Job{Type: JobCommand, Code: "/etc"}}}, "create_job.job.code"},
		{"server path in an override", Schedule{Name: "s", CreateJob: ScheduledJob{JobName: "j",
			Overrides: &JobOverrides{Inputs: map[string]*InputValue{"d": {Path: "/etc/passwd"}}}}}, "create_job.overrides.inputs.d.path"},
		{"bad input name", Schedule{Name: "s", CreateJob: ScheduledJob{JobName: "j",
			Overrides: &JobOverrides{Inputs: map[string]*InputValue{"a/b": {Value: &val}}}}}, "create_job.overrides.inputs"},
	}
	for _, tc := range tests {
		err := CheckSubmittedSchedule(&tc.s)
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != tc.field {
			t.Errorf("%s: got %v, want a problem with %s", tc.name, err, tc.field)
		}
	}
	ok := Schedule{Name: "s", CreateJob: ScheduledJob{JobName: "j"}}
	if err := CheckSubmittedSchedule(&ok); err != nil {
		t.Errorf("a good schedule: %v", err)
	}
}
