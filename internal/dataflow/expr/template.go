package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
)

// piece is one part of an interpolated string: literal text, or (when e is
// set) an "@{...}" expression whose value is rendered into the string.
type piece struct {
	text string
	e    node
}

// strValue is a string value of a definition, parsed once: either a whole
// expression ("@concat(...)", whose value keeps its type) or a sequence of
// pieces (a literal string, "@@" escapes, "@{...}" interpolations), whose
// value is always a string.
type strValue struct {
	src    string
	whole  node
	pieces []piece
}

// compile parses a string value by ADF's rules: a leading "@" makes the
// whole value one expression, a leading "@@" stands for a literal "@",
// "@{...}" anywhere interpolates, "@@{" is a literal "@{", and any other
// "@" is itself.
func compile(s string) (*strValue, error) {
	sv := &strValue{src: s}
	switch {
	case strings.HasPrefix(s, "@@"):
		return sv, sv.interpolate(2, "@")
	case strings.HasPrefix(s, "@{"):
		return sv, sv.interpolate(0, "")
	case strings.HasPrefix(s, "@"):
		n, _, err := parseAt(s, 1, tokEOF)
		if err != nil {
			return nil, locate(s, 0, err)
		}
		sv.whole = n
		return sv, nil
	}
	return sv, sv.interpolate(0, "")
}

// interpolate splits s[from:] into literal text and "@{...}" expressions;
// lead is literal text that comes first.
func (sv *strValue) interpolate(from int, lead string) error {
	s := sv.src
	var lit strings.Builder
	lit.WriteString(lead)
	i := from
	for i < len(s) {
		j := strings.IndexByte(s[i:], '@')
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		j += i
		lit.WriteString(s[i:j])
		switch {
		case strings.HasPrefix(s[j:], "@{"):
			n, end, err := parseAt(s, j+2, tokRBrace)
			if err != nil {
				return locate(s, 0, err)
			}
			if lit.Len() > 0 {
				sv.pieces = append(sv.pieces, piece{text: lit.String()})
				lit.Reset()
			}
			sv.pieces = append(sv.pieces, piece{e: n})
			i = end
		case strings.HasPrefix(s[j:], "@@{"):
			lit.WriteString("@{")
			i = j + 3
		default:
			lit.WriteByte('@')
			i = j + 1
		}
	}
	if lit.Len() > 0 || len(sv.pieces) == 0 {
		sv.pieces = append(sv.pieces, piece{text: lit.String()})
	}
	return nil
}

// eval evaluates the string value against s.
func (sv *strValue) eval(s *Scope) (any, error) {
	ev := &evaluator{scope: s}
	if sv.whole != nil {
		v, err := ev.eval(sv.whole)
		if err != nil {
			return nil, locate(sv.src, 0, err)
		}
		return normalized(v), nil
	}
	if len(sv.pieces) == 1 && sv.pieces[0].e == nil {
		return sv.pieces[0].text, nil
	}
	var b strings.Builder
	for _, p := range sv.pieces {
		if p.e == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := ev.eval(p.e)
		if err != nil {
			return nil, locate(sv.src, 0, err)
		}
		b.WriteString(render(v))
	}
	return b.String(), nil
}

// HasExpression reports whether a string value holds an expression (a
// whole-value "@..." or an "@{...}" interpolation), so that a caller can
// leave its type to be checked when it is evaluated. A value that does not
// parse counts as one: Check reports it.
func HasExpression(s string) bool {
	sv, err := compile(s)
	if err != nil {
		return true
	}
	if sv.whole != nil {
		return true
	}
	for _, p := range sv.pieces {
		if p.e != nil {
			return true
		}
	}
	return false
}

// Check parses a string value of a definition and reports what would stop
// it from ever evaluating: a syntax error, an unknown function, a wrong
// number of arguments. It evaluates nothing; a value with no expression
// is fine. The error is an *Error.
func Check(s string) error {
	_, err := compile(s)
	return err
}

// CheckValue runs Check on every string in v (a value decoded from JSON),
// as Eval would find them; the *Error it returns has Path set.
func CheckValue(v any) error {
	_, err := walk(v, "", func(s string, _ string) (any, error) {
		_, err := compile(s)
		return s, err
	})
	return err
}

// evalValue is Eval: walk v and evaluate each string in it.
func evalValue(v any, s *Scope) (any, error) {
	return walk(v, "", func(str string, _ string) (any, error) {
		sv, err := compile(str)
		if err != nil {
			return nil, err
		}
		return sv.eval(s)
	})
}

// walk visits v as Eval does, calling onString for each string that may
// hold an expression, and returns the value with each string replaced by
// what onString returned. Errors get the JSON path where they were found.
func walk(v any, path string, onString func(s, path string) (any, error)) (any, error) {
	switch t := v.(type) {
	case string:
		r, err := onString(t, path)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Path == "" {
				e.Path = path
			}
			return nil, err
		}
		return r, nil
	case []any:
		out := make([]any, len(t))
		for i, item := range t {
			r, err := walk(item, path+"["+strconv.Itoa(i)+"]", onString)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		if s, ok := expressionObject(t); ok {
			return walk(s, path, onString)
		}
		if isSecureString(t) {
			return t, nil
		}
		out := make(map[string]any, len(t))
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			r, err := walk(t[k], p, onString)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return norm(v), nil
}

// expressionObject reports whether m is ADF's typed expression,
// {"value": "...", "type": "Expression"}, and returns the string it holds.
func expressionObject(m map[string]any) (string, bool) {
	if len(m) != 2 {
		return "", false
	}
	t, _ := m["type"].(string)
	s, ok := m["value"].(string)
	return s, ok && strings.EqualFold(t, "Expression")
}

// isSecureString reports whether m is a {"type": "SecureString", "value":
// ...}: a secret is kept as written, never read as an expression.
func isSecureString(m map[string]any) bool {
	t, _ := m["type"].(string)
	_, ok := m["value"]
	return ok && len(m) == 2 && strings.EqualFold(t, "SecureString")
}

// decode reads raw JSON with its numbers kept exact.
func decode(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("expr: more than one JSON value")
	}
	return v, nil
}
