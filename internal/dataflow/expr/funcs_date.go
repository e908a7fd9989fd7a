package expr

import (
	"math"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/trigger"
)

// Dates are strings in ADF: each date function parses its timestamp
// argument, works on it, and writes the result with the optional format
// (.NET's, "o" by default: 2018-03-15T13:00:00.0000000Z).

// stampArg parses argument i as a timestamp.
func stampArg(a []any, i int) (stamp, error) {
	s, err := stringArg(a, i)
	if err != nil {
		return stamp{}, err
	}
	return parseStamp(s)
}

// formatArg is the optional format at argument i ("" when absent).
func formatArg(a []any, i int) (string, error) {
	if len(a) <= i || a[i] == nil {
		return "", nil
	}
	return stringArg(a, i)
}

// written formats st with the format at argument i.
func written(st stamp, a []any, i int) (any, error) {
	f, err := formatArg(a, i)
	if err != nil {
		return nil, err
	}
	return formatStamp(st, f)
}

// shifter makes addDays(), addHours() ...: timestamp, amount (a float is
// allowed, as .NET's AddDays(double) takes one), format?.
func shifter(unit time.Duration) func([]any) (any, error) {
	return func(a []any) (any, error) {
		st, err := stampArg(a, 0)
		if err != nil {
			return nil, err
		}
		n, ok := numberOf(a[1])
		if !ok {
			return nil, errorf("expects a number for argument 2, got a value of type '%s'", typeName(a[1]))
		}
		d := n * float64(unit)
		if math.Abs(d) > float64(math.MaxInt64) {
			return nil, errorf("the result is outside the range of dates")
		}
		st.t = st.t.Add(time.Duration(math.Round(d/100) * 100))
		if err := inRange(st.t); err != nil {
			return nil, err
		}
		return written(st, a, 2)
	}
}

// inRange checks that t is a date .NET can hold.
func inRange(t time.Time) error {
	if t.Year() < 1 || t.Year() > 9999 {
		return errorf("the result is outside the range of dates (years 1 to 9999)")
	}
	return nil
}

// addUnits adds n of a unit ("Second", "Minute", "Hour", "Day", "Week",
// "Month", "Year", any case) to t.
func addUnits(t time.Time, n int64, unit string) (time.Time, error) {
	if n > 1e7 || n < -1e7 {
		return t, errorf("the interval %d is too large", n)
	}
	var r time.Time
	switch strings.TrimSuffix(strings.ToLower(unit), "s") {
	case "second":
		r = t.Add(time.Duration(n) * time.Second)
	case "minute":
		r = t.Add(time.Duration(n) * time.Minute)
	case "hour":
		r = t.Add(time.Duration(n) * time.Hour)
	case "day":
		r = t.AddDate(0, 0, int(n))
	case "week":
		r = t.AddDate(0, 0, 7*int(n))
	case "month":
		r = addMonths(t, int(n))
	case "year":
		r = addMonths(t, 12*int(n))
	default:
		return t, errorf("unknown time unit '%s': expected \"Second\", \"Minute\", \"Hour\", \"Day\", \"Week\", \"Month\" or \"Year\"", unit)
	}
	return r, inRange(r)
}

// unitShifter makes addToTime() (sign 1) and subtractFromTime() (sign -1):
// timestamp, interval, unit, format?.
func unitShifter(sign int64) func([]any) (any, error) {
	return func(a []any) (any, error) {
		st, err := stampArg(a, 0)
		if err != nil {
			return nil, err
		}
		n, err := intArg(a, 1)
		if err != nil {
			return nil, err
		}
		unit, err := stringArg(a, 2)
		if err != nil {
			return nil, err
		}
		if st.t, err = addUnits(st.t, sign*n, unit); err != nil {
			return nil, err
		}
		return written(st, a, 3)
	}
}

// relative makes getFutureTime() (sign 1) and getPastTime() (sign -1):
// now plus or minus interval units, format?.
func relative(sign int64) func(*evaluator, []any) (any, error) {
	return func(ev *evaluator, a []any) (any, error) {
		n, err := intArg(a, 0)
		if err != nil {
			return nil, err
		}
		unit, err := stringArg(a, 1)
		if err != nil {
			return nil, err
		}
		t, err := addUnits(truncTicks(ev.now()), sign*n, unit)
		if err != nil {
			return nil, err
		}
		return written(stamp{t: t, utc: true}, a, 2)
	}
}

// truncTicks drops what .NET's 100 ns ticks cannot hold.
func truncTicks(t time.Time) time.Time { return t.Truncate(100 * time.Nanosecond) }

// zoneArg loads the Windows time zone named by argument i ("Pacific
// Standard Time"), as ADF names them.
func zoneArg(a []any, i int) (*time.Location, error) {
	name, err := stringArg(a, i)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errorf("expects a time zone name for argument %d, such as 'Pacific Standard Time'", i+1)
	}
	loc, err := trigger.LoadZone(name)
	if err != nil {
		return nil, errorf("%v", err)
	}
	return loc, nil
}

