package spec

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseJobFile reads and parses an Azure ML job file.
func ParseJobFile(path string, opts Options) (*Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read job file: %w", err)
	}
	return ParseJob(path, data, opts)
}

// ParseJob parses an Azure ML command or pipeline job. file names it in
// errors and is where relative paths resolve from; component files its steps
// name are read from disk. The job is checked as far as one file allows:
// bindings name existing steps, inputs and outputs; steps give what their
// components need; commands use only inputs and outputs they have; steps do
// not depend on each other in a cycle.
func ParseJob(file string, data []byte, opts Options) (*Job, error) {
	var j *Job
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		// The top file counts as loading, so a component it names that
		// names it back is a cycle.
		d.s.loading = append(d.s.loading, loadingFile{abs: d.abs, display: file})
		j = d.job(root, "", false)
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// jobIgnored are keys Azure ML accepts in a job that ciel has no use for.
var jobIgnored = []string{
	"resources", "distribution", "identity", "services", "queue_settings", "properties",
	"is_deterministic", "inference_config", "build", "os_type", "status", "creation_context",
	"id", "parent_job_name", "version",
}

// unsupportedTypes are Azure ML job and component types ciel does not run
// yet.
var unsupportedTypes = []string{
	"spark", "automl", "import", "data_transfer", "flow",
}

// lookup returns the value of key in the mapping n (explicit or merged), or
// nil. It reports nothing; fields does.
func (d *decoder) lookup(n *yaml.Node, key string) *yaml.Node {
	n = d.resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	if i := mappingIndex(n, key); i >= 0 {
		return d.resolve(n.Content[i+1])
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].ShortTag() != "!!merge" {
			continue
		}
		merged := d.resolve(n.Content[i+1])
		sources := []*yaml.Node{merged}
		if merged.Kind == yaml.SequenceNode {
			sources = merged.Content
		}
		for _, src := range sources {
			if v := d.lookup(src, key); v != nil {
				return v
			}
		}
	}
	return nil
}

// kindOf reads the type: of a job or component (what), which must be
// command or pipeline, or parallel for a job; fallback is used when there
// is none.
func (d *decoder) kindOf(n *yaml.Node, path, what, fallback string) (string, bool) {
	t := d.lookup(n, "type")
	if t == nil {
		return fallback, true
	}
	p := joinPath(path, "type")
	s, ok := d.str(p, t)
	switch {
	case !ok:
		return "", false
	case s == JobCommand || s == JobPipeline || s == JobParallel || (s == JobSweep && what == "job"):
		return s, true
	case contains(unsupportedTypes, s) || s == JobSweep:
		d.errorf(t, p, "%s type %q is not supported yet (supported: %s)", what, s, strings.Join(supportedTypes(what), ", "))
	default:
		types := supportedTypes(what)
		d.errorf(t, p, "unknown %s type %q; expected %s or %s", what, s, strings.Join(types[:len(types)-1], ", "), types[len(types)-1])
	}
	return "", false
}

// supportedTypes names the types a job or component (what) may have.
func supportedTypes(what string) []string {
	if what == "job" {
		return []string{JobCommand, JobPipeline, JobSweep, JobParallel}
	}
	return []string{JobCommand, JobPipeline, JobParallel}
}

// jobState is what decoding one job remembers beyond the Job itself.
type jobState struct {
	j       *Job
	cmdNode *yaml.Node
	step    bool
}

// job decodes a job mapping: the whole file (step false) or a pipeline step.
func (d *decoder) job(n *yaml.Node, path string, step bool) *Job {
	n = d.resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a job mapping, got %s", describe(n))
		return nil
	}
	st := &jobState{j: &Job{File: d.abs, Pos: d.pos(n)}, step: step}
	j := st.j
	var compNode *yaml.Node
	if step || d.topComponent(n) {
		if compNode = d.lookup(n, "component"); compNode != nil {
			j.Component = d.componentRef(joinPath(path, "component"), compNode)
			if j.Component == nil {
				// Unreadable: keep the step, with ports unknown, so that
				// bindings to it are not reported as dangling too.
				j.Component = &ComponentRef{Pos: d.pos(compNode)}
			}
		}
	}
	fallback := JobCommand
	if d.lookup(n, "jobs") != nil {
		fallback = JobPipeline
	}
	if j.Component != nil && j.Component.Inline != nil {
		fallback = j.Component.Inline.Type
	}
	typ, ok := d.kindOf(n, path, "job", fallback)
	if !ok {
		return nil
	}
	j.Type = typ
	what := "a " + typ + " job"
	if step {
		what = "a " + typ + " step"
	}
	d.fieldsOf(n, path, what, d.jobFields(st))
	d.checkJob(st, n, path)
	return j
}

