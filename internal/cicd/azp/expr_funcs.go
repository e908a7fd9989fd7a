package azp

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// function is one built-in function of the expression language.
type function struct {
	name     string
	min, max int // max -1: unbounded
	// lazy functions get their arguments unevaluated (and, or, coalesce,
	// iif short-circuit); the others get them evaluated.
	lazy  func(env *Env, args []exprNode) (any, error)
	eager func(env *Env, args []any) (any, error)
}

// arity describes how many arguments the function takes.
func (f *function) arity() string {
	switch {
	case f.max < 0:
		return fmt.Sprintf("at least %d arguments", f.min)
	case f.min == f.max && f.min == 1:
		return "1 argument"
	case f.min == f.max:
		return fmt.Sprintf("%d arguments", f.min)
	}
	return fmt.Sprintf("%d to %d arguments", f.min, f.max)
}

// call runs the function on its argument nodes.
func (f *function) call(env *Env, args []exprNode) (any, error) {
	if f.lazy != nil {
		return f.lazy(env, args)
	}
	vs, err := evalArgs(env, args)
	if err != nil {
		return nil, err
	}
	v, err := f.eager(env, vs)
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", f.name, err)
	}
	return v, nil
}

// functions is the table of built-ins, keyed by lower-cased name.
var functions = map[string]*function{}

func init() {
	for _, f := range []*function{
		{name: "and", min: 2, max: -1, lazy: fnAnd},
		{name: "or", min: 2, max: -1, lazy: fnOr},
		{name: "coalesce", min: 1, max: -1, lazy: fnCoalesce},
		{name: "iif", min: 3, max: 3, lazy: fnIif},
		{name: "not", min: 1, max: 1, eager: func(_ *Env, a []any) (any, error) { return !Truthy(a[0]), nil }},
		{name: "xor", min: 2, max: 2, eager: func(_ *Env, a []any) (any, error) { return Truthy(a[0]) != Truthy(a[1]), nil }},
		{name: "eq", min: 2, max: 2, eager: func(_ *Env, a []any) (any, error) { return equalValues(a[0], a[1]), nil }},
		{name: "ne", min: 2, max: 2, eager: func(_ *Env, a []any) (any, error) { return !equalValues(a[0], a[1]), nil }},
		{name: "gt", min: 2, max: 2, eager: compareFn(func(c int) bool { return c > 0 })},
		{name: "ge", min: 2, max: 2, eager: compareFn(func(c int) bool { return c >= 0 })},
		{name: "lt", min: 2, max: 2, eager: compareFn(func(c int) bool { return c < 0 })},
		{name: "le", min: 2, max: 2, eager: compareFn(func(c int) bool { return c <= 0 })},
		{name: "in", min: 1, max: -1, eager: fnIn},
		{name: "notIn", min: 1, max: -1, eager: func(e *Env, a []any) (any, error) { v, _ := fnIn(e, a); return !v.(bool), nil }},
		{name: "contains", min: 2, max: 2, eager: stringsFn(func(s []string) any { return strings.Contains(strings.ToUpper(s[0]), strings.ToUpper(s[1])) })},
		{name: "startsWith", min: 2, max: 2, eager: stringsFn(func(s []string) any { return strings.HasPrefix(strings.ToUpper(s[0]), strings.ToUpper(s[1])) })},
		{name: "endsWith", min: 2, max: 2, eager: stringsFn(func(s []string) any { return strings.HasSuffix(strings.ToUpper(s[0]), strings.ToUpper(s[1])) })},
		{name: "lower", min: 1, max: 1, eager: stringsFn(func(s []string) any { return strings.ToLower(s[0]) })},
		{name: "upper", min: 1, max: 1, eager: stringsFn(func(s []string) any { return strings.ToUpper(s[0]) })},
		{name: "trim", min: 1, max: 1, eager: stringsFn(func(s []string) any { return strings.TrimSpace(s[0]) })},
		{name: "replace", min: 3, max: 3, eager: stringsFn(func(s []string) any { return replaceAll(s[0], s[1], s[2]) })},
		{name: "split", min: 2, max: 2, eager: stringsFn(fnSplit)},
		{name: "containsValue", min: 2, max: 2, eager: fnContainsValue},
		{name: "format", min: 1, max: -1, eager: fnFormat},
		{name: "join", min: 2, max: 2, eager: fnJoin},
		{name: "length", min: 1, max: 1, eager: fnLength},
		{name: "convertToJson", min: 1, max: 1, eager: func(_ *Env, a []any) (any, error) { return toJSON(a[0], ""), nil }},
		{name: "counter", min: 0, max: 2, eager: fnCounter},
		{name: "always", min: 0, max: 0, eager: func(*Env, []any) (any, error) { return true, nil }},
		{name: "succeeded", min: 0, max: -1, eager: statusFn("succeeded", StatusContext.Succeeded)},
		{name: "failed", min: 0, max: -1, eager: statusFn("failed", StatusContext.Failed)},
		{name: "succeededOrFailed", min: 0, max: -1, eager: statusFn("succeededOrFailed", StatusContext.SucceededOrFailed)},
		{name: "canceled", min: 0, max: 0, eager: statusFn("canceled", func(s StatusContext, _ ...string) (bool, error) { return s.Canceled() })},
	} {
		functions[strings.ToLower(f.name)] = f
	}
}

