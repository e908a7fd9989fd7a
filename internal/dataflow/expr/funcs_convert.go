package expr

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

func conversionFunctions() []*builtin {
	return []*builtin{
		{name: "array", min: 1, max: 1, impl: pure(func(a []any) (any, error) { return []any{a[0]}, nil })},
		{name: "createArray", min: 1, max: -1, impl: pure(func(a []any) (any, error) { return append([]any{}, a...), nil })},
		{name: "bool", min: 1, max: 1, impl: pure(fnBool)},
		{name: "float", min: 1, max: 1, impl: pure(fnFloat)},
		{name: "int", min: 1, max: 1, impl: pure(fnInt)},
		{name: "json", min: 1, max: 1, impl: pure(fnJSON)},
		{name: "string", min: 1, max: 1, impl: pure(func(a []any) (any, error) {
			if b, ok := contentBytes(a[0]); ok {
				return string(b), nil
			}
			return render(a[0]), nil
		})},
		{name: "xml", min: 1, max: 1, impl: pure(fnXML)},
	}
}

// fnBool is bool(): a Boolean as is, a number true unless 0, the strings
// "true" and "false" in any case.
func fnBool(a []any) (any, error) {
	switch t := a[0].(type) {
	case bool:
		return t, nil
	case int64:
		return t != 0, nil
	case float64:
		return t != 0, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errorf("'%s' is not a valid Boolean: expected 'true' or 'false'", clip(t))
	}
	return nil, errorf("cannot convert a value of type '%s' to a Boolean", typeName(a[0]))
}

// fnFloat is float(): a number, or a string holding one (invariant
// culture: "." for the decimal point).
func fnFloat(a []any) (any, error) {
	switch t := a[0].(type) {
	case int64:
		return float64(t), nil
	case float64:
		return t, nil
	case string:
		s := strings.TrimSpace(t)
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
		if err != nil || s == "" || strings.ContainsAny(strings.ToLower(s), "xpn_") {
			return nil, errorf("'%s' is not a valid floating-point number", clip(t))
		}
		return f, nil
	}
	return nil, errorf("cannot convert a value of type '%s' to a float", typeName(a[0]))
}

// fnInt is int(): a string holding an integer, or a number (a float is
// rounded to the nearest integer, halves to even, as .NET's Convert does).
func fnInt(a []any) (any, error) {
	switch t := a[0].(type) {
	case int64:
		return t, nil
	case float64:
		r := math.RoundToEven(t)
		if math.IsNaN(r) || r >= math.MaxInt64 || r < math.MinInt64 {
			return nil, errorf("%s is out of the range of an integer", formatFloat(t))
		}
		return int64(r), nil
	case bool:
		if t {
			return int64(1), nil
		}
		return int64(0), nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		if err != nil {
			return nil, errorf("'%s' is not a valid integer", clip(t))
		}
		return i, nil
	}
	return nil, errorf("cannot convert a value of type '%s' to an integer", typeName(a[0]))
}

// fnJSON is json(): the value a JSON string holds (numbers kept exact), the
// JSON form of XML content, an object or array as is, and, as ADF
// documents, an empty object for null.
func fnJSON(a []any) (any, error) {
	switch t := a[0].(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		if b, ok := contentBytes(t); ok && isXMLContent(t) {
			return xmlToJSON(b)
		}
		return t, nil
	case []any, int64, float64, bool:
		return t, nil
	case string:
		s := strings.TrimSpace(t)
		if strings.HasPrefix(s, "<") {
			return xmlToJSON([]byte(s))
		}
		return parseJSON(s)
	}
	return nil, errorf("cannot convert a value of type '%s' to JSON", typeName(a[0]))
}

// parseJSON decodes one JSON value, numbers as int64 or float64.
func parseJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, errorf("the string is not valid JSON: %v", err)
	}
	if d.More() {
		return nil, errorf("the string is not valid JSON: more than one value")
	}
	return deepNorm(v), nil
}

// deepNorm normalises v and everything in it.
func deepNorm(v any) any {
	switch t := norm(v).(type) {
	case []any:
		for i := range t {
			t[i] = deepNorm(t[i])
		}
		return t
	case map[string]any:
		for k := range t {
			t[k] = deepNorm(t[k])
		}
		return t
	default:
		return t
	}
}

// Binary values. ADF has no byte type in JSON: binary(), base64ToBinary(),
// xml() and friends return content objects, {"$content-type": ...,
// "$content": base64}, which string(), base64() and json() read back.

const (
	octetStream = "application/octet-stream"
	xmlType     = "application/xml;charset=utf-8"
)

// content makes a content object of b.
func content(contentType string, b []byte) map[string]any {
	return map[string]any{"$content-type": contentType, "$content": encodeBase64(b)}
}

// contentBytes returns the bytes of a content object.
func contentBytes(v any) ([]byte, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		return nil, false
	}
	c, ok := m["$content"].(string)
	if _, typed := m["$content-type"].(string); !ok || !typed {
		return nil, false
	}
	b, err := decodeBase64(c)
	if err != nil {
		return nil, false
	}
	return b, true
}

// isXMLContent reports whether a content object holds XML.
func isXMLContent(m map[string]any) bool {
	t, _ := m["$content-type"].(string)
	return strings.Contains(strings.ToLower(t), "xml")
}

// bytesOf is the bytes a binary function works on: a content object's, or
// a string's UTF-8.
func bytesOf(v any, i int) ([]byte, error) {
	if b, ok := contentBytes(v); ok {
		return b, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, errorf("expects a string for argument %d, got a value of type '%s'", i+1, typeName(v))
	}
	return []byte(s), nil
}

// trimBOM drops a UTF-8 byte order mark.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
