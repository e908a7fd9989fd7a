package trigger

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// since is the creation time the cases use when they give no start time.
const since = "2024-01-01T00:00:00Z"

func TestNext(t *testing.T) {
	t.Parallel()
	every := func(freq string, n int, p *Pattern) Definition {
		return Definition{Type: TypeRecurrence, Frequency: freq, Interval: n, Schedule: p}
	}
	cronIn := func(expr, tz string) Definition { return Definition{Type: TypeCron, Expression: expr, TimeZone: tz} }
	withStart := func(d Definition, start string) Definition { d.StartTime = start; return d }
	withEnd := func(d Definition, end string) Definition { d.EndTime = end; return d }
	tests := []struct {
		name  string
		def   Definition
		after string
		want  []string // the next firings, in order; "" means none
	}{
		{"cron hourly UTC", cronIn("0 * * * *", ""), "2024-01-01T10:15:00Z",
			[]string{"2024-01-01T11:00:00Z", "2024-01-01T12:00:00Z"}},
		{"cron hourly on the hour in Pacific", cronIn("0 * * * *", "Pacific Standard Time"), "2024-01-01T10:15:00Z",
			[]string{"2024-01-01T11:00:00Z"}},
		{"cron half-hour zone", cronIn("0 9 * * *", "India Standard Time"), "2024-01-01T00:00:00Z",
			[]string{"2024-01-01T03:30:00Z", "2024-01-02T03:30:00Z"}},
		{"cron weekdays in Berlin", cronIn("30 9 * * 1-5", "W. Europe Standard Time"), "2024-03-01T09:00:00Z",
			[]string{"2024-03-04T08:30:00Z", "2024-03-05T08:30:00Z"}},
		{"cron day names", cronIn("0 12 * * sat,sun", ""), "2024-03-01T00:00:00Z",
			[]string{"2024-03-02T12:00:00Z", "2024-03-03T12:00:00Z", "2024-03-09T12:00:00Z"}},
		{"cron day of month or week", cronIn("0 0 13 * 5", ""), "2024-09-01T00:00:00Z",
			[]string{"2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z"}},
		{"cron leap day", cronIn("0 0 29 2 *", ""), "2024-03-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z"}},
		// New York springs from 02:00 EST to 03:00 EDT on 2024-03-10.
		{"cron skipped time fires after the jump", cronIn("30 2 * * *", "Eastern Standard Time"), "2024-03-09T12:00:00Z",
			[]string{"2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"}},
		{"cron every 30 minutes through the jump", cronIn("*/30 * * * *", "Eastern Standard Time"), "2024-03-10T01:15:00-05:00",
			[]string{"2024-03-10T01:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T03:30:00-04:00"}},
		// New York falls back from 02:00 EDT to 01:00 EST on 2024-11-03.
		{"cron repeated time fires once", cronIn("30 1 * * *", "Eastern Standard Time"), "2024-11-03T00:00:00-04:00",
			[]string{"2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"}},
		{"cron every 30 minutes through the repeated hour", cronIn("*/30 * * * *", "Eastern Standard Time"), "2024-11-03T01:15:00-04:00",
			[]string{"2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T01:30:00-05:00", "2024-11-03T02:00:00-05:00"}},
		{"cron start in the future", withStart(cronIn("0 * * * *", "Pacific Standard Time"), "2030-01-01T00:30:00"), "2024-01-01T00:00:00Z",
			[]string{"2030-01-01T01:00:00-08:00"}},
		{"cron start with an offset", withStart(cronIn("15 * * * *", ""), "2030-01-01T00:30:00+05:00"), "2024-01-01T00:00:00Z",
			[]string{"2029-12-31T20:15:00Z"}},
		{"cron end time", withEnd(cronIn("0 0 * * *", ""), "2024-01-03T00:00:00"), "2024-01-01T12:00:00Z",
			[]string{"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", ""}},
		{"every 5 minutes from the start", withStart(every(Minute, 5, nil), "2024-01-01T10:00:30Z"), "2024-01-01T10:07:00Z",
			[]string{"2024-01-01T10:10:30Z", "2024-01-01T10:15:30Z"}},
		{"every minute from creation fires at once", every(Minute, 1, nil), "2023-12-31T23:59:59Z",
			[]string{"2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"}},
		{"every 2 hours counts elapsed time through a jump", withStart(Definition{Type: TypeRecurrence, Frequency: Hour, Interval: 2, TimeZone: "Eastern Standard Time"}, "2024-03-10T00:00:00"),
			"2024-03-10T00:00:00-05:00", []string{"2024-03-10T03:00:00-04:00", "2024-03-10T05:00:00-04:00"}},
		{"every day at the start's time through a jump",
			withStart(Definition{Type: TypeRecurrence, Frequency: Day, Interval: 1, TimeZone: "Eastern Standard Time"}, "2024-03-09T02:30:00"),
			"2024-03-09T02:30:00-05:00", []string{"2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"}},
		{"every week on the start's day", withStart(every(Week, 1, nil), "2024-01-02T09:00:00"), "2024-01-02T09:00:00Z",
			[]string{"2024-01-09T09:00:00Z", "2024-01-16T09:00:00Z"}},
		{"every month skips months without the day", withStart(every(Month, 1, nil), "2024-01-31T08:00:00"), "2024-01-31T08:00:00Z",
			[]string{"2024-03-31T08:00:00Z", "2024-05-31T08:00:00Z"}},
		{"the azureml-examples recurrence",
			Definition{Type: TypeRecurrence, Frequency: Day, Interval: 1, TimeZone: "Pacific Standard Time",
				StartTime: "2022-07-10T10:00:00", Schedule: &Pattern{Hours: []int{4, 5, 10, 11, 12}, Minutes: []int{0, 30}}},
			"2024-07-10T12:45:00-07:00", []string{"2024-07-11T04:00:00-07:00", "2024-07-11T04:30:00-07:00", "2024-07-11T05:00:00-07:00"}},
		{"every 2 days at 9:00", withStart(every(Day, 2, &Pattern{Hours: []int{9}, Minutes: []int{0}}), "2024-01-01"),
			"2024-01-01T09:00:00Z", []string{"2024-01-03T09:00:00Z", "2024-01-05T09:00:00Z"}},
		{"every 2 weeks on monday and friday",
			withStart(every(Week, 2, &Pattern{Hours: []int{10}, Minutes: []int{0}, WeekDays: []string{"monday", "Friday"}}), "2024-01-03"),
			"2024-01-03T00:00:00Z", []string{"2024-01-05T10:00:00Z", "2024-01-15T10:00:00Z", "2024-01-19T10:00:00Z", "2024-01-29T10:00:00Z"}},
		{"every month on the 31st", withStart(every(Month, 1, &Pattern{Hours: []int{0}, Minutes: []int{0}, MonthDays: []int{31}}), "2024-01-01"),
			"2024-01-01T00:00:00Z", []string{"2024-01-31T00:00:00Z", "2024-03-31T00:00:00Z"}},
		{"every 3 months on sundays", withStart(every(Month, 3, &Pattern{Hours: []int{6}, Minutes: []int{15}, WeekDays: []string{"sunday"}}), "2024-01-20"),
			"2024-01-25T00:00:00Z", []string{"2024-01-28T06:15:00Z", "2024-04-07T06:15:00Z"}},
		{"the last day of the month and the first", withStart(every(Month, 1, &Pattern{Hours: []int{6}, Minutes: []int{0}, MonthDays: []int{1, -1}}), "2024-01-15"),
			"2024-01-15T00:00:00Z", []string{"2024-01-31T06:00:00Z", "2024-02-01T06:00:00Z", "2024-02-29T06:00:00Z", "2024-03-01T06:00:00Z"}},
		{"first and last friday of the month", withStart(every(Month, 1, &Pattern{Hours: []int{5}, Minutes: []int{15},
			MonthlyOccurrences: []Occurrence{{Day: "Friday", Occurrence: 1}, {Day: "friday", Occurrence: -1}}}), "2024-03-01T06:00:00Z"),
			"2024-03-01T06:00:00Z", []string{"2024-03-29T05:15:00Z", "2024-04-05T05:15:00Z", "2024-04-26T05:15:00Z"}},
		{"fifth friday only where there is one", withStart(every(Month, 1, &Pattern{Hours: []int{0}, Minutes: []int{0},
			MonthlyOccurrences: []Occurrence{{Day: "friday", Occurrence: 5}}}), "2024-01-01"),
			"2024-01-01T00:00:00Z", []string{"2024-03-29T00:00:00Z", "2024-05-31T00:00:00Z"}},
		{"pattern before the start does not fire", withStart(every(Day, 1, &Pattern{Hours: []int{9, 18}, Minutes: []int{0}}), "2024-01-01T12:00:00Z"),
			"2023-12-01T00:00:00Z", []string{"2024-01-01T18:00:00Z", "2024-01-02T09:00:00Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, err := Compile(tc.def, mustTime(t, since))
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			after := mustTime(t, tc.after)
			for i, w := range tc.want {
				got, ok := tr.Next(after)
				if w == "" {
					if ok {
						t.Fatalf("firing %d: got %s, want none", i, got)
					}
					return
				}
				want := mustTime(t, w)
				if !ok || !got.Equal(want) {
					t.Fatalf("firing %d after %s: got %s (%v), want %s", i, after, got.In(tr.Location()), ok, want.In(tr.Location()))
				}
				after = got
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		def   Definition
		field string
		msg   string
	}{
		{"no type", Definition{Expression: "* * * * *"}, "type", "required"},
		{"unknown type", Definition{Type: "hourly"}, "type", `unknown trigger type "hourly"`},
		{"no expression", Definition{Type: TypeCron}, "expression", "required"},
		{"six fields", Definition{Type: TypeCron, Expression: "0 0 * * * *"}, "expression", "6 fields"},
		{"time zone in the expression", Definition{Type: TypeCron, Expression: "TZ=UTC 0 * * * *"}, "expression", "time_zone"},
		{"bad minute", Definition{Type: TypeCron, Expression: "61 * * * *"}, "expression", "61"},
		{"never fires", Definition{Type: TypeCron, Expression: "0 0 30 2 *"}, "expression", "never fires"},
		{"unknown time zone", Definition{Type: TypeCron, Expression: "* * * * *", TimeZone: "Mars Standard Time"}, "time_zone", `unknown time zone "Mars Standard Time"`},
		{"IANA time zone", Definition{Type: TypeCron, Expression: "* * * * *", TimeZone: "America/Los_Angeles"}, "time_zone", `write "Pacific Standard Time"`},
		{"bad start", Definition{Type: TypeCron, Expression: "* * * * *", StartTime: "tomorrow"}, "start_time", "ISO 8601"},
		{"end before start", Definition{Type: TypeCron, Expression: "* * * * *", StartTime: "2024-01-02", EndTime: "2024-01-01"}, "end_time", "not after"},
		{"cron with frequency", Definition{Type: TypeCron, Expression: "* * * * *", Frequency: Day}, "type", "takes expression"},
		{"recurrence with expression", Definition{Type: TypeRecurrence, Frequency: Day, Interval: 1, Expression: "* * * * *"}, "expression", "not expression"},
		{"no frequency", Definition{Type: TypeRecurrence, Interval: 1}, "frequency", "required"},
		{"unknown frequency", Definition{Type: TypeRecurrence, Frequency: "year", Interval: 1}, "frequency", `"year"`},
		{"no interval", Definition{Type: TypeRecurrence, Frequency: Day}, "interval", "from 1 to 500"},
		{"interval too big", Definition{Type: TypeRecurrence, Frequency: Month, Interval: 17}, "interval", "from 1 to 16"},
		{"schedule on minutes", Definition{Type: TypeRecurrence, Frequency: Minute, Interval: 1, Schedule: &Pattern{Hours: []int{1}, Minutes: []int{1}}}, "schedule", "takes no schedule"},
		{"no hours", Definition{Type: TypeRecurrence, Frequency: Day, Interval: 1, Schedule: &Pattern{Minutes: []int{0}}}, "schedule.hours", "required"},
		{"hour 24", Definition{Type: TypeRecurrence, Frequency: Day, Interval: 1, Schedule: &Pattern{Hours: []int{24}, Minutes: []int{0}}}, "schedule.hours", "24 is out of range"},
		{"minute -1", Definition{Type: TypeRecurrence, Frequency: Day, Interval: 1, Schedule: &Pattern{Hours: []int{1}, Minutes: []int{-1}}}, "schedule.minutes", "out of range"},
		{"week days by day", Definition{Type: TypeRecurrence, Frequency: Day, Interval: 1, Schedule: &Pattern{Hours: []int{1}, Minutes: []int{0}, WeekDays: []string{"monday"}}}, "schedule.week_days", "week or month"},
		{"unknown week day", Definition{Type: TypeRecurrence, Frequency: Week, Interval: 1, Schedule: &Pattern{Hours: []int{1}, Minutes: []int{0}, WeekDays: []string{"funday"}}}, "schedule.week_days", `"funday"`},
		{"month day zero", Definition{Type: TypeRecurrence, Frequency: Month, Interval: 1, Schedule: &Pattern{Hours: []int{1}, Minutes: []int{0}, MonthDays: []int{0}}}, "schedule.month_days", "-31"},
		{"sixth friday", Definition{Type: TypeRecurrence, Frequency: Month, Interval: 1, Schedule: &Pattern{Hours: []int{1}, Minutes: []int{0}, MonthlyOccurrences: []Occurrence{{Day: "friday", Occurrence: 6}}}}, "schedule.monthly_occurrences", "1 to 5"},
		{"month days by week", Definition{Type: TypeRecurrence, Frequency: Week, Interval: 1, Schedule: &Pattern{Hours: []int{1}, Minutes: []int{0}, MonthDays: []int{1}}}, "schedule.month_days", "month recurrence"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tc.def, mustTime(t, since))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FieldError", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Fatalf("got %q: %q, want %q: ...%s...", fe.Field, fe.Msg, tc.field, tc.msg)
			}
		})
	}
}