// lookupFunction finds a built-in by name, case-insensitively.
func lookupFunction(name string) *function { return functions[strings.ToLower(name)] }

func fnAnd(env *Env, args []exprNode) (any, error) {
	for _, a := range args {
		v, err := evalNode(a, env)
		if err != nil {
			return nil, err
		}
		if !Truthy(v) {
			return false, nil
		}
	}
	return true, nil
}

func fnOr(env *Env, args []exprNode) (any, error) {
	for _, a := range args {
		v, err := evalNode(a, env)
		if err != nil {
			return nil, err
		}
		if Truthy(v) {
			return true, nil
		}
	}
	return false, nil
}

// fnCoalesce returns the first argument that is neither null nor ”.
func fnCoalesce(env *Env, args []exprNode) (any, error) {
	for _, a := range args {
		v, err := evalNode(a, env)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); v != nil && (!ok || s != "") {
			return v, nil
		}
	}
	return nil, nil
}

func fnIif(env *Env, args []exprNode) (any, error) {
	c, err := evalNode(args[0], env)
	if err != nil {
		return nil, err
	}
	if Truthy(c) {
		return evalNode(args[1], env)
	}
	return evalNode(args[2], env)
}

// compareFn builds gt, ge, lt and le.
func compareFn(ok func(int) bool) func(*Env, []any) (any, error) {
	return func(_ *Env, a []any) (any, error) {
		c, err := compareValues(a[0], a[1])
		if err != nil {
			return nil, err
		}
		return ok(c), nil
	}
}

// fnIn is true when the first argument equals any of the others.
func fnIn(_ *Env, a []any) (any, error) {
	for _, r := range a[1:] {
		if equalValues(a[0], r) {
			return true, nil
		}
	}
	return false, nil
}

// stringsFn builds a function whose arguments are all cast to strings.
func stringsFn(f func([]string) any) func(*Env, []any) (any, error) {
	return func(_ *Env, a []any) (any, error) {
		s := make([]string, len(a))
		for i, v := range a {
			str, ok := toString(v)
			if !ok {
				return nil, fmt.Errorf("argument %d: a %s cannot be cast to a string", i+1, kindName(v))
			}
			s[i] = str
		}
		return f(s), nil
	}
}

// replaceAll replaces every occurrence of old; an empty old changes nothing.
func replaceAll(s, old, repl string) string {
	if old == "" {
		return s
	}
	return strings.ReplaceAll(s, old, repl)
}

