package sweep

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Nested search spaces are Azure ML's conditional hyperparameters: a choice
// whose values include mappings of parameter names to distributions (or to
// constants, written as a choice of one value). Picking such a value draws
// that mapping's parameters as well, so an optimizer's own learning rate is
// only drawn for the trials that use that optimizer.
//
// A trial sees every drawn parameter under its own name, beside the choice,
// whose value is the picked mapping as JSON. Names share that one namespace:
// a name may appear in several values of one choice (the alternatives never
// meet in a trial) but nowhere else in the space.

// maxBranchGrid bounds the grid of one nested mapping, which grid sampling
// enumerates whole before it combines it with the other parameters.
const maxBranchGrid = 1 << 16

// branches returns the values of d that are nested search spaces, by index.
func branches(d Distribution) map[int]SearchSpace {
	c, ok := d.(Choice)
	if !ok {
		return nil
	}
	var out map[int]SearchSpace
	for i, v := range c.Values {
		if b, ok := v.(SearchSpace); ok {
			if out == nil {
				out = map[int]SearchSpace{}
			}
			out[i] = b
		}
	}
	return out
}

// IsNested reports whether any parameter of s is a choice with a nested
// search space among its values.
func (s SearchSpace) IsNested() bool {
	for _, d := range s {
		if len(branches(d)) > 0 {
			return true
		}
	}
	return false
}

// Names returns every parameter name a trial of s can be given: the
// top-level names and the nested ones, sorted.
func (s SearchSpace) Names() []string {
	set := map[string]bool{}
	s.collect(set)
	return slices.Sorted(maps.Keys(set))
}

func (s SearchSpace) collect(set map[string]bool) {
	for name, d := range s {
		set[name] = true
		for _, b := range branches(d) {
			b.collect(set)
		}
	}
}

// Always returns the names every trial of s is given: the top-level ones,
// and a nested name only when every value of its choice is a mapping that
// gives it. The others are conditional: a trial command uses them inside
// $[[ ]], or reads them from AZUREML_SWEEP_<name> when set.
func (s SearchSpace) Always() map[string]bool {
	out := map[string]bool{}
	for name, d := range s {
		out[name] = true
		c, ok := d.(Choice)
		bs := branches(d)
		if !ok || len(bs) == 0 || len(bs) != len(c.Values) {
			continue
		}
		var common map[string]bool
		for _, b := range bs {
			got := b.Always()
			if common == nil {
				common = got
				continue
			}
			for n := range common {
				if !got[n] {
					delete(common, n)
				}
			}
		}
		for n := range common {
			out[n] = true
		}
	}
	return out
}

// validate checks every parameter of s, nested ones included, naming each
// by its path from the top (prefix is "" there), and that no name is given
// twice to one trial.
func (s SearchSpace) validate(prefix string) []error {
	var errs []error
	owner := map[string]string{} // a name a trial may get -> the parameter of s that brings it
	for _, name := range s.names() {
		d := s[name]
		if d == nil {
			errs = append(errs, &ParamError{Param: prefix + name, Err: invalid("no distribution")})
			continue
		}
		if err := d.Validate(); err != nil {
			errs = append(errs, &ParamError{Param: prefix + name, Err: err})
			continue
		}
		brought := map[string]bool{name: true}
		bs := branches(d)
		for _, i := range slices.Sorted(maps.Keys(bs)) {
			b := bs[i]
			errs = append(errs, b.validate(fmt.Sprintf("%s%s.values[%d].", prefix, name, i))...)
			for _, n := range b.Names() {
				if n == name {
					errs = append(errs, &ParamError{Param: prefix + name, Err: invalid("values[%d] gives %q again, the choice's own name", i, n)})
				}
				brought[n] = true
			}
		}
		for _, n := range slices.Sorted(maps.Keys(brought)) {
			if o, ok := owner[n]; ok && o != name {
				errs = append(errs, &ParamError{Param: prefix + name, Err: invalid("%s and %s%s both give a trial %q: its parameter names must be unique", name, prefix, o, n)})
				continue
			}
			owner[n] = name
		}
	}
	return errs
}

// sampleTree draws one value of every parameter of s in name order; a
// picked nested mapping is drawn right after its choice, as a Config.
func (s SearchSpace) sampleTree(r *rand.Rand) Config {
	c := make(Config, len(s))
	for _, name := range s.names() {
		c[name] = s[name].Sample(r)
	}
	return c
}

// flatten adds a drawn value to dst: a nested Config becomes its choice's
// value as JSON and its own parameters beside it.
func flatten(dst Config, name string, v any) {
	tree, ok := v.(Config)
	if !ok {
		dst[name] = v
		return
	}
	dst[name] = treeJSON(tree)
	for k, x := range tree {
		flatten(dst, k, x)
	}
}

