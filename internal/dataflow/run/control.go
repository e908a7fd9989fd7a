package run

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// controlTypes are the activities the runner runs itself.
func controlTypes() []string {
	return []string{"AppendVariable", "AzureMLExecutePipeline", "ExecutePipeline", "Fail", "Filter", "ForEach",
		"IfCondition", "SetVariable", "Switch", "Until", "Wait", "WebActivity", "ciel"}
}

// control returns the handler of a control activity type.
func control(typ string) (handler, bool) {
	switch typ {
	case "ForEach":
		return runForEach, true
	case "IfCondition":
		return runIf, true
	case "Switch":
		return runSwitch, true
	case "Until":
		return runUntil, true
	case "Filter":
		return runFilter, true
	case "Wait":
		return runWait, true
	case "SetVariable":
		return runSetVariable, true
	case "AppendVariable":
		return runAppendVariable, true
	case "Fail":
		return runFail, true
	case "ExecutePipeline":
		return func(ctx context.Context, c *call) (any, error) { return c.ex.executePipeline(ctx, c) }, true
	case "WebActivity":
		return runWeb, true
	case "ciel", "AzureMLExecutePipeline":
		return runJob, true
	}
	return nil, false
}

// handlerFor finds what runs an activity type: a control activity, or a
// data activity of package activity.
func (ex *execution) handlerFor(typ string) (handler, bool) { return ex.r.handlerFor(typ) }

func (r *Runner) handlerFor(typ string) (handler, bool) {
	if h, ok := control(typ); ok {
		return h, true
	}
	if f, ok := r.cfg.Activities(typ); ok {
		return func(ctx context.Context, c *call) (any, error) { return c.ex.runData(ctx, c, f) }, true
	}
	return nil, false
}

// container returns the parsed typeProperties of a container activity.
func (c *call) container() (*containerProps, error) {
	return parseContainer(c.act)
}

// innerFailed is the error of a container whose inner activities failed,
// worded as ADF words it.
func innerFailed(e *ErrorInfo) error {
	if e == nil {
		return userError("ActivityFailed", "Activity failed because an inner activity failed")
	}
	return &activityError{ErrorInfo{ErrorCode: e.ErrorCode, FailureType: e.FailureType,
		Message: fmt.Sprintf("Activity failed because an inner activity failed; Inner activity name: %s, Error: %s", e.Target, e.Message)}}
}

// runInner runs one of a container's activity lists in a new frame.
func (c *call) runInner(ctx context.Context, acts []factory.Activity, iteration *int, item any, hasItem bool) (Status, *ErrorInfo) {
	f := c.f.child(c.runID, iteration)
	if hasItem {
		f.item, f.hasItem = item, true
	}
	return c.ex.runContainer(ctx, f, acts)
}

