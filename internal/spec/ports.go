package spec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// ModeDirect is the input mode that hands a job its data's URI instead of
// the files: ciel does so for http(s) URLs, and gives a local path for
// everything else, which a job can read without a storage client.
const ModeDirect = "direct"

// Types, by what they carry.
var (
	dataTypes    = []string{TypeURIFile, TypeURIFolder, TypeMLTable, TypeCustomModel, TypeMLflowModel}
	literalTypes = []string{TypeString, TypeInteger, TypeNumber, TypeBoolean}
	allTypes     = append(append([]string{}, dataTypes...), literalTypes...)
	inputModes   = []string{"ro_mount", "download", ModeDirect, "eval_mount", "eval_download"}
	outputModes  = []string{"rw_mount", "upload", "direct"}
)

// oneOf reads a scalar that must be one of choices.
func (d *decoder) oneOf(path string, v *yaml.Node, choices []string) (string, bool) {
	s, ok := d.str(path, v)
	if !ok {
		return "", false
	}
	if !contains(choices, s) {
		d.errorf(v, path, "unknown value %q; expected one of %s", s, strings.Join(choices, ", "))
		return "", false
	}
	return s, true
}

// portNames checks the names of an inputs or outputs mapping and returns its
// entries; null is an empty mapping.
func (d *decoder) portNames(path string, v *yaml.Node, what string) []pair {
	v = d.resolve(v)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		d.errorf(v, path, "expected a mapping of %s names, got %s", what, describe(v))
		return nil
	}
	var out []pair
	for _, p := range d.pairs(v, path) {
		if !isIdent(p.name) {
			d.errorf(p.key, path, "invalid %s name %q: expected letters, digits, '_' or '-', starting with a letter or '_'", what, p.name)
			continue
		}
		p.val = d.resolve(p.val)
		out = append(out, p)
	}
	return out
}

// bindingText checks that s, which contains "${{", is one valid binding and
// returns it written the canonical way.
func (d *decoder) bindingText(path string, v *yaml.Node, s string) (string, bool) {
	if !IsBinding(s) {
		d.errorf(v, path, "a ${{...}} binding must be the whole value, got %q", s)
		return "", false
	}
	b, err := ParseBinding(s)
	if err != nil {
		d.errorf(v, path, "%v", err)
		return "", false
	}
	return b.String(), true
}

// IsLiteralType reports whether an input type is a literal (string,
// integer, number, boolean) rather than data.
func IsLiteralType(t string) bool { return contains(literalTypes, t) }