// jobFields returns the keys a job of st's type accepts.
func (d *decoder) jobFields(st *jobState) keyTable {
	j := st.j
	known := map[string]fieldFunc{
		"$schema":         d.strInto(&j.Schema),
		"type":            func(string, *yaml.Node) {},
		"name":            d.nameInto(&j.Name),
		"display_name":    d.strInto(&j.DisplayName),
		"description":     d.strInto(&j.Description),
		"experiment_name": d.strInto(&j.ExperimentName),
		"tags":            d.mapInto(&j.Tags),
		"compute":         func(p string, v *yaml.Node) { j.Compute = d.computeName(p, v) },
		"inputs":          func(p string, v *yaml.Node) { j.Inputs = d.jobInputs(p, v) },
		"outputs":         func(p string, v *yaml.Node) { j.Outputs = d.jobOutputs(p, v) },
	}
	command := map[string]fieldFunc{
		"command":               func(p string, v *yaml.Node) { j.Command, _ = d.str(p, v); st.cmdNode = v },
		"code":                  func(p string, v *yaml.Node) { j.Code = d.code(p, v) },
		"environment":           func(p string, v *yaml.Node) { j.Environment = d.envRef(p, v) },
		"environment_variables": d.mapInto(&j.EnvironmentVariables),
		"limits":                func(p string, v *yaml.Node) { j.Limits = d.limits(p, v) },
		"retry_settings":        func(p string, v *yaml.Node) { j.Retry = d.retry(p, v) },
		"resources":             func(p string, v *yaml.Node) { j.Resources = d.resources(p, v) },
	}
	pipeline := map[string]fieldFunc{
		"jobs":     func(p string, v *yaml.Node) { j.Jobs = d.steps(p, v) },
		"settings": func(p string, v *yaml.Node) { j.Settings = d.settings(p, v) },
	}
	isPipeline, isSweep := j.Type == JobPipeline, j.Type == JobSweep
	keys := keyTable{known: known, ignored: jobIgnored}
	keys.use(command, j.Type == JobCommand, "a command job")
	if isSweep {
		for k, h := range d.sweepFields(st) {
			keys.known[k] = h
		}
	}
	if j.Type == JobParallel {
		keys.use(d.parallelFields(st), true, "")
	}
	if j.Type == JobCommand {
		// Other job types ignore it, as they did before ciel ran it.
		keys.known["distribution"] = func(p string, v *yaml.Node) { j.Distribution = d.distribution(p, v) }
	}
	if st.step && isPipeline {
		keys.use(pipeline, false, "a pipeline job file (a pipeline step runs a pipeline component)")
	} else {
		keys.use(pipeline, isPipeline, "a pipeline job")
	}
	component := map[string]fieldFunc{"component": func(string, *yaml.Node) {}} // read first, in job
	keys.use(component, st.step || (isPipeline && j.Component != nil), "a pipeline step or a pipeline job without jobs:")
	return keys
}

// checkJob checks what a job needs once all its keys are read.
func (d *decoder) checkJob(st *jobState, n *yaml.Node, path string) {
	j := st.j
	comp := j.Component
	if j.Type == JobSweep {
		if !st.step {
			d.checkNoParent(path, j)
		}
		d.checkSweep(st, n, path)
		return
	}
	if comp != nil && comp.Inline != nil && comp.Inline.Type != j.Type {
		d.errorf(n, path, "type is %s but the component is a %s component", j.Type, comp.Inline.Type)
		return
	}
	if !st.step {
		d.checkNoParent(path, j)
	}
	instances := 1
	if j.Resources != nil {
		instances = j.Resources.InstanceCount
	}
	d.checkDistribution(j.Distribution, instances, path)
	switch {
	case j.Type == JobParallel:
		d.checkParallel(st, n, path)
	case j.Type == JobPipeline && st.step:
		if comp == nil && d.lookup(n, "component") == nil {
			d.errorf(n, path, "a pipeline step needs component: (a pipeline component)")
		}
	case j.Type == JobPipeline && comp != nil:
		d.componentPipeline(path, j)
	case j.Type == JobPipeline:
		if jobs := d.lookup(n, "jobs"); jobs == nil || isNull(jobs) || (jobs.Kind == yaml.MappingNode && len(jobs.Content) == 0) {
			d.errorf(n, path, "a pipeline job needs at least one step in jobs:")
			return
		}
		d.validatePipeline(path, pipelineScope{
			inputs: keySet(j.Inputs), outputs: keySet(j.Outputs), jobs: j.Jobs,
		})
	case st.step && d.lookup(n, "component") != nil:
		if st.cmdNode != nil {
			d.errorf(st.cmdNode, joinPath(path, "command"), "a step that runs a component takes its command from the component; remove command")
		}
	case st.cmdNode == nil:
		d.errorf(n, path, "a command job needs command:")
	default:
		d.checkCommand(joinPath(path, "command"), st.cmdNode, j.Command, commandPorts{
			inputs: keySet(j.Inputs), outputs: keySet(j.Outputs),
		})
	}
}

