package expr

import (
	"strings"
	"testing"
	"time"
)

// Date functions, with the reference's examples first. Where the reference
// prints a typo ("2018-03-25T00:00:0000000Z" for addDays, dayOfWeek 3 for a
// Thursday) the case holds what .NET gives.
func TestDateFunctions(t *testing.T) {
	runEval(t, []evalCase{
		{`@addDays('2018-03-15T13:00:00Z', 10)`, `"2018-03-25T13:00:00.0000000Z"`},
		{`@addDays('2018-03-15T00:00:00Z', -5)`, `"2018-03-10T00:00:00.0000000Z"`},
		{`@addDays('2018-03-15T00:00:00Z', 0.5)`, `"2018-03-15T12:00:00.0000000Z"`},
		{`@addDays('2018-03-15T00:00:00Z', 1, 'yyyy-MM-dd')`, `"2018-03-16"`},
		{`@addHours('2018-03-15T00:00:00Z', 10)`, `"2018-03-15T10:00:00.0000000Z"`},
		{`@addHours('2018-03-15T15:00:00Z', -5)`, `"2018-03-15T10:00:00.0000000Z"`},
		{`@addMinutes('2018-03-15T00:10:00Z', 10)`, `"2018-03-15T00:20:00.0000000Z"`},
		{`@addMinutes('2018-03-15T00:20:00Z', -5)`, `"2018-03-15T00:15:00.0000000Z"`},
		{`@addSeconds('2018-03-15T00:00:00Z', 10)`, `"2018-03-15T00:00:10.0000000Z"`},
		{`@addSeconds('2018-03-15T00:00:30Z', -5)`, `"2018-03-15T00:00:25.0000000Z"`},
		{`@addToTime('2018-01-01T00:00:00Z', 1, 'Day')`, `"2018-01-02T00:00:00.0000000Z"`},
		{`@addToTime('2018-01-01T00:00:00Z', 1, 'Day', 'D')`, `"Tuesday, January 2, 2018"`},
		{`@addToTime('2018-01-31T00:00:00Z', 1, 'Month')`, `"2018-02-28T00:00:00.0000000Z"`},
		{`@addToTime('2020-02-29T00:00:00Z', 1, 'Year')`, `"2021-02-28T00:00:00.0000000Z"`},
		{`@addToTime('2018-01-01T00:00:00Z', 2, 'Week')`, `"2018-01-15T00:00:00.0000000Z"`},
		{`@addToTime('2018-01-01T00:00:00Z', 90, 'second')`, `"2018-01-01T00:01:30.0000000Z"`},
		{`@addToTime('2018-01-01T00:00:00Z', 3, 'Hours')`, `"2018-01-01T03:00:00.0000000Z"`},
		{`@addToTime('2018-01-01T00:00:00Z', 13, 'Month')`, `"2019-02-01T00:00:00.0000000Z"`},
		{`@subtractFromTime('2018-01-02T00:00:00Z', 1, 'Day')`, `"2018-01-01T00:00:00.0000000Z"`},
		{`@subtractFromTime('2018-01-02T00:00:00Z', 1, 'Day', 'D')`, `"Monday, January 1, 2018"`},
		{`@subtractFromTime('2018-03-31T00:00:00Z', 1, 'Month')`, `"2018-02-28T00:00:00.0000000Z"`},
		{`@subtractFromTime('2018-01-15T00:00:00Z', 1, 'Month')`, `"2017-12-15T00:00:00.0000000Z"`},
		{`@subtractFromTime('2018-01-15T00:00:00Z', 25, 'Month')`, `"2015-12-15T00:00:00.0000000Z"`},
		{`@convertFromUtc('2018-01-01T08:00:00.0000000Z', 'Pacific Standard Time')`, `"2018-01-01T00:00:00.0000000"`},
		{`@convertFromUtc('2018-01-01T08:00:00.0000000Z', 'Pacific Standard Time', 'D')`, `"Monday, January 1, 2018"`},
		{`@convertFromUtc('2018-01-01T08:00:00Z', 'pacific standard time', 'yyyy-MM-ddTHH:mm:ssK')`, `"2018-01-01T00:00:00"`},
		{`@convertFromUtc('2018-07-01T12:00:00Z', 'W. Europe Standard Time')`, `"2018-07-01T14:00:00.0000000"`},
		{`@convertFromUtc('2018-01-01T12:00:00Z', 'W. Europe Standard Time', 'HH:mm zzz')`, `"13:00 +00:00"`},
		{`@convertTimeZone('2018-01-01T08:00:00.0000000Z', 'UTC', 'Pacific Standard Time')`, `"2018-01-01T00:00:00.0000000"`},
		{`@convertTimeZone('2018-01-01T08:00:00.0000000Z', 'UTC', 'Pacific Standard Time', 'D')`, `"Monday, January 1, 2018"`},
		{`@convertTimeZone('2018-01-01T00:00:00', 'Pacific Standard Time', 'UTC')`, `"2018-01-01T08:00:00.0000000Z"`},
		{`@convertTimeZone('2018-06-01T12:00:00Z', 'UTC', 'India Standard Time')`, `"2018-06-01T17:30:00.0000000"`},
		{`@convertToUtc('01/01/2018 00:00:00', 'Pacific Standard Time')`, `"2018-01-01T08:00:00.0000000Z"`},
		{`@convertToUtc('01/01/2018 00:00:00', 'Pacific Standard Time', 'D')`, `"Monday, January 1, 2018"`},
		{`@convertToUtc('2018-07-01T14:00:00', 'W. Europe Standard Time')`, `"2018-07-01T12:00:00.0000000Z"`},
		{`@dayOfMonth('2018-03-15T13:27:36Z')`, `15`},
		{`@dayOfWeek('2018-03-15T13:27:36Z')`, `4`},
		{`@dayOfWeek('2018-04-15T00:00:00Z')`, `0`},
		{`@dayOfYear('2018-03-15T13:27:36Z')`, `74`},
		{`@dayOfYear('2020-12-31')`, `366`},
		{`@formatDateTime('03/15/2018 12:00:00', 'yyyy-MM-ddTHH:mm:ss')`, `"2018-03-15T12:00:00"`},
		{`@formatDateTime('2018-03-15T12:00:00Z')`, `"2018-03-15T12:00:00.0000000Z"`},
		{`@startOfDay('2018-03-15T13:30:30Z')`, `"2018-03-15T00:00:00.0000000Z"`},
		{`@startOfHour('2018-03-15T13:30:30Z')`, `"2018-03-15T13:00:00.0000000Z"`},
		{`@startOfMonth('2018-03-15T13:30:30Z')`, `"2018-03-01T00:00:00.0000000Z"`},
		{`@startOfMonth('2018-03-15T13:30:30Z', 'yyyy-MM-dd')`, `"2018-03-01"`},
		{`@ticks('2018-01-01T00:00:00Z')`, `636503616000000000`},
		{`@ticks('0001-01-01T00:00:00Z')`, `0`},
		{`@ticks('2018-01-01T00:00:00.0000001Z')`, `636503616000000001`},
		{`@utcNow()`, `"2018-04-15T13:00:00.0000000Z"`},
		{`@utcNow('D')`, `"Sunday, April 15, 2018"`},
		{`@utcnow('yyyy-dd-MM')`, `"2018-15-04"`},
		{`@concat('Test_', formatDateTime(utcnow(), 'yyyy-dd-MM'))`, `"Test_2018-15-04"`},
		{`@concat('Test_', convertFromUtc(utcnow(), 'Pacific Standard Time'))`, `"Test_2018-04-15T06:00:00.0000000"`},
		{`@concat('Test_', pipeline().TriggerTime)`, `"Test_2026-11-02T03:04:05.1234567Z"`},
		{`@formatDateTime(pipeline().TriggerTime, 'yyyy/MM/dd')`, `"2026/11/02"`},
		{`@formatDateTime(trigger().outputs.windowStartTime, 'yyyyMMddHH')`, `"2026110100"`},
		{`@getFutureTime(1, 'Day')`, `"2018-04-16T13:00:00.0000000Z"`},
		{`@getPastTime(1, 'Month', 'yyyy-MM')`, `"2018-03"`},
		{`@greater(utcNow(), '2018-01-01T00:00:00Z')`, `true`},
	})
	// The reference's "suppose the current timestamp is" examples.
	for _, c := range []struct {
		now  time.Time
		in   string
		want string
	}{
		{time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC), `@getFutureTime(5, 'Day')`, "2018-03-06T00:00:00.0000000Z"},
		{time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC), `@getFutureTime(5, 'Day', 'D')`, "Tuesday, March 6, 2018"},
		{time.Date(2018, 2, 1, 0, 0, 0, 0, time.UTC), `@getPastTime(5, 'Day')`, "2018-01-27T00:00:00.0000000Z"},
		{time.Date(2018, 2, 1, 0, 0, 0, 0, time.UTC), `@getPastTime(5, 'Day', 'D')`, "Saturday, January 27, 2018"},
		{time.Date(2026, 11, 2, 3, 4, 5, 123456789, time.UTC), `@utcNow()`, "2026-11-02T03:04:05.1234567Z"},
	} {
		s := &Scope{Now: func() time.Time { return c.now }}
		if got, err := Eval(c.in, s); err != nil || got != c.want {
			t.Errorf("at %v, Eval(%q) = %v, %v; want %q", c.now, c.in, got, err, c.want)
		}
	}
	runErrors(t, testScope(), []errCase{
		{`@addDays('nope', 1)`, "'nope' is not a valid timestamp", 2},
		{`@addDays('2018-02-30', 1)`, "is not a valid timestamp", 2},
		{`@addDays('2018-03-15T25:00:00Z', 1)`, "is not a valid timestamp", 2},
		{`@addDays(1, 1)`, "expects a string for argument 1", 2},
		{`@addDays('2018-03-15', 'x')`, "expects a number for argument 2", 2},
		{`@addDays('9999-12-31', 1)`, "outside the range of dates", 2},
		{`@addToTime('2018-01-01', 1, 'Fortnight')`, "unknown time unit 'Fortnight'", 2},
		{`@convertFromUtc('2018-01-01', 'Mars Standard Time')`, `unknown time zone "Mars Standard Time"`, 2},
		{`@convertFromUtc('2018-01-01', 'Europe/Berlin')`, `write "W. Europe Standard Time"`, 2},
		{`@convertToUtc('2018-01-01', '')`, "expects a time zone name for argument 2", 2},
		{`@formatDateTime('2018-01-01', 'x')`, "'x' is not a valid date and time format", 2},
		{`@formatDateTime('2018-01-01', 'ffffffff')`, "at most 7 'f' in a row", 2},
		{`@formatDateTime('2018-01-01', 'yyyy ''open')`, "is not closed", 2},
		{`@formatDateTime('2018-01-01', 'yyyy\')`, "ends with '\\'", 2},
		{`@formatDateTime('2018-01-01', 'yy%')`, "'%' must be followed by a format character", 2},
	})
}

