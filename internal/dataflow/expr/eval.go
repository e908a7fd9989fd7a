package expr

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// evaluator evaluates parsed expressions against one Scope.
type evaluator struct {
	scope *Scope
}

// now is the Scope's clock, or the machine's.
func (ev *evaluator) now() time.Time {
	if ev.scope != nil && ev.scope.Now != nil {
		return ev.scope.Now().UTC()
	}
	return time.Now().UTC()
}

// eval evaluates one node.
func (ev *evaluator) eval(n node) (any, error) {
	switch t := n.(type) {
	case *litNode:
		return t.v, nil
	case *callNode:
		v, err := t.fn.impl(ev, t, t.args)
		if err != nil {
			if _, ok := err.(*failure); ok {
				return nil, err
			}
			msg := err.Error()
			if !t.fn.scoped {
				msg = "function '" + t.fn.name + "': " + msg
			}
			return nil, &failure{pos: t.pos, msg: msg, err: unwrapPlain(err)}
		}
		return norm(v), nil
	case *propNode:
		obj, err := ev.eval(t.obj)
		if err != nil {
			return nil, err
		}
		return selectProperty(obj, t.name, t.safe, t.pos)
	case *indexNode:
		obj, err := ev.eval(t.obj)
		if err != nil {
			return nil, err
		}
		key, err := ev.eval(t.key)
		if err != nil {
			return nil, err
		}
		return index(obj, key, t.safe, t.pos)
	}
	return nil, failf(n.at(), "unknown expression node")
}

