package main

import (
	"math"
	"testing"
	"time"
)

func TestPct(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {0, 1}} {
		if got := pct(v, tc.p); got != tc.want {
			t.Errorf("pct(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if !math.IsNaN(pct(nil, 0.5)) {
		t.Error("pct of nothing is not NaN")
	}
}

// TestSummarize: steps/s from the first submit to the last end, latencies
// per step, a failed step and one never seen running counted.
func TestSummarize(t *testing.T) {
	r := newRecorder("k", false)
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for i, k := range []string{"a", "b", "c", "d"} {
		r.submit[k] = at(float64(i))
		r.doneAt[k] = at(float64(i) + 2)
		if k != "d" {
			r.created[k] = at(float64(i) + 0.5)
			r.started[k] = at(float64(i) + 1 + float64(i)/10)
		}
	}
	r.failed["c"] = "boom"
	res := summarize("x", 1, &options{c: 2}, r, []string{"a", "b", "c", "d"})
	if res.WallS != 5 || res.StepsPerS != 0.8 {
		t.Errorf("wall %v steps/s %v, want 5 and 0.8", res.WallS, res.StepsPerS)
	}
	if res.StartP50 != 1.1 || math.Abs(res.StartP99-1.2) > 1e-9 || res.DispatchP50 != 0.5 {
		t.Errorf("start p50 %v p99 %v dispatch %v", res.StartP50, res.StartP99, res.DispatchP50)
	}
	if res.Failed != 1 || res.Unseen != 1 || res.FirstError != "c: boom" {
		t.Errorf("failed %d unseen %d first %q", res.Failed, res.Unseen, res.FirstError)
	}
}
