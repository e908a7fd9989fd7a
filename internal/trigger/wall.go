package trigger

import (
	"sort"
	"time"
)

// date is a day on the calendar, with no time zone.
type date struct {
	y int
	m time.Month
	d int
}

// dateOf is the calendar day of t in t's own location.
func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

// addDays returns the day n days after (n < 0: before) x.
func (x date) addDays(n int) date {
	return dateOf(time.Date(x.y, x.m, x.d+n, 12, 0, 0, 0, time.UTC))
}

// weekday is x's day of the week.
func (x date) weekday() time.Weekday {
	return time.Date(x.y, x.m, x.d, 12, 0, 0, 0, time.UTC).Weekday()
}

// days is the number of days from the epoch to x, for differences.
func (x date) days() int {
	return int(time.Date(x.y, x.m, x.d, 12, 0, 0, 0, time.UTC).Unix() / 86400)
}

// monday is the Monday of x's week: weeks run Monday to Sunday.
func (x date) monday() date {
	return x.addDays(-((int(x.weekday()) + 6) % 7))
}

// months is the number of months from year 0 to x's month, for differences.
func (x date) months() int { return x.y*12 + int(x.m) - 1 }

// probes are where, around a wall-clock time read as UTC, wallInstants
// looks up the zone's offsets: a day or two either side covers the
// offsets before and after any one transition near that time.
var probes = []time.Duration{-48 * time.Hour, -24 * time.Hour, 0, 24 * time.Hour, 48 * time.Hour}

// wallInstants returns the instants at which loc's clock shows h:m:s on day
// x, earliest first: one, or two where the clock shows it twice (both
// kept only when both is set). A time the clock skips resolves to the
// instant that is as far past the jump as the time was into it: 02:30 in
// a jump from 02:00 to 03:00 is 03:30.
func wallInstants(loc *time.Location, x date, h, m, s int, both bool) []time.Time {
	u := time.Date(x.y, x.m, x.d, h, m, s, 0, time.UTC)
	var offsets []int
	for _, p := range probes {
		_, off := u.Add(p).In(loc).Zone()
		if !containsInt(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	var exact []time.Time
	var skipped time.Time
	for _, off := range offsets {
		t := u.Add(-time.Duration(off) * time.Second)
		lt := t.In(loc)
		w := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), lt.Second(), 0, time.UTC)
		switch {
		case w.Equal(u):
			exact = append(exact, t)
		case w.After(u) && (skipped.IsZero() || t.Before(skipped)):
			skipped = t
		}
	}
	if len(exact) == 0 {
		if skipped.IsZero() { // cannot happen with real zones; keep the caller going
			skipped = time.Date(x.y, x.m, x.d, h, m, s, 0, loc)
		}
		return []time.Time{skipped}
	}
	sort.Slice(exact, func(i, j int) bool { return exact[i].Before(exact[j]) })
	exact = dedupeTimes(exact)
	if !both {
		exact = exact[:1]
	}
	return exact
}

func dedupeTimes(ts []time.Time) []time.Time {
	out := ts[:0]
	for i, t := range ts {
		if i == 0 || !t.Equal(ts[i-1]) {
			out = append(out, t)
		}
	}
	return out
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// earliestAfter returns the earliest of ts strictly after after.
func earliestAfter(ts []time.Time, after time.Time, best time.Time) time.Time {
	for _, t := range ts {
		if t.After(after) && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	return best
}