// wallIn reads the wall clock of t as a time in loc and returns the UTC
// instant.
func wallIn(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, t.Nanosecond(), loc).UTC()
}

// wallOf is the wall clock in loc of the instant t, held in UTC.
func wallOf(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	y, m, d := l.Date()
	h, mi, s := l.Clock()
	return time.Date(y, m, d, h, mi, s, l.Nanosecond(), time.UTC)
}

// convert is convertTimeZone(): the wall clock of st in src becomes the
// wall clock in dst, a timestamp of no stated zone unless dst is UTC.
func convert(st stamp, src, dst *time.Location) stamp {
	instant := wallIn(st.t, src)
	return stamp{t: wallOf(instant, dst), utc: dst == time.UTC || dst.String() == "UTC"}
}

// startOf makes startOfDay(), startOfHour() and startOfMonth().
func startOf(cut func(t time.Time) time.Time) func([]any) (any, error) {
	return func(a []any) (any, error) {
		st, err := stampArg(a, 0)
		if err != nil {
			return nil, err
		}
		st.t = cut(st.t)
		return written(st, a, 1)
	}
}

// part makes dayOfMonth(), dayOfWeek() (Sunday is 0) and dayOfYear().
func part(get func(t time.Time) int) func([]any) (any, error) {
	return func(a []any) (any, error) {
		st, err := stampArg(a, 0)
		if err != nil {
			return nil, err
		}
		return int64(get(st.t)), nil
	}
}

func dateFunctions() []*builtin {
	return []*builtin{
		{name: "addDays", min: 2, max: 3, impl: pure(shifter(24 * time.Hour))},
		{name: "addHours", min: 2, max: 3, impl: pure(shifter(time.Hour))},
		{name: "addMinutes", min: 2, max: 3, impl: pure(shifter(time.Minute))},
		{name: "addSeconds", min: 2, max: 3, impl: pure(shifter(time.Second))},
		{name: "addToTime", min: 3, max: 4, impl: pure(unitShifter(1))},
		{name: "subtractFromTime", min: 3, max: 4, impl: pure(unitShifter(-1))},
		{name: "getFutureTime", min: 2, max: 3, impl: strict(relative(1))},
		{name: "getPastTime", min: 2, max: 3, impl: strict(relative(-1))},
		{name: "convertFromUtc", min: 2, max: 3, impl: pure(func(a []any) (any, error) {
			st, err := stampArg(a, 0)
			if err != nil {
				return nil, err
			}
			dst, err := zoneArg(a, 1)
			if err != nil {
				return nil, err
			}
			return written(convert(st, time.UTC, dst), a, 2)
		})},
		{name: "convertToUtc", min: 2, max: 3, impl: pure(func(a []any) (any, error) {
			st, err := stampArg(a, 0)
			if err != nil {
				return nil, err
			}
			src, err := zoneArg(a, 1)
			if err != nil {
				return nil, err
			}
			return written(convert(st, src, time.UTC), a, 2)
		})},
		{name: "convertTimeZone", min: 3, max: 4, impl: pure(func(a []any) (any, error) {
			st, err := stampArg(a, 0)
			if err != nil {
				return nil, err
			}
			src, err := zoneArg(a, 1)
			if err != nil {
				return nil, err
			}
			dst, err := zoneArg(a, 2)
			if err != nil {
				return nil, err
			}
			return written(convert(st, src, dst), a, 3)
		})},
		{name: "dayOfMonth", min: 1, max: 1, impl: pure(part(func(t time.Time) int { return t.Day() }))},
		{name: "dayOfWeek", min: 1, max: 1, impl: pure(part(func(t time.Time) int { return int(t.Weekday()) }))},
		{name: "dayOfYear", min: 1, max: 1, impl: pure(part(func(t time.Time) int { return t.YearDay() }))},
		{name: "formatDateTime", min: 1, max: 2, impl: pure(func(a []any) (any, error) {
			st, err := stampArg(a, 0)
			if err != nil {
				return nil, err
			}
			return written(st, a, 1)
		})},
		{name: "startOfDay", min: 1, max: 2, impl: pure(startOf(func(t time.Time) time.Time {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}))},
		{name: "startOfHour", min: 1, max: 2, impl: pure(startOf(func(t time.Time) time.Time { return t.Truncate(time.Hour) }))},
		{name: "startOfMonth", min: 1, max: 2, impl: pure(startOf(func(t time.Time) time.Time {
			return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		}))},
		{name: "ticks", min: 1, max: 1, impl: pure(func(a []any) (any, error) {
			st, err := stampArg(a, 0)
			if err != nil {
				return nil, err
			}
			return ticks(st.t), nil
		})},
		{name: "utcNow", min: 0, max: 1, impl: strict(func(ev *evaluator, a []any) (any, error) {
			return written(stamp{t: truncTicks(ev.now()), utc: true}, a, 0)
		})},
	}
}
