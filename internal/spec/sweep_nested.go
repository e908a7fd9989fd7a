package spec

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/sweep"
	"gopkg.in/yaml.v3"
)

// choiceValues reads a choice's values: scalars, kept as written, and
// mappings of parameter names to distributions or constants (Azure ML's
// nested choice, for parameters that only some values use).
func (d *decoder) choiceValues(sp *SearchParam, path string, v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, path, "expected a list of values, got %s", describe(v))
		return
	}
	for i, n := range v.Content {
		n = d.resolve(n)
		p := path + "[" + strconv.Itoa(i) + "]"
		switch {
		case n.Kind == yaml.MappingNode:
			nested := d.nestedSpace(p, n)
			if nested == nil {
				continue
			}
			if sp.Nested == nil {
				sp.Nested = make([]map[string]*SearchParam, len(sp.Values), len(v.Content))
			}
			sp.Values = append(sp.Values, "")
			sp.Nested = append(sp.Nested, nested)
		case n.Kind != yaml.ScalarNode || isNull(n):
			d.errorf(n, p, "expected a number, string, boolean or a mapping of parameters, got %s", describe(n))
		default:
			sp.Values = append(sp.Values, n.Value)
			if sp.Nested != nil {
				sp.Nested = append(sp.Nested, nil)
			}
		}
	}
}

// maxNest bounds how deep choices nest, so that a file (an alias of a
// choice inside itself, say) cannot make the decoder recurse without end.
const maxNest = 8

// nestedSpace reads one nested value of a choice: each name maps to a
// distribution (a mapping with type:) or a constant, which becomes a choice
// of that one value.
func (d *decoder) nestedSpace(path string, v *yaml.Node) map[string]*SearchParam {
	if d.nest >= maxNest {
		d.errorf(v, path, "nested choices go more than %d levels deep", maxNest)
		return nil
	}
	d.nest++
	defer func() { d.nest-- }()
	out := map[string]*SearchParam{}
	before := len(d.s.errs)
	for _, p := range d.pairs(v, path) {
		pp := joinPath(path, p.name)
		if !isIdent(p.name) {
			d.errorf(p.key, path, "invalid parameter name %q: expected letters, digits, '_' or '-', starting with a letter or '_'", p.name)
			continue
		}
		val := d.resolve(p.val)
		switch {
		case val.Kind == yaml.MappingNode:
			if sp := d.searchParam(pp, val); sp != nil {
				out[p.name] = sp
			}
		case val.Kind == yaml.ScalarNode && !isNull(val):
			out[p.name] = &SearchParam{Type: "choice", Values: []string{val.Value}, Pos: d.pos(val)}
		default:
			d.errorf(val, pp, "expected a distribution (a mapping with type:) or a constant, got %s", describe(val))
		}
	}
	if len(d.s.errs) > before {
		return nil
	}
	if len(out) == 0 {
		d.errorf(v, path, "a nested value needs at least one parameter")
		return nil
	}
	return out
}

// checkNames reports names a trial would be given twice (a nested name that
// is also a top-level one, say), at the top-level parameter that brings it.
func (d *decoder) checkNames(path string, v *yaml.Node, params map[string]*SearchParam) {
	sp, err := space(params)
	if err != nil {
		return // each bad distribution is reported where it is read
	}
	for _, e := range splitErrors(sp.Validate()) {
		var pe *sweep.ParamError
		if !errors.As(e, &pe) {
			d.errorf(v, path, "%v", e)
			continue
		}
		top, _, _ := strings.Cut(pe.Param, ".")
		pos := d.pos(v)
		if p := params[top]; p != nil {
			pos = p.Pos
		}
		d.errorAt(pos, joinPath(path, pe.Param), "%v", pe.Err)
	}
}

func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkNestedSampling checks what nested choices ask of the sampler: grid
// sampling needs a choice at every level, and Optuna is given a fixed
// search space, so bayesian sampling takes no nested choice.
func (d *decoder) checkNestedSampling(s *Sweep, path string) {
	sp, err := s.Space()
	if err != nil || !sp.IsNested() {
		return
	}
	for _, name := range sortedKeys(s.SearchSpace) {
		p := s.SearchSpace[name]
		if p.Nested == nil {
			continue
		}
		switch s.Algorithm {
		case SamplingBayesian:
			d.errorAt(p.Pos, joinPath(path, "search_space."+name), "bayesian sampling does not support nested choices; use random or grid sampling")
		case SamplingGrid:
			_, err := sweep.Grid{}.Sample(sweep.SearchSpace{name: sp[name]}, 1)
			var pe *sweep.ParamError
			if errors.As(err, &pe) {
				d.errorAt(p.Pos, joinPath(path, "search_space."+pe.Param), "%v", pe.Err)
			} else if err != nil {
				d.errorAt(p.Pos, joinPath(path, "search_space."+name), "%v", err)
			}
		}
	}
}

// conditionalRefs reports a trial command that uses, outside $[[ ]], a
// nested parameter that only some trials are given: the others would fail
// to render it.
func (d *decoder) conditionalRefs(s *Sweep, path string, n *yaml.Node, cmd string) {
	sp, err := s.Space()
	if err != nil || !sp.IsNested() {
		return
	}
	t, err := ParseCommand(cmd)
	if err != nil {
		return // reported by checkCommand
	}
	always := sp.Always()
	all := map[string]bool{}
	for _, name := range sp.Names() {
		all[name] = true
	}
	for _, b := range t.RequiredRefs() {
		if b.Kind == BindInputs && all[b.Port] && !always[b.Port] {
			d.errorf(n, path, "command uses search_space.%s outside $[[ ]], but only the trials whose nested choice gives it have a value; write it inside $[[ ]] (or read AZUREML_SWEEP_%s)", b.Port, b.Port)
		}
	}
}

// paramNames returns every name a sweep's trials can be given, nested
// ones included.
func (s *Sweep) paramNames() []string {
	sp, err := s.Space()
	if err != nil {
		return sortedKeys(s.SearchSpace)
	}
	return sp.Names()
}

// ParamTypes returns the distribution types each name a trial can be given
// is drawn from: one for a top-level parameter, one or more for a name that
// several nested values give.
func (s *Sweep) ParamTypes() map[string][]string {
	out := map[string][]string{}
	var walk func(map[string]*SearchParam)
	walk = func(params map[string]*SearchParam) {
		for _, name := range sortedKeys(params) {
			p := params[name]
			if !slices.Contains(out[name], p.Type) {
				out[name] = append(out[name], p.Type)
			}
			for _, b := range p.Nested {
				walk(b)
			}
		}
	}
	walk(s.SearchSpace)
	return out
}

// Conditional returns the names some trials of s are not given: the nested
// parameters that not every value of their choice gives (none when the
// space has no nested choice).
func (s *Sweep) Conditional() map[string]bool {
	sp, err := s.Space()
	if err != nil || !sp.IsNested() {
		return nil
	}
	always := sp.Always()
	out := map[string]bool{}
	for _, name := range sp.Names() {
		if !always[name] {
			out[name] = true
		}
	}
	return out
}
