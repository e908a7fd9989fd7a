// Package convert converts row values between Data Factory's interim
// types (tabular.Type), as a Copy's TabularTranslator does with
// typeConversion on: "42" to Int32, a DateTime to String, 1.5 to Decimal.
//
// Values are tabular's: nil, string, int64, float64, bool, time.Time,
// []byte (Decimal, TimeSpan and Guid as strings).
package convert

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Settings are a translator's typeConversionSettings.
type Settings struct {
	// AllowDataTruncation lets 2.7 become the integer 2 and a value too
	// long for its column be cut; ADF's default is true.
	AllowDataTruncation bool
	// TreatBooleanAsNumber turns true and false into 1 and 0 when the
	// target is a number.
	TreatBooleanAsNumber bool
	// DateTimeFormat and DateTimeOffsetFormat are .NET custom format
	// strings ("yyyy-MM-dd HH:mm:ss") used to parse and print dates.
	DateTimeFormat       string
	DateTimeOffsetFormat string
}

// Default is ADF's default settings.
var Default = Settings{AllowDataTruncation: true}

// Error is a value that cannot become the type asked for.
type Error struct {
	Value any
	From  tabular.Type
	To    tabular.Type
	Why   string
}

func (e *Error) Error() string {
	v := fmt.Sprint(e.Value)
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	msg := fmt.Sprintf("cannot convert %q (%s) to %s", v, e.From, e.To)
	if e.Why != "" {
		msg += ": " + e.Why
	}
	return msg
}

// Convert converts v, of interim type from, to type to.
func Convert(v any, from, to tabular.Type, s *Settings) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s == nil {
		s = &Default
	}
	fail := func(why string) (any, error) { return nil, &Error{Value: v, From: from, To: to, Why: why} }
	switch to {
	case tabular.String, "":
		return toString(v, from, s), nil
	case tabular.Int16, tabular.Int32, tabular.Int64:
		n, why := toInt(v, s)
		if why != "" {
			return fail(why)
		}
		lim := map[tabular.Type]int64{tabular.Int16: math.MaxInt16, tabular.Int32: math.MaxInt32, tabular.Int64: math.MaxInt64}[to]
		if n > lim || n < -lim-1 {
			return fail("out of range")
		}
		return n, nil
	case tabular.Single, tabular.Double:
		f, why := toFloat(v, s)
		if why != "" {
			return fail(why)
		}
		if to == tabular.Single {
			f = float64(float32(f))
		}
		return f, nil
	case tabular.Decimal:
		d, why := toDecimal(v, s)
		if why != "" {
			return fail(why)
		}
		return d, nil
	case tabular.Boolean:
		b, why := toBool(v)
		if why != "" {
			return fail(why)
		}
		return b, nil
	case tabular.DateTime, tabular.DateTimeOffset, tabular.Date:
		t, why := toTime(v, to, s)
		if why != "" {
			return fail(why)
		}
		return t, nil
	case tabular.TimeSpan:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return time.Duration(x).String(), nil
		}
		return fail("not a time span")
	case tabular.GUID:
		g, ok := toGUID(v)
		if !ok {
			return fail("not a GUID")
		}
		return g, nil
	case tabular.ByteArray:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
		return fail("not bytes")
	}
	return fail("unknown type")
}

func toString(v any, from tabular.Type, s *Settings) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		if from == tabular.ByteArray {
			return "0x" + strings.ToUpper(hex.EncodeToString(x))
		}
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if from == tabular.Single {
			return strconv.FormatFloat(x, 'g', -1, 32)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case time.Time:
		return FormatTime(x, from, s)
	}
	return fmt.Sprint(v)
}

// FormatTime prints a date of interim type t: with the settings' .NET
// format when set, else ISO 8601 (2026-11-01, 2026-11-01 10:00:00.123,
// 2026-11-01 10:00:00+00:00).
func FormatTime(x time.Time, t tabular.Type, s *Settings) string {
	switch t {
	case tabular.Date:
		if s.DateTimeFormat != "" {
			return x.Format(Layout(s.DateTimeFormat))
		}
		return x.Format("2006-01-02")
	case tabular.DateTimeOffset:
		if s.DateTimeOffsetFormat != "" {
			return x.Format(Layout(s.DateTimeOffsetFormat))
		}
		return x.Format("2006-01-02 15:04:05.9999999-07:00")
	}
	if s.DateTimeFormat != "" {
		return x.Format(Layout(s.DateTimeFormat))
	}
	return x.Format("2006-01-02 15:04:05.9999999")
}

func toInt(v any, s *Settings) (int64, string) {
	switch x := v.(type) {
	case int64:
		return x, ""
	case float64:
		if x != math.Trunc(x) && !s.AllowDataTruncation {
			return 0, "has a fraction (allowDataTruncation is false)"
		}
		if math.IsNaN(x) || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, "out of range"
		}
		return int64(x), ""
	case bool:
		if !s.TreatBooleanAsNumber {
			return 0, "a Boolean (treatBooleanAsNumber is false)"
		}
		if x {
			return 1, ""
		}
		return 0, ""
	case string, []byte:
		str := strings.TrimSpace(asString(x))
		if n, err := strconv.ParseInt(str, 10, 64); err == nil {
			return n, ""
		}
		if r, ok := new(big.Rat).SetString(str); ok && str != "" {
			if !r.IsInt() && !s.AllowDataTruncation {
				return 0, "has a fraction (allowDataTruncation is false)"
			}
			q := new(big.Int).Quo(r.Num(), r.Denom())
			if !q.IsInt64() {
				return 0, "out of range"
			}
			return q.Int64(), ""
		}
		return 0, "not an integer"
	}
	return 0, "not a number"
}

