package run

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/expr"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// decodeJSON decodes raw JSON with numbers as int64 or float64, as expr
// keeps them; empty raw is nil.
func decodeJSON(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

// normalize turns json.Number (and integral float64 from a plain decode
// are left alone) into int64 or float64, through arrays and objects.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case int:
		return int64(x)
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalize(x[k])
		}
	}
	return v
}

// hasExpr reports whether v holds a string an expression could be in.
func hasExpr(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, "@")
	case []any:
		for _, e := range x {
			if hasExpr(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasExpr(e) {
				return true
			}
		}
	}
	return false
}

// eval evaluates the expressions in v in scope s. Values with no "@" in
// them are returned as they are, without the evaluator.
func (r *Runner) eval(v any, s *expr.Scope) (any, error) {
	if !hasExpr(v) {
		return v, nil
	}
	return expr.Eval(v, s)
}

// evalRaw decodes raw JSON and evaluates it in s.
func (r *Runner) evalRaw(raw json.RawMessage, s *expr.Scope) (any, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	return r.eval(v, s)
}

// evalProps evaluates an activity's typeProperties, which must be an
// object (or absent).
func (r *Runner) evalProps(raw json.RawMessage, s *expr.Scope) (map[string]any, error) {
	v, err := r.evalRaw(raw, s)
	if err != nil {
		return nil, fmt.Errorf("typeProperties: %w", err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("typeProperties: want an object, got %s", typeName(v))
	}
	return m, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "Boolean"
	case int64, int:
		return "Integer"
	case float64:
		return "Float"
	case string:
		return "String"
	case []any:
		return "Array"
	case map[string]any:
		return "Object"
	}
	return fmt.Sprintf("%T", v)
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return i, err == nil
	}
	return 0, false
}

// coerce checks v against a declared parameter type (String, Int, Float,
// Bool, Array, Object, SecureString, SecureObject) and converts what ADF
// converts: integral numbers to Int, numbers to Float, strings holding a
// number, a Boolean or JSON to those types.
func coerce(typ string, v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	switch strings.ToLower(typ) {
	case "", "any":
		return v, true
	case "string", "securestring":
		s, ok := v.(string)
		return s, ok
	case "int", "integer":
		i, ok := toInt(v)
		return i, ok
	case "float", "double", "number":
		switch x := v.(type) {
		case int64:
			return float64(x), true
		case float64:
			return x, true
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			return f, err == nil
		}
		return nil, false
	case "bool", "boolean":
		switch x := v.(type) {
		case bool:
			return x, true
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			return b, err == nil
		}
		return nil, false
	case "array":
		if s, ok := v.(string); ok {
			var a []any
			if d, err := decodeJSON(json.RawMessage(s)); err == nil {
				a, ok = d.([]any)
				return a, ok
			}
			return nil, false
		}
		a, ok := v.([]any)
		return a, ok
	case "object", "secureobject":
		if s, ok := v.(string); ok {
			if d, err := decodeJSON(json.RawMessage(s)); err == nil {
				m, ok := d.(map[string]any)
				return m, ok
			}
			return nil, false
		}
		m, ok := v.(map[string]any)
		return m, ok
	}
	return nil, false
}

// bindParams binds given values to declared parameters: each given one
// must be declared and of its type; a missing one takes its default, and
// one with no default is refused. what names the owner in errors.
func bindParams(specs map[string]factory.ParamSpec, given map[string]any, what string) (map[string]any, error) {
	out := make(map[string]any, len(specs))
	for name := range given {
		if _, ok := specs[name]; !ok {
			has := "it declares none"
			if len(specs) > 0 {
				has = "it has: " + strings.Join(sortedKeys(specs), ", ")
			}
			return nil, invalidf("%s has no parameter %q (%s)", what, name, has)
		}
	}
	for _, name := range sortedKeys(specs) {
		spec := specs[name]
		v, ok := given[name]
		if ok {
			v = normalize(v)
		} else {
			if len(bytes.TrimSpace(spec.DefaultValue)) == 0 {
				return nil, invalidf("%s: parameter %q (%s) is required: it has no default value", what, name, spec.Type)
			}
			d, err := decodeJSON(spec.DefaultValue)
			if err != nil {
				return nil, invalidf("%s: parameter %q: default value: %v", what, name, err)
			}
			v = d
		}
		c, ok := coerce(spec.Type, v)
		if !ok {
			return nil, invalidf("%s: parameter %q is of type %s, got %s %s", what, name, spec.Type, typeName(v), shortJSON(v))
		}
		out[name] = c
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func shortJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// returnValueVar is the system variable SetVariable sets with
// setSystemVariable: the pipeline's return value.
const returnValueVar = "pipelineReturnValue"

// variable is a pipeline variable: its declared type and value. Values
// are replaced, never changed in place, so a reader may keep one.
type variable struct {
	typ   string
	value any
}

// initVariables gives each declared variable its default value (nil
// when none; an empty array for an Array).
func initVariables(p factory.Pipeline) (map[string]*variable, error) {
	vars := make(map[string]*variable, len(p.Variables))
	for name, spec := range p.Variables {
		var v any
		if len(bytes.TrimSpace(spec.DefaultValue)) > 0 {
			d, err := decodeJSON(spec.DefaultValue)
			if err != nil {
				return nil, invalidf("pipeline %q: variable %q: default value: %v", p.Name, name, err)
			}
			c, ok := coerceVariable(spec.Type, d)
			if !ok {
				return nil, invalidf("pipeline %q: variable %q is of type %s, its default is %s", p.Name, name, spec.Type, typeName(d))
			}
			v = c
		} else if strings.EqualFold(spec.Type, "Array") {
			v = []any{}
		}
		vars[name] = &variable{typ: spec.Type, value: v}
	}
	return vars, nil
}

// coerceVariable checks a value against a variable type: String,
// Boolean, Integer or Array, strictly, as SetVariable does in ADF.
func coerceVariable(typ string, v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	switch strings.ToLower(typ) {
	case "string":
		s, ok := v.(string)
		return s, ok
	case "boolean", "bool":
		b, ok := v.(bool)
		return b, ok
	case "integer", "int":
		switch x := v.(type) {
		case int64:
			return x, true
		case float64:
			return toInt(x)
		}
		return nil, false
	case "array":
		a, ok := v.([]any)
		return a, ok
	}
	return v, true
}

// variable is variables('name') for expressions.
func (ex *execution) variable(name string) (any, bool) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	v, ok := ex.vars[name]
	if !ok {
		return nil, false
	}
	return v.value, true
}

// ParseTimeSpan parses a .NET TimeSpan as ADF writes timeouts:
// "[d.]hh:mm:ss[.fffffff]" ("0.12:00:00", "01:30:00", "7.00:00:00").
func ParseTimeSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("timespan %q: want [d.]hh:mm:ss such as \"0.12:00:00\"", s)
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, bad
	}
	var days int64
	hours := parts[0]
	if d, h, ok := strings.Cut(parts[0], "."); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 || n > 100000 { // time.Duration ends at 292 years
			return 0, bad
		}
		days, hours = n, h
	}
	h, err1 := strconv.ParseInt(hours, 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return 0, bad
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second))
	return d, nil
}