// treeJSON writes a drawn mapping as JSON with sorted keys, floats with 15
// significant digits as a trial's command gets them.
func treeJSON(tree Config) string {
	b, err := json.Marshal(jsonTree(tree))
	if err != nil { // only numbers, strings, booleans and mappings of them
		return fmt.Sprint(tree)
	}
	return string(b)
}

func jsonTree(v any) any {
	switch x := v.(type) {
	case Config:
		m := make(map[string]any, len(x))
		for k, y := range x {
			m[k] = jsonTree(y)
		}
		return m
	case float64:
		return json.Number(strconv.FormatFloat(x, 'g', 15, 64))
	}
	return v
}

// gridOptions returns the grid points of one parameter: its choice's
// values, with each nested mapping replaced by every point of its own grid.
func gridOptions(path string, d Distribution) ([]any, error) {
	c, ok := d.(Choice)
	if !ok {
		return nil, &ParamError{Param: path, Err: fmt.Errorf("%w, not %s", ErrGridNeedsChoice, d.Type())}
	}
	var out []any
	for i, v := range c.Values {
		b, ok := v.(SearchSpace)
		if !ok {
			out = append(out, v)
			continue
		}
		if b.gridSize() > maxBranchGrid {
			return nil, &ParamError{Param: fmt.Sprintf("%s.values[%d]", path, i), Err: fmt.Errorf("the nested grid has more than %d points", maxBranchGrid)}
		}
		sub, err := b.gridTrees(fmt.Sprintf("%s.values[%d].", path, i))
		if err != nil {
			return nil, err
		}
		for _, t := range sub {
			out = append(out, t)
		}
	}
	return out, nil
}

// gridSize counts the points of the grid of s, saturating just above
// maxBranchGrid so that no count overflows; a parameter that is not a
// choice counts as one point (gridOptions reports it).
func (s SearchSpace) gridSize() int {
	n := 1
	for _, d := range s {
		k := 1
		if c, ok := d.(Choice); ok {
			k = 0
			for _, v := range c.Values {
				if b, ok := v.(SearchSpace); ok {
					k += b.gridSize()
				} else {
					k++
				}
				k = min(k, maxBranchGrid+1)
			}
		}
		n = min(n*max(k, 1), maxBranchGrid+1)
	}
	return n
}

// gridTrees returns every point of the grid of a nested mapping.
func (s SearchSpace) gridTrees(prefix string) ([]Config, error) {
	out := []Config{{}}
	for _, name := range s.names() {
		opts, err := gridOptions(prefix+name, s[name])
		if err != nil {
			return nil, err
		}
		if len(out)*len(opts) > maxBranchGrid {
			return nil, &ParamError{Param: prefix + name, Err: fmt.Errorf("the nested grid has more than %d points", maxBranchGrid)}
		}
		next := make([]Config, 0, len(out)*len(opts))
		for _, c := range out {
			for _, o := range opts {
				n := make(Config, len(c)+1)
				for k, v := range c {
					n[k] = v
				}
				n[name] = o
				next = append(next, n)
			}
		}
		out = next
	}
	return out, nil
}

// Dims is how many coordinates of the unit cube FromUnit maps to one
// configuration of s: one per parameter, nested ones included, whether or
// not a trial picks their mapping.
func (s SearchSpace) Dims() int {
	n := 0
	for _, d := range s {
		n++
		for _, b := range branches(d) {
			n += b.Dims()
		}
	}
	return n
}

// treeFromUnit maps the coordinates p (len s.Dims()) to a drawn tree: in
// name order, each parameter's coordinate, then, for a choice, the
// coordinates of each of its nested mappings in value order, of which only
// the picked one's are read.
func (s SearchSpace) treeFromUnit(p []float64) (Config, error) {
	c := make(Config, len(s))
	off := 0
	for _, name := range s.names() {
		d := s[name]
		u := p[off]
		off++
		if !(u >= 0 && u <= 1) {
			return nil, fmt.Errorf("coordinate %g of %s is outside [0, 1]", u, name)
		}
		q, ok := d.(Quantile)
		if !ok {
			return nil, &ParamError{Param: name, Err: fmt.Errorf("%s has no quantile", d.Type())}
		}
		c[name] = q.Quantile(u)
		bs := branches(d)
		for _, i := range slices.Sorted(maps.Keys(bs)) {
			nd := bs[i].Dims()
			if i == index(u, len(d.(Choice).Values)) {
				tree, err := bs[i].treeFromUnit(p[off : off+nd])
				if err != nil {
					return nil, err
				}
				c[name] = tree
			}
			off += nd
		}
	}
	return c, nil
}