// .NET standard and custom format strings, en-US.
func TestDateFormats(t *testing.T) {
	const ts = `'2026-11-02T15:04:05.1234567Z'`
	cases := []struct{ format, want string }{
		{"o", "2026-11-02T15:04:05.1234567Z"},
		{"O", "2026-11-02T15:04:05.1234567Z"},
		{"s", "2026-11-02T15:04:05"},
		{"u", "2026-11-02 15:04:05Z"},
		{"d", "11/2/2026"},
		{"D", "Monday, November 2, 2026"},
		{"f", "Monday, November 2, 2026 3:04 PM"},
		{"F", "Monday, November 2, 2026 3:04:05 PM"},
		{"U", "Monday, November 2, 2026 3:04:05 PM"},
		{"g", "11/2/2026 3:04 PM"},
		{"G", "11/2/2026 3:04:05 PM"},
		{"m", "November 2"},
		{"M", "November 2"},
		{"t", "3:04 PM"},
		{"T", "3:04:05 PM"},
		{"y", "November 2026"},
		{"Y", "November 2026"},
		{"r", "Mon, 02 Nov 2026 15:04:05 GMT"},
		{"R", "Mon, 02 Nov 2026 15:04:05 GMT"},
		{"yyyy-MM-dd", "2026-11-02"},
		{"yyyyMMdd", "20261102"},
		{"yyyy-dd-MM", "2026-02-11"},
		{"yyyy/MM/dd HH:mm", "2026/11/02 15:04"},
		{"HH:mm:ss.fff", "15:04:05.123"},
		{"HH:mm:ss.f", "15:04:05.1"},
		{"fffffff", "1234567"},
		{"FFFFFFF", "1234567"},
		{"hh:mm tt", "03:04 PM"},
		{"h t", "3 P"},
		{"ddd, MMM d", "Mon, Nov 2"},
		{"dddd dd", "Monday 02"},
		{"%d", "2"},
		{"%M", "11"},
		{"%y", "26"},
		{"yy", "26"},
		{"yyy", "2026"},
		{"yyyyy", "02026"},
		{"MMMM", "November"},
		{"'Year' yyyy", "Year 2026"},
		{`"Q" M`, "Q 11"},
		{`yyyy\MM`, "2026M11"},
		{"yyyy-MM-ddTHH:mm:ssK", "2026-11-02T15:04:05Z"},
		{"yyyy-MM-ddTHH:mm:sszzz", "2026-11-02T15:04:05+00:00"},
		{"z zz", "+0 +00"},
		{"gg yyyy", "A.D. 2026"},
		{"H:m:s", "15:4:5"},
		{"yyyy-MM-ddTHH:mm:ss.fffffffZ", "2026-11-02T15:04:05.1234567Z"},
		{"data_yyyyMMdd.csv", "2aPa_20261102.c5v"},
	}
	s := testScope()
	for _, c := range cases {
		in := `@formatDateTime(` + ts + `, '` + strings.ReplaceAll(c.format, "'", "''") + `')`
		got, err := Eval(in, s)
		if err != nil || got != c.want {
			t.Errorf("formatDateTime(%s, %q) = %v, %v; want %q", ts, c.format, got, err, c.want)
		}
	}
	zeroFraction := []struct{ format, want string }{
		{"ss.FFF", "05"},
		{"HH:mm:ss.FFFFFFF", "15:04:05"},
		{"ss.fff", "05.000"},
		{"hh tt", "03 PM"},
	}
	for _, c := range zeroFraction {
		in := `@formatDateTime('2026-11-02T15:04:05Z', '` + c.format + `')`
		if got, err := Eval(in, s); err != nil || got != c.want {
			t.Errorf("Eval(%q) = %v, %v; want %q", in, got, err, c.want)
		}
	}
	midnight := map[string]string{"hh": "12", "HH": "00", "tt": "AM", "h:mm tt": "12:00 AM"}
	for f, want := range midnight {
		in := `@formatDateTime('2026-11-02T00:00:00Z', '` + f + `')`
		if got, err := Eval(in, s); err != nil || got != want {
			t.Errorf("Eval(%q) = %v, %v; want %q", in, got, err, want)
		}
	}
}

