package expr

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The timestamp shapes ADF's DateTime parsing accepts in practice: ISO 8601
// (what every function writes), en-US "M/d/yyyy h:mm:ss tt", and RFC 1123.
var (
	isoStamp = regexp.MustCompile(`^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$`)
	usStamp  = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*([AaPp][Mm])?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$`)
)

// parseStamp reads a timestamp. One with a zone ("Z", "+02:00") is
// converted to UTC; one without is taken as UTC, as ADF (running in UTC)
// does.
func parseStamp(s string) (stamp, error) {
	in := strings.TrimSpace(s)
	var f []string
	var year, month, day int
	if m := isoStamp.FindStringSubmatch(in); m != nil {
		f = m
		year, month, day = atoi(m[1]), atoi(m[2]), atoi(m[3])
	} else if m := usStamp.FindStringSubmatch(in); m != nil {
		// Fold AM/PM into the fields after the year, in ISO's order.
		f = []string{m[0], m[3], m[1], m[2], m[4], m[5], m[6], m[7], m[9]}
		year, month, day = atoi(m[3]), atoi(m[1]), atoi(m[2])
		if m[8] != "" && m[4] != "" {
			h := atoi(m[4])
			if h < 1 || h > 12 {
				return stamp{}, badStamp(s)
			}
			h %= 12
			if strings.EqualFold(m[8], "PM") {
				h += 12
			}
			f[4] = strconv.Itoa(h)
		}
	} else {
		for _, layout := range []string{time.RFC1123, time.RFC1123Z, time.RFC3339Nano, "Mon, 2 Jan 2006 15:04:05 MST"} {
			if t, err := time.Parse(layout, in); err == nil {
				return stamp{t: t.UTC(), utc: true}, nil
			}
		}
		return stamp{}, badStamp(s)
	}
	hour, minute, sec := atoi(f[4]), atoi(f[5]), atoi(f[6])
	frac := f[7]
	if len(frac) > 9 {
		frac = frac[:9]
	}
	ns := atoi(frac + strings.Repeat("0", 9-len(frac)))
	ns -= ns % 100 // .NET keeps ticks: 100 ns
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, time.Month(month)) || hour > 23 || minute > 59 || sec > 59 || year < 1 {
		return stamp{}, badStamp(s)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ns, time.UTC)
	if zone := f[8]; zone != "" && zone != "Z" && zone != "z" {
		z := strings.ReplaceAll(zone[1:], ":", "")
		off := atoi(z[:2]) * 3600
		if len(z) == 4 {
			off += atoi(z[2:]) * 60
		}
		if zone[0] == '-' {
			off = -off
		}
		t = t.Add(-time.Duration(off) * time.Second)
	}
	return stamp{t: t, utc: true}, nil
}

func badStamp(s string) error {
	return errorf("'%s' is not a valid timestamp: expected ISO 8601 such as '2018-03-15T13:00:00Z'", clip(s))
}

// atoi reads digits already matched by a pattern ("" is 0).
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// daysIn is the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// addMonths is .NET's AddMonths: the day is clamped to the end of the
// target month (January 31 plus a month is February 28 or 29).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + n
	years, rem := total/12, total%12
	if rem < 0 {
		years, rem = years-1, rem+12
	}
	y += years
	nm := time.Month(rem + 1)
	d = min(d, daysIn(y, nm))
	h, mi, s := t.Clock()
	return time.Date(y, nm, d, h, mi, s, t.Nanosecond(), t.Location())
}

// ticks is .NET's DateTime.Ticks: 100-nanosecond intervals since
// 0001-01-01T00:00:00.
func ticks(t time.Time) int64 {
	const unixEpochTicks = 621355968000000000
	return unixEpochTicks + t.Unix()*10000000 + int64(t.Nanosecond()/100)
}
