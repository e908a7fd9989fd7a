package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseComponentFile reads and parses an Azure ML component file.
func ParseComponentFile(path string, opts Options) (*Component, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read component file: %w", err)
	}
	return ParseComponent(path, data, opts)
}

// ParseComponent parses an Azure ML command or pipeline component. file
// names it in errors and is where relative paths (code, component files of
// a pipeline component's steps) resolve from. A missing name is accepted:
// registering needs one, and that is the caller's check.
func ParseComponent(file string, data []byte, opts Options) (*Component, error) {
	var c *Component
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		// The top file counts as loading, so a component it names that
		// names it back is a cycle.
		d.s.loading = append(d.s.loading, loadingFile{abs: d.abs, display: file})
		c = d.component(root, "")
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// loadingFile is a component file being parsed, for include cycles.
type loadingFile struct{ abs, display string }

// Keys a component accepts and ignores.
var componentIgnored = []string{
	"resources", "distribution", "properties", "creation_context",
	"id", "instance_count", "services", "identity", "queue_settings", "os_type", "inference_config",
}

// component decodes a component mapping.
func (d *decoder) component(n *yaml.Node, path string) *Component {
	n = d.resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a component mapping, got %s", describe(n))
		return nil
	}
	c := &Component{File: d.abs, Pos: d.pos(n)}
	fallback := JobCommand
	if d.lookup(n, "jobs") != nil {
		fallback = JobPipeline
	}
	typ, ok := d.kindOf(n, path, "component", fallback)
	if !ok {
		return nil
	}
	c.Type = typ
	var cmdNode *yaml.Node
	known := map[string]fieldFunc{
		"$schema":          d.strInto(&c.Schema),
		"type":             func(string, *yaml.Node) {},
		"name":             d.nameInto(&c.Name),
		"version":          d.nameInto(&c.Version),
		"display_name":     d.strInto(&c.DisplayName),
		"description":      d.strInto(&c.Description),
		"tags":             d.mapInto(&c.Tags),
		"is_deterministic": d.boolPtrInto(&c.IsDeterministic),
		"inputs":           func(p string, v *yaml.Node) { c.Inputs = d.inputDecls(p, v) },
		"outputs":          func(p string, v *yaml.Node) { c.Outputs = d.outputDecls(p, v) },
	}
	command := map[string]fieldFunc{
		"command":               func(p string, v *yaml.Node) { c.Command, _ = d.str(p, v); cmdNode = v },
		"code":                  func(p string, v *yaml.Node) { c.Code = d.code(p, v) },
		"additional_includes":   func(p string, v *yaml.Node) { c.AdditionalIncludes = d.includes(p, v) },
		"environment":           func(p string, v *yaml.Node) { c.Environment = d.envRef(p, v) },
		"environment_variables": d.mapInto(&c.EnvironmentVariables),
	}
	pipeline := map[string]fieldFunc{
		"jobs":     func(p string, v *yaml.Node) { c.Jobs = d.steps(p, v) },
		"settings": func(p string, v *yaml.Node) { c.Settings = d.settings(p, v) },
	}
	// A parallel component's keys are a parallel job's, decoded into a
	// scratch job and moved over.
	par := &jobState{j: &Job{Pos: c.Pos}}
	keys := keyTable{known: known, ignored: componentIgnored}
	keys.use(command, typ == JobCommand, "a command component")
	keys.use(pipeline, typ == JobPipeline, "a pipeline component")
	if typ == JobParallel {
		keys.use(d.parallelFields(par), true, "")
	}
	if typ == JobCommand {
		keys.known["distribution"] = func(p string, v *yaml.Node) { c.Distribution = d.distribution(p, v) }
	}
	d.fieldsOf(n, path, "a "+typ+" component", keys)
	if typ == JobParallel {
		c.Parallel, c.Retry, c.EnvironmentVariables = par.j.Parallel, par.j.Retry, par.j.EnvironmentVariables
	}
	d.checkDistribution(c.Distribution, 1, path)
	d.checkComponent(c, n, cmdNode, path)
	return c
}

