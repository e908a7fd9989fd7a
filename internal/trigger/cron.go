package trigger

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser reads the five standard fields Azure ML's cron triggers take
// (minute hour day-of-month month day-of-week): no seconds, no
// descriptors (@daily).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// starBit is the bit robfig/cron sets in a field written "*" or "?".
const starBit = 1 << 63

// maxCronDays bounds the days a cron search walks: a 29 February can be
// eight years away (2096 to 2104).
const maxCronDays = 366 * 9

// cronSpec is a parsed cron expression: one bit per allowed value.
type cronSpec struct {
	minute, hour, dom, month, dow uint64
	minutes, hours                []int // the allowed values, ascending
}

// parseCron parses a cron trigger's expression. Problems are *FieldError.
func parseCron(expr string) (*cronSpec, error) {
	fields := strings.Fields(expr)
	switch {
	case expr == "":
		return nil, fieldErr("expression", "required: five fields, minute hour day-of-month month day-of-week, e.g. \"0 * * * *\"")
	case strings.Contains(expr, "="):
		// robfig reads "TZ=..." itself; the time zone is time_zone's.
		return nil, fieldErr("expression", "%q: give the time zone in time_zone, not in the expression", expr)
	case len(fields) != 5:
		return nil, fieldErr("expression", "%q has %d fields; expected five: minute hour day-of-month month day-of-week", expr, len(fields))
	}
	for _, r := range expr {
		if !strings.ContainsRune("0123456789*,-/? \tabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", r) {
			return nil, fieldErr("expression", "%q: unexpected character %q", expr, r)
		}
	}
	s, err := safeParse(strings.Join(fields, " "))
	if err != nil {
		return nil, fieldErr("expression", "%q: %v", expr, err)
	}
	c := &cronSpec{minute: s.Minute, hour: s.Hour, dom: s.Dom, month: s.Month, dow: s.Dow}
	c.minutes, c.hours = setBits(s.Minute, 59), setBits(s.Hour, 23)
	return c, nil
}

// safeParse runs the cron parser, turning a panic inside it into an error
// so that no expression can crash the server.
func safeParse(expr string) (s *cron.SpecSchedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("invalid expression: %v", r)
		}
	}()
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("unsupported expression")
	}
	return spec, nil
}

// setBits lists the values 0..max whose bit is set in b.
func setBits(b uint64, max int) []int {
	var out []int
	b &^= starBit
	for b != 0 {
		v := bits.TrailingZeros64(b)
		if v > max {
			break
		}
		out = append(out, v)
		b &= b - 1
	}
	return out
}

// dayMatches reports whether day x matches the day-of-month, month and
// day-of-week fields. As in cron, when both day fields are restricted a
// day matching either one matches.
func (c *cronSpec) dayMatches(x date) bool {
	if c.month&(1<<uint(x.m)) == 0 {
		return false
	}
	domOK := c.dom&(1<<uint(x.d)) != 0
	dowOK := c.dow&(1<<uint(x.weekday())) != 0
	if c.dom&starBit != 0 || c.dow&starBit != 0 {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// next returns the first time after after at which the clock in loc
// matches c.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	first := dateOf(after.In(loc)).addDays(-1)
	for i := 0; i <= maxCronDays; i++ {
		x := first.addDays(i)
		if !c.dayMatches(x) || !mayEndAfter(x, after, loc) {
			continue
		}
		best := c.earliestOn(x, after, time.Time{}, loc)
		if best.IsZero() {
			continue
		}
		// A day's times can land past the next day's first ones only by
		// the length of a daylight saving jump; the next day settles it.
		if y := x.addDays(1); c.dayMatches(y) {
			best = c.earliestOn(y, after, best, loc)
		}
		return best, true
	}
	return time.Time{}, false
}

// earliestOn returns the earliest of best and c's times on day x that are
// after after.
func (c *cronSpec) earliestOn(x date, after, best time.Time, loc *time.Location) time.Time {
	both := c.hour&starBit != 0 // "*" hours keep firing through a repeated hour
	for _, h := range c.hours {
		if !hourMayMatter(x, h, after, best, loc) {
			continue
		}
		for _, m := range c.minutes {
			best = earliestAfter(wallInstants(loc, x, h, m, 0, both), after, best)
		}
	}
	return best
}

// hourMayMatter reports whether hour h of day x can hold a time after
// after and before best (zero: none yet): hours well before the one, or
// well after the other, cannot, whatever daylight saving does.
func hourMayMatter(x date, h int, after, best time.Time, loc *time.Location) bool {
	if !time.Date(x.y, x.m, x.d, h+1, 0, 0, 0, loc).Add(maxJump).After(after) {
		return false
	}
	return best.IsZero() || time.Date(x.y, x.m, x.d, h, 0, 0, 0, loc).Add(-maxJump).Before(best)
}

// maxJump bounds how far daylight saving moves a wall-clock time (two
// hours, for the double summer time some zones once kept), with a margin.
const maxJump = 3 * time.Hour

// mayEndAfter reports whether any wall-clock time of day x in loc can be
// after after: a day that ended well before it cannot.
func mayEndAfter(x date, after time.Time, loc *time.Location) bool {
	end := time.Date(x.y, x.m, x.d+1, 0, 0, 0, 0, loc).Add(maxJump)
	return end.After(after)
}