// args evaluates every argument of a call.
func (ev *evaluator) args(ns []node) ([]any, error) {
	out := make([]any, len(ns))
	for i, n := range ns {
		v, err := ev.eval(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// selectProperty is obj.name (obj?.name when safe). A name that is not
// there exactly is looked up regardless of case, as ADF does; a missing
// property or a null object is an error, or null when safe.
func selectProperty(obj any, name string, safe bool, pos int) (any, error) {
	switch t := norm(obj).(type) {
	case nil:
		if safe {
			return nil, nil
		}
		return nil, failf(pos, "property '%s' cannot be selected: the value is null (write ?.%s to get null instead)", name, name)
	case map[string]any:
		if v, ok := t[name]; ok {
			return norm(v), nil
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.EqualFold(k, name) {
				return norm(t[k]), nil
			}
		}
		if safe {
			return nil, nil
		}
		if len(keys) == 0 {
			return nil, failf(pos, "property '%s' doesn't exist: the object has no properties", name)
		}
		return nil, failf(pos, "property '%s' doesn't exist, available properties are '%s'", name, clip(strings.Join(keys, ", ")))
	}
	return nil, failf(pos, "property '%s' cannot be selected: property selection is not supported on values of type '%s'", name, typeName(obj))
}

// index is obj[key] (obj?[key] when safe): an integer index into an array,
// or a string key into an object.
func index(obj, key any, safe bool, pos int) (any, error) {
	obj, key = norm(obj), norm(key)
	if obj == nil {
		if safe {
			return nil, nil
		}
		return nil, failf(pos, "cannot index a null value (write ?[...] to get null instead)")
	}
	if s, ok := key.(string); ok {
		if _, isMap := obj.(map[string]any); isMap {
			return selectProperty(obj, s, safe, pos)
		}
		return nil, failf(pos, "cannot index a value of type '%s' with the string '%s'", typeName(obj), s)
	}
	arr, ok := obj.([]any)
	if !ok {
		return nil, failf(pos, "cannot index a value of type '%s' with a number", typeName(obj))
	}
	i, ok := wholeNumber(key)
	if !ok {
		return nil, failf(pos, "an array index must be an integer, not a value of type '%s'", typeName(key))
	}
	if i < 0 || i >= int64(len(arr)) {
		if safe {
			return nil, nil
		}
		return nil, failf(pos, "array index '%d' is outside bounds (0, %d) of the array", i, len(arr)-1)
	}
	return norm(arr[i]), nil
}

// wholeNumber returns v as an int64 when it is an integer or a float with
// no fraction.
func wholeNumber(v any) (int64, bool) {
	switch t := norm(v).(type) {
	case int64:
		return t, true
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t), true
		}
	}
	return 0, false
}

// scopeFunctions are the functions that read the Scope rather than their
// arguments.
func scopeFunctions() []*builtin {
	fs := []*builtin{
		{name: "pipeline", min: 0, max: 0, impl: func(ev *evaluator, _ *callNode, _ []node) (any, error) {
			if ev.scope == nil || ev.scope.Pipeline == nil {
				return nil, errorf("pipeline() is only available inside a pipeline")
			}
			return ev.scope.Pipeline, nil
		}},
		{name: "activity", min: 1, max: 1, impl: strict(func(ev *evaluator, a []any) (any, error) {
			name, ok := a[0].(string)
			if !ok {
				return nil, errorf("expects the activity name as a string, got a value of type '%s'", typeName(a[0]))
			}
			if ev.scope != nil && ev.scope.Activity != nil {
				if v, ok := ev.scope.Activity(name); ok {
					return v, nil
				}
			}
			return nil, errorf("activity '%s' cannot be referenced: it does not exist, has not completed, or this activity does not depend on it", name)
		})},
		{name: "item", min: 0, max: 0, impl: func(ev *evaluator, _ *callNode, _ []node) (any, error) {
			if ev.scope == nil || !ev.scope.HasItem {
				return nil, errorf("item() is only available inside a ForEach (or a Filter's condition)")
			}
			return ev.scope.Item, nil
		}},
		{name: "variables", min: 1, max: 1, impl: strict(func(ev *evaluator, a []any) (any, error) {
			name, ok := a[0].(string)
			if !ok {
				return nil, errorf("expects the variable name as a string, got a value of type '%s'", typeName(a[0]))
			}
			if ev.scope != nil && ev.scope.Variable != nil {
				if v, ok := ev.scope.Variable(name); ok {
					return v, nil
				}
			}
			return nil, errorf("variable '%s' is not declared in the pipeline", name)
		})},
		{name: "dataset", min: 0, max: 0, impl: func(ev *evaluator, _ *callNode, _ []node) (any, error) {
			if ev.scope == nil || ev.scope.Dataset == nil {
				return nil, errorf("dataset() is only available inside a dataset's properties")
			}
			return ev.scope.Dataset, nil
		}},
		{name: "linkedService", min: 0, max: 0, impl: func(ev *evaluator, _ *callNode, _ []node) (any, error) {
			if ev.scope == nil || ev.scope.LinkedService == nil {
				return nil, errorf("linkedService() is only available inside a linked service's properties")
			}
			return ev.scope.LinkedService, nil
		}},
		{name: "trigger", min: 0, max: 0, impl: func(ev *evaluator, _ *callNode, _ []node) (any, error) {
			if ev.scope == nil || ev.scope.Trigger == nil {
				return nil, errorf("trigger() is only available in a trigger's pipeline parameters")
			}
			return ev.scope.Trigger, nil
		}},
		// triggerOutputs() and triggerBody() are the short forms ADF's
		// storage event and tumbling window triggers document:
		// trigger().outputs and trigger().outputs.body.
		{name: "triggerOutputs", min: 0, max: 0, impl: func(ev *evaluator, _ *callNode, _ []node) (any, error) {
			return triggerOutputs(ev, "triggerOutputs")
		}},
		{name: "triggerBody", min: 0, max: 0, impl: func(ev *evaluator, _ *callNode, _ []node) (any, error) {
			out, err := triggerOutputs(ev, "triggerBody")
			if err != nil {
				return nil, err
			}
			if m, ok := out.(map[string]any); ok {
				return m["body"], nil
			}
			return nil, nil
		}},
	}
	for _, f := range fs {
		f.scoped = true
	}
	return fs
}

// triggerOutputs is trigger().outputs, for the function called name.
func triggerOutputs(ev *evaluator, name string) (any, error) {
	if ev.scope == nil || ev.scope.Trigger == nil {
		return nil, errorf("%s() is only available in a trigger's pipeline parameters", name)
	}
	return ev.scope.Trigger["outputs"], nil
}

// itoa is strconv.Itoa, short for messages.
func itoa(i int) string { return strconv.Itoa(i) }