func runForEach(ctx context.Context, c *call) (any, error) {
	p, err := c.container()
	if err != nil {
		return nil, err
	}
	s := c.scope()
	v, err := c.ex.r.evalRaw(p.Items, s)
	if err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	items, ok := v.([]any)
	if !ok {
		return nil, userError("InvalidItems", "ForEach items must be an array, got %s", typeName(v))
	}
	seqV, err := c.ex.r.evalRaw(p.IsSequential, s)
	if err != nil {
		return nil, fmt.Errorf("isSequential: %w", err)
	}
	sequential, _ := seqV.(bool)
	batch := int64(20)
	if len(p.BatchCount) > 0 {
		bv, err := c.ex.r.evalRaw(p.BatchCount, s)
		if err != nil {
			return nil, fmt.Errorf("batchCount: %w", err)
		}
		if n, ok := toInt(bv); ok && n >= 1 && n <= 50 {
			batch = n
		} else if bv != nil {
			return nil, userError("InvalidBatchCount", "ForEach batchCount must be 1 to 50, got %v", bv)
		}
	}
	if sequential {
		batch = 1
	}
	var (
		mu    sync.Mutex
		first *ErrorInfo
		fails int
		wg    sync.WaitGroup
		slots = make(chan struct{}, batch)
	)
	for i, item := range items {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			st, e := c.runInner(ctx, p.Activities, &i, item, true)
			if st == StatusFailed {
				mu.Lock()
				fails++
				if first == nil {
					first = e
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if fails > 0 {
		return map[string]any{}, innerFailed(first)
	}
	return map[string]any{}, nil
}

func (c *call) evalBool(raw []byte, what string) (bool, error) {
	v, err := c.ex.r.evalRaw(raw, c.scope())
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, userError("InvalidExpression", "%s must evaluate to a Boolean, got %s %s", what, typeName(v), shortJSON(v))
	}
	return b, nil
}

func runIf(ctx context.Context, c *call) (any, error) {
	p, err := c.container()
	if err != nil {
		return nil, err
	}
	b, err := c.evalBool(p.Expression, "expression")
	if err != nil {
		return nil, err
	}
	acts := p.IfFalse
	if b {
		acts = p.IfTrue
	}
	out := map[string]any{"expressionValue": b}
	if st, e := c.runInner(ctx, acts, nil, nil, false); st == StatusFailed {
		return out, innerFailed(e)
	}
	return out, ctx.Err()
}

func runSwitch(ctx context.Context, c *call) (any, error) {
	p, err := c.container()
	if err != nil {
		return nil, err
	}
	v, err := c.ex.r.evalRaw(p.On, c.scope())
	if err != nil {
		return nil, fmt.Errorf("on: %w", err)
	}
	on, ok := v.(string)
	if !ok {
		return nil, userError("InvalidExpression", "Switch on must evaluate to a String, got %s", typeName(v))
	}
	acts := p.Default
	for _, cs := range p.Cases {
		if cs.Value == on {
			acts = cs.Activities
			break
		}
	}
	out := map[string]any{"evaluatedValue": on}
	if st, e := c.runInner(ctx, acts, nil, nil, false); st == StatusFailed {
		return out, innerFailed(e)
	}
	return out, ctx.Err()
}

// runUntil runs its activities, then its expression, until the
// expression is true (so at least once), within its timeout (ADF's
// default: 12 hours).
func runUntil(ctx context.Context, c *call) (any, error) {
	p, err := c.container()
	if err != nil {
		return nil, err
	}
	timeout := defaultTimeout
	if len(p.Timeout) > 0 {
		v, err := c.ex.r.evalRaw(p.Timeout, c.scope())
		if err != nil {
			return nil, fmt.Errorf("timeout: %w", err)
		}
		s, _ := v.(string)
		if timeout, err = ParseTimeSpan(s); err != nil {
			return nil, userError("InvalidTimeout", "Until timeout: %v", err)
		}
	}
	// The loop's timeout stops the pass in progress too.
	uctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	timedOut := func() error {
		return userError("ActivityTimeout", "Until %s timed out after %s with its expression still false", c.act.Name, timeout)
	}
	for i := 0; ; i++ {
		f := c.f.child(c.runID, &i)
		st, e := c.ex.runContainer(uctx, f, p.Activities)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if uctx.Err() != nil {
			return map[string]any{"iterations": i + 1}, timedOut()
		}
		if st == StatusFailed {
			return map[string]any{"iterations": i + 1}, innerFailed(e)
		}
		// The expression sees this pass's activities.
		b, err := (&call{ex: c.ex, f: f, act: c.act, runID: c.runID}).evalBool(p.Expression, "expression")
		if err != nil {
			return nil, err
		}
		if b {
			return map[string]any{"iterations": i + 1}, nil
		}
	}
}

func runFilter(ctx context.Context, c *call) (any, error) {
	p, err := c.container()
	if err != nil {
		return nil, err
	}
	v, err := c.ex.r.evalRaw(p.Items, c.scope())
	if err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	items, ok := v.([]any)
	if !ok {
		return nil, userError("InvalidItems", "Filter items must be an array, got %s", typeName(v))
	}
	kept := []any{}
	for _, item := range items {
		f := c.f.child(c.runID, nil)
		f.item, f.hasItem = item, true
		b, err := (&call{ex: c.ex, f: f, act: c.act, runID: c.runID}).evalBool(p.Condition, "condition")
		if err != nil {
			return nil, err
		}
		if b {
			kept = append(kept, item)
		}
	}
	return map[string]any{"ItemsCount": int64(len(items)), "FilteredItemsCount": int64(len(kept)), "Value": kept}, ctx.Err()
}

func runWait(ctx context.Context, c *call) (any, error) {
	n, ok := toInt(c.props["waitTimeInSeconds"])
	if !ok || n < 0 {
		return nil, userError("InvalidWaitTime", "waitTimeInSeconds must be a number of seconds >= 0, got %v", c.props["waitTimeInSeconds"])
	}
	t := time.NewTimer(time.Duration(n) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
		return map[string]any{"waitTimeInSeconds": n}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func runFail(ctx context.Context, c *call) (any, error) {
	msg, _ := c.props["message"].(string)
	code := fmt.Sprint(c.props["errorCode"])
	if c.props["errorCode"] == nil {
		code = ""
	}
	return nil, &activityError{ErrorInfo{ErrorCode: code, Message: msg, FailureType: "UserError"}}
}

func runSetVariable(ctx context.Context, c *call) (any, error) {
	name, _ := c.props["variableName"].(string)
	if sys, _ := c.props["setSystemVariable"].(bool); sys || name == returnValueVar {
		if name != returnValueVar {
			return nil, userError("InvalidVariable", "system variable %q is not known (only %s is)", name, returnValueVar)
		}
		v, err := returnValue(c.props["value"])
		if err != nil {
			return nil, err
		}
		c.ex.mu.Lock()
		c.ex.vars[returnValueVar] = &variable{typ: "Object", value: v}
		c.ex.mu.Unlock()
		return map[string]any{"name": name, "value": v}, nil
	}
	value := c.props["value"]
	c.ex.mu.Lock()
	defer c.ex.mu.Unlock()
	v, ok := c.ex.vars[name]
	if !ok {
		return nil, userError("InvalidVariable", "the pipeline declares no variable %q", name)
	}
	cv, ok := coerceVariable(v.typ, value)
	if !ok {
		return nil, userError("InvalidVariableType", "The variable '%s' of type '%s' cannot be updated with value of type '%s'", name, v.typ, typeName(value))
	}
	c.ex.vars[name] = &variable{typ: v.typ, value: cv}
	return map[string]any{"name": name, "value": cv}, nil
}

func runAppendVariable(ctx context.Context, c *call) (any, error) {
	name, _ := c.props["variableName"].(string)
	c.ex.mu.Lock()
	defer c.ex.mu.Unlock()
	v, ok := c.ex.vars[name]
	if !ok {
		return nil, userError("InvalidVariable", "the pipeline declares no variable %q", name)
	}
	if !strings.EqualFold(v.typ, "Array") {
		return nil, userError("InvalidVariableType", "AppendVariable needs an Array variable; %q is a %s", name, v.typ)
	}
	old, _ := v.value.([]any)
	// A new slice: expressions may hold the old one.
	next := make([]any, len(old), len(old)+1)
	copy(next, old)
	next = append(next, c.props["value"])
	c.ex.vars[name] = &variable{typ: v.typ, value: next}
	return map[string]any{}, nil
}

// returnValue decodes pipelineReturnValue's list of {"key", "value":
// {"type", "content"}} into an object; content was evaluated with the
// activity's typeProperties.
func returnValue(v any) (map[string]any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, userError("InvalidReturnValue", "pipelineReturnValue must be a list of {key, value}, got %s", typeName(v))
	}
	out := make(map[string]any, len(list))
	for _, e := range list {
		kv, _ := e.(map[string]any)
		key, _ := kv["key"].(string)
		if key == "" {
			return nil, userError("InvalidReturnValue", "pipelineReturnValue entry %s has no key", shortJSON(e))
		}
		val, err := typedValue(kv["value"])
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	return out, nil
}

// typedValue reads one {"type", "content"} of a return value: String,
// Int, Float, Boolean, Null, Expression (already evaluated), Array (a
// list of typed values) or Object (a list of {key, value}).
func typedValue(v any) (any, error) {
	tv, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	typ, _ := tv["type"].(string)
	content := tv["content"]
	switch strings.ToLower(typ) {
	case "null":
		return nil, nil
	case "array":
		list, _ := content.([]any)
		out := make([]any, 0, len(list))
		for _, e := range list {
			x, err := typedValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case "object":
		if _, isList := content.([]any); isList {
			return returnValue(content)
		}
		return content, nil
	}
	return content, nil
}
