package trackingtest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// runView is the part of a run's data the freshness tests compare.
type runView struct {
	name, status string
	params, tags map[string]string
	metrics      map[string]float64
	inputs       int
	outputs      int
}

func viewOf(r tracking.Run) runView {
	v := runView{name: r.Info.RunName, status: r.Info.Status, params: map[string]string{}, tags: map[string]string{},
		metrics: map[string]float64{}, inputs: len(r.Inputs) + len(r.ModelInputs), outputs: len(r.ModelOutputs)}
	for _, p := range r.Params {
		v.params[p.Key] = p.Value
	}
	for _, t := range r.Tags {
		v.tags[t.Key] = t.Value
	}
	for _, m := range r.Metrics {
		v.metrics[m.Key] = m.Value
	}
	return v
}

// reads returns the run as GetRun and as SearchRuns see it.
func reads(t *testing.T, h Harness, ws, exp, id string) (get, search runView) {
	t.Helper()
	get = viewOf(must(h.Store.GetRun(ctx, ws, id)))
	runs := must(h.Store.SearchRuns(ctx, ws, tracking.RunQuery{ExperimentIDs: []string{exp},
		ViewType: tracking.ViewActiveOnly, Page: tracking.Page{Limit: 100}}))
	for _, r := range runs {
		if r.Info.RunID == id {
			return get, viewOf(r)
		}
	}
	t.Fatalf("search did not return run %s", id)
	return get, search
}

// testReadsSeeWrites reads a run before and after each kind of write: a
// store that keeps what reads loaded must not serve it once a write
// changed it.
func testReadsSeeWrites(t *testing.T, h Harness, ws string) {
	s := h.Store
	info := newRun(t, h, ws, "0", 1, tracking.Tag{Key: "team", Value: "a"})
	id := info.RunID
	steps := []struct {
		name  string
		write func() error
		check func(v runView) bool
	}{
		{"log a metric", func() error {
			return s.LogBatch(ctx, ws, id, tracking.Batch{Metrics: []tracking.Metric{{Key: "auc", Value: 0.5, Timestamp: 1, Step: 1}}})
		}, func(v runView) bool { return v.metrics["auc"] == 0.5 }},
		{"log a later value", func() error {
			return s.LogBatch(ctx, ws, id, tracking.Batch{Metrics: []tracking.Metric{{Key: "auc", Value: 0.9, Timestamp: 2, Step: 2}}})
		}, func(v runView) bool { return v.metrics["auc"] == 0.9 }},
		{"log a param", func() error {
			return s.LogBatch(ctx, ws, id, tracking.Batch{Params: []tracking.Param{{Key: "lr", Value: "0.1"}}})
		}, func(v runView) bool { return v.params["lr"] == "0.1" }},
		{"change a tag", func() error {
			return s.LogBatch(ctx, ws, id, tracking.Batch{Tags: []tracking.Tag{{Key: "team", Value: "b"}}})
		}, func(v runView) bool { return v.tags["team"] == "b" }},
		{"delete a tag", func() error { return s.DeleteRunTag(ctx, ws, id, "team") },
			func(v runView) bool { _, ok := v.tags["team"]; return !ok }},
		{"rename and finish", func() error {
			_, err := s.UpdateRun(ctx, ws, id, tracking.RunUpdate{RunName: ptr("renamed"), Status: ptr(tracking.StatusFinished)})
			return err
		}, func(v runView) bool {
			return v.name == "renamed" && v.tags[tracking.TagRunName] == "renamed" && v.status == tracking.StatusFinished
		}},
		{"log inputs", func() error {
			return s.LogInputs(ctx, ws, id, []tracking.DatasetInput{{Dataset: tracking.Dataset{Name: "d", Digest: "x",
				SourceType: "code", Source: "{}"}}}, nil)
		}, func(v runView) bool { return v.inputs == 1 }},
		{"log outputs", func() error {
			return s.LogOutputs(ctx, ws, id, []tracking.ModelOutput{{ModelID: "m-1", Step: 1}})
		}, func(v runView) bool { return v.outputs == 1 }},
	}
	for _, st := range steps {
		reads(t, h, ws, "0", id) // whatever a store keeps, it has it now
		check(t, st.write())
		get, search := reads(t, h, ws, "0", id)
		if !st.check(get) || !st.check(search) {
			t.Errorf("after %s: get %+v, search %+v", st.name, get, search)
		}
	}
}

// testConcurrentReadsAndWrites logs to runs while others read them; once
// the writers are done, every read shows their last values.
func testConcurrentReadsAndWrites(t *testing.T, h Harness, ws string) {
	const runs, writes = 4, 50
	ids := make([]string, runs)
	for i := range ids {
		ids[i] = newRun(t, h, ws, "0", int64(i+1)).RunID
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := h.Store.SearchRuns(ctx, ws, tracking.RunQuery{ExperimentIDs: []string{"0"},
					ViewType: tracking.ViewActiveOnly, Page: tracking.Page{Limit: 100}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	for _, id := range ids {
		writers.Go(func() {
			for k := 1; k <= writes; k++ {
				err := h.Store.LogBatch(ctx, ws, id, tracking.Batch{
					Metrics: []tracking.Metric{{Key: "m", Value: float64(k), Timestamp: int64(k), Step: int64(k)}},
					Tags:    []tracking.Tag{{Key: "k", Value: fmt.Sprint(k)}}})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	for _, id := range ids {
		get, search := reads(t, h, ws, "0", id)
		for _, v := range []runView{get, search} {
			if v.metrics["m"] != writes || v.tags["k"] != fmt.Sprint(writes) {
				t.Errorf("run %s after the writes: metrics %v tags %v", id, v.metrics, v.tags)
			}
		}
	}
}
