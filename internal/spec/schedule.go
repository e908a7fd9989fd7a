package spec

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ciel-mlops/ciel/internal/trigger"
)

// Schedule is an Azure ML job schedule file (`az ml schedule create
// --file`): when to fire (Trigger) and the job each firing submits
// (CreateJob).
type Schedule struct {
	Schema      string             `json:"$schema,omitempty"`
	Name        string             `json:"name"`
	DisplayName string             `json:"display_name,omitempty"`
	Description string             `json:"description,omitempty"`
	Tags        map[string]string  `json:"tags,omitempty"`
	Properties  map[string]string  `json:"properties,omitempty"`
	Trigger     trigger.Definition `json:"trigger"`
	CreateJob   ScheduledJob       `json:"create_job"`
	File        string             `json:"file,omitempty"`
	Pos         Pos                `json:"pos"`
}

// ScheduledJob is a schedule's create_job: a job file, read and parsed
// (Job), or an existing job of the workspace (JobName), which the server
// copies with Overrides applied.
type ScheduledJob struct {
	// Source is the job as the file names it: "./job.yml" or
	// "azureml:<job name>".
	Source    string        `json:"source,omitempty"`
	Job       *Job          `json:"job,omitempty"`
	JobName   string        `json:"job_name,omitempty"`
	Overrides *JobOverrides `json:"overrides,omitempty"`
	Pos       Pos           `json:"pos"`
}

// JobOverrides are what a create_job mapping says besides its job: values
// that replace the job's own in every job the schedule submits. Scalars
// replace the job's; in mappings (inputs, outputs, tags, settings,
// environment_variables) each key given replaces that key.
type JobOverrides struct {
	Type                 string                  `json:"type,omitempty"`
	Description          string                  `json:"description,omitempty"`
	ExperimentName       string                  `json:"experiment_name,omitempty"`
	Compute              string                  `json:"compute,omitempty"`
	Tags                 map[string]string       `json:"tags,omitempty"`
	EnvironmentVariables map[string]string       `json:"environment_variables,omitempty"`
	Inputs               map[string]*InputValue  `json:"inputs,omitempty"`
	Outputs              map[string]*OutputValue `json:"outputs,omitempty"`
	Settings             *Settings               `json:"settings,omitempty"`
	Limits               *Limits                 `json:"limits,omitempty"`
	Environment          *EnvRef                 `json:"environment,omitempty"`
	Pos                  Pos                     `json:"pos"`
}

// The expressions a scheduled job's string inputs and output paths may
// hold; each firing replaces them (Azure ML's schedule macros).
const (
	MacroName        = "${{name}}"                          // the submitted job's name
	MacroTriggerTime = "${{creation_context.trigger_time}}" // the firing's time
)

// macroGuard stands in for a macro while a job is decoded, so that the
// binding checks let it through; it is put back once decoded.
var (
	macroGuard   = strings.NewReplacer(MacroName, "\ue000name\ue001", MacroTriggerTime, "\ue000trigger_time\ue001")
	macroRestore = strings.NewReplacer("\ue000name\ue001", MacroName, "\ue000trigger_time\ue001", MacroTriggerTime)
)

// ExpandMacros replaces the schedule macros in the string inputs and the
// output paths of job j (not of its steps) with the job's name and the
// firing's time.
func ExpandMacros(j *Job, name string, triggerTime time.Time) {
	r := strings.NewReplacer(MacroName, name, MacroTriggerTime, triggerTime.UTC().Format(time.RFC3339))
	for _, in := range j.Inputs {
		if in != nil && in.Value != nil {
			v := r.Replace(*in.Value)
			in.Value = &v
		}
		if in != nil {
			in.Path = r.Replace(in.Path)
		}
	}
	for _, o := range j.Outputs {
		if o != nil {
			o.Path = r.Replace(o.Path)
		}
	}
}

// ParseScheduleFile reads and parses an Azure ML schedule file.
func ParseScheduleFile(path string, opts Options) (*Schedule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read schedule file: %w", err)
	}
	return ParseSchedule(path, data, opts)
}

