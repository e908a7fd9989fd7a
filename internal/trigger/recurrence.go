package trigger

import (
	"sort"
	"strings"
	"time"
)

// maxPatternDays bounds the days a recurrence search walks: the 31st
// every 16 months can be years away.
const maxPatternDays = 366 * 20

// weekDayNames are the week_days values, as time.Weekday numbers.
var weekDayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// recurrence is a compiled recurrence trigger.
type recurrence struct {
	freq     string
	interval int
	anchor   time.Time // the start time
	day      date      // the start's day in the trigger's zone
	h, m, s  int       // the start's wall-clock time

	pattern        bool
	hours, minutes []int
	weekDays       uint8  // bit per time.Weekday
	byWeekDays     bool   // week_days given
	monthDays      uint32 // bit per day of the month
	lastDays       uint32 // bit k: the k-th day from the month's end
	occurrences    []occurrence
}

// occurrence is a compiled Occurrence.
type occurrence struct {
	day time.Weekday
	n   int // 1..5 from the start, -1..-5 from the end, 0 every
}

// compileRecurrence checks a recurrence whose start time is start (in the
// trigger's zone). Problems are *FieldError.
func compileRecurrence(d Definition, start time.Time) (*recurrence, error) {
	r := &recurrence{freq: strings.ToLower(d.Frequency), interval: d.Interval, anchor: start, day: dateOf(start),
		h: start.Hour(), m: start.Minute(), s: start.Second()}
	limit, ok := maxInterval[r.freq]
	switch {
	case d.Frequency == "":
		return nil, fieldErr("frequency", "required: minute, hour, day, week or month")
	case !ok:
		return nil, fieldErr("frequency", "unknown frequency %q; expected minute, hour, day, week or month", d.Frequency)
	case d.Interval < 1 || d.Interval > limit:
		return nil, fieldErr("interval", "%d: expected a whole number of %ss from 1 to %d", d.Interval, r.freq, limit)
	}
	r.weekDays = 1 << uint(start.Weekday())
	if d.Schedule == nil {
		return r, nil
	}
	if err := r.compilePattern(d.Schedule); err != nil {
		return nil, err
	}
	return r, nil
}

// compilePattern checks and keeps a recurrence's schedule.
func (r *recurrence) compilePattern(p *Pattern) error {
	if r.freq == Minute || r.freq == Hour {
		return fieldErr("schedule", "a %s recurrence takes no schedule; hours, minutes and week_days narrow a day, week or month recurrence", r.freq)
	}
	r.pattern = true
	var err error
	if r.hours, err = intList("schedule.hours", p.Hours, 0, 23); err != nil {
		return err
	}
	if r.minutes, err = intList("schedule.minutes", p.Minutes, 0, 59); err != nil {
		return err
	}
	if len(p.WeekDays) > 0 {
		if r.freq == Day {
			return fieldErr("schedule.week_days", "a day recurrence fires every day it falls on; week_days narrow a week or month recurrence")
		}
		r.weekDays, r.byWeekDays = 0, true
		for _, name := range p.WeekDays {
			wd, ok := weekDayNames[strings.ToLower(name)]
			if !ok {
				return fieldErr("schedule.week_days", "unknown day %q; expected monday, tuesday, wednesday, thursday, friday, saturday or sunday", name)
			}
			r.weekDays |= 1 << uint(wd)
		}
	}
	if len(p.MonthDays) > 0 {
		switch {
		case r.freq != Month:
			return fieldErr("schedule.month_days", "month_days narrow a month recurrence, not a %s one", r.freq)
		case len(p.WeekDays) > 0:
			return fieldErr("schedule.month_days", "give month_days or week_days, not both")
		}
		if err := r.compileMonthDays(p.MonthDays); err != nil {
			return err
		}
	}
	if len(p.MonthlyOccurrences) > 0 {
		switch {
		case r.freq != Month:
			return fieldErr("schedule.monthly_occurrences", "monthly_occurrences narrow a month recurrence, not a %s one", r.freq)
		case len(p.WeekDays) > 0:
			return fieldErr("schedule.monthly_occurrences", "give monthly_occurrences or week_days, not both")
		}
		for _, o := range p.MonthlyOccurrences {
			wd, ok := weekDayNames[strings.ToLower(o.Day)]
			switch {
			case !ok:
				return fieldErr("schedule.monthly_occurrences", "unknown day %q; expected monday, tuesday, wednesday, thursday, friday, saturday or sunday", o.Day)
			case o.Occurrence < -5 || o.Occurrence > 5:
				return fieldErr("schedule.monthly_occurrences", "occurrence %d is out of range; expected 1 to 5, or -1 to -5 counting from the month's end", o.Occurrence)
			}
			r.occurrences = append(r.occurrences, occurrence{day: wd, n: o.Occurrence})
		}
	}
	return nil
}

// compileMonthDays keeps month days: 1 ... 31, or -1 ... -31 from the
// month's end.
func (r *recurrence) compileMonthDays(days []int) error {
	for _, d := range days {
		switch {
		case d >= 1 && d <= 31:
			r.monthDays |= 1 << uint(d)
		case d <= -1 && d >= -31:
			r.lastDays |= 1 << uint(-d)
		default:
			return fieldErr("schedule.month_days", "%d is out of range; expected 1 to 31, or -1 (the last day) to -31", d)
		}
	}
	return nil
}

