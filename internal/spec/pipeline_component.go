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
