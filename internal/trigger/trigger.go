// Package trigger computes when an Azure ML schedule fires: a cron
// expression or a recurrence (every N minutes, hours, days, weeks or
// months, optionally at given hours and minutes on given days), in a time
// zone named the Windows way Azure ML names it ("Pacific Standard Time"),
// from a start time to an optional end time.
//
// trigger only computes times. It does not fire anything (package schedule
// does), read YAML (package spec does) or keep state.
//
// # Wall-clock times and daylight saving
//
// Cron expressions and recurrences by day, week or month name times on the
// wall clock of the time zone. Where daylight saving time moves that clock:
//   - a time the clock skips (02:30 when clocks spring from 02:00 to 03:00)
//     fires once, when the clock has passed it, as late as the jump is long
//     (03:30);
//   - a time the clock shows twice (01:30 when clocks fall back from 02:00
//     to 01:00) fires once, the first time, except for a cron expression
//     whose hour field is "*", which fires at both, so that "every 15
//     minutes" keeps firing every 15 minutes through the repeated hour.
//
// Recurrences by minute or hour count elapsed time from the start time and
// are not moved by daylight saving time.
package trigger

import (
	"fmt"
	"time"
)

// Trigger types.
const (
	TypeCron       = "cron"
	TypeRecurrence = "recurrence"
)

// Recurrence frequencies.
const (
	Minute = "minute"
	Hour   = "hour"
	Day    = "day"
	Week   = "week"
	Month  = "month"
)

// maxInterval bounds a recurrence's interval per frequency. These are the
// limits of the Azure Logic Apps recurrence that runs Azure ML's schedules;
// they also keep interval arithmetic far from overflow.
var maxInterval = map[string]int{Minute: 72000, Hour: 12000, Day: 500, Week: 71, Month: 16}

// Definition is a schedule's trigger as Azure ML's schedule YAML writes it
// and as it travels over the API.
type Definition struct {
	Type string `json:"type"` // cron or recurrence
	// Expression is a cron trigger's five fields: minute hour day-of-month
	// month day-of-week.
	Expression string `json:"expression,omitempty"`
	// Frequency and Interval make a recurrence: every Interval Frequency.
	Frequency string `json:"frequency,omitempty"`
	Interval  int    `json:"interval,omitempty"`
	// Schedule narrows a day, week or month recurrence to given times.
	Schedule *Pattern `json:"schedule,omitempty"`
	// StartTime and EndTime bound the firings: "2022-07-10T10:00:00" is on
	// the wall clock of TimeZone, "2022-07-10T10:00:00-07:00" or "...Z" an
	// instant; a date alone is its midnight. No start time means the time
	// the schedule was created; no end time, never.
	StartTime string `json:"start_time,omitempty"`
	EndTime   string `json:"end_time,omitempty"`
	// TimeZone is a Windows time zone name; "" is UTC.
	TimeZone string `json:"time_zone,omitempty"`
}

// Pattern is a recurrence's schedule: the hours and minutes of a firing day
// and, by week or month, its days.
type Pattern struct {
	Hours    []int    `json:"hours,omitempty"`
	Minutes  []int    `json:"minutes,omitempty"`
	WeekDays []string `json:"week_days,omitempty"` // monday ... sunday
	// MonthDays are days of the month, by month only: 1 ... 31, or -1
	// (the last day) ... -31 counting from the month's end (Data
	// Factory's form).
	MonthDays []int `json:"month_days,omitempty"`
	// MonthlyOccurrences are weekdays of the month, by month only: the
	// first Friday, the last Sunday (Data Factory's monthlyOccurrences).
	MonthlyOccurrences []Occurrence `json:"monthly_occurrences,omitempty"`
}

// Occurrence is a weekday of the month: Day ("friday") and which of them,
// 1 to 5 from the month's start or -1 to -5 from its end; 0 is every Day
// of the month.
type Occurrence struct {
	Day        string `json:"day"`
	Occurrence int    `json:"occurrence,omitempty"`
}

// FieldError is a problem with one field of a Definition, named the way the
// YAML names it ("expression", "schedule.hours").
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Trigger is a compiled Definition. Its methods may be called concurrently.
type Trigger struct {
	loc   *time.Location
	start time.Time // no firing before
	end   time.Time // no firing after; zero: none
	cron  *cronSpec // a cron trigger
	rec   *recurrence
}