// intList checks that list is not empty and within lo..hi, and returns it
// sorted without repeats.
func intList(field string, list []int, lo, hi int) ([]int, error) {
	if len(list) == 0 {
		return nil, fieldErr(field, "required: a number or a list of numbers from %d to %d", lo, hi)
	}
	seen := map[int]bool{}
	var out []int
	for _, v := range list {
		if v < lo || v > hi {
			return nil, fieldErr(field, "%d is out of range; expected %d to %d", v, lo, hi)
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Ints(out)
	return out, nil
}

// next returns the recurrence's first time after after.
func (r *recurrence) next(after time.Time, loc *time.Location) (time.Time, bool) {
	if !after.Before(r.anchor) && !r.pattern {
		switch r.freq {
		case Minute, Hour:
			return r.nextElapsed(after), true
		case Day, Week:
			return r.nextDays(after, loc), true
		case Month:
			return r.nextMonth(after, loc)
		}
	}
	if !r.pattern {
		return r.anchor, true
	}
	return r.nextPattern(after, loc)
}

// nextElapsed steps from the start by whole intervals of elapsed time.
func (r *recurrence) nextElapsed(after time.Time) time.Time {
	step := int64(r.interval) * 60
	if r.freq == Hour {
		step *= 60
	}
	k := (after.Unix()-r.anchor.Unix())/step + 1
	t := time.Unix(r.anchor.Unix()+k*step, int64(r.anchor.Nanosecond()))
	for !t.After(after) {
		t = t.Add(time.Duration(step) * time.Second)
	}
	return t
}

// at is the start's wall-clock time on day x.
func (r *recurrence) at(x date, loc *time.Location) time.Time {
	if x == r.day {
		return r.anchor
	}
	return wallInstants(loc, x, r.h, r.m, r.s, false)[0].Add(time.Duration(r.anchor.Nanosecond()))
}

// nextDays steps from the start's day by whole intervals of days or weeks,
// at the start's wall-clock time.
func (r *recurrence) nextDays(after time.Time, loc *time.Location) time.Time {
	period := r.interval
	if r.freq == Week {
		period *= 7
	}
	k := (dateOf(after.In(loc)).days()-r.day.days())/period - 1
	if k < 0 {
		k = 0
	}
	for {
		if t := r.at(r.day.addDays(k*period), loc); t.After(after) {
			return t
		}
		k++
	}
}

// nextMonth steps from the start's month by whole intervals of months, on
// the start's day of the month and wall-clock time; a month without that
// day (the 31st in April) has no firing.
func (r *recurrence) nextMonth(after time.Time, loc *time.Location) (time.Time, bool) {
	k := (dateOf(after.In(loc)).months()-r.day.months())/r.interval - 1
	if k < 0 {
		k = 0
	}
	for end := k + 12*8; k <= end; k++ {
		first := time.Date(r.day.y, r.day.m+time.Month(k*r.interval), 1, 12, 0, 0, 0, time.UTC)
		x := date{first.Year(), first.Month(), r.day.d}
		if x.addDays(0) != x { // no such day in that month
			continue
		}
		if t := r.at(x, loc); t.After(after) {
			return t, true
		}
	}
	return time.Time{}, false
}

// dayMatches reports whether a patterned recurrence fires on day x.
func (r *recurrence) dayMatches(x date) bool {
	switch r.freq {
	case Day:
		n := x.days() - r.day.days()
		return n >= 0 && n%r.interval == 0
	case Week:
		n := (x.monday().days() - r.day.monday().days()) / 7
		return n >= 0 && n%r.interval == 0 && r.weekDays&(1<<uint(x.weekday())) != 0
	}
	n := x.months() - r.day.months()
	if n < 0 || n%r.interval != 0 {
		return false
	}
	switch {
	case r.monthDays != 0 || r.lastDays != 0 || len(r.occurrences) > 0:
		return r.monthDayMatches(x)
	case r.byWeekDays:
		return r.weekDays&(1<<uint(x.weekday())) != 0
	}
	return x.d == r.day.d
}

// nextPattern returns the first of a patterned recurrence's times after
// after.
func (r *recurrence) nextPattern(after time.Time, loc *time.Location) (time.Time, bool) {
	first := dateOf(after.In(loc)).addDays(-1)
	if first.days() < r.day.days() {
		first = r.day
	}
	for i := 0; i <= maxPatternDays; i++ {
		x := first.addDays(i)
		if !r.dayMatches(x) || !mayEndAfter(x, after, loc) {
			continue
		}
		best := r.earliestOn(x, after, time.Time{}, loc)
		if best.IsZero() {
			continue
		}
		if y := x.addDays(1); r.dayMatches(y) {
			best = r.earliestOn(y, after, best, loc)
		}
		return best, true
	}
	return time.Time{}, false
}

// earliestOn returns the earliest of best and r's times on day x that are
// after after.
func (r *recurrence) earliestOn(x date, after, best time.Time, loc *time.Location) time.Time {
	for _, h := range r.hours {
		if !hourMayMatter(x, h, after, best, loc) {
			continue
		}
		for _, m := range r.minutes {
			best = earliestAfter(wallInstants(loc, x, h, m, 0, false), after, best)
		}
	}
	return best
}

// monthDayMatches reports whether day x is one of the month days or
// monthly occurrences (either kind is enough).
func (r *recurrence) monthDayMatches(x date) bool {
	last := date{x.y, x.m + 1, 1}.addDays(-1).d // days in x's month
	fromEnd := last - x.d + 1
	if r.monthDays&(1<<uint(x.d)) != 0 || r.lastDays&(1<<uint(fromEnd)) != 0 {
		return true
	}
	wd := x.weekday()
	for _, o := range r.occurrences {
		if o.day == wd && (o.n == 0 || o.n == (x.d-1)/7+1 || -o.n == (fromEnd-1)/7+1) {
			return true
		}
	}
	return false
}
