package triggers

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/trigger"
)

// Dependency reference types of a tumbling window trigger.
const (
	DependOnTrigger = "TumblingWindowTriggerDependencyReference"
	DependOnSelf    = "SelfDependencyTumblingWindowTriggerReference"
)

// maxWindowConcurrency is Data Factory's bound on maxConcurrency.
const maxWindowConcurrency = 50

// maxWindowInterval bounds a window's length per frequency (ten years),
// keeping window arithmetic far from overflow.
var maxWindowInterval = map[string]int{"Minute": 10 * 366 * 24 * 60, "Hour": 10 * 366 * 24, "Month": 120}

// tumbling is a compiled TumblingWindowTrigger: a grid of contiguous
// windows from start, each interval minutes, hours or months long, in UTC.
type tumbling struct {
	freq        string // Minute, Hour or Month
	interval    int
	start, end  time.Time // end zero: none
	delay       time.Duration
	concurrency int
	retries     int
	retryWait   time.Duration
	deps        []dependency
}

// dependency is one entry of dependsOn: the windows of trigger (the
// trigger itself when self) that overlap [start+offset, start+offset+size)
// must have succeeded. size zero is the window's own length.
type dependency struct {
	trigger string
	self    bool
	offset  time.Duration
	size    time.Duration
}

// tumblingJSON is a TumblingWindowTrigger's typeProperties.
type tumblingJSON struct {
	Frequency      string  `json:"frequency"`
	Interval       flexInt `json:"interval"`
	StartTime      string  `json:"startTime"`
	EndTime        string  `json:"endTime"`
	Delay          string  `json:"delay"`
	MaxConcurrency flexInt `json:"maxConcurrency"`
	RetryPolicy    *struct {
		Count             flexInt  `json:"count"`
		IntervalInSeconds *flexInt `json:"intervalInSeconds"`
	} `json:"retryPolicy"`
	DependsOn []struct {
		Type             string `json:"type"`
		ReferenceTrigger *struct {
			ReferenceName string `json:"referenceName"`
		} `json:"referenceTrigger"`
		Offset string `json:"offset"`
		Size   string `json:"size"`
	} `json:"dependsOn"`
}

// compileTumbling checks a TumblingWindowTrigger's type properties.
func compileTumbling(raw json.RawMessage) (*tumbling, error) {
	var p tumblingJSON
	if err := decodeProps(raw, &p); err != nil {
		return nil, err
	}
	const at = "typeProperties."
	tw := &tumbling{freq: canonicalFreq(p.Frequency), interval: int(p.Interval), concurrency: int(p.MaxConcurrency),
		retries: 0, retryWait: 30 * time.Second}
	var err error
	switch {
	case tw.freq == "":
		return nil, invalid(at+"frequency", "%q: expected Minute, Hour or Month", p.Frequency)
	case tw.interval < 1 || tw.interval > maxWindowInterval[tw.freq]:
		return nil, invalid(at+"interval", "%d: expected a whole number of %ss from 1 to %d", p.Interval, strings.ToLower(tw.freq), maxWindowInterval[tw.freq])
	case p.StartTime == "":
		return nil, invalid(at+"startTime", "required: the start of the first window (UTC)")
	}
	if tw.concurrency == 0 {
		tw.concurrency = 1
	}
	if tw.concurrency < 1 || tw.concurrency > maxWindowConcurrency {
		return nil, invalid(at+"maxConcurrency", "%d: expected 1 to %d windows at once", tw.concurrency, maxWindowConcurrency)
	}
	if tw.start, err = trigger.ParseTime(p.StartTime, time.UTC); err != nil {
		return nil, invalid(at+"startTime", "%v", err)
	}
	if p.EndTime != "" {
		if tw.end, err = trigger.ParseTime(p.EndTime, time.UTC); err != nil {
			return nil, invalid(at+"endTime", "%v", err)
		}
		if !tw.end.After(tw.start) {
			return nil, invalid(at+"endTime", "%s is not after startTime %s", p.EndTime, p.StartTime)
		}
	}
	if p.Delay != "" {
		if tw.delay, err = ParseTimeSpan(p.Delay); err != nil || tw.delay < 0 {
			return nil, invalid(at+"delay", "%q: expected a non-negative time span such as 00:10:00", p.Delay)
		}
	}
	if rp := p.RetryPolicy; rp != nil {
		tw.retries = int(rp.Count)
		if rp.IntervalInSeconds != nil {
			tw.retryWait = time.Duration(*rp.IntervalInSeconds) * time.Second
		}
		if tw.retries < 0 || tw.retryWait < 0 {
			return nil, invalid(at+"retryPolicy", "count and intervalInSeconds must not be negative")
		}
	}
	for i, d := range p.DependsOn {
		dep, err := compileDependency(fmt.Sprintf("%sdependsOn[%d]", at, i), d.Type, d.ReferenceTrigger != nil, d.Offset, d.Size)
		if err != nil {
			return nil, err
		}
		if !dep.self {
			dep.trigger = d.ReferenceTrigger.ReferenceName
		}
		tw.deps = append(tw.deps, dep)
	}
	return tw, nil
}