// checkComponent checks what a component needs once all its keys are read.
func (d *decoder) checkComponent(c *Component, n, cmdNode *yaml.Node, path string) {
	switch c.Type {
	case JobCommand:
		if cmdNode == nil {
			d.errorf(n, path, "a command component needs command:")
			return
		}
		d.checkCommand(joinPath(path, "command"), cmdNode, c.Command, commandPorts{
			inputs: keySet(c.Inputs), outputs: keySet(c.Outputs), declared: true,
		})
	case JobParallel:
		d.checkParallelSettings(c.Parallel, n, path, parallelPorts{
			inputs: keySet(c.Inputs), outputs: keySet(c.Outputs), declared: true,
			literal: func(name string) bool { in := c.Inputs[name]; return in != nil && IsLiteralType(in.Type) },
		})
	case JobPipeline:
		if len(c.Jobs) == 0 {
			d.errorf(n, path, "a pipeline component needs jobs:")
			return
		}
		d.validatePipeline(path, pipelineScope{
			inputs: keySet(c.Inputs), outputs: keySet(c.Outputs), jobs: c.Jobs,
		})
	}
}

// inputDecls reads a component's inputs block.
func (d *decoder) inputDecls(path string, v *yaml.Node) map[string]*InputDecl {
	out := map[string]*InputDecl{}
	for _, p := range d.portNames(path, v, "input") {
		out[p.name] = d.inputDecl(joinPath(path, p.name), p.key, p.val)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// inputDecl reads one declared input.
func (d *decoder) inputDecl(path string, key, v *yaml.Node) *InputDecl {
	if v.Kind != yaml.MappingNode {
		d.errorf(v, path, "expected a mapping with type (and optional, default, description, ...), got %s", describe(v))
		return &InputDecl{Pos: d.pos(key)}
	}
	in := &InputDecl{Pos: d.pos(key)}
	var defNode, minNode, maxNode *yaml.Node
	d.fields(v, path, "an input declaration", map[string]fieldFunc{
		"type":        func(p string, n *yaml.Node) { in.Type, _ = d.oneOf(p, n, allTypes) },
		"optional":    func(p string, n *yaml.Node) { in.Optional, _ = d.boolean(p, n) },
		"default":     func(p string, n *yaml.Node) { defNode = n },
		"description": d.strInto(&in.Description),
		"mode":        func(p string, n *yaml.Node) { in.Mode, _ = d.oneOf(p, n, inputModes) },
		"min":         func(p string, n *yaml.Node) { in.Min = d.bound(p, n); minNode = n },
		"max":         func(p string, n *yaml.Node) { in.Max = d.bound(p, n); maxNode = n },
		"enum":        func(p string, n *yaml.Node) { in.Enum = d.enum(p, n) },
	}, []string{"is_control", "datastore"})
	if d.lookup(v, "type") == nil {
		d.errorf(v, path, "type is required; expected one of %s", strings.Join(allTypes, ", "))
		return in
	}
	numeric := in.Type == TypeInteger || in.Type == TypeNumber
	if minNode != nil && !numeric {
		d.errorf(minNode, joinPath(path, "min"), "min applies to integer and number inputs, not %s", in.Type)
	}
	if maxNode != nil && !numeric {
		d.errorf(maxNode, joinPath(path, "max"), "max applies to integer and number inputs, not %s", in.Type)
	}
	if defNode != nil && !isNull(defNode) {
		if s, ok := d.str(joinPath(path, "default"), defNode); ok {
			in.Default = &s
			if msg := in.CheckValue(s); msg != "" {
				d.errorf(defNode, joinPath(path, "default"), "%s", msg)
			}
		}
	}
	return in
}

// CheckValue reports why the literal text is not a valid value of the input
// (its type, enum, min and max), or "" when it is.
func (in *InputDecl) CheckValue(text string) string {
	if msg := checkLiteral(in.Type, text); msg != "" {
		return msg
	}
	if len(in.Enum) > 0 && in.Type == TypeString && !contains(in.Enum, text) {
		return fmt.Sprintf("%q is not one of %s", text, strings.Join(in.Enum, ", "))
	}
	if in.Type != TypeInteger && in.Type != TypeNumber {
		return ""
	}
	f, ok := parseNumber(text)
	if !ok {
		return ""
	}
	if in.Min != nil && f < *in.Min {
		return fmt.Sprintf("%s is below the minimum %v", text, *in.Min)
	}
	if in.Max != nil && f > *in.Max {
		return fmt.Sprintf("%s is above the maximum %v", text, *in.Max)
	}
	return ""
}

// parseNumber reads an integer (in any base YAML allows) or a decimal.
func parseNumber(text string) (float64, bool) {
	if i, err := strconv.ParseInt(text, 0, 64); err == nil {
		return float64(i), true
	}
	f, err := strconv.ParseFloat(text, 64)
	return f, err == nil
}

// bound reads min: or max:.
func (d *decoder) bound(path string, v *yaml.Node) *float64 {
	if f, ok := d.number(path, v); ok {
		return &f
	}
	return nil
}

// enum reads a sequence of scalars.
func (d *decoder) enum(path string, v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, path, "expected a sequence of values, got %s", describe(v))
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

// outputDecls reads a component's outputs block.
func (d *decoder) outputDecls(path string, v *yaml.Node) map[string]*OutputDecl {
	out := map[string]*OutputDecl{}
	for _, p := range d.portNames(path, v, "output") {
		o := &OutputDecl{Type: TypeURIFolder, Pos: d.pos(p.key)}
		if !isNull(p.val) {
			d.fields(p.val, joinPath(path, p.name), "an output declaration", map[string]fieldFunc{
				"type":        func(q string, n *yaml.Node) { o.Type, _ = d.oneOf(q, n, allTypes) },
				"description": d.strInto(&o.Description),
				"mode":        func(q string, n *yaml.Node) { o.Mode, _ = d.oneOf(q, n, outputModes) },
			}, []string{"is_control", "early_available", "datastore", "path"})
		}
		out[p.name] = o
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// componentRef reads a step's component: an azureml: reference, a component
// file to load, or an inline component.
func (d *decoder) componentRef(path string, v *yaml.Node) *ComponentRef {
	v = d.resolve(v)
	ref := &ComponentRef{Pos: d.pos(v)}
	switch {
	case v.Kind == yaml.MappingNode:
		ref.Inline = d.component(v, path)
	case v.Kind == yaml.ScalarNode && !isNull(v) && isAzureRef(v.Value):
		ref.Ref = v.Value
	case v.Kind == yaml.ScalarNode && !isNull(v) && !isRemote(v.Value):
		ref.Inline = d.loadComponent(path, v, v.Value)
	default:
		d.errorf(v, path, "expected azureml:<name>:<version>, azureml:<name>@latest, a component file (./train.yml) or an inline component mapping, got %s", describeValue(v))
		return nil
	}
	if ref.Ref == "" && ref.Inline == nil {
		return nil
	}
	return ref
}

// includes reads additional_includes: a sequence of local files or folders,
// relative to the component file, each made absolute. Two with the same base
// name would land on the same place in the snapshot and are refused.
func (d *decoder) includes(path string, v *yaml.Node) []string {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, path, "expected a sequence of local files or folders, got %s", describe(v))
		return nil
	}
	var out []string
	seen := map[string]int{}
	for _, item := range v.Content {
		item = d.resolve(item)
		s, ok := d.str(path, item)
		if !ok {
			continue
		}
		if isRemote(s) {
			d.errorf(item, path, "%q: only local files and folders can be included", s)
			continue
		}
		abs, ok := d.dataPath(path, item)
		if !ok {
			continue
		}
		base := filepath.Base(abs)
		if line, dup := seen[base]; dup {
			d.errorf(item, path, "%q: another include (line %d) is also named %s in the snapshot", s, line, base)
			continue
		}
		seen[base] = item.Line
		out = append(out, abs)
	}
	return out
}

// describeValue describes n, quoting it when it is a scalar.
func describeValue(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return fmt.Sprintf("%q", n.Value)
	}
	return describe(n)
}

// loadComponent reads and parses the component file rel names, relative to
// the decoder's file, refusing include cycles.
func (d *decoder) loadComponent(path string, v *yaml.Node, rel string) *Component {
	abs := d.localPath(rel)
	display := d.displayPath(rel)
	for i, f := range d.s.loading {
		if f.abs == abs {
			chain := []string{}
			for _, g := range d.s.loading[i:] {
				chain = append(chain, g.display)
			}
			d.errorf(v, path, "component include cycle: %s -> %s", strings.Join(chain, " -> "), display)
			return nil
		}
	}
	data, err := readRegular(abs)
	if err != nil {
		d.errorf(v, path, "cannot read component file %s: %v", rel, unwrapPathError(err))
		return nil
	}
	child := &decoder{file: display, abs: abs, dir: filepath.Dir(abs), s: d.s}
	root, err := child.parseRoot(data, Options{})
	if err != nil {
		d.addErr(v, path, err)
		return nil
	}
	d.s.loading = append(d.s.loading, loadingFile{abs: abs, display: display})
	defer func() { d.s.loading = d.s.loading[:len(d.s.loading)-1] }()
	if child.looksLikePipelineJob(root) {
		if j := child.job(root, "", false); j != nil {
			return jobAsComponent(j)
		}
		return nil
	}
	return child.component(root, "")
}

// keySet returns the keys of m as a set.
func keySet[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
