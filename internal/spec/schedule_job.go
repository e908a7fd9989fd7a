package spec

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// createJobIgnored are create_job keys Azure ML takes that ciel has no use
// for.
var createJobIgnored = []string{"identity", "properties", "resources", "distribution", "parameters", "queue_settings", "services"}

// createJob decodes a schedule's create_job: a job file, azureml:<job>, or
// a mapping with job: and overrides.
func (d *decoder) createJob(path string, v *yaml.Node) ScheduledJob {
	sj := ScheduledJob{Pos: d.pos(v)}
	switch {
	case v.Kind == yaml.ScalarNode && !isNull(v):
		d.jobSource(path, v, &sj)
	case v.Kind == yaml.MappingNode:
		var jobNode *yaml.Node
		o := d.jobOverrides(path, v, &jobNode)
		if jobNode == nil {
			d.errorf(v, path, "job is required: a job file (./job.yml) or azureml:<job name>")
			return sj
		}
		d.jobSource(joinPath(path, "job"), jobNode, &sj)
		if sj.Job != nil {
			if err := ApplyJobOverrides(sj.Job, o); err != nil {
				d.addErr(v, path, err)
			}
		} else if sj.JobName != "" {
			sj.Overrides = o
		}
	default:
		d.errorf(v, path, "expected a job file (./job.yml), azureml:<job name> or a mapping with job:, got %s", describe(v))
	}
	return sj
}

// jobSource reads what create_job's job names: azureml:<job name> (an
// existing job, which the server copies) or a job file, which is parsed.
func (d *decoder) jobSource(path string, v *yaml.Node, sj *ScheduledJob) {
	s, ok := d.str(path, v)
	if !ok {
		return
	}
	sj.Source = s
	switch {
	case s == "":
		d.errorf(v, path, "expected a job file (./job.yml) or azureml:<job name>")
	case isAzureRef(s):
		name := strings.TrimPrefix(s, "azureml:")
		if i := strings.LastIndex(name, "/jobs/"); i >= 0 { // an ARM id
			name = name[i+len("/jobs/"):]
		}
		if err := CheckName("job name", name); err != nil {
			d.errorf(v, path, "%q: %v", s, err)
			return
		}
		sj.JobName = name
	case isRemote(s):
		d.errorf(v, path, "%q: expected a local job file (./job.yml) or azureml:<job name>", s)
	default:
		sj.Job = d.loadJob(path, v, s)
	}
}

// loadJob reads and parses the job file rel names, relative to the
// decoder's file. The schedule macros in its inputs and outputs are kept
// as written.
func (d *decoder) loadJob(path string, v *yaml.Node, rel string) *Job {
	abs := d.localPath(rel)
	data, err := readRegular(abs)
	if err != nil {
		d.errorf(v, path, "cannot read job file %s: %v", rel, unwrapPathError(err))
		return nil
	}
	display := d.displayPath(rel)
	child := &decoder{file: display, abs: abs, dir: filepath.Dir(abs), s: d.s}
	root, err := child.parseRoot(data, Options{})
	if err != nil {
		d.addErr(v, path, err)
		return nil
	}
	guardMacros(child.lookup(root, "inputs"))
	guardMacros(child.lookup(root, "outputs"))
	d.s.loading = append(d.s.loading, loadingFile{abs: abs, display: display})
	defer func() { d.s.loading = d.s.loading[:len(d.s.loading)-1] }()
	j := child.job(root, "", false)
	if j != nil {
		restoreMacros(j.Inputs, j.Outputs)
	}
	return j
}

// jobOverrides decodes the keys of a create_job mapping besides job:,
// whose node it hands back in job.
func (d *decoder) jobOverrides(path string, v *yaml.Node, job **yaml.Node) *JobOverrides {
	o := &JobOverrides{Pos: d.pos(v)}
	guardMacros(d.lookup(v, "inputs"))
	guardMacros(d.lookup(v, "outputs"))
	d.fields(v, path, "create_job", map[string]fieldFunc{
		"job":                   func(_ string, n *yaml.Node) { *job = n },
		"type":                  func(p string, n *yaml.Node) { o.Type, _ = d.oneOf(p, n, []string{JobCommand, JobPipeline}) },
		"description":           d.strInto(&o.Description),
		"experiment_name":       d.strInto(&o.ExperimentName),
		"compute":               func(p string, n *yaml.Node) { o.Compute = d.computeName(p, n) },
		"tags":                  d.mapInto(&o.Tags),
		"environment_variables": d.mapInto(&o.EnvironmentVariables),
		"inputs":                func(p string, n *yaml.Node) { o.Inputs = d.jobInputs(p, n) },
		"outputs":               func(p string, n *yaml.Node) { o.Outputs = d.jobOutputs(p, n) },
		"settings":              func(p string, n *yaml.Node) { o.Settings = d.settings(p, n) },
		"limits":                func(p string, n *yaml.Node) { o.Limits = d.limits(p, n) },
		"environment":           func(p string, n *yaml.Node) { o.Environment = d.envRef(p, n) },
	}, createJobIgnored)
	restoreMacros(o.Inputs, o.Outputs)
	return o
}

