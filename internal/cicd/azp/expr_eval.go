package azp

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// StatusContext answers the status functions of a run-time condition. The
// agent that runs jobs implements it; at compile time there is none and the
// status functions are errors. deps names the jobs or stages the function
// was given (succeeded('A', 'B')); empty means "the dependencies of the
// current job or stage, or the previous steps".
type StatusContext interface {
	// Succeeded reports whether every dependency succeeded (or succeeded
	// with issues) and the run is not being canceled.
	Succeeded(deps ...string) (bool, error)
	// Failed reports whether any dependency failed.
	Failed(deps ...string) (bool, error)
	// SucceededOrFailed reports whether the run was not canceled, whatever
	// the dependencies' results.
	SucceededOrFailed(deps ...string) (bool, error)
	// Canceled reports whether the run was canceled.
	Canceled() (bool, error)
}

// Env is what an expression can see when it is evaluated.
type Env struct {
	// Named holds the top-level named values (parameters, variables,
	// dependencies, stageDependencies, pipeline, resources, and variables
	// bound by ${{ each }}); names match case-insensitively.
	Named *Map
	// Status answers succeeded(), failed(), ... ; nil at compile time.
	Status StatusContext
	// Counter answers counter(prefix, seed); nil where counters do not
	// exist (compile time).
	Counter func(prefix string, seed int) (int, error)
}

// ErrCompileTime is wrapped by the errors of run-time-only functions
// (status functions, counter) evaluated where they are not available.
var ErrCompileTime = errors.New("not available at compile time")

// EvalError is an expression that parsed but could not be evaluated.
type EvalError struct {
	Expr string
	Err  error
}

// Error names the expression and the problem.
func (e *EvalError) Error() string { return fmt.Sprintf("evaluate %q: %v", e.Expr, e.Err) }

// Unwrap returns the cause.
func (e *EvalError) Unwrap() error { return e.Err }

// Eval evaluates the expression in env; env may be nil.
func (e *Expr) Eval(env *Env) (any, error) {
	if env == nil {
		env = &Env{}
	}
	v, err := evalNode(e.root, env)
	if err != nil {
		return nil, &EvalError{Expr: e.src, Err: err}
	}
	return v, nil
}

// Eval parses and evaluates src.
func Eval(src string, env *Env) (any, error) {
	e, err := ParseExpression(src)
	if err != nil {
		return nil, err
	}
	return e.Eval(env)
}

// EvalCondition evaluates a condition: and casts the result to a boolean.
// An empty condition is succeeded(), as Azure defaults it.
func EvalCondition(src string, env *Env) (bool, error) {
	if strings.TrimSpace(src) == "" {
		src = "succeeded()"
	}
	v, err := Eval(src, env)
	if err != nil {
		return false, err
	}
	return Truthy(v), nil
}

// evalNode evaluates one node.
func evalNode(n exprNode, env *Env) (any, error) {
	switch n := n.(type) {
	case *literalNode:
		return n.v, nil
	case *namedNode:
		v, ok := env.Named.Get(n.name)
		if !ok {
			return nil, fmt.Errorf("unrecognized value %q", n.name)
		}
		return v, nil
	case *indexNode:
		return evalIndex(n, env)
	case *callNode:
		return n.fn.call(env, n.args)
	}
	return nil, fmt.Errorf("unknown expression node %T", n)
}

// evalIndex evaluates obj[key], obj.key and obj.*; a miss is null.
func evalIndex(n *indexNode, env *Env) (any, error) {
	obj, err := evalNode(n.obj, env)
	if err != nil {
		return nil, err
	}
	if n.wildcard {
		switch o := obj.(type) {
		case []any:
			return o, nil
		case *Map:
			return append([]any(nil), o.vals...), nil
		}
		return []any{}, nil
	}
	key, err := evalNode(n.key, env)
	if err != nil {
		return nil, err
	}
	switch o := obj.(type) {
	case *Map:
		s, ok := toString(key)
		if !ok {
			return nil, nil
		}
		v, _ := o.Get(s)
		return v, nil
	case []any:
		f, ok := toNumber(key)
		if !ok || f != math.Trunc(f) || f < 0 || f >= float64(len(o)) {
			return nil, nil
		}
		return o[int(f)], nil
	}
	return nil, nil
}

// evalArgs evaluates all arguments, in order.
func evalArgs(env *Env, args []exprNode) ([]any, error) {
	vs := make([]any, len(args))
	for i, a := range args {
		v, err := evalNode(a, env)
		if err != nil {
			return nil, err
		}
		vs[i] = v
	}
	return vs, nil
}

// ValueString casts an expression value to the string Azure inserts for it
// in a YAML value or a variable; arrays and objects are an error.
func ValueString(v any) (string, error) {
	s, ok := toString(v)
	if !ok {
		return "", fmt.Errorf("a %s cannot be used as a string", kindName(v))
	}
	return s, nil
}
