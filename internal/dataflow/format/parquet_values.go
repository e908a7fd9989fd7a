package format

// Converting the Go values a source gives into a Parquet column's Arrow
// type, for the writer in parquet.go.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// appendArrow appends one value, converting between the Go types a
// source may give and the column's Arrow type.
func appendArrow(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		switch x := v.(type) {
		case string:
			b.Append(x)
		case []byte:
			b.BinaryBuilder.Append(x)
		default:
			b.Append(string(appendText(nil, v, "")))
		}
	case *array.Int64Builder:
		n, err := toInt(v, 64)
		if err != nil {
			return err
		}
		b.Append(n)
	case *array.Int32Builder:
		n, err := toInt(v, 32)
		if err != nil {
			return err
		}
		b.Append(int32(n))
	case *array.Int16Builder:
		n, err := toInt(v, 16)
		if err != nil {
			return err
		}
		b.Append(int16(n))
	case *array.Float64Builder:
		f, err := toFloat(v)
		if err != nil {
			return err
		}
		b.Append(f)
	case *array.Float32Builder:
		f, err := toFloat(v)
		if err != nil {
			return err
		}
		b.Append(float32(f))
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			p, err := parseText(fmt.Sprint(v), tabular.Boolean)
			if err != nil {
				return err
			}
			x = p.(bool)
		}
		b.Append(x)
	case *array.TimestampBuilder:
		t, err := toTime(v)
		if err != nil {
			return err
		}
		b.Append(arrow.Timestamp(t.UnixMicro()))
	case *array.Date32Builder:
		t, err := toTime(v)
		if err != nil {
			return err
		}
		b.Append(arrow.Date32FromTime(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)))
	case *array.BinaryBuilder:
		switch x := v.(type) {
		case []byte:
			b.Append(x)
		case string:
			b.AppendString(x)
		default:
			return fmt.Errorf("%T is not bytes", v)
		}
	case *array.Decimal128Builder:
		dt := b.Type().(*arrow.Decimal128Type)
		if s, ok := v.(string); ok {
			if n, ok := fastDecimal(s, dt.Precision, dt.Scale); ok {
				b.Append(n)
				return nil
			}
		}
		n, err := decimal128.FromString(string(appendText(nil, v, "")), dt.Precision, dt.Scale)
		if err != nil {
			return fmt.Errorf("%v is not a Decimal(%d,%d): %w", v, dt.Precision, dt.Scale, err)
		}
		b.Append(n)
	default:
		return fmt.Errorf("no Parquet column for %T", v)
	}
	return nil
}

// fastDecimal parses a plain decimal ("-123.45") of at most 18 digits
// without big numbers; ok is false for anything else (FromString then
// decides).
func fastDecimal(s string, prec, scale int32) (decimal128.Num, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n int64
	digits, frac := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if frac >= 0 {
				frac++
				if frac > int(scale) {
					if c != '0' {
						return decimal128.Num{}, false // would round
					}
					continue
				}
			}
			n = n*10 + int64(c-'0')
			if digits++; digits > 18 {
				return decimal128.Num{}, false
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return decimal128.Num{}, false
		}
	}
	if digits == 0 {
		return decimal128.Num{}, false
	}
	for f := max(frac, 0); f < int(scale); f++ {
		if n > math.MaxInt64/10 {
			return decimal128.Num{}, false
		}
		n *= 10
	}
	if neg {
		n = -n
	}
	num := decimal128.FromI64(n)
	if !num.FitsInPrecision(prec) {
		return decimal128.Num{}, false
	}
	return num, true
}

func toInt(v any, bits int) (int64, error) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int16:
		n = int64(x)
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("%v is not a whole number", x)
		}
		n = int64(x)
	case bool:
		if x {
			n = 1
		}
	case string:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(x), 10, bits); err != nil {
			return 0, fmt.Errorf("%q is not a whole number of %d bits", x, bits)
		}
	default:
		return 0, fmt.Errorf("%T is not a number", v)
	}
	if bits < 64 && (n < -(1<<(bits-1)) || n >= 1<<(bits-1)) {
		return 0, fmt.Errorf("%d does not fit in %d bits", n, bits)
	}
	return n, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%T is not a number", v)
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		t, err := parseText(x, tabular.DateTime)
		if err != nil {
			return time.Time{}, err
		}
		return t.(time.Time), nil
	}
	return time.Time{}, fmt.Errorf("%T is not a time", v)
}
