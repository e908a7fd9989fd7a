package spec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// looksLikePipelineJob reports whether a file loaded as a component is in
// fact a pipeline job (Azure ML lets a pipeline job file stand in for a
// pipeline component): its schema says so, or its inputs are values rather
// than declarations, or it has keys only jobs have.
func (d *decoder) looksLikePipelineJob(root *yaml.Node) bool {
	root = d.resolve(root)
	if root.Kind != yaml.MappingNode || d.lookup(root, "jobs") == nil {
		return false
	}
	if s := d.lookup(root, "$schema"); s != nil && strings.Contains(strings.ToLower(s.Value), "pipelinejob") {
		return true
	}
	for _, key := range []string{"experiment_name", "compute"} {
		if d.lookup(root, key) != nil {
			return true
		}
	}
	in := d.lookup(root, "inputs")
	if in == nil || in.Kind != yaml.MappingNode {
		return false
	}
	for i := 1; i < len(in.Content); i += 2 {
		v := d.resolve(in.Content[i])
		if v.Kind != yaml.MappingNode || d.lookup(v, "path") != nil || d.lookup(v, "value") != nil {
			return true
		}
	}
	return false
}

// jobAsComponent turns a pipeline job into the pipeline component it
// implies: each input value becomes a declaration whose default is that
// value, each output a declaration of its type.
func jobAsComponent(j *Job) *Component {
	c := &Component{
		Schema: j.Schema, Type: JobPipeline, Name: j.Name, DisplayName: j.DisplayName, Description: j.Description,
		Tags: j.Tags, Jobs: j.Jobs, Settings: j.Settings, File: j.File, Pos: j.Pos,
		Inputs: map[string]*InputDecl{}, Outputs: map[string]*OutputDecl{},
	}
	for name, in := range j.Inputs {
		decl := &InputDecl{Type: in.Type, Optional: in.Optional, Pos: in.Pos}
		switch {
		case in.Value != nil:
			decl.Type, decl.Default = orType(in.Kind, TypeString), in.Value
		case in.Path != "":
			// A data default cannot be carried by a declaration: the
			// step must give it.
			decl.Type = orType(in.Type, TypeURIFolder)
		default:
			decl.Type = orType(in.Type, TypeString)
		}
		c.Inputs[name] = decl
	}
	for name, out := range j.Outputs {
		c.Outputs[name] = &OutputDecl{Type: orType(out.Type, TypeURIFolder), Mode: out.Mode, Pos: out.Pos}
	}
	return c
}

func orType(t, def string) string {
	if t == "" {
		return def
	}
	return t
}

// topComponent reports whether a job file names the component it runs at
// its top (type: pipeline, component: and no jobs:), as a pipeline job
// that runs a pipeline component does.
func (d *decoder) topComponent(n *yaml.Node) bool {
	t := d.lookup(n, "type")
	return t != nil && t.Kind == yaml.ScalarNode && t.Value == JobPipeline &&
		d.lookup(n, "component") != nil && d.lookup(n, "jobs") == nil
}

// componentPipeline makes a pipeline job that runs a pipeline component
// (component: at its top, Azure ML's form for trying a component before
// deploying it) into a pipeline of one step running that component: each
// of the job's inputs and outputs is bound to the step's port of that name,
// so the component's outputs are the job's.
func (d *decoder) componentPipeline(path string, j *Job) {
	// A component of another type was reported by checkJob already.
	if comp := j.Component; comp.Inline == nil && comp.Ref == "" {
		return // unreadable, reported already
	}
	RunComponent(j)
	d.validatePipeline(path, pipelineScope{inputs: keySet(j.Inputs), outputs: keySet(j.Outputs), jobs: j.Jobs})
}

// RunComponent makes j, a pipeline job with Component set, a pipeline of
// one step that runs that component: each of j's inputs and outputs is
// bound to the step's port of the same name (a null input is dropped, a
// null output made a plain one), and an inline component's
// outputs that j does not list are added to j's, so the component's
// outputs are the job's. Batch invocations of pipeline deployments are built so.
func RunComponent(j *Job) {
	comp := j.Component
	step := &Job{Type: JobPipeline, Component: comp, File: j.File, Pos: comp.Pos,
		Inputs: map[string]*InputValue{}, Outputs: map[string]*OutputValue{}}
	for name, in := range j.Inputs {
		if in == nil {
			delete(j.Inputs, name) // given as null over the API: not given
			continue
		}
		step.Inputs[name] = &InputValue{Binding: "${{parent.inputs." + name + "}}", Pos: in.Pos}
	}
	if comp.Inline != nil {
		// The component's outputs are the job's, listed or not.
		for name, decl := range comp.Inline.Outputs {
			if _, ok := j.Outputs[name]; !ok && decl != nil {
				if j.Outputs == nil {
					j.Outputs = map[string]*OutputValue{}
				}
				j.Outputs[name] = &OutputValue{Type: decl.Type, Pos: comp.Pos}
			}
		}
	}
	for name, out := range j.Outputs {
		if out == nil {
			out = &OutputValue{}
			j.Outputs[name] = out
		}
		step.Outputs[name] = &OutputValue{Binding: "${{parent.outputs." + name + "}}", Pos: out.Pos}
	}
	j.Component = nil
	j.Jobs = map[string]*Job{componentStepName(comp): step}
}

// PipelineJobComponent is the pipeline component a pipeline job implies,
// as Azure ML makes one when a job is deployed: each input value becomes a
// declaration defaulting to it.
func PipelineJobComponent(j *Job) *Component { return jobAsComponent(j) }

// componentStepName names the one step of a pipeline job that runs a
// component: the component's name where it makes a step name.
func componentStepName(c *ComponentRef) string {
	name := ""
	if c.Inline != nil {
		name = c.Inline.Name
	} else {
		ref := strings.TrimPrefix(c.Ref, "azureml:")
		ref = ref[strings.LastIndex(ref, "/")+1:]
		name, _, _ = strings.Cut(ref, "@")
		name, _, _ = strings.Cut(name, ":")
	}
	if !isIdent(name) {
		return "component"
	}
	return name
}
