package expr

import (
	"strconv"
	"strings"
	"time"
)

// stamp is a timestamp as ADF's .NET runtime holds one: a wall-clock time
// and whether it is UTC (what parsing gives, and what "o" writes with a
// "Z") or of no stated zone (what convertFromUtc() gives, written with no
// suffix).
type stamp struct {
	t   time.Time // the wall clock, held in time.UTC
	utc bool
}

// en-US names, the culture ADF formats dates in ("D" gives "Tuesday,
// January 2, 2018").
var (
	dayNames   = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// standardFormat maps .NET's one-letter standard date and time formats to
// the custom patterns they stand for in en-US.
func standardFormat(c byte) (string, bool) {
	switch c {
	case 'd':
		return "M/d/yyyy", true
	case 'D':
		return "dddd, MMMM d, yyyy", true
	case 'f':
		return "dddd, MMMM d, yyyy h:mm tt", true
	case 'F', 'U':
		return "dddd, MMMM d, yyyy h:mm:ss tt", true
	case 'g':
		return "M/d/yyyy h:mm tt", true
	case 'G':
		return "M/d/yyyy h:mm:ss tt", true
	case 'm', 'M':
		return "MMMM d", true
	case 'o', 'O':
		return "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", true
	case 'r', 'R':
		return "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", true
	case 's':
		return "yyyy'-'MM'-'dd'T'HH':'mm':'ss", true
	case 't':
		return "h:mm tt", true
	case 'T':
		return "h:mm:ss tt", true
	case 'u':
		return "yyyy'-'MM'-'dd HH':'mm':'ss'Z'", true
	case 'y', 'Y':
		return "MMMM yyyy", true
	}
	return "", false
}

// formatStamp writes st with a .NET format string: "" is "o", one
// character is a standard format, anything longer a custom pattern.
func formatStamp(st stamp, format string) (string, error) {
	if format == "" {
		format = "o"
	}
	if len(format) == 1 {
		p, ok := standardFormat(format[0])
		if !ok {
			return "", errorf("'%s' is not a valid date and time format: a one-character format must be one of d D f F g G m M o O r R s t T u U y Y", format)
		}
		format = p
	}
	return formatCustom(st, format)
}

// formatCustom writes st with a .NET custom date and time pattern: runs
// of a format letter ("yyyy", "MM", "fff"), quoted literals, "\\x"
// escapes and "%x" (a letter alone as a custom specifier).
func formatCustom(st stamp, p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		switch c {
		case '\'', '"':
			end := strings.IndexByte(p[i+1:], c)
			if end < 0 {
				return "", errorf("'%s' is not a valid date and time format: the quote at position %d is not closed", p, i+1)
			}
			b.WriteString(p[i+1 : i+1+end])
			i += end + 2
			continue
		case '\\':
			if i+1 >= len(p) {
				return "", errorf("'%s' is not a valid date and time format: it ends with '\\'", p)
			}
			b.WriteByte(p[i+1])
			i += 2
			continue
		case '%':
			if i+1 >= len(p) || p[i+1] == '%' {
				return "", errorf("'%s' is not a valid date and time format: '%%' must be followed by a format character", p)
			}
			i++
			continue
		}
		n := 1
		for i+n < len(p) && p[i+n] == c {
			n++
		}
		if !writeSpecifier(&b, st, c, n) {
			if c == 'f' || c == 'F' {
				return "", errorf("'%s' is not a valid date and time format: at most 7 '%c' in a row", p, c)
			}
			b.WriteString(p[i : i+n])
		}
		i += n
	}
	return b.String(), nil
}

// writeSpecifier writes a run of n format letters c; false when c is no
// format letter (written as itself) or the run is too long ("ffffffff").
func writeSpecifier(b *strings.Builder, st stamp, c byte, n int) bool {
	t := st.t
	switch c {
	case 'd':
		switch n {
		case 1, 2:
			pad(b, t.Day(), n)
		case 3:
			b.WriteString(dayNames[t.Weekday()][:3])
		default:
			b.WriteString(dayNames[t.Weekday()])
		}
	case 'M':
		switch n {
		case 1, 2:
			pad(b, int(t.Month()), n)
		case 3:
			b.WriteString(monthNames[t.Month()-1][:3])
		default:
			b.WriteString(monthNames[t.Month()-1])
		}
	case 'y':
		switch n {
		case 1:
			b.WriteString(strconv.Itoa(t.Year() % 100))
		case 2:
			pad(b, t.Year()%100, 2)
		default:
			pad(b, t.Year(), n)
		}
	case 'h':
		pad(b, (t.Hour()+11)%12+1, min(n, 2))
	case 'H':
		pad(b, t.Hour(), min(n, 2))
	case 'm':
		pad(b, t.Minute(), min(n, 2))
	case 's':
		pad(b, t.Second(), min(n, 2))
	case 'f', 'F':
		return writeFraction(b, t, c, n)
	case 't':
		ampm := "AM"
		if t.Hour() >= 12 {
			ampm = "PM"
		}
		b.WriteString(ampm[:min(n, 2)])
	case 'g':
		b.WriteString("A.D.")
	case 'K':
		if st.utc {
			b.WriteString("Z")
		}
	case 'z':
		// ADF's machines run in UTC, so the offset .NET writes for
		// either kind of timestamp is zero.
		b.WriteString([]string{"+0", "+00", "+00:00"}[min(n, 3)-1])
	default:
		return false
	}
	return true
}

// writeFraction writes n digits of the second's fraction: "f" keeps
// trailing zeros, "F" drops them and, when none is left, the "." before.
func writeFraction(b *strings.Builder, t time.Time, c byte, n int) bool {
	if n > 7 {
		return false
	}
	digits := strconv.Itoa(t.Nanosecond()/100 + 10000000)[1 : 1+n]
	if c == 'F' {
		digits = strings.TrimRight(digits, "0")
		if s := b.String(); digits == "" && strings.HasSuffix(s, ".") {
			b.Reset()
			b.WriteString(s[:len(s)-1])
		}
	}
	b.WriteString(digits)
	return true
}

// pad writes v with at least width digits.
func pad(b *strings.Builder, v, width int) {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
}