// Timestamps ADF accepts: ISO 8601 with or without a zone, en-US dates,
// RFC 1123.
func TestTimestampParsing(t *testing.T) {
	cases := map[string]string{
		"2018-03-15":                        "2018-03-15T00:00:00.0000000Z",
		"2018-03-15T13:00":                  "2018-03-15T13:00:00.0000000Z",
		"2018-03-15 13:00:00":               "2018-03-15T13:00:00.0000000Z",
		"2018-03-15T13:00:00+02:00":         "2018-03-15T11:00:00.0000000Z",
		"2018-03-15T13:00:00-0530":          "2018-03-15T18:30:00.0000000Z",
		"2018-03-15T13:00:00.5Z":            "2018-03-15T13:00:00.5000000Z",
		"2018-03-15T13:00:00.123456789Z":    "2018-03-15T13:00:00.1234567Z",
		"2018-3-5T1:02:03Z":                 "2018-03-05T01:02:03.0000000Z",
		" 2018-03-15T13:00:00Z ":            "2018-03-15T13:00:00.0000000Z",
		"2018/03/15":                        "2018-03-15T00:00:00.0000000Z",
		"03/15/2018 1:00 PM":                "2018-03-15T13:00:00.0000000Z",
		"03/15/2018 12:30 AM":               "2018-03-15T00:30:00.0000000Z",
		"3/5/2018":                          "2018-03-05T00:00:00.0000000Z",
		"Thu, 15 Mar 2018 13:00:00 GMT":     "2018-03-15T13:00:00.0000000Z",
		"2020-02-29T23:59:59.9999999Z":      "2020-02-29T23:59:59.9999999Z",
		"2018-03-15T13:00:00.1234567+00:00": "2018-03-15T13:00:00.1234567Z",
	}
	for in, want := range cases {
		st, err := parseStamp(in)
		if err != nil {
			t.Errorf("parseStamp(%q): %v", in, err)
			continue
		}
		if got, _ := formatStamp(st, ""); got != want {
			t.Errorf("parseStamp(%q) = %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"", "2018", "2018-13-01", "2018-02-29", "03/15/2018 13:00 PM", "15/03/2018", "2018-03-15T12:60:00Z", "0000-01-01", "yesterday"} {
		if _, err := parseStamp(bad); err == nil {
			t.Errorf("parseStamp(%q): no error", bad)
		}
	}
}
