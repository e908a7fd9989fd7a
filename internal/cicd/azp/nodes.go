package azp

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxValueNodes bounds how many nodes one nodeToValue call visits, so that
// aliases to aliases cannot make a small file an exponential value.
const maxValueNodes = 100_000

// nodeToValue turns a YAML node into an expression value: scalars become
// strings (null becomes nil), mappings *Map and sequences []any.
func nodeToValue(n *yaml.Node) (any, error) {
	budget := maxValueNodes
	return nodeToValueBudget(n, &budget, 0)
}

func nodeToValueBudget(n *yaml.Node, budget *int, depth int) (any, error) {
	if *budget--; *budget < 0 || depth > maxDepth {
		return nil, fmt.Errorf("value too large or too deeply nested (a recursive alias?)")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeToValueBudget(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		return nodeToValueBudget(n.Alias, budget, depth+1)
	case yaml.ScalarNode:
		if isNull(n) {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeToValueBudget(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		m := NewMap()
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := nodeToValueBudget(n.Content[i+1], budget, depth+1)
			if err != nil {
				return nil, err
			}
			m.Set(n.Content[i].Value, v)
		}
		return m, nil
	}
	return nil, nil
}

// valueToNode turns an expression value back into a YAML node placed at the
// position of at.
func valueToNode(v any, at *yaml.Node) *yaml.Node {
	n := &yaml.Node{Line: at.Line, Column: at.Column}
	switch v := v.(type) {
	case nil:
		n.Kind, n.Tag = yaml.ScalarNode, "!!null"
	case []any:
		n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
		for _, it := range v {
			n.Content = append(n.Content, valueToNode(it, at))
		}
	case *Map:
		n.Kind, n.Tag = yaml.MappingNode, "!!map"
		for i, k := range v.keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: at.Line, Column: at.Column},
				valueToNode(v.vals[i], at))
		}
	default:
		s, _ := toString(v)
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!str", s
	}
	return n
}

// isNull reports whether a scalar is YAML null.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// mapKeys lists the keys of a mapping node.
func mapKeys(n *yaml.Node) []string {
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
	}
	return keys
}

// mapGet returns the value of key in a mapping node, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// unmarshalNode runs yaml.Unmarshal, turning a panic inside the YAML
// library into an error so that no input can crash the caller.
func unmarshalNode(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(data, n)
}

// templateSpan is one ${{ ... }} found in a string.
type templateSpan struct {
	start, end int // s[start:end] is the whole "${{ ... }}"
	expr       string
}

// findTemplateExprs finds the ${{ }} spans of s; "}}" inside a quoted
// string does not close one. ok is false for an unclosed "${{".
func findTemplateExprs(s string) ([]templateSpan, bool) {
	var spans []templateSpan
	off := 0
	for {
		i := strings.Index(s[off:], "${{")
		if i < 0 {
			return spans, true
		}
		start := off + i
		j, inQuote := start+3, false
		for ; j < len(s); j++ {
			if s[j] == '\'' {
				inQuote = !inQuote
			} else if !inQuote && strings.HasPrefix(s[j:], "}}") {
				break
			}
		}
		if j >= len(s) {
			return spans, false
		}
		spans = append(spans, templateSpan{start: start, end: j + 2, expr: s[start+3 : j]})
		off = j + 2
	}
}

// directive is a ${{ }} used as a mapping key.
type directive struct {
	kind string // "if", "elseif", "else", "each", "insert" or "expr"
	expr string // the condition, collection or key expression
	name string // the loop variable of each
}

// parseDirective reads a mapping key; ok is false when the key holds no
// ${{ }} at all.
func parseDirective(key string) (d directive, ok bool, err error) {
	t := strings.TrimSpace(key)
	if !strings.Contains(t, "${{") {
		return d, false, nil
	}
	spans, closed := findTemplateExprs(t)
	if !closed {
		return d, true, fmt.Errorf("unclosed ${{ in key %q: expected }}", key)
	}
	if len(spans) != 1 || spans[0].start != 0 || spans[0].end != len(t) {
		return directive{kind: "expr"}, true, nil
	}
	inner := strings.TrimSpace(spans[0].expr)
	word, rest := inner, ""
	if i := strings.IndexAny(inner, " \t("); i >= 0 {
		word, rest = inner[:i], strings.TrimSpace(inner[i:])
	}
	switch word {
	case "if", "elseif":
		if rest == "" {
			return d, true, fmt.Errorf("${{ %s }} needs a condition", word)
		}
		return directive{kind: word, expr: rest}, true, nil
	case "else", "insert":
		if rest != "" {
			return d, true, fmt.Errorf("${{ %s }} takes no expression, got %q", word, rest)
		}
		return directive{kind: word}, true, nil
	case "each":
		name, coll, found := strings.Cut(rest, " in ")
		name = strings.TrimSpace(name)
		if !found || name == "" || strings.TrimSpace(coll) == "" {
			return d, true, fmt.Errorf("expected ${{ each <name> in <expression> }}, got %q", key)
		}
		return directive{kind: "each", name: name, expr: strings.TrimSpace(coll)}, true, nil
	}
	return directive{kind: "expr", expr: inner}, true, nil
}