func toFloat(v any, s *Settings) (float64, string) {
	switch x := v.(type) {
	case float64:
		return x, ""
	case int64:
		return float64(x), ""
	case bool:
		if !s.TreatBooleanAsNumber {
			return 0, "a Boolean (treatBooleanAsNumber is false)"
		}
		if x {
			return 1, ""
		}
		return 0, ""
	case string, []byte:
		f, err := strconv.ParseFloat(strings.TrimSpace(asString(x)), 64)
		if err != nil {
			return 0, "not a number"
		}
		return f, ""
	}
	return 0, "not a number"
}

func toDecimal(v any, s *Settings) (string, string) {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), ""
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", "not a finite number"
		}
		return strconv.FormatFloat(x, 'f', -1, 64), ""
	case bool:
		if !s.TreatBooleanAsNumber {
			return "", "a Boolean (treatBooleanAsNumber is false)"
		}
		if x {
			return "1", ""
		}
		return "0", ""
	case string, []byte:
		str := strings.TrimSpace(asString(x))
		if _, ok := new(big.Rat).SetString(str); !ok || str == "" || strings.ContainsAny(str, "/xXpP") {
			return "", "not a decimal number"
		}
		return str, ""
	}
	return "", "not a number"
}

func toBool(v any) (bool, string) {
	switch x := v.(type) {
	case bool:
		return x, ""
	case int64:
		return x != 0, ""
	case float64:
		return x != 0, ""
	case string, []byte:
		switch strings.ToLower(strings.TrimSpace(asString(x))) {
		case "true", "1", "t", "y", "yes":
			return true, ""
		case "false", "0", "f", "n", "no":
			return false, ""
		}
	}
	return false, "not a Boolean"
}

// layouts are what a date string may look like when no format is set.
var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"01/02/2006 15:04:05",
	"01/02/2006",
}

func toTime(v any, to tabular.Type, s *Settings) (time.Time, string) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string, []byte:
		str := strings.TrimSpace(asString(x))
		format := s.DateTimeFormat
		if to == tabular.DateTimeOffset && s.DateTimeOffsetFormat != "" {
			format = s.DateTimeOffsetFormat
		}
		ok := false
		if format != "" {
			var err error
			t, err = time.Parse(Layout(format), str)
			ok = err == nil
		}
		for _, l := range layouts {
			if ok {
				break
			}
			var err error
			t, err = time.Parse(l, str)
			ok = err == nil
		}
		if !ok {
			return time.Time{}, "not a date"
		}
	default:
		return time.Time{}, "not a date"
	}
	if to == tabular.Date {
		y, m, d := t.Date()
		t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return t, ""
}

func toGUID(v any) (string, bool) {
	switch x := v.(type) {
	case []byte:
		if len(x) == 16 {
			h := hex.EncodeToString(x)
			return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
		}
		return toGUID(string(x))
	case string:
		g := strings.ToLower(strings.Trim(strings.TrimSpace(x), "{}"))
		if len(g) != 36 {
			return "", false
		}
		for i, r := range g {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if r != '-' {
					return "", false
				}
			} else if !strings.ContainsRune("0123456789abcdef", r) {
				return "", false
			}
		}
		return g, true
	}
	return "", false
}

func asString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v.(string)
}

// Layout turns a .NET custom date format ("yyyy-MM-dd HH:mm:ss.fff zzz")
// into a Go layout. Text in quotes is kept; unknown letters pass through.
func Layout(f string) string {
	tokens := []struct{ net, goLayout string }{
		{"yyyy", "2006"}, {"yy", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
		{"dddd", "Monday"}, {"ddd", "Mon"}, {"dd", "02"}, {"d", "2"},
		{"HH", "15"}, {"hh", "03"}, {"h", "3"}, {"mm", "04"}, {"m", "4"}, {"ss", "05"}, {"s", "5"},
		{"fffffff", "0000000"}, {"ffffff", "000000"}, {"fffff", "00000"}, {"ffff", "0000"}, {"fff", "000"}, {"ff", "00"}, {"f", "0"},
		{"FFFFFFF", "9999999"}, {"FFFFFF", "999999"}, {"FFF", "999"},
		{"tt", "PM"}, {"zzz", "-07:00"}, {"zz", "-07"}, {"K", "Z07:00"},
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		if f[i] == '\'' || f[i] == '"' {
			end := strings.IndexByte(f[i+1:], f[i])
			if end < 0 {
				b.WriteString(f[i+1:])
				break
			}
			b.WriteString(f[i+1 : i+1+end])
			i += end + 2
			continue
		}
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(f[i:], t.net) {
				b.WriteString(t.goLayout)
				i += len(t.net)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(f[i])
			i++
		}
	}
	return b.String()
}
