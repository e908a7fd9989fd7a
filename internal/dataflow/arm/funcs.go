package arm

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Values are JSON's: nil, bool, int64, float64, string, []any,
// map[string]any.

// fn is a template function over evaluated arguments.
type fn func(ev *evaluator, args []any) (any, error)

// funcs are the template functions ciel evaluates, by lower-case name.
// Those that read the deployment (resourceGroup(), subscription(),
// deployment(), tenant(), uniqueString(), guid()) answer with local
// stand-ins: ciel deploys nowhere, and ADF templates use them only to make
// names and descriptions.
var funcs map[string]fn

func init() {
	funcs = map[string]fn{
		"concat":          concat,
		"format":          format,
		"replace":         strFn3(func(s, a, b string) any { return strings.ReplaceAll(s, a, b) }),
		"tolower":         strFn1(func(s string) any { return strings.ToLower(s) }),
		"toupper":         strFn1(func(s string) any { return strings.ToUpper(s) }),
		"trim":            strFn1(func(s string) any { return strings.TrimSpace(s) }),
		"startswith":      strFn2(func(s, t string) any { return strings.HasPrefix(strings.ToLower(s), strings.ToLower(t)) }),
		"endswith":        strFn2(func(s, t string) any { return strings.HasSuffix(strings.ToLower(s), strings.ToLower(t)) }),
		"indexof":         strFn2(func(s, t string) any { return int64(strings.Index(strings.ToLower(s), strings.ToLower(t))) }),
		"lastindexof":     strFn2(func(s, t string) any { return int64(strings.LastIndex(strings.ToLower(s), strings.ToLower(t))) }),
		"substring":       substring,
		"split":           split,
		"join":            join,
		"padleft":         padLeft,
		"string":          arity(1, 1, func(a []any) (any, error) { return toString(a[0]) }),
		"int":             arity(1, 1, func(a []any) (any, error) { return toInt(a[0]) }),
		"bool":            arity(1, 1, func(a []any) (any, error) { return toBool(a[0]) }),
		"json":            arity(1, 1, parseJSON),
		"equals":          arity(2, 2, func(a []any) (any, error) { return reflect.DeepEqual(a[0], a[1]), nil }),
		"not":             arity(1, 1, func(a []any) (any, error) { b, err := wantBool(a[0]); return !b, err }),
		"and":             logic(true),
		"or":              logic(false),
		"empty":           arity(1, 1, func(a []any) (any, error) { return isEmpty(a[0]), nil }),
		"coalesce":        coalesce,
		"createarray":     func(_ *evaluator, a []any) (any, error) { return append([]any{}, a...), nil },
		"createobject":    createObject,
		"array":           arity(1, 1, func(a []any) (any, error) { return toArray(a[0]), nil }),
		"length":          arity(1, 1, length),
		"first":           arity(1, 1, func(a []any) (any, error) { return edge(a[0], true) }),
		"last":            arity(1, 1, func(a []any) (any, error) { return edge(a[0], false) }),
		"contains":        arity(2, 2, contains),
		"take":            arity(2, 2, func(a []any) (any, error) { return takeSkip(a, true) }),
		"skip":            arity(2, 2, func(a []any) (any, error) { return takeSkip(a, false) }),
		"union":           union,
		"range":           arity(2, 2, rangeFn),
		"add":             arith(func(a, b int64) (int64, error) { return a + b, nil }),
		"sub":             arith(func(a, b int64) (int64, error) { return a - b, nil }),
		"mul":             arith(func(a, b int64) (int64, error) { return a * b, nil }),
		"div":             arith(func(a, b int64) (int64, error) { return divmod(a, b, true) }),
		"mod":             arith(func(a, b int64) (int64, error) { return divmod(a, b, false) }),
		"min":             minMax(true),
		"max":             minMax(false),
		"greater":         compare(func(c int) bool { return c > 0 }),
		"greaterorequals": compare(func(c int) bool { return c >= 0 }),
		"less":            compare(func(c int) bool { return c < 0 }),
		"lessorequals":    compare(func(c int) bool { return c <= 0 }),
		"null":            arity(0, 0, func([]any) (any, error) { return nil, nil }),
		"true":            arity(0, 0, func([]any) (any, error) { return true, nil }),
		"false":           arity(0, 0, func([]any) (any, error) { return false, nil }),
		"base64":          strFn1(func(s string) any { return base64.StdEncoding.EncodeToString([]byte(s)) }),
		"base64tostring":  base64ToString,
		"uniquestring":    uniqueString,
		"guid":            guid,
		"utcnow":          utcNow,
		"resourcegroup":   arity(0, 0, func([]any) (any, error) { return resourceGroup(), nil }),
		"subscription":    arity(0, 0, func([]any) (any, error) { return subscription(), nil }),
		"tenant":          arity(0, 0, func([]any) (any, error) { return map[string]any{"tenantId": standInID}, nil }),
		"deployment": arity(0, 0, func([]any) (any, error) {
			return map[string]any{"name": "ciel-import", "properties": map[string]any{}}, nil
		}),
		"resourceid": resourceID,
	}
}

func arity(min, max int, f func([]any) (any, error)) fn {
	return func(_ *evaluator, a []any) (any, error) {
		if len(a) < min || (max >= 0 && len(a) > max) {
			if min == max {
				return nil, fmt.Errorf("takes %d argument(s), got %d", min, len(a))
			}
			return nil, fmt.Errorf("takes %d to %d arguments, got %d", min, max, len(a))
		}
		return f(a)
	}
}

func wantString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("expected a string, got %s", describe(v))
	}
	return s, nil
}

func wantInt(v any) (int64, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("expected an integer, got %s", describe(v))
	}
	return n, nil
}

func wantBool(v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expected a boolean, got %s", describe(v))
	}
	return b, nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func strFn1(f func(string) any) fn {
	return arity(1, 1, func(a []any) (any, error) {
		s, err := wantString(a[0])
		if err != nil {
			return nil, err
		}
		return f(s), nil
	})
}

func strFn2(f func(a, b string) any) fn {
	return arity(2, 2, func(a []any) (any, error) {
		s, err := wantString(a[0])
		if err != nil {
			return nil, err
		}
		t, err := wantString(a[1])
		if err != nil {
			return nil, err
		}
		return f(s, t), nil
	})
}

func strFn3(f func(a, b, c string) any) fn {
	return arity(3, 3, func(a []any) (any, error) {
		var s [3]string
		for i := range s {
			var err error
			if s[i], err = wantString(a[i]); err != nil {
				return nil, err
			}
		}
		return f(s[0], s[1], s[2]), nil
	})
}

// funcNames lists the functions, for messages.
func funcNames() string {
	names := make([]string, 0, len(funcs)+3)
	for n := range funcs {
		names = append(names, n)
	}
	names = append(names, "if", "parameters", "variables")
	sort.Strings(names)
	return strings.Join(names, ", ")
}
