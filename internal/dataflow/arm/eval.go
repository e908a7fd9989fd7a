package arm

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/jsonpos"
)

// evaluator evaluates a template's expressions over its parameters and
// variables, each worked out once, when first used.
type evaluator struct {
	file   string
	params map[string]*binding // by lower-case name
	vars   map[string]*binding
	clock  func() time.Time
}

// binding is a parameter's or a variable's value, worked out on demand
// (a default value or a variable may use other parameters and variables).
type binding struct {
	name     string
	value    any
	err      error // why it has no value, once worked out
	done     bool
	busy     bool // being worked out: meeting it again is a cycle
	resolve  func() (any, error)
	declared *jsonpos.Value
}

func (ev *evaluator) now() time.Time {
	if ev.clock != nil {
		return ev.clock()
	}
	return time.Now()
}

func (ev *evaluator) get(what string, table map[string]*binding, name string) (any, error) {
	b, ok := table[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("the template declares no %s %q", what, name)
	}
	if b.done {
		return b.value, b.err
	}
	if b.busy {
		return nil, fmt.Errorf("%s %q refers to itself", what, name)
	}
	b.busy = true
	v, err := b.resolve()
	b.busy = false
	b.value, b.err, b.done = v, err, true
	return v, err
}

// isExpr reports whether a template string is an expression: it starts
// with "[" and ends with "]", and does not start with "[[" (the escape for
// a literal string that would otherwise be one).
func isExpr(s string) bool {
	return strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") && !strings.HasPrefix(s, "[[")
}

// literal is what a non-expression string stands for: "[[x]" is "[x]".
func literal(s string) string {
	if strings.HasPrefix(s, "[[") && strings.HasSuffix(s, "]") {
		return s[1:]
	}
	return s
}

// evalString evaluates one template string: an expression's value, or
// the literal string.
func (ev *evaluator) evalString(s string) (any, error) {
	if !isExpr(s) {
		return literal(s), nil
	}
	n, err := parseExpr(s[1 : len(s)-1])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	v, err := ev.eval(n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	return v, nil
}

func (ev *evaluator) eval(n node) (any, error) {
	switch n := n.(type) {
	case *stringNode:
		return n.s, nil
	case *intNode:
		return n.n, nil
	case *boolNode:
		return n.b, nil
	case *propNode:
		x, err := ev.eval(n.x)
		if err != nil {
			return nil, err
		}
		return property(x, n.name)
	case *indexNode:
		x, err := ev.eval(n.x)
		if err != nil {
			return nil, err
		}
		i, err := ev.eval(n.index)
		if err != nil {
			return nil, err
		}
		return index(x, i)
	case *callNode:
		return ev.call(n)
	}
	return nil, fmt.Errorf("unknown expression %T", n)
}

func (ev *evaluator) call(n *callNode) (any, error) {
	name := strings.ToLower(n.name)
	if name == "if" {
		// if() evaluates only the branch it takes, as ARM does.
		if len(n.args) != 3 {
			return nil, fmt.Errorf("if takes 3 arguments, got %d", len(n.args))
		}
		c, err := ev.eval(n.args[0])
		if err != nil {
			return nil, err
		}
		b, err := wantBool(c)
		if err != nil {
			return nil, fmt.Errorf("if: condition: %w", err)
		}
		if b {
			return ev.eval(n.args[1])
		}
		return ev.eval(n.args[2])
	}
	args := make([]any, len(n.args))
	for i, a := range n.args {
		v, err := ev.eval(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	switch name {
	case "parameters", "variables":
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes 1 argument, got %d", n.name, len(args))
		}
		key, err := wantString(args[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		if name == "parameters" {
			return ev.get("parameter", ev.params, key)
		}
		return ev.get("variable", ev.vars, key)
	}
	f, ok := funcs[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %q; ciel evaluates: %s", n.name, funcNames())
	}
	v, err := f(ev, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.name, err)
	}
	if !withinSize(v, maxValueSize) {
		return nil, fmt.Errorf("%s: the value grows past %d bytes", n.name, maxValueSize)
	}
	return v, nil
}

// maxValueSize bounds what one function may return (string bytes plus
// array and object items), so that a template cannot double a value into
// all of memory through a chain of variables.
const maxValueSize = 8 << 20

// withinSize reports whether v is at most budget in size, counting no
// further than that.
func withinSize(v any, budget int) bool {
	var left = budget
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			left -= len(x)
		case []any:
			left -= len(x)
			for _, e := range x {
				if left < 0 || !walk(e) {
					return false
				}
			}
		case map[string]any:
			left -= len(x)
			for k, e := range x {
				left -= len(k)
				if left < 0 || !walk(e) {
					return false
				}
			}
		default:
			left--
		}
		return left >= 0
	}
	return walk(v)
}

func property(x any, name string) (any, error) {
	m, ok := x.(map[string]any)
	if !ok {
		return nil, fmt.Errorf(".%s of %s: only objects have properties", name, describe(x))
	}
	if v, ok := m[name]; ok {
		return v, nil
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, nil
		}
	}
	return nil, fmt.Errorf("no property %q", name)
}

func index(x, i any) (any, error) {
	switch c := x.(type) {
	case []any:
		n, err := wantInt(i)
		if err != nil {
			return nil, fmt.Errorf("index of an array: %w", err)
		}
		if n < 0 || n >= int64(len(c)) {
			return nil, fmt.Errorf("index %d out of an array of %d", n, len(c))
		}
		return c[n], nil
	case map[string]any:
		k, err := wantString(i)
		if err != nil {
			return nil, fmt.Errorf("index of an object: %w", err)
		}
		return property(c, k)
	}
	return nil, fmt.Errorf("cannot index %s", describe(x))
}

// evalTree evaluates every string of a template value, keeping where each
// was written: a computed value sits at the expression that computed it.
// p is v's path, for errors.
func (ev *evaluator) evalTree(v *jsonpos.Value, p string) (*jsonpos.Value, error) {
	switch v.Kind {
	case jsonpos.String:
		if !isExpr(v.Text) {
			return &jsonpos.Value{Kind: jsonpos.String, Pos: v.Pos, Text: literal(v.Text)}, nil
		}
		x, err := ev.evalString(v.Text)
		if err != nil {
			return nil, ev.errorAt(v.Pos, p, err)
		}
		out, err := jsonpos.FromAny(x, v.Pos)
		if err != nil {
			return nil, ev.errorAt(v.Pos, p, err)
		}
		return out, nil
	case jsonpos.Array:
		out := &jsonpos.Value{Kind: jsonpos.Array, Pos: v.Pos, Elems: make([]*jsonpos.Value, len(v.Elems))}
		for i, e := range v.Elems {
			ee, err := ev.evalTree(e, fmt.Sprintf("%s[%d]", p, i))
			if err != nil {
				return nil, err
			}
			out.Elems[i] = ee
		}
		return out, nil
	case jsonpos.Object:
		out := &jsonpos.Value{Kind: jsonpos.Object, Pos: v.Pos, Members: make([]jsonpos.Member, len(v.Members))}
		for i, m := range v.Members {
			mv, err := ev.evalTree(m.Value, p+"."+m.Key)
			if err != nil {
				return nil, err
			}
			out.Members[i] = jsonpos.Member{Key: m.Key, KeyPos: m.KeyPos, Value: mv}
		}
		return out, nil
	}
	return v, nil
}

// evalAny evaluates a template value into a plain value.
func (ev *evaluator) evalAny(v *jsonpos.Value, p string) (any, error) {
	t, err := ev.evalTree(v, p)
	if err != nil {
		return nil, err
	}
	return normalize(t.Any()), nil
}

func (ev *evaluator) errorAt(pos jsonpos.Pos, p string, err error) error {
	// A parameter or variable that failed was already placed where it is
	// written; its error is the one to give.
	var fe *factory.Error
	if errors.As(err, &fe) {
		return fe
	}
	msg := err.Error()
	if p != "" {
		msg = p + ": " + msg
	}
	return &factory.Error{File: ev.file, Line: pos.Line, Col: pos.Col, Msg: msg}
}