// ParseSchedule parses an Azure ML schedule. A job file its create_job
// names is read (relative to file) and parsed, with the create_job
// overrides applied; --set overrides apply to the schedule file.
func ParseSchedule(file string, data []byte, opts Options) (*Schedule, error) {
	var s *Schedule
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		s = d.schedule(root)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// schedule decodes a schedule file.
func (d *decoder) schedule(n *yaml.Node) *Schedule {
	s := &Schedule{File: d.abs, Pos: d.pos(n)}
	var trig, job, other *yaml.Node
	// Azure ML's other kinds of schedule, refused with what to do instead:
	// ciel has neither Azure ML's connections to import from nor model
	// monitoring.
	refuse := func(msg string) fieldFunc {
		return func(p string, v *yaml.Node) { other = v; d.errorf(v, p, "%s", msg) }
	}
	d.fields(n, "", "a schedule", map[string]fieldFunc{
		"import_data": refuse("data import schedules are not supported (ciel has no Azure ML connections to import from): " +
			"copy the data on a schedule with a Data Factory pipeline and a schedule trigger (ciel data-factory), " +
			"or schedule a job that fetches it (create_job)"),
		"create_monitor": refuse("model monitoring schedules are not supported: " +
			"schedule a job that computes the signals you need and logs them with MLflow (create_job)"),
		"$schema":      d.strInto(&s.Schema),
		"name":         d.nameInto(&s.Name),
		"display_name": d.strInto(&s.DisplayName),
		"description":  d.strInto(&s.Description),
		"tags":         d.mapInto(&s.Tags),
		"properties":   d.mapInto(&s.Properties),
		"trigger":      func(p string, v *yaml.Node) { trig = v; s.Trigger = d.trigger(p, v) },
		"create_job":   func(p string, v *yaml.Node) { job = v; s.CreateJob = d.createJob(p, v) },
	}, []string{"version", "id", "creation_context", "is_enabled", "provisioning_state"})
	for _, req := range []struct {
		key string
		v   *yaml.Node
	}{{"name", d.lookup(n, "name")}, {"trigger", trig}, {"create_job", job}} {
		if req.v == nil && (req.key != "create_job" || other == nil) {
			d.errorf(n, "", "%s is required", req.key)
		}
	}
	return s
}

// trigger decodes a schedule's trigger and checks it, placing a problem
// trigger.Compile finds at the key it names.
func (d *decoder) trigger(path string, n *yaml.Node) trigger.Definition {
	var t trigger.Definition
	nodes := map[string]*yaml.Node{}
	at := func(key string, h fieldFunc) fieldFunc {
		return func(p string, v *yaml.Node) { nodes[key] = v; h(p, v) }
	}
	d.fields(n, path, "a trigger", map[string]fieldFunc{
		"type":       at("type", func(p string, v *yaml.Node) { t.Type, _ = d.oneOf(p, v, []string{"cron", "recurrence"}) }),
		"expression": at("expression", d.strInto(&t.Expression)),
		"frequency":  at("frequency", d.strInto(&t.Frequency)),
		"interval":   at("interval", func(p string, v *yaml.Node) { t.Interval, _ = d.integer(p, v) }),
		"schedule":   at("schedule", func(p string, v *yaml.Node) { t.Schedule = d.pattern(p, v, nodes) }),
		"start_time": at("start_time", d.strInto(&t.StartTime)),
		"end_time":   at("end_time", d.strInto(&t.EndTime)),
		"time_zone":  at("time_zone", d.strInto(&t.TimeZone)),
	}, nil)
	if d.resolve(n).Kind != yaml.MappingNode || t.Type == "" && nodes["type"] != nil {
		return t
	}
	if _, err := trigger.Compile(t, time.Now()); err != nil {
		var fe *trigger.FieldError
		if !errors.As(err, &fe) {
			d.errorf(n, path, "%v", err)
			return t
		}
		at := n
		for key := fe.Field; key != ""; key = key[:max(strings.LastIndex(key, "."), 0)] {
			if v := nodes[key]; v != nil {
				at = v
				break
			}
		}
		d.errorf(at, joinPath(path, fe.Field), "%s", fe.Msg)
	}
	return t
}

// pattern decodes a recurrence's schedule: hours, minutes, week_days and
// month_days, each one value or a list.
func (d *decoder) pattern(path string, n *yaml.Node, nodes map[string]*yaml.Node) *trigger.Pattern {
	p := &trigger.Pattern{}
	keep := func(key string, h fieldFunc) fieldFunc {
		return func(fp string, v *yaml.Node) { nodes["schedule."+key] = v; h(fp, v) }
	}
	d.fields(n, path, "a recurrence schedule", map[string]fieldFunc{
		"hours":      keep("hours", func(fp string, v *yaml.Node) { p.Hours = d.intOrList(fp, v) }),
		"minutes":    keep("minutes", func(fp string, v *yaml.Node) { p.Minutes = d.intOrList(fp, v) }),
		"week_days":  keep("week_days", func(fp string, v *yaml.Node) { p.WeekDays = d.strOrList(fp, v) }),
		"month_days": keep("month_days", func(fp string, v *yaml.Node) { p.MonthDays = d.intOrList(fp, v) }),
	}, nil)
	return p
}

// intOrList reads an integer or a sequence of integers.
func (d *decoder) intOrList(path string, v *yaml.Node) []int {
	if v.Kind != yaml.SequenceNode {
		if i, ok := d.integer(path, v); ok {
			return []int{i}
		}
		return nil
	}
	var out []int
	for _, item := range v.Content {
		if i, ok := d.integer(path, item); ok {
			out = append(out, i)
		}
	}
	return out
}

// strOrList reads a string or a sequence of strings.
func (d *decoder) strOrList(path string, v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode {
		if s, ok := d.str(path, v); ok {
			return []string{s}
		}
		return nil
	}
	var out []string
	for _, item := range v.Content {
		if s, ok := d.str(path, item); ok {
			out = append(out, s)
		}
	}
	return out
}
