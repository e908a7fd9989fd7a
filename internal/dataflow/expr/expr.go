// Package expr is Azure Data Factory's expression language: values that
// start with "@" (@pipeline().parameters.day, @concat('a', item().name)),
// "@{...}" interpolation inside a string, "@@" for a literal "@", and every
// function of ADF's "Expressions and functions" reference, case-insensitive
// as in Azure.
//
// Values are JSON's, as encoding/json decodes them into any, with numbers
// kept exact: nil, bool, int64, float64, string, []any, map[string]any
// (json.Number is accepted on input and becomes int64 or float64). Dates
// are strings, as in ADF.
//
// expr knows nothing of pipelines: a Scope hands it what pipeline(),
// activity(), item(), variables(), dataset(), linkedService() and trigger()
// return.
package expr

import (
	"encoding/json"
	"time"
)

// Scope is what an expression can see. Nil fields and functions mean the
// thing is not available where the expression is written (item() outside a
// ForEach): using it is an error naming it.
type Scope struct {
	// Pipeline is pipeline(): DataFactory, Pipeline, RunId, TriggerType,
	// TriggerId, TriggerName, TriggerTime, GroupId,
	// TriggeredByPipelineName, TriggeredByPipelineRunId, and "parameters"
	// (a map of the run's parameter values).
	Pipeline map[string]any
	// Activity returns activity('name'): an object with "output", "status",
	// "error" ... of a finished activity; false when there is none.
	Activity func(name string) (any, bool)
	// Item is item() inside a ForEach (or Filter); HasItem says it is set
	// (an item may be nil).
	Item    any
	HasItem bool
	// Variable returns variables('name'); false when the pipeline declares
	// none of that name.
	Variable func(name string) (any, bool)
	// Dataset is dataset() inside a dataset's properties: its parameters.
	Dataset map[string]any
	// LinkedService is linkedService() inside a linked service's
	// properties: its parameters.
	LinkedService map[string]any
	// Trigger is trigger(): startTime, scheduledTime, outputs
	// (windowStartTime, windowEndTime; body.fileName, body.folderPath) ...
	Trigger map[string]any
	// Now is the clock for utcNow() and friends; nil is time.Now.
	Now func() time.Time
}

// Eval evaluates every expression in v, a value decoded from JSON: a string
// starting with "@" is an expression, a string holding "@{...}" is
// interpolated, an object {"value": "...", "type": "Expression"} is the
// expression it holds, and arrays and objects are walked. Other values are
// returned as they are (numbers normalised to int64 or float64).
// Errors are *Error. A result may share arrays and objects with the
// Scope's values: treat it as read-only. Eval may be called concurrently
// (ForEach iterations) as long as the Scope's callbacks may be.
func Eval(v any, s *Scope) (any, error) { return evalValue(v, s) }

// EvalRaw decodes raw JSON (keeping numbers exact) and evaluates it; an
// empty raw is nil.
func EvalRaw(raw json.RawMessage, s *Scope) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := decode(raw)
	if err != nil {
		return nil, err
	}
	return Eval(v, s)
}
