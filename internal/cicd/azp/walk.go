package azp

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// listKinds are the keys whose sequences may hold template: references.
var listKinds = map[string]bool{"steps": true, "jobs": true, "stages": true, "variables": true}

// value expands the ${{ }} expressions in one node.
func (e *expander) value(n *yaml.Node, sc *scope, key string) (*yaml.Node, error) {
	if e.depth++; e.depth > maxDepth {
		return nil, e.errorf(n, "YAML nested more than %d deep (a recursive alias?)", maxDepth)
	}
	defer func() { e.depth-- }()
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, e.errorf(n, "alias to nothing")
		}
		if e.aliases++; e.aliases > maxAliases {
			return nil, e.errorf(n, "more than %d aliases followed", maxAliases)
		}
		return e.value(n.Alias, sc, key)
	case yaml.MappingNode:
		return e.mapping(n, sc, "")
	case yaml.SequenceNode:
		items, err := e.items(n.Content, sc, key)
		if err != nil {
			return nil, err
		}
		out, err := e.derive(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: n.Style}, n)
		if err != nil {
			return nil, err
		}
		out.Content = items
		return out, nil
	case yaml.ScalarNode:
		return e.scalar(n, sc)
	}
	return e.derive(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}, n)
}

// scalar evaluates a scalar: a lone ${{ expr }} becomes whatever the
// expression returns (an object or array included); ${{ }} inside other
// text is replaced by the result as a string.
func (e *expander) scalar(n *yaml.Node, sc *scope) (*yaml.Node, error) {
	if !strings.Contains(n.Value, "${{") {
		c := *n
		c.Content, c.Alias, c.Anchor = nil, nil, ""
		return e.derive(&c, n)
	}
	spans, closed := findTemplateExprs(n.Value)
	if !closed {
		return nil, e.errorf(n, "unclosed ${{: expected }}")
	}
	trimmed := strings.TrimSpace(n.Value)
	if len(spans) == 1 && strings.HasPrefix(trimmed, "${{") && strings.HasSuffix(trimmed, "}}") && spans[0].end-spans[0].start == len(trimmed) {
		v, err := e.eval(n, spans[0].expr, sc)
		if err != nil {
			return nil, err
		}
		out := valueToNode(v, n)
		return out, e.adopt(out, n)
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(n.Value[last:sp.start])
		v, err := e.eval(n, sp.expr, sc)
		if err != nil {
			return nil, err
		}
		s, err := ValueString(v)
		if err != nil {
			return nil, e.errorf(n, "${{%s}}: %v", sp.expr, err)
		}
		b.WriteString(s)
		last = sp.end
	}
	b.WriteString(n.Value[last:])
	return e.derive(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: b.String(), Style: n.Style &^ yaml.TaggedStyle}, n)
}

// eval evaluates a compile-time expression found in node n.
func (e *expander) eval(n *yaml.Node, src string, sc *scope) (any, error) {
	v, err := Eval(src, &Env{Named: sc.named})
	if err != nil {
		return nil, e.errorf(n, "${{%s}}: %v", src, err)
	}
	return v, nil
}

// mapping expands a mapping, its directive keys included. Its variables:
// are expanded first so that its other keys can read them; skip names a
// key left out of the result (the root's parameters: declaration).
func (e *expander) mapping(n *yaml.Node, sc *scope, skip string) (*yaml.Node, error) {
	out, err := e.derive(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: n.Style}, n)
	if err != nil {
		return nil, err
	}
	var vars *yaml.Node
	if v := mapGet(n, "variables"); v != nil {
		if vars, err = e.value(v, sc, "variables"); err != nil {
			return nil, err
		}
		sc = sc.withVars(staticVariables(vars))
	}
	content := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == skip && skip != "" {
			continue
		}
		content = append(content, n.Content[i], n.Content[i+1])
	}
	if err := e.pairs(content, sc, out, vars); err != nil {
		return nil, err
	}
	return out, nil
}

// pairs expands key/value pairs into out, handling ${{ if }}, ${{ elseif }},
// ${{ else }}, ${{ each }} and ${{ insert }} keys. vars is the already
// expanded variables: value, if any.
func (e *expander) pairs(content []*yaml.Node, sc *scope, out, vars *yaml.Node) error {
	for i := 0; i+1 < len(content); i += 2 {
		k, v := content[i], content[i+1]
		d, isDirective, err := parseDirective(k.Value)
		if err != nil {
			return e.errorf(k, "%v", err)
		}
		if k.Kind != yaml.ScalarNode || !isDirective {
			if k.Value == "variables" && vars != nil {
				v2 := vars
				vars = nil
				if err := e.addPair(out, k, v2); err != nil {
					return err
				}
				continue
			}
			nv, err := e.value(v, sc, k.Value)
			if err != nil {
				return err
			}
			if err := e.addPair(out, k, nv); err != nil {
				return err
			}
			continue
		}
		next, err := e.directivePair(content, i, d, sc, out)
		if err != nil {
			return err
		}
		i = next
	}
	return nil
}