// checkNoParent reports bindings in a job that is not a step: it has no
// parent pipeline to bind to.
func (d *decoder) checkNoParent(path string, j *Job) {
	for _, name := range byPos(j.Inputs, inputPos) {
		if in := j.Inputs[name]; in.Binding != "" {
			d.errorAt(in.Pos, joinPath(path, "inputs."+name), "%s: a job file has no parent pipeline to bind to; give a value or a path", in.Binding)
		}
	}
	for _, name := range byPos(j.Outputs, outputPos) {
		if out := j.Outputs[name]; out.Binding != "" {
			d.errorAt(out.Pos, joinPath(path, "outputs."+name), "%s: a job file has no parent pipeline to bind to", out.Binding)
		}
	}
}

// steps reads a pipeline's jobs block.
func (d *decoder) steps(path string, v *yaml.Node) map[string]*Job {
	if v.Kind != yaml.MappingNode {
		d.errorf(v, path, "expected a mapping of step names to steps, got %s", describe(v))
		return nil
	}
	out := map[string]*Job{}
	for _, p := range d.pairs(v, path) {
		if !isIdent(p.name) {
			d.errorf(p.key, path, "invalid step name %q: expected letters, digits, '_' or '-', starting with a letter or '_'", p.name)
			continue
		}
		s := d.job(p.val, joinPath(path, p.name), true)
		if s == nil {
			// Already reported; a stub with unknown ports keeps bindings to
			// the step from being reported as dangling too.
			s = &Job{Component: &ComponentRef{}}
		}
		s.Pos = d.pos(p.key)
		out[p.name] = s
	}
	return out
}

// computeName reads a compute target name, dropping an azureml: prefix. A
// step may also take it from a pipeline input, ${{parent.inputs.<name>}}.
func (d *decoder) computeName(path string, v *yaml.Node) string {
	s, _ := d.str(path, v)
	if strings.Contains(s, "${{") {
		s, _ = d.bindingText(path, v, s)
		return s
	}
	return strings.TrimPrefix(s, "azureml:")
}

// code reads a code directory: an azureml: reference or URL kept as
// written, or a local path made absolute, which must exist.
func (d *decoder) code(path string, v *yaml.Node) string {
	s, _ := d.dataPath(path, v)
	return s
}

// envRef reads an environment: an azureml: reference or an inline one.
func (d *decoder) envRef(path string, v *yaml.Node) *EnvRef {
	ref := &EnvRef{Pos: d.pos(v)}
	switch {
	case v.Kind == yaml.MappingNode:
		ref.Inline = d.environment(v, path)
		if ref.Inline == nil {
			return nil
		}
	case v.Kind == yaml.ScalarNode && !isNull(v) && isAzureRef(v.Value):
		ref.Ref = v.Value
	default:
		d.errorf(v, path, "expected azureml:<name>:<version>, azureml:<name>@latest, azureml://registries/... or an inline environment mapping (image, conda_file), got %s", describeValue(v))
		return nil
	}
	return ref
}

// settings reads a pipeline's settings block.
func (d *decoder) settings(path string, v *yaml.Node) *Settings {
	s := &Settings{Pos: d.pos(v)}
	if isNull(v) {
		return s
	}
	// Azure ML's settings schema includes unknown keys rather than refusing
	// them (azureml-examples' 3a_basic_pipeline has "default_datestore"),
	// so any other key is accepted and ignored.
	d.fieldsOf(v, path, "settings", keyTable{known: map[string]fieldFunc{
		"default_compute":          func(p string, n *yaml.Node) { s.DefaultCompute = d.computeName(p, n) },
		"default_datastore":        d.strInto(&s.DefaultDatastore),
		"force_rerun":              d.boolPtrInto(&s.ForceRerun),
		"continue_on_step_failure": d.boolPtrInto(&s.ContinueOnStepFailure),
	}, open: true})
	return s
}

// limits reads a command job's limits.
func (d *decoder) limits(path string, v *yaml.Node) *Limits {
	l := &Limits{Pos: d.pos(v)}
	d.fields(v, path, "limits", map[string]fieldFunc{
		"timeout": d.nonNegativeInto(&l.TimeoutSeconds),
	}, nil)
	return l
}

// resources reads a command job's resources; of Azure's keys, the instance
// type is used (on kubernetes computes), the rest accepted.
func (d *decoder) resources(path string, v *yaml.Node) *Resources {
	r := &Resources{Pos: d.pos(v)}
	d.fields(v, path, "resources", map[string]fieldFunc{
		"instance_type": func(p string, v *yaml.Node) {
			if s, ok := d.str(p, v); ok {
				if err := ValidateInstanceTypeName(s); err != nil {
					d.errorf(v, p, "%v", err)
				}
				r.InstanceType = s
			}
		},
		"instance_count": d.nonNegativeInto(&r.InstanceCount),
	}, []string{"shm_size", "docker_args", "properties", "locations", "max_instance_count"})
	return r
}

// retry reads a step's retry_settings.
func (d *decoder) retry(path string, v *yaml.Node) *RetrySettings {
	r := &RetrySettings{Pos: d.pos(v)}
	d.fields(v, path, "retry_settings", map[string]fieldFunc{
		"max_retries": d.nonNegativeInto(&r.MaxRetries),
		"timeout":     d.nonNegativeInto(&r.TimeoutSeconds),
	}, nil)
	return r
}
