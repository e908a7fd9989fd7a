package expr

import (
	"encoding/base64"
	"strings"
)

func encodingFunctions() []*builtin {
	toString := func(decode func(string) ([]byte, error)) func([]any) (any, error) {
		return func(a []any) (any, error) {
			s, err := stringArg(a, 0)
			if err != nil {
				return nil, err
			}
			b, err := decode(s)
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}
	}
	toBinary := func(decode func(string) (string, []byte, error)) func([]any) (any, error) {
		return func(a []any) (any, error) {
			s, err := stringArg(a, 0)
			if err != nil {
				return nil, err
			}
			ct, b, err := decode(s)
			if err != nil {
				return nil, err
			}
			return content(ct, b), nil
		}
	}
	base64Binary := func(s string) (string, []byte, error) {
		b, err := decodeBase64(s)
		return octetStream, b, err
	}
	uriBinary := func(s string) (string, []byte, error) { return octetStream, unescapeURI(s), nil }
	uriString := func(s string) ([]byte, error) { return unescapeURI(s), nil }
	dataString := func(s string) ([]byte, error) {
		_, b, err := parseDataURI(s)
		return b, err
	}
	encodeURI := func(a []any) (any, error) {
		b, err := bytesOf(a[0], 0)
		if err != nil {
			return nil, err
		}
		return escapeURI(b), nil
	}
	return []*builtin{
		{name: "base64", min: 1, max: 1, impl: pure(func(a []any) (any, error) {
			b, err := bytesOf(a[0], 0)
			if err != nil {
				return nil, err
			}
			return encodeBase64(b), nil
		})},
		{name: "base64ToBinary", min: 1, max: 1, impl: pure(toBinary(base64Binary))},
		{name: "base64ToString", min: 1, max: 1, impl: pure(toString(decodeBase64))},
		{name: "decodeBase64", min: 1, max: 1, impl: pure(toString(decodeBase64))},
		{name: "binary", min: 1, max: 1, impl: pure(func(a []any) (any, error) {
			b, err := bytesOf(a[0], 0)
			if err != nil {
				return nil, err
			}
			return content(octetStream, b), nil
		})},
		{name: "dataUri", min: 1, max: 1, impl: pure(func(a []any) (any, error) {
			if b, ok := contentBytes(a[0]); ok {
				ct := a[0].(map[string]any)["$content-type"].(string)
				return "data:" + ct + ";base64," + encodeBase64(b), nil
			}
			s, err := stringArg(a, 0)
			if err != nil {
				return nil, err
			}
			return "data:text/plain;charset=utf-8;base64," + encodeBase64([]byte(s)), nil
		})},
		{name: "dataUriToBinary", min: 1, max: 1, impl: pure(toBinary(parseDataURI))},
		{name: "decodeDataUri", min: 1, max: 1, impl: pure(toBinary(parseDataURI))},
		{name: "dataUriToString", min: 1, max: 1, impl: pure(toString(dataString))},
		{name: "decodeUriComponent", min: 1, max: 1, impl: pure(toString(uriString))},
		{name: "uriComponentToString", min: 1, max: 1, impl: pure(toString(uriString))},
		{name: "uriComponentToBinary", min: 1, max: 1, impl: pure(toBinary(uriBinary))},
		{name: "encodeUriComponent", min: 1, max: 1, impl: pure(encodeURI)},
		{name: "uriComponent", min: 1, max: 1, impl: pure(encodeURI)},
	}
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// decodeBase64 reads standard base64, padded or not, ignoring white
// space as .NET's Convert.FromBase64String does.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err2 == nil {
			return b2, nil
		}
		return nil, errorf("'%s' is not a valid base64 string", clip(s))
	}
	return b, nil
}

// escapeURI is .NET's Uri.EscapeDataString: every byte but the unreserved
// characters (letters, digits, "-", ".", "_", "~") as %XX.
func escapeURI(b []byte) string {
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}

// unescapeURI is .NET's Uri.UnescapeDataString: %XX becomes its byte, a
// "%" not followed by two hex digits stays, "+" stays "+".
func unescapeURI(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					out = append(out, h<<4|l)
					i += 2
					continue
				}
			}
		}
		out = append(out, s[i])
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseDataURI reads "data:[<media type>][;base64],<data>" and returns the
// media type ("text/plain;charset=US-ASCII" when none is given) and the
// bytes.
func parseDataURI(s string) (string, []byte, error) {
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok {
		rest, ok = strings.CutPrefix(s, "DATA:")
	}
	meta, data, comma := strings.Cut(rest, ",")
	if !ok || !comma {
		return "", nil, errorf("'%s' is not a data URI: expected data:[<media type>][;base64],<data>", clip(s))
	}
	meta, isBase64 := strings.CutSuffix(meta, ";base64")
	if meta == "" {
		meta = "text/plain;charset=US-ASCII"
	}
	if isBase64 {
		b, err := decodeBase64(data)
		return meta, b, err
	}
	return meta, unescapeURI(data), nil
}
