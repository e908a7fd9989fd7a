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

// formatCustom writes st with a .NET custom date and time pattern.
func formatCustom(st stamp, p string) (string, error) {
	var b strings.Builder
	t := st.t
	for i := 0; i < len(p); {
		c := p[i]
		n := 1
		for i+n < len(p) && p[i+n] == c {
			n++
		}
		switch c {
		case 'd':
			switch {
			case n == 1:
				b.WriteString(strconv.Itoa(t.Day()))
			case n == 2:
				pad(&b, t.Day(), 2)
			case n == 3:
				b.WriteString(dayNames[t.Weekday()][:3])
			default:
				b.WriteString(dayNames[t.Weekday()])
			}
		case 'f', 'F':
			if n > 7 {
				return "", errorf("'%s' is not a valid date and time format: at most 7 '%c' in a row", p, c)
			}
			digits := strconv.Itoa(t.Nanosecond()/100 + 10000000)[1 : 1+n]
			if c == 'F' {
				digits = strings.TrimRight(digits, "0")
				if digits == "" {
					// .NET drops the separator before an empty fraction.
					if s := b.String(); strings.HasSuffix(s, ".") {
						b.Reset()
						b.WriteString(s[:len(s)-1])
					}
				}
			}
			b.WriteString(digits)
		case 'g':
			b.WriteString("A.D.")
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(&b, h, min(n, 2))
		case 'H':
			pad(&b, t.Hour(), min(n, 2))
		case 'm':
			pad(&b, t.Minute(), min(n, 2))
		case 's':
			pad(&b, t.Second(), min(n, 2))
		case 'M':
			switch {
			case n <= 2:
				pad(&b, int(t.Month()), n)
			case n == 3:
				b.WriteString(monthNames[t.Month()-1][:3])
			default:
				b.WriteString(monthNames[t.Month()-1])
			}
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			b.WriteString(ampm[:min(n, 2)])
		case 'y':
			switch {
			case n == 1:
				b.WriteString(strconv.Itoa(t.Year() % 100))
			case n == 2:
				pad(&b, t.Year()%100, 2)
			default:
				pad(&b, t.Year(), n)
			}
		case 'K':
			if st.utc {
				b.WriteString("Z")
			}
		case 'z':
			// ADF's machines run in UTC, so the offset .NET writes for
			// either kind of timestamp is zero.
			switch n {
			case 1:
				b.WriteString("+0")
			case 2:
				b.WriteString("+00")
			default:
				b.WriteString("+00:00")
			}
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
		default:
			b.WriteString(p[i : i+n])
		}
		i += n
	}
	return b.String(), nil
}

// pad writes v with at least width digits.
func pad(b *strings.Builder, v, width int) {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
}
