package azp

import (
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec"
	"gopkg.in/yaml.v3"
)

// decoder turns an expanded node tree into the typed Pipeline.
type decoder struct {
	files map[*yaml.Node]string
	file  string // the pipeline file, for nodes of unknown origin
}

// pos is the position of n in its file.
func (d *decoder) pos(n *yaml.Node) spec.Pos {
	f, ok := d.files[n]
	if !ok {
		f = d.file
	}
	return spec.Pos{File: f, Line: n.Line, Col: n.Column}
}

// errorf returns a *spec.Error at n.
func (d *decoder) errorf(n *yaml.Node, format string, args ...any) error {
	return spec.Errorf(d.pos(n), format, args...)
}

// fields calls set for each key of mapping n, rejecting keys not in
// allowed with the list of what is.
func (d *decoder) fields(n *yaml.Node, what string, allowed []string, set func(k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, "%s: expected a mapping, got %s", what, describe(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(allowed, k.Value) {
			return d.errorf(k, "unknown key %q in %s: expected one of %s", k.Value, what, strings.Join(allowed, ", "))
		}
		if err := set(k, v); err != nil {
			return err
		}
	}
	return nil
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str reads a scalar as a string; null is "".
func (d *decoder) str(k, v *yaml.Node) (string, error) {
	if isNull(v) {
		return "", nil
	}
	if v.Kind != yaml.ScalarNode {
		return "", d.errorf(v, "%s: expected a string, got %s", k.Value, describe(v))
	}
	return v.Value, nil
}

// boolean reads true/false (any case, as ${{ }} may print True).
func (d *decoder) boolean(k, v *yaml.Node) (bool, error) {
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, d.errorf(v, "%s: expected true or false, got %s", k.Value, describe(v))
}

// integer reads a non-negative whole number.
func (d *decoder) integer(k, v *yaml.Node) (int, error) {
	if v.Kind == yaml.ScalarNode {
		if n, err := strconv.Atoi(strings.TrimSpace(v.Value)); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, d.errorf(v, "%s: expected a whole number of 0 or more, got %s", k.Value, describe(v))
}

// strings reads a scalar or a sequence of scalars.
func (d *decoder) strings(k, v *yaml.Node) ([]string, error) {
	switch {
	case isNull(v):
		return []string{}, nil
	case v.Kind == yaml.ScalarNode:
		return []string{v.Value}, nil
	case v.Kind == yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return nil, d.errorf(it, "%s: expected a string, got %s", k.Value, describe(it))
			}
			out = append(out, it.Value)
		}
		return out, nil
	}
	return nil, d.errorf(v, "%s: expected a string or a sequence of strings, got %s", k.Value, describe(v))
}

// stringMap reads a mapping of scalars (inputs:, env:).
func (d *decoder) stringMap(k, v *yaml.Node) (map[string]string, error) {
	out := map[string]string{}
	if isNull(v) {
		return out, nil
	}
	if v.Kind != yaml.MappingNode {
		return nil, d.errorf(v, "%s: expected a mapping, got %s", k.Value, describe(v))
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		s, err := d.str(v.Content[i], v.Content[i+1])
		if err != nil {
			return nil, err
		}
		out[v.Content[i].Value] = s
	}
	return out, nil
}

// filter reads {include, exclude} or a bare list (an include list).
func (d *decoder) filter(k, v *yaml.Node) (Filter, error) {
	var f Filter
	if v.Kind != yaml.MappingNode {
		inc, err := d.strings(k, v)
		f.Include = inc
		return f, err
	}
	err := d.fields(v, k.Value, []string{"include", "exclude"}, func(fk, fv *yaml.Node) error {
		list, err := d.strings(fk, fv)
		if fk.Value == "include" {
			f.Include = list
		} else {
			f.Exclude = list
		}
		return err
	})
	return f, err
}

// trigger reads trigger: or pr:.
func (d *decoder) trigger(k, v *yaml.Node) (*Trigger, error) {
	t := &Trigger{}
	switch {
	case isNull(v):
		return t, nil
	case v.Kind == yaml.ScalarNode && strings.EqualFold(v.Value, "none"):
		t.None = true
		return t, nil
	case v.Kind == yaml.ScalarNode || v.Kind == yaml.SequenceNode:
		inc, err := d.strings(k, v)
		t.Branches.Include = inc
		return t, err
	}
	allowed := []string{"batch", "branches", "paths", "tags"}
	if k.Value == "pr" {
		allowed = []string{"autoCancel", "branches", "paths", "drafts"}
	}
	err := d.fields(v, k.Value, allowed, func(fk, fv *yaml.Node) error {
		var err error
		switch fk.Value {
		case "batch":
			t.Batch, err = d.boolean(fk, fv)
		case "branches":
			t.Branches, err = d.filter(fk, fv)
		case "paths":
			t.Paths, err = d.filter(fk, fv)
		case "tags":
			t.Tags, err = d.filter(fk, fv)
		case "autoCancel", "drafts":
			var b bool
			b, err = d.boolean(fk, fv)
			if fk.Value == "drafts" {
				t.Drafts = &b
			} else {
				t.AutoCancel = &b
			}
		}
		return err
	})
	return t, err
}

// schedules reads schedules:.
func (d *decoder) schedules(k, v *yaml.Node) ([]Schedule, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, d.errorf(v, "schedules: expected a sequence, got %s", describe(v))
	}
	var out []Schedule
	for _, it := range v.Content {
		var s Schedule
		err := d.fields(it, "a schedule", []string{"cron", "displayName", "branches", "always", "batch"}, func(fk, fv *yaml.Node) error {
			var err error
			switch fk.Value {
			case "cron":
				s.Cron, err = d.str(fk, fv)
			case "displayName":
				s.DisplayName, err = d.str(fk, fv)
			case "branches":
				s.Branches, err = d.filter(fk, fv)
			case "always":
				s.Always, err = d.boolean(fk, fv)
			case "batch":
				s.Batch, err = d.boolean(fk, fv)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(strings.Fields(s.Cron)) != 5 {
			return nil, d.errorf(it, "schedule: cron: expected five fields (minute hour day month weekday), got %q", s.Cron)
		}
		out = append(out, s)
	}
	return out, nil
}

// variables reads a variables: list or mapping.
func (d *decoder) variables(k, v *yaml.Node) ([]Variable, error) {
	var out []Variable
	switch v.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(v.Content); i += 2 {
			val, err := d.str(v.Content[i], v.Content[i+1])
			if err != nil {
				return nil, err
			}
			out = append(out, Variable{Name: v.Content[i].Value, Value: val})
		}
		return out, nil
	case yaml.SequenceNode:
	default:
		if isNull(v) {
			return nil, nil
		}
		return nil, d.errorf(v, "variables: expected a sequence or a mapping, got %s", describe(v))
	}
	for _, it := range v.Content {
		var va Variable
		err := d.fields(it, "a variable", []string{"name", "value", "readonly", "group"}, func(fk, fv *yaml.Node) error {
			var err error
			switch fk.Value {
			case "name":
				va.Name, err = d.str(fk, fv)
			case "value":
				va.Value, err = d.str(fk, fv)
			case "readonly":
				va.Readonly, err = d.boolean(fk, fv)
			case "group":
				va.Group, err = d.str(fk, fv)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if (va.Group == "") == (va.Name == "") {
			return nil, d.errorf(it, "a variable needs either name: (with value:) or group:")
		}
		out = append(out, va)
	}
	return out, nil
}

// pool reads pool: as a name or a {name, vmImage, demands} mapping.
func (d *decoder) pool(k, v *yaml.Node) (*Pool, error) {
	p := &Pool{}
	if v.Kind == yaml.ScalarNode {
		p.Name = v.Value
		return p, nil
	}
	err := d.fields(v, "pool", []string{"name", "vmImage", "demands"}, func(fk, fv *yaml.Node) error {
		var err error
		switch fk.Value {
		case "name":
			p.Name, err = d.str(fk, fv)
		case "vmImage":
			p.VMImage, err = d.str(fk, fv)
		case "demands":
			p.Demands, err = d.strings(fk, fv)
		}
		return err
	})
	return p, err
}

// resources reads resources.repositories.
func (d *decoder) resources(k, v *yaml.Node) (Resources, error) {
	var r Resources
	err := d.fields(v, "resources", []string{"repositories"}, func(fk, fv *yaml.Node) error {
		if fv.Kind != yaml.SequenceNode {
			return d.errorf(fv, "repositories: expected a sequence, got %s", describe(fv))
		}
		for _, it := range fv.Content {
			var repo Repository
			err := d.fields(it, "a repository", []string{"repository", "type", "name", "ref", "endpoint", "trigger"}, func(rk, rv *yaml.Node) error {
				var err error
				switch rk.Value {
				case "repository":
					repo.Alias, err = d.str(rk, rv)
				case "type":
					repo.Type, err = d.str(rk, rv)
				case "name":
					repo.Name, err = d.str(rk, rv)
				case "ref":
					repo.Ref, err = d.str(rk, rv)
				case "endpoint":
					repo.Endpoint, err = d.str(rk, rv)
				}
				return err
			})
			if err != nil {
				return err
			}
			if repo.Alias == "" {
				return d.errorf(it, "a repository needs repository: (its alias)")
			}
			r.Repositories = append(r.Repositories, repo)
		}
		return nil
	})
	return r, err
}

// parameters reads the root's parameter declarations for the model.
func (d *decoder) parameters(k, v *yaml.Node) ([]Parameter, error) {
	var out []Parameter
	switch v.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(v.Content); i += 2 {
			def, err := nodeToValue(v.Content[i+1])
			if err != nil {
				return nil, d.errorf(v.Content[i+1], "default: %v", err)
			}
			out = append(out, Parameter{Name: v.Content[i].Value, Type: "object", Default: def})
		}
	case yaml.SequenceNode:
		for _, it := range v.Content {
			p, _, err := parseParamDecl(it, d.errorf)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}
