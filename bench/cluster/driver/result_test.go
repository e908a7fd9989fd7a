package main

import (
	"math"
	"strings"
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

// TestTableRatios: ciel's rows are divided by the plain floor's and by the
// init floor's figures, whatever order the floors ran in.
func TestTableRatios(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/r.jsonl"
	for _, r := range []result{
		{Variant: floorInitName, Steps: 10, StepsPerS: 2, StartP50: 2},
		{Variant: floorName, Steps: 10, StepsPerS: 4, StartP50: 1},
		{Variant: "ciel x1", Replicas: 1, Steps: 10, StepsPerS: 1, StartP50: 3},
	} {
		if err := appendResult(path, r); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := printTable(&b, path); err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "ciel x1") {
			row = l
		}
	}
	f := strings.Fields(row)
	// ... steps/s vs floor, p50 vs floor, steps/s vs floor+init, Argo, failed
	if got := f[len(f)-5 : len(f)-2]; got[0] != "0.25x" || got[1] != "3.00x" || got[2] != "0.50x" {
		t.Errorf("ratios %v, want [0.25x 3.00x 0.50x]; row %q", got, row)
	}
	if !strings.Contains(b.String(), "floor+init:") {
		t.Error("no floor+init footnote")
	}
}
