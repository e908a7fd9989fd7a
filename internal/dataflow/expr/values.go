package expr

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// norm brings one value into the package's domain: json.Number and Go's
// other integer and float types become int64 or float64, typed slices and
// maps become []any and map[string]any. It is shallow; elements are
// normalised when they are reached.
func norm(v any) any {
	switch t := v.(type) {
	case nil, bool, string, int64, float64, []any, map[string]any:
		return v
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	case int:
		return int64(t)
	case int8:
		return int64(t)
	case int16:
		return int64(t)
	case int32:
		return int64(t)
	case uint8:
		return int64(t)
	case uint16:
		return int64(t)
	case uint32:
		return int64(t)
	case uint:
		if uint64(t) <= math.MaxInt64 {
			return int64(t)
		}
		return float64(t)
	case uint64:
		if t <= math.MaxInt64 {
			return int64(t)
		}
		return float64(t)
	case float32:
		return float64(t)
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out
	case []map[string]any:
		out := make([]any, len(t))
		for i, m := range t {
			out[i] = m
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(t))
		for k, s := range t {
			out[k] = s
		}
		return out
	}
	return v
}

// normalized returns v with every number inside it an int64 or a float64
// and every typed slice or map made []any or map[string]any. It never
// changes v, which may belong to the Scope: it copies what it must change
// and shares the rest.
func normalized(v any) any {
	switch t := norm(v).(type) {
	case []any:
		var out []any
		for i, e := range t {
			n := normalized(e)
			if out == nil && !same(n, e) {
				out = append(make([]any, 0, len(t)), t[:i]...)
			}
			if out != nil {
				out = append(out, n)
			}
		}
		if out == nil {
			return t
		}
		return out
	case map[string]any:
		var out map[string]any
		for k, e := range t {
			n := normalized(e)
			if out == nil && !same(n, e) {
				out = make(map[string]any, len(t))
				for k2, e2 := range t {
					out[k2] = e2
				}
			}
			if out != nil {
				out[k] = n
			}
		}
		if out == nil {
			return t
		}
		return out
	default:
		return t
	}
}

// same reports whether normalising kept e as it was: the same scalar, or
// the very same slice or map.
func same(n, e any) bool {
	switch x := n.(type) {
	case []any:
		y, ok := e.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case map[string]any:
		y, ok := e.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	}
	switch e.(type) {
	case nil, bool, string, int64, float64:
		return true
	}
	return false
}

// typeName is ADF's name for the type of v, as its messages use them.
func typeName(v any) string {
	switch norm(v).(type) {
	case nil:
		return "Null"
	case bool:
		return "Boolean"
	case int64:
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
	return "Unknown"
}

// render is the string ADF writes for a value in "@{...}" and string():
// null is empty, booleans are .NET's "True" and "False", numbers are .NET's
// shortest round-trip form, arrays and objects are compact JSON.
func render(v any) string {
	switch t := norm(v).(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		if t {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return formatFloat(t)
	}
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

// Format returns the string ADF renders for v inside "@{...}": what a
// caller shows for a value that must become text (a Fail activity's
// message, a file name).
func Format(v any) string { return render(v) }

// formatFloat writes f as .NET's Double.ToString() does: the shortest
// string that reads back the same, in exponent form ("1E+15", "1E-05")
// outside 1e-4 <= |f| < 1e15.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	abs := math.Abs(f)
	if abs >= 1e-4 && abs < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1E+15, 1.5E-07
	mant, exp, _ := strings.Cut(s, "E")
	sign := exp[0]
	digits := strings.TrimLeft(exp[1:], "0")
	for len(digits) < 2 {
		digits = "0" + digits
	}
	return mant + "E" + string(sign) + digits
}

// writeJSON writes v as JSON.NET writes a token without indentation:
// object keys in sorted order (Go maps keep none), floats always with a
// fraction or an exponent, no HTML escaping.
func writeJSON(b *strings.Builder, v any) {
	switch t := norm(v).(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case int64:
		b.WriteString(strconv.FormatInt(t, 10))
	case float64:
		s := formatFloat(t)
		if math.IsNaN(t) || math.IsInf(t, 0) {
			s = `"` + s + `"`
		} else if !strings.ContainsAny(s, ".E") {
			s += ".0"
		}
		b.WriteString(s)
	case string:
		writeJSONString(b, t)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeJSON(b, t[k])
		}
		b.WriteByte('}')
	default:
		raw, err := json.Marshal(t)
		if err != nil {
			b.WriteString("null")
			return
		}
		b.Write(raw)
	}
}

// writeJSONString writes s quoted, escaping what JSON requires.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// equal is equals(): deep equality where numbers compare by value (1 and
// 1.0 are equal) and, as ADF documents (equals(true, 1) is true), a
// Boolean equals the number 1 or 0 it stands for.
func equal(a, b any) bool {
	a, b = norm(a), norm(b)
	if x, ok := numberOf(a); ok {
		if y, ok := numberOf(b); ok {
			return x == y
		}
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		switch y := b.(type) {
		case bool:
			return x == y
		case int64:
			return (y == 1 && x) || (y == 0 && !x)
		}
		return false
	case int64:
		if y, ok := b.(bool); ok {
			return equal(y, x)
		}
		return false
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// numberOf returns v as a float64 when it is a number.
func numberOf(v any) (float64, bool) {
	switch t := v.(type) {
	case int64:
		return float64(t), true
	case float64:
		return t, true
	}
	return 0, false
}
