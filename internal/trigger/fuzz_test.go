package trigger

import (
	"testing"
	"time"
)

// FuzzCompile feeds Compile arbitrary triggers: it must return a trigger
// or a *FieldError, never panic, and a trigger's firings must go forward,
// within its start and end.
func FuzzCompile(f *testing.F) {
	f.Add("cron", "0 * * * *", "", 0, "", "", "Pacific Standard Time", int64(0))
	f.Add("cron", "*/15 1-3 13 2,3 5", "", 0, "2024-03-01", "2030-01-01", "Eastern Standard Time", int64(1e9))
	f.Add("cron", "TZ=", "", 0, "", "", "", int64(0))
	f.Add("cron", "0 0 30 2 *", "", 0, "", "", "", int64(0))
	f.Add("recurrence", "", "day", 1, "2022-07-10T10:00:00", "", "Lord Howe Standard Time", int64(86400))
	f.Add("recurrence", "", "month", 16, "2024-01-31T23:59:59", "", "Chatham Islands Standard Time", int64(3e7))
	f.Add("recurrence", "", "minute", 72000, "9999-12-31T23:59:59Z", "", "UTC", int64(-1))
	f.Fuzz(func(t *testing.T, typ, expr, freq string, interval int, start, end, tz string, offset int64) {
		d := Definition{Type: typ, Expression: expr, Frequency: freq, Interval: interval, StartTime: start, EndTime: end, TimeZone: tz}
		if freq == "day" || freq == "week" || freq == "month" {
			if offset%3 == 0 {
				d.Schedule = &Pattern{Hours: []int{int(offset % 24)}, Minutes: []int{0, int(offset % 60)}}
			}
		}
		created := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
		tr, err := Compile(d, created)
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("error is %T, not a *FieldError: %v", err, err)
			}
			return
		}
		after := created.Add(time.Duration(offset%(1<<40)) * time.Second)
		for range 3 {
			n, ok := tr.Next(after)
			if !ok {
				return
			}
			if !n.After(after) || n.Before(tr.Start()) {
				t.Fatalf("Next(%s) = %s: not after it, or before the start %s", after, n, tr.Start())
			}
			after = n
		}
	})
}
