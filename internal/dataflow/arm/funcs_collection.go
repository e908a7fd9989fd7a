package arm

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

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