// jobInputs reads a job's inputs block.
func (d *decoder) jobInputs(path string, v *yaml.Node) map[string]*InputValue {
	out := map[string]*InputValue{}
	for _, p := range d.portNames(path, v, "input") {
		in := d.jobInput(joinPath(path, p.name), p.val)
		if in == nil {
			// Already reported; keep the name so uses of it are not.
			in = &InputValue{Pos: d.pos(p.val)}
		}
		out[p.name] = in
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// jobInput reads what a job gives one input: a literal, a binding, or a
// mapping with type/path/value.
func (d *decoder) jobInput(path string, v *yaml.Node) *InputValue {
	const expected = "expected a scalar, a ${{...}} binding or a mapping with type/path"
	switch {
	case v.Kind == yaml.MappingNode:
		return d.inputMapping(path, v)
	case v.Kind != yaml.ScalarNode || isNull(v):
		d.errorf(v, path, "%s, got %s", expected, describe(v))
		return nil
	}
	in := &InputValue{Pos: d.pos(v)}
	if v.ShortTag() == "!!str" && strings.Contains(v.Value, "${{") {
		b, ok := d.bindingText(path, v, v.Value)
		if !ok {
			return nil
		}
		in.Binding = b
		return in
	}
	val := v.Value
	in.Value, in.Kind = &val, scalarKind(v)
	return in
}

// inputMapping reads an input written as a mapping.
func (d *decoder) inputMapping(path string, v *yaml.Node) *InputValue {
	in := &InputValue{Pos: d.pos(v)}
	var pathNode, valNode *yaml.Node
	value := func(p string, n *yaml.Node) {
		if valNode != nil {
			d.errorf(n, p, "value and default both given; give one")
			return
		}
		valNode = n
	}
	d.fields(v, path, "an input", map[string]fieldFunc{
		"type": func(p string, n *yaml.Node) { in.Type, _ = d.oneOf(p, n, allTypes) },
		"path": func(p string, n *yaml.Node) { pathNode = n },
		"mode": func(p string, n *yaml.Node) { in.Mode, _ = d.oneOf(p, n, inputModes) },
		"optional": func(p string, n *yaml.Node) {
			in.Optional, _ = d.boolean(p, n)
		},
		"value":       value,
		"default":     value,
		"description": func(p string, n *yaml.Node) { d.str(p, n) },
	}, []string{"datastore", "min", "max", "enum", "is_control"})
	literal := contains(literalTypes, in.Type)
	switch {
	case pathNode != nil && valNode != nil:
		d.errorf(v, path, "path and value both given; a data input takes path, a literal takes value")
	case pathNode != nil && literal:
		d.errorf(pathNode, joinPath(path, "path"), "a %s input takes value:, not path:", in.Type)
	case pathNode != nil:
		d.inputPath(joinPath(path, "path"), pathNode, in)
	case valNode != nil && in.Type != "" && !literal:
		d.errorf(valNode, path, "a %s input takes path:, not value:", in.Type)
	case valNode != nil:
		d.inputValue(path, valNode, in)
	case !in.Optional:
		d.errorf(v, path, "expected path: (a data input) or value: (a literal) in the mapping")
	}
	return in
}

// inputPath reads the path of a data input: a binding, a reference or URL
// kept as written, or a local path made absolute.
func (d *decoder) inputPath(path string, n *yaml.Node, in *InputValue) {
	s, ok := d.str(path, n)
	if !ok {
		return
	}
	if strings.Contains(s, "${{") {
		in.Binding, _ = d.bindingText(path, n, s)
		return
	}
	if in.Type == "" {
		in.Type = TypeURIFolder
	}
	in.Path, _ = d.dataPath(path, n)
}

// inputValue reads the value: or default: of a literal input.
func (d *decoder) inputValue(path string, n *yaml.Node, in *InputValue) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, path, "expected a scalar value, got %s", describe(n))
		return
	}
	if strings.Contains(n.Value, "${{") && n.ShortTag() == "!!str" {
		in.Binding, _ = d.bindingText(path, n, n.Value)
		return
	}
	val := n.Value
	in.Value, in.Kind = &val, scalarKind(n)
	if in.Type != "" {
		in.Kind = in.Type
		if msg := checkLiteral(in.Type, val); msg != "" {
			d.errorf(n, path, "%s", msg)
		}
	}
}

// jobOutputs reads a job's outputs block.
func (d *decoder) jobOutputs(path string, v *yaml.Node) map[string]*OutputValue {
	out := map[string]*OutputValue{}
	for _, p := range d.portNames(path, v, "output") {
		o := d.jobOutput(joinPath(path, p.name), p.key, p.val)
		if o == nil {
			o = &OutputValue{Pos: d.pos(p.val)} // already reported
		}
		out[p.name] = o
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// jobOutput reads what a job says of one output: nothing, a binding to a
// pipeline output, or a mapping.
func (d *decoder) jobOutput(path string, key, v *yaml.Node) *OutputValue {
	switch {
	case isNull(v):
		return &OutputValue{Pos: d.pos(key)}
	case v.Kind == yaml.ScalarNode && strings.Contains(v.Value, "${{"):
		b, ok := d.bindingText(path, v, v.Value)
		if !ok {
			return nil
		}
		return &OutputValue{Binding: b, Pos: d.pos(v)}
	case v.Kind != yaml.MappingNode:
		d.errorf(v, path, "expected nothing, a ${{parent.outputs.<name>}} binding or a mapping with type/mode/path, got %s", describe(v))
		return nil
	}
	o := &OutputValue{Pos: d.pos(v)}
	d.fields(v, path, "an output", map[string]fieldFunc{
		"type":        func(p string, n *yaml.Node) { o.Type, _ = d.oneOf(p, n, dataTypes) },
		"mode":        func(p string, n *yaml.Node) { o.Mode, _ = d.oneOf(p, n, outputModes) },
		"path":        func(p string, n *yaml.Node) { d.outputPath(p, n, o) },
		"name":        d.nameInto(&o.Name),
		"version":     d.nameInto(&o.Version),
		"description": func(p string, n *yaml.Node) { d.str(p, n) },
	}, []string{"datastore", "is_control", "early_available"})
	return o
}

// outputPath reads where an output goes: a binding, a URL or reference kept
// as written (it may hold ${{name}}), or a local path made absolute.
func (d *decoder) outputPath(path string, n *yaml.Node, o *OutputValue) {
	s, ok := d.str(path, n)
	if !ok || s == "" {
		return
	}
	switch {
	case IsBinding(s):
		o.Binding, _ = d.bindingText(path, n, s)
	case isRemote(s):
		o.Path = s
	default:
		o.Path = d.localPath(s)
	}
}