// fnSplit splits a string into an array of strings.
func fnSplit(s []string) any {
	if s[1] == "" {
		return []any{s[0]}
	}
	parts := strings.Split(s[0], s[1])
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// fnContainsValue looks for a value among an array's items or an object's
// property values.
func fnContainsValue(_ *Env, a []any) (any, error) {
	var items []any
	switch c := a[0].(type) {
	case []any:
		items = c
	case *Map:
		items = c.vals
	}
	for _, it := range items {
		if equalValues(it, a[1]) {
			return true, nil
		}
	}
	return false, nil
}

// fnFormat replaces {0}, {1}, ... with the arguments; {{ and }} are
// literal braces.
func fnFormat(_ *Env, a []any) (any, error) {
	f, ok := toString(a[0])
	if !ok {
		return nil, fmt.Errorf("the format must be a string, got a %s", kindName(a[0]))
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{', c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed '{' at position %d of the format", i)
			}
			spec := f[i+1 : i+end]
			n, err := strconv.Atoi(spec)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid placeholder {%s}: expected {N} with N a non-negative argument index", spec)
			}
			if n+1 >= len(a) {
				return nil, fmt.Errorf("placeholder {%d} has no argument", n)
			}
			s, ok := toString(a[n+1])
			if !ok {
				return nil, fmt.Errorf("argument {%d}: a %s cannot be cast to a string", n, kindName(a[n+1]))
			}
			b.WriteString(s)
			i += end
		case c == '}':
			return nil, fmt.Errorf("unmatched '}' at position %d of the format", i)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// fnJoin joins an array's items with a separator; a string is returned as
// it is.
func fnJoin(_ *Env, a []any) (any, error) {
	sep, ok := toString(a[0])
	if !ok {
		return nil, fmt.Errorf("the separator must be a string, got a %s", kindName(a[0]))
	}
	switch c := a[1].(type) {
	case []any:
		parts := make([]string, 0, len(c))
		for _, it := range c {
			s, _ := toString(it)
			parts = append(parts, s)
		}
		return strings.Join(parts, sep), nil
	case *Map:
		return "", nil
	}
	s, _ := toString(a[1])
	return s, nil
}

// fnLength counts a string's characters or a collection's items.
func fnLength(_ *Env, a []any) (any, error) {
	switch c := a[0].(type) {
	case nil:
		return float64(0), nil
	case string:
		return float64(stringLength(c)), nil
	case []any:
		return float64(len(c)), nil
	case *Map:
		return float64(c.Len()), nil
	}
	return nil, fmt.Errorf("a %s has no length", kindName(a[0]))
}

// fnCounter asks the run-time counter for its next value.
func fnCounter(env *Env, a []any) (any, error) {
	if env.Counter == nil {
		return nil, fmt.Errorf("counter is a run-time function (use it in variables: with $[ ]): %w", ErrCompileTime)
	}
	var prefix string
	seed := 0.0
	if len(a) > 0 {
		prefix, _ = toString(a[0])
	}
	if len(a) > 1 {
		f, ok := toNumber(a[1])
		if !ok || f != math.Trunc(f) {
			return nil, fmt.Errorf("the seed must be an integer, got %s", quoteValue(a[1]))
		}
		seed = f
	}
	n, err := env.Counter(prefix, int(seed))
	if err != nil {
		return nil, err
	}
	return float64(n), nil
}

// statusFn builds a status function answered by env.Status.
func statusFn(name string, ask func(StatusContext, ...string) (bool, error)) func(*Env, []any) (any, error) {
	return func(env *Env, a []any) (any, error) {
		if env.Status == nil {
			return nil, fmt.Errorf("%s() is a run-time status function (use it in condition:): %w", name, ErrCompileTime)
		}
		deps := make([]string, len(a))
		for i, v := range a {
			s, ok := toString(v)
			if !ok {
				return nil, fmt.Errorf("argument %d must name a job or stage, got a %s", i+1, kindName(v))
			}
			deps[i] = s
		}
		return ask(env.Status, deps...)
	}
}

// toJSON renders a value as indented JSON, as convertToJson does.
func toJSON(v any, indent string) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return strconv.Quote(formatNumber(v))
		}
		return formatNumber(v)
	case string:
		return strconv.Quote(v)
	case Version:
		return strconv.Quote(v.String())
	case []any:
		if len(v) == 0 {
			return "[]"
		}
		in := indent + "  "
		parts := make([]string, len(v))
		for i, it := range v {
			parts[i] = in + toJSON(it, in)
		}
		return "[\n" + strings.Join(parts, ",\n") + "\n" + indent + "]"
	case *Map:
		if v.Len() == 0 {
			return "{}"
		}
		in := indent + "  "
		parts := make([]string, v.Len())
		for i, k := range v.keys {
			parts[i] = in + strconv.Quote(k) + ": " + toJSON(v.vals[i], in)
		}
		return "{\n" + strings.Join(parts, ",\n") + "\n" + indent + "}"
	}
	return "null"
}
