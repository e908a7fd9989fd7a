package cicd

import (
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseCronNextIsUTC(t *testing.T) {
	t.Parallel()
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		cron string
		now  time.Time
		want string
	}{
		{"0 3 * * *", utc("2026-01-01T05:00:00Z"), "2026-01-02T03:00:00Z"},
		{"0 3 * * *", utc("2026-01-01T02:59:59Z"), "2026-01-01T03:00:00Z"},
		// The caller's zone changes nothing: the cron is UTC.
		{"0 3 * * *", utc("2026-01-01T02:00:00Z").In(tokyo), "2026-01-01T03:00:00Z"},
		{"*/15 * * * *", utc("2026-01-01T10:07:00Z"), "2026-01-01T10:15:00Z"},
		{"* * * * *", utc("2026-01-01T10:07:30Z"), "2026-01-01T10:08:00Z"},
		{"0 0 * * 1", utc("2026-01-01T00:00:00Z"), "2026-01-05T00:00:00Z"}, // the first Monday
		{"30 22 * * Sun-Thu", utc("2026-01-02T23:00:00Z"), "2026-01-04T22:30:00Z"},
		{"0 12 1 */3 *", utc("2026-02-10T00:00:00Z"), "2026-04-01T12:00:00Z"},
	}
	for _, tt := range tests {
		c, err := ParseCron(tt.cron)
		if err != nil {
			t.Fatalf("ParseCron(%q): %v", tt.cron, err)
		}
		if got := c.Next(tt.now).UTC().Format(time.RFC3339); got != tt.want {
			t.Errorf("%q after %s: next %s, want %s", tt.cron, tt.now.Format(time.RFC3339), got, tt.want)
		}
	}
	for _, bad := range []string{"", "* * * *", "0 0 * * * *", "@daily", "61 * * * *", "x * * * *"} {
		if _, err := ParseCron(bad); err == nil {
			t.Errorf("ParseCron(%q) accepted it", bad)
		}
	}
}

func TestDecideFire(t *testing.T) {
	t.Parallel()
	hourly, _ := ParseCron("0 * * * *")
	tests := []struct {
		name     string
		next     string
		lastSHA  string
		always   bool
		now      string
		wantRun  bool
		wantNext string
	}{
		{"not due", "2026-01-01T11:00:00Z", "", true, "2026-01-01T10:59:59Z", false, "2026-01-01T11:00:00Z"},
		{"due on the second", "2026-01-01T11:00:00Z", "", true, "2026-01-01T11:00:00Z", true, "2026-01-01T12:00:00Z"},
		{"first run with always: false", "2026-01-01T11:00:00Z", "", false, "2026-01-01T11:00:01Z", true, "2026-01-01T12:00:00Z"},
		{"always: false, branch unchanged", "2026-01-01T11:00:00Z", "head", false, "2026-01-01T11:00:01Z", false, "2026-01-01T12:00:00Z"},
		{"always: false, branch changed", "2026-01-01T11:00:00Z", "old", false, "2026-01-01T11:00:01Z", true, "2026-01-01T12:00:00Z"},
		{"always: true, branch unchanged", "2026-01-01T11:00:00Z", "head", true, "2026-01-01T11:00:01Z", true, "2026-01-01T12:00:00Z"},
		// Down from 11:00 to 14:30: one run, then the first time after now.
		{"catch up once after downtime", "2026-01-01T11:00:00Z", "old", false, "2026-01-01T14:30:00Z", true, "2026-01-01T15:00:00Z"},
		{"catch up, unchanged", "2026-01-01T11:00:00Z", "head", false, "2026-01-01T14:30:00Z", false, "2026-01-01T15:00:00Z"},
	}
	for _, tt := range tests {
		st := ScheduleState{NextFire: utc(tt.next), LastSHA: tt.lastSHA}
		d := decideFire(st, hourly, tt.always, "head", utc(tt.now))
		if d.run != tt.wantRun || !d.next.Equal(utc(tt.wantNext)) {
			t.Errorf("%s: run %v next %s, want run %v next %s", tt.name, d.run, d.next.Format(time.RFC3339), tt.wantRun, tt.wantNext)
		}
	}
}

func TestScheduleMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		inc, exc []string
		ref      string
		want     bool
	}{
		{[]string{"main"}, nil, "refs/heads/main", true},
		{[]string{"main"}, nil, "refs/heads/dev", false},
		{nil, nil, "refs/heads/main", false}, // Azure requires an include
		{[]string{"releases/*"}, []string{"releases/old*"}, "refs/heads/releases/2026", true},
		{[]string{"releases/*"}, []string{"releases/old*"}, "refs/heads/releases/old-1", false},
		{[]string{"refs/heads/*"}, nil, "refs/heads/any", true},
	}
	for _, tt := range tests {
		sc := azp.Schedule{Cron: "* * * * *", Branches: azp.Filter{Include: tt.inc, Exclude: tt.exc}}
		if got := scheduleMatches(sc, tt.ref); got != tt.want {
			t.Errorf("include %v exclude %v on %s: %v, want %v", tt.inc, tt.exc, tt.ref, got, tt.want)
		}
	}
}
