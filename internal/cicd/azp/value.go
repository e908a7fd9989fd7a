package azp

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Expression values are nil (Azure's null), bool, float64 (every number),
// string, Version, []any (an array) and *Map (an object).

// Map is an ordered object whose keys match case-insensitively, as Azure's
// dictionaries (variables, parameters, outputs) do.
type Map struct {
	keys  []string
	vals  []any
	index map[string]int // lower-cased key -> position
}

// NewMap returns an empty Map.
func NewMap() *Map { return &Map{index: map[string]int{}} }

// Set adds key or replaces its value, keeping the key's first position.
func (m *Map) Set(key string, v any) {
	lk := strings.ToLower(key)
	if i, ok := m.index[lk]; ok {
		m.vals[i] = v
		return
	}
	m.index[lk] = len(m.keys)
	m.keys = append(m.keys, key)
	m.vals = append(m.vals, v)
}

// Get returns the value of key, matched case-insensitively.
func (m *Map) Get(key string) (any, bool) {
	if m == nil {
		return nil, false
	}
	i, ok := m.index[strings.ToLower(key)]
	if !ok {
		return nil, false
	}
	return m.vals[i], true
}

// Keys returns the keys in insertion order.
func (m *Map) Keys() []string {
	if m == nil {
		return nil
	}
	return append([]string(nil), m.keys...)
}

// Len returns the number of keys.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

// Clone returns a shallow copy that can be changed without touching m.
func (m *Map) Clone() *Map {
	c := NewMap()
	if m != nil {
		for i, k := range m.keys {
			c.Set(k, m.vals[i])
		}
	}
	return c
}

// Version is a version literal such as 1.2.3: two to four numeric parts.
type Version struct {
	Parts []int
}

// String formats the version as its parts joined by dots.
func (v Version) String() string {
	s := make([]string, len(v.Parts))
	for i, p := range v.Parts {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ".")
}

// compare orders two versions, a missing part counting as -1 as in .NET.
func (v Version) compare(o Version) int {
	for i := 0; i < 4; i++ {
		a, b := -1, -1
		if i < len(v.Parts) {
			a = v.Parts[i]
		}
		if i < len(o.Parts) {
			b = o.Parts[i]
		}
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

// parseVersion reads "major.minor[.build[.revision]]".
func parseVersion(s string) (Version, bool) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 4 {
		return Version{}, false
	}
	v := Version{Parts: make([]int, len(parts))}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || strings.HasPrefix(p, "+") {
			return Version{}, false
		}
		v.Parts[i] = n
	}
	return v, true
}

// kindName names a value's type in messages.
func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "Null"
	case bool:
		return "Boolean"
	case float64:
		return "Number"
	case string:
		return "String"
	case Version:
		return "Version"
	case []any:
		return "Array"
	case *Map:
		return "Object"
	}
	return fmt.Sprintf("%T", v)
}

// Truthy casts a value to a boolean as Azure does: null, false, 0, NaN and
// the empty string are false; everything else, arrays and objects included,
// is true.
func Truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0 && !math.IsNaN(v)
	case string:
		return v != ""
	}
	return true
}

// numberPattern is the number syntax a string must have to cast to a number.
var numberPattern = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// toNumber casts a value to a number; ok is false where Azure's cast fails.
func toNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case nil:
		return 0, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case float64:
		return v, true
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return 0, true
		}
		if !numberPattern.MatchString(s) {
			return math.NaN(), false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return math.NaN(), false
		}
		return f, true
	}
	return math.NaN(), false
}

// formatNumber prints a number the way Azure does: no exponent for
// ordinary values, no trailing zeros.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// toString casts a value to a string; arrays and objects do not cast.
func toString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case bool:
		if v {
			return "True", true
		}
		return "False", true
	case float64:
		return formatNumber(v), true
	case string:
		return v, true
	case Version:
		return v.String(), true
	}
	return "", false
}

// toVersion casts a value to a version: strings that parse, and numbers
// greater than zero with a fractional part.
func toVersion(v any) (Version, bool) {
	switch v := v.(type) {
	case Version:
		return v, true
	case string:
		return parseVersion(v)
	case float64:
		if v <= 0 || v >= math.MaxInt32 || v == math.Trunc(v) {
			return Version{}, false
		}
		return parseVersion(formatNumber(v))
	}
	return Version{}, false
}

// equalValues is Azure's eq: the right value is cast to the left value's
// type; a failed cast makes them unequal; strings compare ignoring case;
// arrays and objects are equal only to themselves.
func equalValues(l, r any) bool {
	switch l := l.(type) {
	case nil:
		return r == nil
	case bool:
		return l == Truthy(r)
	case float64:
		n, ok := toNumber(r)
		return ok && n == l
	case string:
		s, ok := toString(r)
		return ok && strings.EqualFold(l, s)
	case Version:
		v, ok := toVersion(r)
		return ok && l.compare(v) == 0
	case []any:
		rr, ok := r.([]any)
		return ok && len(l) == len(rr) && (len(l) == 0 || &l[0] == &rr[0])
	case *Map:
		rm, ok := r.(*Map)
		return ok && rm == l
	}
	return false
}

// compareValues orders l against r for gt, ge, lt and le, casting r to l's
// type; unlike eq, a failed cast is an error.
func compareValues(l, r any) (int, error) {
	switch lv := l.(type) {
	case bool:
		a, b := boolInt(lv), boolInt(Truthy(r))
		return a - b, nil
	case float64:
		n, ok := toNumber(r)
		if !ok {
			return 0, fmt.Errorf("cannot compare Number with %s %s: it does not convert to a number", kindName(r), quoteValue(r))
		}
		switch {
		case lv < n:
			return -1, nil
		case lv > n:
			return 1, nil
		}
		return 0, nil
	case string:
		s, ok := toString(r)
		if !ok {
			return 0, fmt.Errorf("cannot compare String with %s", kindName(r))
		}
		return strings.Compare(strings.ToUpper(lv), strings.ToUpper(s)), nil
	case Version:
		v, ok := toVersion(r)
		if !ok {
			return 0, fmt.Errorf("cannot compare Version with %s %s: it does not convert to a version", kindName(r), quoteValue(r))
		}
		return lv.compare(v), nil
	}
	return 0, fmt.Errorf("cannot compare %s with %s", kindName(l), kindName(r))
}

// boolInt is 1 for true and 0 for false.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// quoteValue shows a scalar value in a message.
func quoteValue(v any) string {
	if s, ok := toString(v); ok {
		return "'" + s + "'"
	}
	return kindName(v)
}

// equalFold compares two names case-insensitively.
func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// stringLength counts the characters of a string, not its bytes.
func stringLength(s string) int { return utf8.RuneCountInString(s) }
