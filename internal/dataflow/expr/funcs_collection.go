package expr

import (
	"sort"
	"strings"
	"unicode/utf16"
)

func collectionFunctions() []*builtin {
	return []*builtin{
		{name: "contains", min: 2, max: 2, impl: pure(fnContains)},
		{name: "empty", min: 1, max: 1, impl: pure(fnEmpty)},
		{name: "first", min: 1, max: 1, impl: pure(func(a []any) (any, error) { return end(a[0], false) })},
		{name: "last", min: 1, max: 1, impl: pure(func(a []any) (any, error) { return end(a[0], true) })},
		{name: "intersection", min: 2, max: -1, impl: pure(fnIntersection)},
		{name: "union", min: 2, max: -1, impl: pure(fnUnion)},
		{name: "join", min: 2, max: 2, impl: pure(fnJoin)},
		{name: "length", min: 1, max: 1, impl: pure(func(a []any) (any, error) {
			switch t := a[0].(type) {
			case string:
				return int64(len(units(t))), nil
			case []any:
				return int64(len(t)), nil
			}
			return nil, errorf("expects a string or an array, got a value of type '%s'", typeName(a[0]))
		})},
		{name: "skip", min: 2, max: 2, impl: pure(func(a []any) (any, error) { return slice(a, true) })},
		{name: "take", min: 2, max: 2, impl: pure(func(a []any) (any, error) { return slice(a, false) })},
	}
}

// fnContains is contains(collection, value): a substring of a string
// (case-sensitive), an item of an array, a key of an object.
func fnContains(a []any) (any, error) {
	switch t := a[0].(type) {
	case string:
		s, ok := a[1].(string)
		if !ok {
			s = render(a[1])
		}
		return strings.Contains(t, s), nil
	case []any:
		for _, item := range t {
			if equal(item, a[1]) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		k, ok := a[1].(string)
		if !ok {
			return nil, errorf("expects a string key to look for in an object, got a value of type '%s'", typeName(a[1]))
		}
		_, found := t[k]
		return found, nil
	}
	return nil, errorf("expects a string, an array or an object to look in, got a value of type '%s'", typeName(a[0]))
}

// fnEmpty is empty(): true for null, "", [] and {}.
func fnEmpty(a []any) (any, error) {
	switch t := a[0].(type) {
	case nil:
		return true, nil
	case string:
		return t == "", nil
	case []any:
		return len(t) == 0, nil
	case map[string]any:
		return len(t) == 0, nil
	}
	return nil, errorf("expects a string, an array or an object, got a value of type '%s'", typeName(a[0]))
}

// end is first() and last(): the first or last item of an array, or
// character of a string; null for an empty array, "" for an empty string.
func end(v any, last bool) (any, error) {
	switch t := v.(type) {
	case string:
		u := units(t)
		if len(u) == 0 {
			return "", nil
		}
		i := 0
		if last {
			i = len(u) - 1
		}
		if utf16.IsSurrogate(rune(u[i])) {
			// Keep a whole character rather than half of one.
			rs := []rune(t)
			if last {
				return string(rs[len(rs)-1]), nil
			}
			return string(rs[0]), nil
		}
		return fromUnits(u[i : i+1]), nil
	case []any:
		if len(t) == 0 {
			return nil, nil
		}
		if last {
			return t[len(t)-1], nil
		}
		return t[0], nil
	}
	return nil, errorf("expects a string or an array, got a value of type '%s'", typeName(v))
}

// slice is skip() and take() on an array or a string: a negative count
// is 0, a count past the end is the end.
func slice(a []any, skip bool) (any, error) {
	n, err := intArg(a, 1)
	if err != nil {
		return nil, err
	}
	cut := func(length int) (int, int) {
		k := int(max(0, min(n, int64(length))))
		if skip {
			return k, length
		}
		return 0, k
	}
	switch t := a[0].(type) {
	case []any:
		i, j := cut(len(t))
		return append([]any{}, t[i:j]...), nil
	case string:
		u := units(t)
		i, j := cut(len(u))
		return fromUnits(u[i:j]), nil
	}
	return nil, errorf("expects an array or a string for argument 1, got a value of type '%s'", typeName(a[0]))
}

// fnJoin is join(array, delimiter), each item rendered as in "@{...}".
func fnJoin(a []any) (any, error) {
	arr, ok := a[0].([]any)
	if !ok {
		return nil, errorf("expects an array for argument 1, got a value of type '%s'", typeName(a[0]))
	}
	sep, err := stringArg(a, 1)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(arr))
	for i, v := range arr {
		parts[i] = render(v)
	}
	return strings.Join(parts, sep), nil
}

// collections checks that every argument is an array, or every one an
// object, and says which.
func collections(a []any) (arrays bool, err error) {
	_, arrays = a[0].([]any)
	for i, v := range a {
		switch v.(type) {
		case []any:
			if arrays {
				continue
			}
		case map[string]any:
			if !arrays {
				continue
			}
		}
		return false, errorf("expects arrays or objects, not both, got a value of type '%s' for argument %d", typeName(v), i+1)
	}
	return arrays, nil
}

// fnUnion is union(): every item of the arrays once, in order of first
// appearance; or every key of the objects, the last value winning.
func fnUnion(a []any) (any, error) {
	arrays, err := collections(a)
	if err != nil {
		return nil, err
	}
	if !arrays {
		out := map[string]any{}
		for _, v := range a {
			for k, x := range v.(map[string]any) {
				out[k] = x
			}
		}
		return out, nil
	}
	var out []any
	for _, v := range a {
		for _, x := range v.([]any) {
			if !holds(out, x) {
				out = append(out, x)
			}
		}
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// fnIntersection is intersection(): the items of the first array found in
// every other, once each; or the keys found in every object, the last
// value winning.
func fnIntersection(a []any) (any, error) {
	arrays, err := collections(a)
	if err != nil {
		return nil, err
	}
	if !arrays {
		out := map[string]any{}
		first := a[0].(map[string]any)
		keys := make([]string, 0, len(first))
		for k := range first {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	next:
		for _, k := range keys {
			var last any
			for _, v := range a {
				x, ok := v.(map[string]any)[k]
				if !ok {
					continue next
				}
				last = x
			}
			out[k] = last
		}
		return out, nil
	}
	out := []any{}
	for _, x := range a[0].([]any) {
		in := !holds(out, x)
		for _, v := range a[1:] {
			in = in && holds(v.([]any), x)
		}
		if in {
			out = append(out, x)
		}
	}
	return out, nil
}

// holds reports whether arr has an item equal to x.
func holds(arr []any, x any) bool {
	for _, y := range arr {
		if equal(x, y) {
			return true
		}
	}
	return false
}