func TestLoadZone(t *testing.T) {
	t.Parallel()
	for _, name := range ZoneNames() {
		if _, err := LoadZone(name); err != nil {
			t.Errorf("LoadZone(%q): %v", name, err)
		}
	}
	loc, err := LoadZone("pacific standard time")
	if err != nil || loc.String() != "America/Los_Angeles" {
		t.Errorf("a name in another case: %v, %v", loc, err)
	}
	if loc, err := LoadZone(""); err != nil || loc != time.UTC {
		t.Errorf("no name: %v, %v; want UTC", loc, err)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	ny, err := LoadZone("Eastern Standard Time")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"2024-07-10T10:00:00", "2024-07-10T10:00:00-04:00"},
		{"2024-07-10T10:00", "2024-07-10T10:00:00-04:00"},
		{"2024-07-10", "2024-07-10T00:00:00-04:00"},
		{"2024-07-10 10:00:00", "2024-07-10T10:00:00-04:00"},
		{"2024-07-10T10:00:00Z", "2024-07-10T10:00:00Z"},
		{"2024-07-10T10:00:00+02:00", "2024-07-10T08:00:00Z"},
		{"2024-03-10T02:30:00", "2024-03-10T03:30:00-04:00"}, // skipped by the clock
		{"2024-11-03T01:30:00", "2024-11-03T01:30:00-04:00"}, // shown twice: the first
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, ny)
		if err != nil || !got.Equal(mustTime(t, tc.want)) {
			t.Errorf("ParseTime(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "10:00", "1969-12-31", "2024-13-01", "2024-07-10T25:00:00"} {
		if _, err := ParseTime(bad, ny); err == nil {
			t.Errorf("ParseTime(%q): no error", bad)
		}
	}
}