// compileDependency checks one entry of dependsOn.
func compileDependency(at, typ string, hasRef bool, offset, size string) (dependency, error) {
	var d dependency
	var err error
	if offset != "" {
		if d.offset, err = ParseTimeSpan(offset); err != nil {
			return d, invalid(at+".offset", "%v", err)
		}
	}
	if size != "" {
		if d.size, err = ParseTimeSpan(size); err != nil || d.size <= 0 {
			return d, invalid(at+".size", "%q: expected a positive time span such as 01:00:00", size)
		}
	}
	switch typ {
	case DependOnSelf:
		d.self = true
		if d.offset >= 0 {
			return d, invalid(at+".offset", "a self-dependency looks back: expected a negative offset such as -01:00:00")
		}
	case DependOnTrigger:
		if !hasRef {
			return d, invalid(at+".referenceTrigger", "required: the trigger whose windows this one waits for")
		}
	default:
		return d, invalid(at+".type", "%q: expected %s or %s", typ, DependOnTrigger, DependOnSelf)
	}
	return d, nil
}

// canonicalFreq returns a tumbling window's frequency as Data Factory
// spells it, or "" when it has none of them.
func canonicalFreq(f string) string {
	for _, c := range []string{"Minute", "Hour", "Month"} {
		if strings.EqualFold(f, c) {
			return c
		}
	}
	return ""
}

// window returns the k-th window's bounds (k = 0 is the first).
func (tw *tumbling) window(k int) (time.Time, time.Time) {
	return tw.boundary(k), tw.boundary(k + 1)
}

// boundary is where the k-th window starts.
func (tw *tumbling) boundary(k int) time.Time {
	switch tw.freq {
	case "Minute":
		return tw.start.Add(time.Duration(k*tw.interval) * time.Minute)
	case "Hour":
		return tw.start.Add(time.Duration(k*tw.interval) * time.Hour)
	}
	return addMonths(tw.start, k*tw.interval)
}

// index is the number of the window holding t (negative before start).
func (tw *tumbling) index(t time.Time) int {
	var k int
	switch tw.freq {
	case "Minute", "Hour":
		step := time.Minute
		if tw.freq == "Hour" {
			step = time.Hour
		}
		d := t.Sub(tw.start)
		k = int(d / (step * time.Duration(tw.interval)))
		if d < 0 && d%(step*time.Duration(tw.interval)) != 0 {
			k--
		}
		return k
	}
	months := (t.Year()-tw.start.Year())*12 + int(t.Month()) - int(tw.start.Month())
	k = months / tw.interval
	if months < 0 && months%tw.interval != 0 {
		k--
	}
	for tw.boundary(k).After(t) {
		k--
	}
	for !tw.boundary(k + 1).After(t) {
		k++
	}
	return k
}

// addMonths adds n months to t, keeping its day of the month where the
// month has it and taking the month's last day where it does not (Jan 31
// plus one month is Feb 29 or 28), as .NET's AddMonths does.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// ParseTimeSpan reads a .NET TimeSpan as Data Factory writes one:
// [-][d.]hh:mm[:ss[.fffffff]] ("00:10:00", "-01:00:00", "1.00:00:00").
func ParseTimeSpan(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a time span: expected [-][d.]hh:mm:ss such as 01:00:00 or -1.00:00:00", s)
	rest, neg := strings.CutPrefix(strings.TrimSpace(s), "-")
	var days int64
	if d, hms, ok := strings.Cut(rest, "."); ok && !strings.Contains(d, ":") {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < 0 {
			return 0, bad
		}
		days, rest = n, hms
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, bad
	}
	var total time.Duration
	limits := []int64{23, 59}
	for i, unit := range []time.Duration{time.Hour, time.Minute} {
		n, err := strconv.ParseInt(parts[i], 10, 32)
		if err != nil || n < 0 || n > limits[i] {
			return 0, bad
		}
		total += time.Duration(n) * unit
	}
	if len(parts) == 3 {
		sec, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || sec < 0 || sec >= 60 {
			return 0, bad
		}
		total += time.Duration(sec * float64(time.Second))
	}
	if days > 10675 { // keeps the sum inside a Duration
		return 0, bad
	}
	total += time.Duration(days) * 24 * time.Hour
	if neg {
		total = -total
	}
	return total, nil
}
