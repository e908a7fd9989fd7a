package expr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// builtin is one function of the language. impl gets the call's argument
// nodes, so that and(), or(), if() and coalesce() evaluate only what they
// need; the others are wrapped by strict, which evaluates all first.
type builtin struct {
	name     string // as ADF's reference spells it
	min, max int    // max -1: any number
	impl     func(ev *evaluator, call *callNode, args []node) (any, error)
	// scoped functions (pipeline(), item() ...) say what went wrong in
	// their own words; the others' messages are prefixed with their name.
	scoped bool
}

// arity says how many arguments the function takes, for messages.
func (f *builtin) arity() string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return itoa(n) + " arguments"
	}
	switch {
	case f.max < 0:
		return "at least " + plural(f.min)
	case f.min == f.max:
		return plural(f.min)
	case f.min+1 == f.max:
		return itoa(f.min) + " or " + plural(f.max)
	}
	return itoa(f.min) + " to " + plural(f.max)
}

// strict adapts a function of evaluated arguments.
func strict(fn func(ev *evaluator, args []any) (any, error)) func(*evaluator, *callNode, []node) (any, error) {
	return func(ev *evaluator, _ *callNode, ns []node) (any, error) {
		args, err := ev.args(ns)
		if err != nil {
			return nil, err
		}
		return fn(ev, args)
	}
}

// pure adapts a function that needs neither the Scope nor laziness.
func pure(fn func(args []any) (any, error)) func(*evaluator, *callNode, []node) (any, error) {
	return strict(func(_ *evaluator, args []any) (any, error) { return fn(args) })
}

// plainError is a message from a function, without a cause.
type plainError struct{ msg string }

func (e *plainError) Error() string { return e.msg }

// errorf makes a function's error message.
func errorf(format string, args ...any) error {
	return &plainError{msg: fmt.Sprintf(format, args...)}
}

// unwrapPlain keeps the cause of a function's error when it has one
// beyond its message.
func unwrapPlain(err error) error {
	var p *plainError
	if errors.As(err, &p) {
		return nil
	}
	return err
}

// registry holds every built-in by lower-cased name; it is built once and
// only read after.
var registry = buildRegistry()

func buildRegistry() map[string]*builtin {
	m := map[string]*builtin{}
	for _, group := range [][]*builtin{
		scopeFunctions(), logicalFunctions(), stringFunctions(), collectionFunctions(),
		conversionFunctions(), encodingFunctions(), mathFunctions(), dateFunctions(), xpathFunctions(),
	} {
		for _, f := range group {
			m[strings.ToLower(f.name)] = f
		}
	}
	return m
}

// lookup finds a function by name, regardless of case, or nil.
func lookup(name string) *builtin { return registry[strings.ToLower(name)] }

// Functions returns the names of every function the language has, as
// ADF's reference spells them.
func Functions() []string {
	out := make([]string, 0, len(registry))
	for _, f := range registry {
		out = append(out, f.name)
	}
	sort.Strings(out)
	return out
}

// logicalFunctions are and, or, not, if, equals and the comparisons. and,
// or and if evaluate lazily, as ADF does: or(true, x) never evaluates x.
func logicalFunctions() []*builtin {
	return []*builtin{
		{name: "and", min: 2, max: -1, impl: func(ev *evaluator, _ *callNode, ns []node) (any, error) {
			for i, n := range ns {
				b, err := boolArg(ev, n, i)
				if err != nil || !b {
					return false, err
				}
			}
			return true, nil
		}},
		{name: "or", min: 2, max: -1, impl: func(ev *evaluator, _ *callNode, ns []node) (any, error) {
			for i, n := range ns {
				b, err := boolArg(ev, n, i)
				if err != nil || b {
					return b, err
				}
			}
			return false, nil
		}},
		{name: "if", min: 3, max: 3, impl: func(ev *evaluator, _ *callNode, ns []node) (any, error) {
			b, err := boolArg(ev, ns[0], 0)
			if err != nil {
				return nil, err
			}
			if b {
				return ev.eval(ns[1])
			}
			return ev.eval(ns[2])
		}},
		{name: "coalesce", min: 1, max: -1, impl: func(ev *evaluator, _ *callNode, ns []node) (any, error) {
			for _, n := range ns {
				v, err := ev.eval(n)
				if err != nil || v != nil {
					return v, err
				}
			}
			return nil, nil
		}},
		{name: "not", min: 1, max: 1, impl: func(ev *evaluator, _ *callNode, ns []node) (any, error) {
			b, err := boolArg(ev, ns[0], 0)
			return !b, err
		}},
		{name: "equals", min: 2, max: 2, impl: pure(func(a []any) (any, error) { return equal(a[0], a[1]), nil })},
		{name: "greater", min: 2, max: 2, impl: pure(compareWith(func(c int) bool { return c > 0 }))},
		{name: "greaterOrEquals", min: 2, max: 2, impl: pure(compareWith(func(c int) bool { return c >= 0 }))},
		{name: "less", min: 2, max: 2, impl: pure(compareWith(func(c int) bool { return c < 0 }))},
		{name: "lessOrEquals", min: 2, max: 2, impl: pure(compareWith(func(c int) bool { return c <= 0 }))},
	}
}

// boolArg evaluates argument i, which must be a Boolean.
func boolArg(ev *evaluator, n node, i int) (bool, error) {
	v, err := ev.eval(n)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, errorf("expects a Boolean for argument %d, got a value of type '%s'", i+1, typeName(v))
	}
	return b, nil
}

// compareWith makes greater(), less() ...: numbers compare by value,
// strings ordinally; anything else, or a mix, is an error.
func compareWith(ok func(int) bool) func(a []any) (any, error) {
	return func(a []any) (any, error) {
		c, err := compare(a[0], a[1])
		if err != nil {
			return nil, err
		}
		return ok(c), nil
	}
}

// compare orders two numbers or two strings.
func compare(a, b any) (int, error) {
	if x, ok := a.(int64); ok {
		if y, ok := b.(int64); ok {
			return cmpOrdered(x, y), nil
		}
	}
	if x, ok := numberOf(a); ok {
		if y, ok := numberOf(b); ok {
			return cmpOrdered(x, y), nil
		}
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	}
	return 0, errorf("expects two numbers or two strings, got values of type '%s' and '%s'", typeName(a), typeName(b))
}

func cmpOrdered[T int64 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
