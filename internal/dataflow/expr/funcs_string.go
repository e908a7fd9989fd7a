package expr

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf16"
)

// ADF runs on .NET, where a string is UTF-16: lengths and indexes count
// UTF-16 code units, so "😀" has length 2. These functions do the same.

// units is s as UTF-16 code units.
func units(s string) []uint16 { return utf16.Encode([]rune(s)) }

// fromUnits is the string of UTF-16 code units u.
func fromUnits(u []uint16) string { return string(utf16.Decode(u)) }

// stringArg returns argument i as a string, or an error naming its type.
func stringArg(a []any, i int) (string, error) {
	s, ok := a[i].(string)
	if !ok {
		return "", errorf("expects a string for argument %d, got a value of type '%s'", i+1, typeName(a[i]))
	}
	return s, nil
}

// stringArgs returns the first n arguments as strings.
func stringArgs(a []any, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		s, err := stringArg(a, i)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// intArg returns argument i as an integer (a float with no fraction is
// accepted, as JSON.NET converts it).
func intArg(a []any, i int) (int64, error) {
	n, ok := wholeNumber(a[i])
	if !ok {
		return 0, errorf("expects an integer for argument %d, got a value of type '%s'", i+1, typeName(a[i]))
	}
	return n, nil
}

func stringFunctions() []*builtin {
	unary := func(fn func(string) any) func([]any) (any, error) {
		return func(a []any) (any, error) {
			s, err := stringArg(a, 0)
			if err != nil {
				return nil, err
			}
			return fn(s), nil
		}
	}
	return []*builtin{
		{name: "concat", min: 1, max: -1, impl: pure(func(a []any) (any, error) {
			var b strings.Builder
			for _, v := range a {
				b.WriteString(render(v))
			}
			return b.String(), nil
		})},
		{name: "endsWith", min: 2, max: 2, impl: pure(func(a []any) (any, error) {
			s, err := stringArgs(a, 2)
			if err != nil {
				return nil, err
			}
			return strings.HasSuffix(foldRunesString(s[0]), foldRunesString(s[1])), nil
		})},
		{name: "startsWith", min: 2, max: 2, impl: pure(func(a []any) (any, error) {
			s, err := stringArgs(a, 2)
			if err != nil {
				return nil, err
			}
			return strings.HasPrefix(foldRunesString(s[0]), foldRunesString(s[1])), nil
		})},
		{name: "guid", min: 0, max: 1, impl: pure(fnGUID)},
		{name: "indexOf", min: 2, max: 2, impl: pure(func(a []any) (any, error) { return search(a, false) })},
		{name: "lastIndexOf", min: 2, max: 2, impl: pure(func(a []any) (any, error) { return search(a, true) })},
		{name: "replace", min: 3, max: 3, impl: pure(func(a []any) (any, error) {
			s, err := stringArgs(a, 3)
			if err != nil {
				return nil, err
			}
			if s[1] == "" {
				return nil, errorf("the text to replace (argument 2) must not be empty")
			}
			return strings.ReplaceAll(s[0], s[1], s[2]), nil
		})},
		{name: "split", min: 2, max: 2, impl: pure(func(a []any) (any, error) {
			s, err := stringArgs(a, 2)
			if err != nil {
				return nil, err
			}
			parts := []string{s[0]}
			if s[1] != "" {
				parts = strings.Split(s[0], s[1])
			}
			return norm(parts), nil
		})},
		{name: "substring", min: 2, max: 3, impl: pure(fnSubstring)},
		{name: "toLower", min: 1, max: 1, impl: pure(unary(func(s string) any { return strings.ToLower(s) }))},
		{name: "toUpper", min: 1, max: 1, impl: pure(unary(func(s string) any { return strings.ToUpper(s) }))},
		{name: "trim", min: 1, max: 1, impl: pure(unary(func(s string) any { return strings.TrimFunc(s, unicode.IsSpace) }))},
	}
}

// foldRunes lower-cases s one character at a time, so that indexes into
// the result are indexes into s.
func foldRunes(s string) []rune {
	rs := []rune(s)
	for i, r := range rs {
		rs[i] = unicode.ToLower(r)
	}
	return rs
}

func foldRunesString(s string) string { return string(foldRunes(s)) }

// search is indexOf() and lastIndexOf(): not case-sensitive, as ADF
// documents, and counting UTF-16 code units; -1 when not found.
func search(a []any, last bool) (any, error) {
	s, err := stringArgs(a, 2)
	if err != nil {
		return nil, err
	}
	text, find := foldRunes(s[0]), foldRunes(s[1])
	at := -1
	for i := 0; i+len(find) <= len(text); i++ {
		if runesEqual(text[i:i+len(find)], find) {
			at = i
			if !last {
				break
			}
		}
	}
	if at < 0 {
		return int64(-1), nil
	}
	return int64(len(utf16.Encode([]rune(s[0])[:at]))), nil
}

// runesEqual reports whether a and b hold the same characters.
func runesEqual(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// fnSubstring is substring(text, startIndex, length?): the length defaults
// to the rest of the string; a range outside the string is an error, as
// in ADF.
func fnSubstring(a []any) (any, error) {
	s, err := stringArg(a, 0)
	if err != nil {
		return nil, err
	}
	u := units(s)
	start, err := intArg(a, 1)
	if err != nil {
		return nil, err
	}
	n := int64(len(u)) - start
	if len(a) == 3 {
		if n, err = intArg(a, 2); err != nil {
			return nil, err
		}
	}
	if start < 0 || n < 0 || start > int64(len(u)) || start+n > int64(len(u)) {
		return nil, errorf("start index %d and length %d are out of range for a string of length %d: both must be non-negative and their sum no larger than the length", start, n, len(u))
	}
	return fromUnits(u[start : start+n]), nil
}

// fnGUID is guid(format?): a random (version 4) GUID in one of .NET's
// formats: "D" (the default) 8-4-4-4-12 digits, "N" 32 digits, "B" in
// braces, "P" in parentheses, "X" as hexadecimal fields.
func fnGUID(a []any) (any, error) {
	format := "D"
	if len(a) == 1 {
		s, err := stringArg(a, 0)
		if err != nil {
			return nil, err
		}
		if s != "" {
			format = s
		}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	d := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	switch format {
	case "D", "d":
		return d, nil
	case "N", "n":
		return h, nil
	case "B", "b":
		return "{" + d + "}", nil
	case "P", "p":
		return "(" + d + ")", nil
	case "X", "x":
		var rest []string
		for i := 16; i < 32; i += 2 {
			rest = append(rest, "0x"+h[i:i+2])
		}
		return "{0x" + h[0:8] + ",0x" + h[8:12] + ",0x" + h[12:16] + ",{" + strings.Join(rest, ",") + "}}", nil
	}
	return nil, errorf("unknown GUID format '%s': expected \"N\", \"D\", \"B\", \"P\" or \"X\"", format)
}
