package arm

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
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

// standInID is the subscription and tenant id of the local stand-ins.
const standInID = "00000000-0000-0000-0000-000000000000"

func resourceGroup() map[string]any {
	return map[string]any{
		"id":         "/subscriptions/" + standInID + "/resourceGroups/ciel",
		"name":       "ciel",
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   "local",
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}
}

func subscription() map[string]any {
	return map[string]any{
		"id":             "/subscriptions/" + standInID,
		"subscriptionId": standInID,
		"tenantId":       standInID,
		"displayName":    "ciel",
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

// concat joins strings (numbers and booleans written as string() writes
// them) or, when every argument is an array, arrays.
func concat(_ *evaluator, a []any) (any, error) {
	if len(a) > 0 {
		if _, ok := a[0].([]any); ok {
			out := []any{}
			for _, x := range a {
				arr, ok := x.([]any)
				if !ok {
					return nil, fmt.Errorf("mixes arrays with %s", describe(x))
				}
				out = append(out, arr...)
			}
			return out, nil
		}
	}
	var b strings.Builder
	for _, x := range a {
		switch x.(type) {
		case []any, map[string]any:
			return nil, fmt.Errorf("mixes strings with %s", describe(x))
		}
		s, err := toString(x)
		if err != nil {
			return nil, err
		}
		b.WriteString(s.(string))
	}
	return b.String(), nil
}

// format is .NET's composite formatting, as ARM's format() is: {0}, {1},
// "{{" and "}}" for braces; a format spec after ':' is not applied.
func format(_ *evaluator, a []any) (any, error) {
	if len(a) == 0 {
		return nil, fmt.Errorf("takes a format string")
	}
	f, err := wantString(a[0])
	if err != nil {
		return nil, err
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
				return nil, fmt.Errorf("format string %q: '{' not closed", f)
			}
			spec, _, _ := strings.Cut(f[i+1:i+end], ":")
			spec, _, _ = strings.Cut(spec, ",")
			n, err := strconv.Atoi(strings.TrimSpace(spec))
			if err != nil || n < 0 || n+1 >= len(a) {
				return nil, fmt.Errorf("format string %q: no argument {%s}", f, spec)
			}
			s, err := toString(a[n+1])
			if err != nil {
				return nil, err
			}
			b.WriteString(s.(string))
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func substring(_ *evaluator, a []any) (any, error) {
	if len(a) < 2 || len(a) > 3 {
		return nil, fmt.Errorf("takes 2 or 3 arguments, got %d", len(a))
	}
	s, err := wantString(a[0])
	if err != nil {
		return nil, err
	}
	start, err := wantInt(a[1])
	if err != nil {
		return nil, err
	}
	n := int64(len(s)) - start
	if len(a) == 3 {
		if n, err = wantInt(a[2]); err != nil {
			return nil, err
		}
	}
	if start < 0 || n < 0 || start+n > int64(len(s)) {
		return nil, fmt.Errorf("substring(%d, %d) out of a string of length %d", start, n, len(s))
	}
	return s[start : start+n], nil
}

func split(_ *evaluator, a []any) (any, error) {
	if len(a) != 2 {
		return nil, fmt.Errorf("takes 2 arguments, got %d", len(a))
	}
	s, err := wantString(a[0])
	if err != nil {
		return nil, err
	}
	var seps []string
	switch d := a[1].(type) {
	case string:
		seps = []string{d}
	case []any:
		for _, x := range d {
			sep, err := wantString(x)
			if err != nil {
				return nil, err
			}
			seps = append(seps, sep)
		}
	default:
		return nil, fmt.Errorf("delimiter: expected a string or an array, got %s", describe(d))
	}
	parts := []string{s}
	for _, sep := range seps {
		if sep == "" {
			continue
		}
		var next []string
		for _, p := range parts {
			next = append(next, strings.Split(p, sep)...)
		}
		parts = next
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func join(_ *evaluator, a []any) (any, error) {
	if len(a) != 2 {
		return nil, fmt.Errorf("takes 2 arguments, got %d", len(a))
	}
	arr, ok := a[0].([]any)
	if !ok {
		return nil, fmt.Errorf("expected an array, got %s", describe(a[0]))
	}
	sep, err := wantString(a[1])
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(arr))
	for i, x := range arr {
		s, err := toString(x)
		if err != nil {
			return nil, err
		}
		parts[i] = s.(string)
	}
	return strings.Join(parts, sep), nil
}

func padLeft(_ *evaluator, a []any) (any, error) {
	if len(a) < 2 || len(a) > 3 {
		return nil, fmt.Errorf("takes 2 or 3 arguments, got %d", len(a))
	}
	s, err := toString(a[0])
	if err != nil {
		return nil, err
	}
	n, err := wantInt(a[1])
	if err != nil {
		return nil, err
	}
	if n > 1<<16 {
		return nil, fmt.Errorf("padLeft to %d characters: too long", n)
	}
	pad := " "
	if len(a) == 3 {
		if pad, err = wantString(a[2]); err != nil || len(pad) != 1 {
			return nil, fmt.Errorf("padding: expected one character")
		}
	}
	str := s.(string)
	if missing := int(n) - len([]rune(str)); missing > 0 {
		str = strings.Repeat(pad, missing) + str
	}
	return str, nil
}

// toString is ARM's string(): strings as they are, booleans as True and
// False (.NET's spelling), numbers in decimal, arrays and objects as
// compact JSON.
func toString(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		if x {
			return "True", nil
		}
		return "False", nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case nil:
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func toInt(v any) (any, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		return int64(x), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", x)
		}
		return n, nil
	}
	return nil, fmt.Errorf("cannot make an integer of %s", describe(v))
}

func toBool(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not true or false", x)
	}
	return nil, fmt.Errorf("cannot make a boolean of %s", describe(v))
}

func parseJSON(a []any) (any, error) {
	s, err := wantString(a[0])
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("json(%q): %w", s, err)
	}
	if d.More() {
		return nil, fmt.Errorf("json(%q): more than one value", s)
	}
	return normalize(v), nil
}

// normalize turns json.Numbers into int64 (or float64 when not integral).
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
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

func logic(isAnd bool) fn {
	return func(_ *evaluator, a []any) (any, error) {
		if len(a) < 2 {
			return nil, fmt.Errorf("takes at least 2 arguments, got %d", len(a))
		}
		for _, x := range a {
			b, err := wantBool(x)
			if err != nil {
				return nil, err
			}
			if b != isAnd {
				return !isAnd, nil
			}
		}
		return isAnd, nil
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func coalesce(_ *evaluator, a []any) (any, error) {
	for _, x := range a {
		if x != nil {
			return x, nil
		}
	}
	return nil, nil
}

func createObject(_ *evaluator, a []any) (any, error) {
	if len(a)%2 != 0 {
		return nil, fmt.Errorf("takes key and value pairs, got %d arguments", len(a))
	}
	out := map[string]any{}
	for i := 0; i < len(a); i += 2 {
		k, err := wantString(a[i])
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		out[k] = a[i+1]
	}
	return out, nil
}

func toArray(v any) any {
	if arr, ok := v.([]any); ok {
		return arr
	}
	return []any{v}
}

func length(a []any) (any, error) {
	switch x := a[0].(type) {
	case string:
		return int64(len([]rune(x))), nil
	case []any:
		return int64(len(x)), nil
	case map[string]any:
		return int64(len(x)), nil
	}
	return nil, fmt.Errorf("expected a string, an array or an object, got %s", describe(a[0]))
}

func edge(v any, first bool) (any, error) {
	switch x := v.(type) {
	case string:
		r := []rune(x)
		if len(r) == 0 {
			return "", nil
		}
		if first {
			return string(r[0]), nil
		}
		return string(r[len(r)-1]), nil
	case []any:
		if len(x) == 0 {
			return nil, nil
		}
		if first {
			return x[0], nil
		}
		return x[len(x)-1], nil
	}
	return nil, fmt.Errorf("expected a string or an array, got %s", describe(v))
}

func contains(a []any) (any, error) {
	switch x := a[0].(type) {
	case string:
		s, err := toString(a[1])
		if err != nil {
			return nil, err
		}
		return strings.Contains(strings.ToLower(x), strings.ToLower(s.(string))), nil
	case []any:
		for _, e := range x {
			if reflect.DeepEqual(e, a[1]) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		k, err := wantString(a[1])
		if err != nil {
			return nil, err
		}
		for key := range x {
			if strings.EqualFold(key, k) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, fmt.Errorf("expected a string, an array or an object, got %s", describe(a[0]))
}

func takeSkip(a []any, take bool) (any, error) {
	n, err := wantInt(a[1])
	if err != nil {
		return nil, err
	}
	clamp := func(l int) int {
		switch {
		case n < 0:
			return 0
		case n > int64(l):
			return l
		}
		return int(n)
	}
	switch x := a[0].(type) {
	case string:
		i := clamp(len(x))
		if take {
			return x[:i], nil
		}
		return x[i:], nil
	case []any:
		i := clamp(len(x))
		if take {
			return append([]any{}, x[:i]...), nil
		}
		return append([]any{}, x[i:]...), nil
	}
	return nil, fmt.Errorf("expected a string or an array, got %s", describe(a[0]))
}

func union(_ *evaluator, a []any) (any, error) {
	if len(a) == 0 {
		return nil, fmt.Errorf("takes at least one argument")
	}
	if _, ok := a[0].(map[string]any); ok {
		out := map[string]any{}
		for _, x := range a {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("mixes objects with %s", describe(x))
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out, nil
	}
	out := []any{}
	seen := map[string]bool{} // by JSON text: equal values write the same
	for _, x := range a {
		arr, ok := x.([]any)
		if !ok {
			return nil, fmt.Errorf("expected arrays or objects, got %s", describe(x))
		}
		for _, e := range arr {
			key, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			if !seen[string(key)] {
				seen[string(key)] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func rangeFn(a []any) (any, error) {
	start, err := wantInt(a[0])
	if err != nil {
		return nil, err
	}
	n, err := wantInt(a[1])
	if err != nil {
		return nil, err
	}
	if n < 0 || n > 10000 {
		return nil, fmt.Errorf("range of %d: expected 0 to 10000 items", n)
	}
	out := make([]any, n)
	for i := range out {
		out[i] = start + int64(i)
	}
	return out, nil
}

func arith(op func(a, b int64) (int64, error)) fn {
	return arity(2, 2, func(a []any) (any, error) {
		x, err := wantInt(a[0])
		if err != nil {
			return nil, err
		}
		y, err := wantInt(a[1])
		if err != nil {
			return nil, err
		}
		return op(x, y)
	})
}

func divmod(a, b int64, div bool) (int64, error) {
	if b == 0 {
		return 0, fmt.Errorf("division by zero")
	}
	if b == -1 {
		if div {
			return -a, nil
		}
		return 0, nil
	}
	if div {
		return a / b, nil
	}
	return a % b, nil
}

func minMax(isMin bool) fn {
	return func(_ *evaluator, a []any) (any, error) {
		if len(a) == 1 {
			if arr, ok := a[0].([]any); ok {
				a = arr
			}
		}
		if len(a) == 0 {
			return nil, fmt.Errorf("takes at least one integer")
		}
		var best int64
		for i, x := range a {
			n, err := wantInt(x)
			if err != nil {
				return nil, err
			}
			if i == 0 || (isMin && n < best) || (!isMin && n > best) {
				best = n
			}
		}
		return best, nil
	}
}

func compare(ok func(int) bool) fn {
	return arity(2, 2, func(a []any) (any, error) {
		switch x := a[0].(type) {
		case int64:
			y, err := wantInt(a[1])
			if err != nil {
				return nil, err
			}
			c := 0
			if x < y {
				c = -1
			} else if x > y {
				c = 1
			}
			return ok(c), nil
		case string:
			y, err := wantString(a[1])
			if err != nil {
				return nil, err
			}
			return ok(strings.Compare(x, y)), nil
		}
		return nil, fmt.Errorf("compares integers or strings, got %s", describe(a[0]))
	})
}

func base64ToString(_ *evaluator, a []any) (any, error) {
	if len(a) != 1 {
		return nil, fmt.Errorf("takes 1 argument, got %d", len(a))
	}
	s, err := wantString(a[0])
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return string(b), nil
}

// hashArgs hashes string arguments, as uniqueString() and guid() do.
func hashArgs(fname string, a []any) ([]byte, error) {
	if len(a) == 0 {
		return nil, fmt.Errorf("%s takes at least one string", fname)
	}
	h := sha256.New()
	for _, x := range a {
		s, err := wantString(x)
		if err != nil {
			return nil, err
		}
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil), nil
}

// uniqueString stands in for ARM's: 13 lower-case base32 characters,
// deterministic in its arguments (not the same characters Azure gives).
func uniqueString(_ *evaluator, a []any) (any, error) {
	sum, err := hashArgs("uniqueString", a)
	if err != nil {
		return nil, err
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum))[:13], nil
}

// guid stands in for ARM's: a UUID deterministic in its arguments.
func guid(_ *evaluator, a []any) (any, error) {
	b, err := hashArgs("guid", a)
	if err != nil {
		return nil, err
	}
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

func utcNow(ev *evaluator, a []any) (any, error) {
	layout := "20060102T150405Z"
	if len(a) > 1 {
		return nil, fmt.Errorf("takes 0 or 1 argument, got %d", len(a))
	}
	if len(a) == 1 {
		f, err := wantString(a[0])
		if err != nil {
			return nil, err
		}
		layout = dotnetLayout(f)
	}
	return ev.now().UTC().Format(layout), nil
}

// dotnetLayout turns the common .NET date format letters into Go's.
func dotnetLayout(f string) string {
	r := strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05", "fff", "000")
	return r.Replace(f)
}

// resourceID builds /subscriptions/{id}/resourceGroups/{rg}/providers/
// {type}/{name}/{child}... from a type and names (a leading subscription
// id and resource group name are taken when given).
func resourceID(_ *evaluator, a []any) (any, error) {
	var s []string
	for _, x := range a {
		str, err := wantString(x)
		if err != nil {
			return nil, err
		}
		s = append(s, str)
	}
	sub, rg := standInID, "ciel"
	i := 0
	for i < len(s) && !strings.Contains(s[i], "/") {
		i++
	}
	if i == len(s) {
		return nil, fmt.Errorf("needs a resource type (Namespace/type)")
	}
	switch i {
	case 1:
		rg = s[0]
	case 2:
		sub, rg = s[0], s[1]
	}
	typ, names := s[i], s[i+1:]
	segs := strings.Split(typ, "/")
	if len(names) != len(segs)-1 {
		return nil, fmt.Errorf("type %s needs %d name(s), got %d", typ, len(segs)-1, len(names))
	}
	id := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + segs[0]
	for k, seg := range segs[1:] {
		id += "/" + seg + "/" + names[k]
	}
	return id, nil
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