// directivePair handles the directive key at content[i] and returns the
// index of the last pair it consumed.
func (e *expander) directivePair(content []*yaml.Node, i int, d directive, sc *scope, out *yaml.Node) (int, error) {
	k, v := content[i], content[i+1]
	switch d.kind {
	case "if":
		chosen, last, err := e.chooseBranch(content, i, sc, func(n *yaml.Node) string { return n.Value })
		if err != nil || chosen == nil {
			return last, err
		}
		return last, e.mergeMapping(chosen, sc, out)
	case "elseif", "else":
		return i, e.errorf(k, "${{ %s }} without a preceding ${{ if }}", d.kind)
	case "each":
		coll, err := e.eval(k, d.expr, sc)
		if err != nil {
			return i, err
		}
		return i, e.each(k, d.name, coll, sc, func(isc *scope) error { return e.mergeMapping(v, isc, out) })
	case "insert":
		return i, e.mergeMapping(v, sc, out)
	}
	key, err := e.scalar(k, sc)
	if err != nil {
		return i, err
	}
	nv, err := e.value(v, sc, key.Value)
	if err != nil {
		return i, err
	}
	return i, e.addPair(out, key, nv)
}

// chooseBranch evaluates an if/elseif/else chain starting at content[i]
// (keys at even positions, the values after them) and returns the value of
// the branch taken (nil if none) and the index of the chain's last key.
func (e *expander) chooseBranch(content []*yaml.Node, i int, sc *scope, keyOf func(*yaml.Node) string) (*yaml.Node, int, error) {
	var chosen *yaml.Node
	last := i
	for j := i; j+1 < len(content); j += 2 {
		d, ok, err := parseDirective(keyOf(content[j]))
		if err != nil {
			return nil, j, e.errorf(content[j], "%v", err)
		}
		if !ok || (j > i && d.kind != "elseif" && d.kind != "else") {
			break
		}
		last = j
		if chosen != nil {
			continue
		}
		if d.kind == "else" {
			chosen = content[j+1]
			continue
		}
		c, err := e.eval(content[j], d.expr, sc)
		if err != nil {
			return nil, j, err
		}
		if Truthy(c) {
			chosen = content[j+1]
		}
	}
	return chosen, last, nil
}

// each runs body once per item of coll: an array's items, or an object's
// pairs as {key, value}.
func (e *expander) each(at *yaml.Node, name string, coll any, sc *scope, body func(*scope) error) error {
	switch c := coll.(type) {
	case nil:
		return nil
	case []any:
		for _, it := range c {
			if err := body(sc.with(name, it)); err != nil {
				return err
			}
		}
		return nil
	case *Map:
		for i, k := range c.keys {
			pair := NewMap()
			pair.Set("key", k)
			pair.Set("value", c.vals[i])
			if err := body(sc.with(name, pair)); err != nil {
				return err
			}
		}
		return nil
	}
	return e.errorf(at, "${{ each }} needs an array or an object, got a %s", kindName(coll))
}

// mergeMapping expands a directive's mapping value into out.
func (e *expander) mergeMapping(v *yaml.Node, sc *scope, out *yaml.Node) error {
	if v.Kind == yaml.ScalarNode {
		nv, err := e.scalar(v, sc)
		if err != nil {
			return err
		}
		v = nv
	}
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return e.errorf(v, "expected a mapping to insert here, got %s", describe(v))
	}
	return e.pairs(v.Content, sc, out, nil)
}

// addPair appends key: value to out, refusing a key already there.
func (e *expander) addPair(out, k, v *yaml.Node) error {
	if mapGet(out, k.Value) != nil {
		return e.errorf(k, "key %q is already defined in this mapping", k.Value)
	}
	kc := *k
	kc.Content = nil
	nk, err := e.derive(&kc, k)
	if err != nil {
		return err
	}
	out.Content = append(out.Content, nk, v)
	return nil
}

// staticVariables collects the name/value variables of an expanded
// variables: node (list or mapping) for ${{ variables.x }}.
func staticVariables(n *yaml.Node) *Map {
	m := NewMap()
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i+1].Kind == yaml.ScalarNode {
				m.Set(n.Content[i].Value, n.Content[i+1].Value)
			}
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			name, value := mapGet(it, "name"), mapGet(it, "value")
			if name != nil && name.Kind == yaml.ScalarNode && value != nil && value.Kind == yaml.ScalarNode {
				m.Set(name.Value, value.Value)
			}
		}
	}
	return m
}
