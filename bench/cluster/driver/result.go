package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"text/tabwriter"
	"time"
)

// argoSecondsPerStep is the anchor: Argo Workflows' published overhead of
// about 10 s a step. The goal is an order of magnitude better.
const argoSecondsPerStep = 10.0

// The floors' names in the results, which the table's ratios go by.
const (
	floorName     = "floor (kubectl)"
	floorInitName = "floor+init (kubectl)"
)

// result is one variant's figures (seconds).
type result struct {
	Variant   string  `json:"variant"`
	Replicas  int     `json:"replicas"`
	Steps     int     `json:"steps"`
	InFlight  int     `json:"in_flight"`
	WallS     float64 `json:"wall_s"`
	StepsPerS float64 `json:"steps_per_s"`
	// Start: submit -> the main container seen running (or ended).
	StartP50 float64 `json:"start_p50_s"`
	StartP99 float64 `json:"start_p99_s"`
	// Dispatch: submit -> the Kubernetes Job seen.
	DispatchP50 float64 `json:"dispatch_p50_s"`
	DispatchP99 float64 `json:"dispatch_p99_s"`
	// Pod: the Job seen -> the main container seen running.
	PodP50 float64 `json:"pod_p50_s"`
	PodP99 float64 `json:"pod_p99_s"`
	// Turnaround: submit -> the step's end as its submitter sees it.
	TurnP50 float64 `json:"turnaround_p50_s"`
	TurnP99 float64 `json:"turnaround_p99_s"`
	// Complete: the step's end -> its Job seen Complete (the Job
	// controller's lag; what `kubectl wait --for=condition=complete`
	// would add to the floor's turnaround).
	CompleteP50 float64 `json:"complete_after_end_p50_s"`
	// Init: the Job seen -> its init container seen terminated (0
	// without one); Tail: the main container seen terminated -> the
	// step's end as its submitter sees it (0 for the floors).
	InitP50    float64 `json:"init_p50_s"`
	TailP50    float64 `json:"tail_p50_s"`
	Failed     int     `json:"failed"`
	Unseen     int     `json:"unseen"`
	FirstError string  `json:"first_error,omitempty"`
	At         string  `json:"at"`
}

// summarize computes a variant's figures over the measured steps keys.
func summarize(name string, replicas int, o *options, r *recorder, keys []string) result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := result{Variant: name, Replicas: replicas, Steps: len(keys), InFlight: o.c, At: time.Now().UTC().Format(time.RFC3339)}
	var first, last time.Time
	var start, dispatch, pod, turn, complete, initDone, tail []float64
	for _, k := range keys {
		s, d := r.submit[k], r.doneAt[k]
		if first.IsZero() || s.Before(first) {
			first = s
		}
		if d.After(last) {
			last = d
		}
		if !d.IsZero() {
			turn = append(turn, d.Sub(s).Seconds())
			if c, ok := r.complete[k]; ok {
				complete = append(complete, c.Sub(d).Seconds())
			}
			if m, ok := r.mainEnd[k]; ok {
				tail = append(tail, d.Sub(m).Seconds())
			}
		}
		if why, ok := r.failed[k]; ok {
			if res.Failed == 0 {
				res.FirstError = k + ": " + why
			}
			res.Failed++
		}
		c, cok := r.created[k]
		st, sok := r.started[k]
		if !cok || !sok {
			res.Unseen++
			continue
		}
		if ie, ok := r.initEnd[k]; ok {
			initDone = append(initDone, ie.Sub(c).Seconds())
		}
		start = append(start, st.Sub(s).Seconds())
		dispatch = append(dispatch, c.Sub(s).Seconds())
		pod = append(pod, st.Sub(c).Seconds())
	}
	res.WallS = last.Sub(first).Seconds()
	if res.WallS > 0 {
		res.StepsPerS = float64(len(keys)) / res.WallS
	}
	res.StartP50, res.StartP99 = pct(start, 0.5), pct(start, 0.99)
	res.DispatchP50, res.DispatchP99 = pct(dispatch, 0.5), pct(dispatch, 0.99)
	res.PodP50, res.PodP99 = pct(pod, 0.5), pct(pod, 0.99)
	res.TurnP50, res.TurnP99 = pct(turn, 0.5), pct(turn, 0.99)
	res.CompleteP50 = pct(complete, 0.5)
	// JSON has no NaN: 0 where there was nothing to measure.
	if len(initDone) > 0 {
		res.InitP50 = pct(initDone, 0.5)
	}
	if len(tail) > 0 {
		res.TailP50 = pct(tail, 0.5)
	}
	return res
}

// pct is the nearest-rank percentile p of v; NaN for none.
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func appendResult(path string, res result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printTable prints the results of a run side by side, with ciel's
// throughput and start latency against the floor's, and against Argo's
// published ~10 s a step.
func printTable(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var rows []result
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	var fl, fi *result
	for i := range rows {
		switch rows[i].Variant {
		case floorName:
			fl = &rows[i]
		case floorInitName:
			fi = &rows[i]
		}
	}
	ratio := func(r *result, base *result, f func(*result) float64) string {
		if base == nil || r.Replicas == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", f(r)/f(base))
	}
	rate := func(r *result) float64 { return r.StepsPerS }
	p50 := func(r *result) float64 { return r.StartP50 }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tsteps\tin flight\twall s\tsteps/s\tstart p50 s\tstart p99 s\tdispatch p50 s\tpod p50 s\tturnaround p50 s\tsteps/s vs floor\tp50 vs floor\tsteps/s vs floor+init\tArgo 10 s / p50\tfailed\t")
	for i := range rows {
		r := &rows[i]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%.1fx\t%d\t\n",
			r.Variant, r.Steps, r.InFlight, r.WallS, r.StepsPerS, r.StartP50, r.StartP99,
			r.DispatchP50, r.PodP50, r.TurnP50, ratio(r, fl, rate), ratio(r, fl, p50), ratio(r, fi, rate),
			argoSecondsPerStep/r.StartP50, r.Failed+r.Unseen)
	}
	fmt.Fprintf(tw, "Argo (published)\t\t\t\t\t~%.0f\t\t\t\t\t\t\t\t1.0x\t\t\n", argoSecondsPerStep)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "start: submit -> main container running; dispatch: submit -> Kubernetes Job seen; pod: Job seen -> container running;\nturnaround: submit -> the step's end as its submitter sees it (steps/s ~ in flight / turnaround).")
	if fl != nil && !math.IsNaN(fl.CompleteP50) {
		fmt.Fprintf(w, "floor: a step ends when its container is seen terminated; the Job controller marks the Job Complete %.2f s (p50) later.\n", fl.CompleteP50)
	}
	for i := range rows {
		if r := &rows[i]; r.InitP50 != 0 {
			fmt.Fprintf(w, "%s (p50): Job seen -> init container ended %.2f s -> main container running %.2f s; main container ended -> step's end %.2f s.\n",
				r.Variant, r.InitP50, r.PodP50-r.InitP50, r.TailP50)
		}
	}
	if fi != nil {
		fmt.Fprintln(w, "floor+init: the floor's Job with an init container that runs true and an emptyDir volume the two share, the shape of ciel's Jobs: the ceiling of that design.")
	}
	fmt.Fprintln(w, "goal: start p50 an order of magnitude under Argo's ~10 s a step (Argo 10 s / p50 >= 10x).")
	return nil
}
