package format

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Text forms of times written to text files (.NET's round-trip forms
// without the "T", as Data Factory writes them).
const (
	dateTimeLayout       = "2006-01-02 15:04:05.9999999"
	dateTimeOffsetLayout = "2006-01-02 15:04:05.9999999 -07:00"
	dateLayout           = "2006-01-02"
)

// parseLayouts are the time forms a text column of a time type accepts.
var parseLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999 -07:00",
	"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02", "01/02/2006 15:04:05", "01/02/2006"}

// parseText converts a text field to a value of type t.
func parseText(s string, t tabular.Type) (any, error) {
	switch t {
	case tabular.String, tabular.GUID, tabular.TimeSpan, "":
		return s, nil
	case tabular.Int16, tabular.Int32, tabular.Int64:
		bits := map[tabular.Type]int{tabular.Int16: 16, tabular.Int32: 32, tabular.Int64: 64}[t]
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, bits)
		if err != nil {
			return nil, fmt.Errorf("%q is not an %s", s, t)
		}
		return n, nil
	case tabular.Single, tabular.Double:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a %s", s, t)
		}
		return f, nil
	case tabular.Decimal:
		s = strings.TrimSpace(s)
		if _, ok := new(big.Rat).SetString(s); !ok || strings.ContainsAny(s, "/eE") {
			return nil, fmt.Errorf("%q is not a Decimal", s)
		}
		return s, nil
	case tabular.Boolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes", "y", "t":
			return true, nil
		case "false", "0", "no", "n", "f":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a Boolean", s)
	case tabular.DateTime, tabular.DateTimeOffset, tabular.Date:
		for _, l := range parseLayouts {
			if tm, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
				return tm, nil
			}
		}
		return nil, fmt.Errorf("%q is not a %s", s, t)
	case tabular.ByteArray:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not base64 bytes", s)
		}
		return b, nil
	}
	return s, nil
}

// appendText appends the text form of a non-nil value of column type t.
func appendText(b []byte, v any, t tabular.Type) []byte {
	switch x := v.(type) {
	case string:
		return append(b, x...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return appendFloat(b, x, 64)
	case float32:
		return appendFloat(b, float64(x), 32)
	case bool:
		if x {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case time.Time:
		switch t {
		case tabular.Date:
			return x.AppendFormat(b, dateLayout)
		case tabular.DateTimeOffset:
			return x.AppendFormat(b, dateTimeOffsetLayout)
		}
		return x.AppendFormat(b, dateTimeLayout)
	case []byte:
		return base64.StdEncoding.AppendEncode(b, x)
	}
	return fmt.Append(b, v)
}

// appendFloat writes a float as .NET does: plain digits between 1e-5 and
// 1e15, exponent form outside.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	a := math.Abs(f)
	if a == 0 || (a >= 1e-5 && a < 1e15) {
		return strconv.AppendFloat(b, f, 'f', -1, bits)
	}
	return strconv.AppendFloat(b, f, 'E', -1, bits)
}