// Compile checks d and returns its trigger. since is the start time when d
// has none: the time the schedule was created (or its trigger last
// changed), which the caller keeps so that a recompiled trigger fires at
// the same times. Problems are *FieldError.
func Compile(d Definition, since time.Time) (*Trigger, error) {
	loc, err := LoadZone(d.TimeZone)
	if err != nil {
		return nil, &FieldError{Field: "time_zone", Msg: err.Error()}
	}
	t := &Trigger{loc: loc, start: since}
	if d.StartTime != "" {
		if t.start, err = ParseTime(d.StartTime, loc); err != nil {
			return nil, fieldErr("start_time", "%v", err)
		}
	}
	if d.EndTime != "" {
		if t.end, err = ParseTime(d.EndTime, loc); err != nil {
			return nil, fieldErr("end_time", "%v", err)
		}
		if !t.end.After(t.start) {
			return nil, fieldErr("end_time", "%s is not after the start time %s", d.EndTime, t.start.In(loc).Format(time.RFC3339))
		}
	}
	switch d.Type {
	case TypeCron:
		if d.Frequency != "" || d.Interval != 0 || d.Schedule != nil {
			return nil, fieldErr("type", "a cron trigger takes expression, not frequency, interval or schedule")
		}
		if t.cron, err = parseCron(d.Expression); err != nil {
			return nil, err
		}
	case TypeRecurrence:
		if d.Expression != "" {
			return nil, fieldErr("expression", "a recurrence trigger takes frequency, interval and schedule, not expression")
		}
		if t.rec, err = compileRecurrence(d, t.start.In(loc)); err != nil {
			return nil, err
		}
	case "":
		return nil, fieldErr("type", "required: cron or recurrence")
	default:
		return nil, fieldErr("type", "unknown trigger type %q; expected cron or recurrence", d.Type)
	}
	if _, ok := t.next(t.start.Add(-time.Nanosecond)); !ok {
		what := "expression"
		if t.rec != nil {
			what = "schedule"
		}
		return nil, fieldErr(what, "never fires: no date has the days it asks for")
	}
	return t, nil
}

// Location is the trigger's time zone.
func (t *Trigger) Location() *time.Location { return t.loc }

// Start is the first instant the trigger may fire at.
func (t *Trigger) Start() time.Time { return t.start }

// Next returns the trigger's first firing strictly after after, and false
// when it fires no more (its end time is passed).
func (t *Trigger) Next(after time.Time) (time.Time, bool) {
	if lo := t.start.Add(-time.Nanosecond); after.Before(lo) {
		after = lo
	}
	n, ok := t.next(after)
	if !ok || (!t.end.IsZero() && n.After(t.end)) {
		return time.Time{}, false
	}
	return n, true
}

// next is Next without the bounds.
func (t *Trigger) next(after time.Time) (time.Time, bool) {
	if t.cron != nil {
		return t.cron.next(after, t.loc)
	}
	return t.rec.next(after, t.loc)
}

// timeLayouts are the forms start_time and end_time take: with an offset
// (or Z) they name an instant, without one a wall-clock time.
var timeLayouts = []struct {
	layout string
	zoned  bool
}{
	{time.RFC3339Nano, true},
	{"2006-01-02T15:04Z07:00", true},
	{"2006-01-02T15:04:05.999999999", false},
	{"2006-01-02 15:04:05", false},
	{"2006-01-02T15:04", false},
	{"2006-01-02", false},
}

// ParseTime reads a start or end time: ISO 8601 with or without an offset,
// or a date; without an offset it is a wall-clock time in loc. Years are
// 1970 to 9999.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	for _, l := range timeLayouts {
		t, err := time.Parse(l.layout, s)
		if err != nil {
			continue
		}
		if !l.zoned {
			// A wall-clock time, resolved as firings are: a skipped time
			// moves forward, a repeated one is its first occurrence.
			t = wallInstants(loc, dateOf(t), t.Hour(), t.Minute(), t.Second(), false)[0].Add(time.Duration(t.Nanosecond()))
		}
		if t.Year() < 1970 || t.Year() > 9999 {
			return time.Time{}, fmt.Errorf("%q: the year must be 1970 to 9999", s)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time; expected ISO 8601 such as 2024-07-10T10:00:00 (in time_zone) or 2024-07-10T10:00:00-07:00", s)
}
