package arm

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

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

// dotnetLayout turns the common .NET date format letters into Go's.
func dotnetLayout(f string) string {
	r := strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05", "fff", "000")
	return r.Replace(f)
}