// guardMacros hides the schedule macros in the scalars under n (nil: none)
// from the binding checks.
func guardMacros(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${{") {
		n.Value = macroGuard.Replace(n.Value)
	}
	for _, c := range n.Content {
		guardMacros(c)
	}
}

// restoreMacros puts back the macros guardMacros hid.
func restoreMacros(inputs map[string]*InputValue, outputs map[string]*OutputValue) {
	for _, in := range inputs {
		if in == nil {
			continue
		}
		if in.Value != nil {
			v := macroRestore.Replace(*in.Value)
			in.Value = &v
		}
		in.Path = macroRestore.Replace(in.Path)
	}
	for _, o := range outputs {
		if o != nil {
			o.Path = macroRestore.Replace(o.Path)
		}
	}
}

// ApplyJobOverrides applies a create_job's overrides to its job: scalars
// replace the job's, and each key of a mapping replaces that key. An input
// or output the job does not have, or a setting of the wrong job type, is
// an error at the override's position.
func ApplyJobOverrides(j *Job, o *JobOverrides) error {
	if j == nil || o == nil {
		return nil
	}
	var errs ErrorList
	bad := func(pos Pos, format string, args ...any) { errs = append(errs, Errorf(pos, format, args...)) }
	if o.Type != "" && o.Type != j.Type {
		bad(o.Pos, "create_job.type is %s but the job is a %s job", o.Type, j.Type)
		return errs
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{{&j.Description, o.Description}, {&j.ExperimentName, o.ExperimentName}, {&j.Compute, o.Compute}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	j.Tags = mergeStrings(j.Tags, o.Tags)
	for _, name := range slices.Sorted(maps.Keys(o.Inputs)) {
		if _, ok := j.Inputs[name]; !ok {
			bad(o.Inputs[name].Pos, "create_job.inputs.%s: the job has no input %q; its inputs: %s", name, name, nameList(keySet(j.Inputs)))
			continue
		}
		j.Inputs[name] = o.Inputs[name]
	}
	for _, name := range slices.Sorted(maps.Keys(o.Outputs)) {
		if _, ok := j.Outputs[name]; !ok {
			bad(o.Outputs[name].Pos, "create_job.outputs.%s: the job has no output %q; its outputs: %s", name, name, nameList(keySet(j.Outputs)))
			continue
		}
		j.Outputs[name] = o.Outputs[name]
	}
	if j.Type == JobPipeline {
		for _, f := range []struct {
			set bool
			key string
		}{{o.Limits != nil, "limits"}, {o.Environment != nil, "environment"}, {len(o.EnvironmentVariables) > 0, "environment_variables"}} {
			if f.set {
				bad(o.Pos, "create_job.%s: only valid for a command job; the job is a pipeline job", f.key)
			}
		}
		j.Settings = mergeSettings(j.Settings, o.Settings)
	} else {
		if o.Settings != nil {
			bad(o.Settings.Pos, "create_job.settings: only valid for a pipeline job; the job is a command job")
		}
		j.EnvironmentVariables = mergeStrings(j.EnvironmentVariables, o.EnvironmentVariables)
		if o.Limits != nil {
			j.Limits = o.Limits
		}
		if o.Environment != nil {
			j.Environment = o.Environment
		}
	}
	return errs.Err()
}

// mergeStrings returns base with over's keys set.
func mergeStrings(base, over map[string]string) map[string]string {
	if len(over) == 0 {
		return base
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}

// mergeSettings returns base with the settings over gives set.
func mergeSettings(base, over *Settings) *Settings {
	if over == nil {
		return base
	}
	out := Settings{Pos: over.Pos}
	if base != nil {
		out = *base
	}
	if over.DefaultCompute != "" {
		out.DefaultCompute = over.DefaultCompute
	}
	if over.DefaultDatastore != "" {
		out.DefaultDatastore = over.DefaultDatastore
	}
	if over.ForceRerun != nil {
		out.ForceRerun = over.ForceRerun
	}
	if over.ContinueOnStepFailure != nil {
		out.ContinueOnStepFailure = over.ContinueOnStepFailure
	}
	return &out
}

// CheckSubmittedSchedule checks a schedule received over the API: its
// names, and its job as CheckSubmittedJob checks one.
func CheckSubmittedSchedule(s *Schedule) error {
	var c submitChecker
	c.name("name", s.Name, true)
	c.label("display_name", s.DisplayName)
	sj := &s.CreateJob
	switch {
	case sj.Job != nil && sj.JobName != "":
		c.fail("create_job", "give a job or the name of an existing job, not both")
	case sj.Job == nil && sj.JobName == "":
		c.fail("create_job", "required: a job, or the name of an existing job")
	case sj.Job != nil:
		if sj.Overrides != nil {
			c.fail("create_job.overrides", "apply to an existing job (job_name); a job's own overrides are applied by the client")
		}
		if err := CheckSubmittedJob(sj.Job); err != nil {
			fe := err.(*FieldError)
			c.fail(joinPath("create_job.job", fe.Field), "%s", fe.Msg)
		}
	default:
		c.name("create_job.job_name", sj.JobName, true)
		if o := sj.Overrides; o != nil {
			c.label("create_job.overrides.experiment_name", o.ExperimentName)
			c.envVars("create_job.overrides.environment_variables", o.EnvironmentVariables)
			c.envRef("create_job.overrides.environment", o.Environment)
			ports(&c, "create_job.overrides.inputs", "input", o.Inputs)
			ports(&c, "create_job.overrides.outputs", "output", o.Outputs)
			for _, name := range slices.Sorted(maps.Keys(o.Inputs)) {
				if in := o.Inputs[name]; in != nil {
					c.uploaded("create_job.overrides.inputs."+name+".path", in.Path)
					if in.Value != nil {
						c.text("create_job.overrides.inputs."+name+".value", *in.Value)
					}
				}
			}
		}
	}
	return c.result()
}
