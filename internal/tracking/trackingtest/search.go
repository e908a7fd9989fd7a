package trackingtest

import (
	"slices"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// searchFixture makes ten runs in a new experiment: run i has param
// alpha=i, metric rmse=10-i, tag family tree (i<5) or linear, and every
// third run a metric "some".
func searchFixture(t *testing.T, h Harness, ws string) (string, []string) {
	e := must(h.Store.CreateExperiment(ctx, ws, tracking.Experiment{Name: "search"}))
	ids := make([]string, 10)
	for i := range ids {
		family := "tree"
		if i >= 5 {
			family = "linear"
		}
		info := newRun(t, h, ws, e.ID, int64(1000+i), tracking.Tag{Key: "family", Value: family})
		b := tracking.Batch{Params: []tracking.Param{{Key: "alpha", Value: string(rune('0' + i))}},
			Metrics: []tracking.Metric{{Key: "rmse", Value: float64(10 - i)}}}
		if i%3 == 0 {
			b.Metrics = append(b.Metrics, tracking.Metric{Key: "some", Value: float64(i)})
		}
		check(t, h.Store.LogBatch(ctx, ws, info.RunID, b))
		ids[i] = info.RunID
	}
	return e.ID, ids
}

// indexes maps runs back to their fixture index.
func indexes(ids []string, runs []tracking.Run) []int {
	out := make([]int, len(runs))
	for i, r := range runs {
		out[i] = slices.Index(ids, r.Info.RunID)
	}
	return out
}

func testSearchRuns(t *testing.T, h Harness, ws string) {
	exp, ids := searchFixture(t, h, ws)
	tests := []struct {
		filter string
		want   []int
	}{
		{"metrics.rmse < 3", []int{8, 9}},
		{"metrics.rmse >= 9 and params.alpha != '0'", []int{1}},
		{"metrics.some > 0", []int{3, 6, 9}},
		{"metrics.some != 3", []int{0, 6, 9}},
		{"params.alpha = '5'", []int{5}},
		{"params.alpha LIKE '_'", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"tags.family = 'linear' and metrics.rmse > 2", []int{5, 6, 7}},
		{"tags.family LIKE 'TREE'", nil},
		{"tags.family ILIKE 'TREE'", []int{0, 1, 2, 3, 4}},
		{"tags.family IS NULL", nil},
		{"tags.nothing IS NULL and params.alpha = '2'", []int{2}},
		{"params.alpha IS NOT NULL and metrics.rmse = 10", []int{0}},
		{"attributes.start_time > 1007", []int{8, 9}},
		{"attributes.status = 'RUNNING' and attributes.run_name = 'r' and params.alpha = '4'", []int{4}},
		{"attributes.run_id IN ('" + ids[1] + "', '" + ids[2] + "')", []int{1, 2}},
	}
	for _, tt := range tests {
		clauses, err := tracking.ParseRunFilter(tt.filter)
		if err != nil {
			t.Fatalf("parse %q: %v", tt.filter, err)
		}
		runs := must(h.Store.SearchRuns(ctx, ws, tracking.RunQuery{ExperimentIDs: []string{exp}, Filter: clauses,
			OrderBy:  []tracking.OrderBy{{Kind: tracking.KindAttribute, Key: "start_time", Asc: true}},
			ViewType: tracking.ViewActiveOnly, Page: tracking.Page{Limit: 100}}))
		if got := indexes(ids, runs); !slices.Equal(got, tt.want) && (len(got) != 0 || len(tt.want) != 0) {
			t.Errorf("filter %q: got runs %v, want %v", tt.filter, got, tt.want)
		}
	}
	runs := must(h.Store.SearchRuns(ctx, ws, tracking.RunQuery{ExperimentIDs: []string{exp},
		ViewType: tracking.ViewActiveOnly, Page: tracking.Page{Limit: 1}}))
	if len(runs) != 1 || len(runs[0].Params) != 1 || len(runs[0].Metrics) == 0 || runs[0].Tag("family") == "" {
		t.Errorf("search returns runs with their data: %+v", runs)
	}
}

func testSearchOrder(t *testing.T, h Harness, ws string) {
	exp, ids := searchFixture(t, h, ws)
	search := func(order []tracking.OrderBy, p tracking.Page) []int {
		return indexes(ids, must(h.Store.SearchRuns(ctx, ws, tracking.RunQuery{ExperimentIDs: []string{exp},
			OrderBy: order, ViewType: tracking.ViewActiveOnly, Page: p})))
	}
	all := tracking.Page{Limit: 100}
	if got := search(nil, all); !slices.Equal(got, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}) {
		t.Errorf("default order (newest first): %v", got)
	}
	if got := search([]tracking.OrderBy{{Kind: tracking.KindMetric, Key: "rmse", Asc: true}}, all); !slices.Equal(got, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}) {
		t.Errorf("by metric: %v", got)
	}
	if got := search([]tracking.OrderBy{{Kind: tracking.KindMetric, Key: "some"}}, all); !slices.Equal(got[:4], []int{9, 6, 3, 0}) {
		t.Errorf("by a metric some runs lack (they come last): %v", got)
	}
	if got := search([]tracking.OrderBy{{Kind: tracking.KindParam, Key: "alpha"}}, all); got[0] != 9 {
		t.Errorf("by param desc: %v", got)
	}
	if got := search([]tracking.OrderBy{{Kind: tracking.KindTag, Key: "family", Asc: true}}, all); !slices.Equal(got[:5], []int{9, 8, 7, 6, 5}) {
		t.Errorf("by tag, then newest: %v", got)
	}
	var paged []int
	for off := 0; off < 10; off += 4 {
		paged = append(paged, search([]tracking.OrderBy{{Kind: tracking.KindAttribute, Key: "start_time", Asc: true}},
			tracking.Page{Offset: off, Limit: 4})...)
	}
	if !slices.Equal(paged, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("pages: %v", paged)
	}
	if got := search(nil, tracking.Page{Limit: 0}); len(got) != 0 {
		t.Errorf("limit 0: %v", got)
	}
	testKeysetPaging(t, h, ws)
}

// testKeysetPaging pages with After through runs that share start times,
// both directions: every run once, in order.
func testKeysetPaging(t *testing.T, h Harness, ws string) {
	e := must(h.Store.CreateExperiment(ctx, ws, tracking.Experiment{Name: "keyset"}))
	var want []string
	for i := range 7 {
		want = append(want, newRun(t, h, ws, e.ID, int64(50+i/3)).RunID) // start times 50,50,50,51,51,51,52
	}
	for _, asc := range []bool{false, true} {
		q := tracking.RunQuery{ExperimentIDs: []string{e.ID}, ViewType: tracking.ViewActiveOnly, Page: tracking.Page{Limit: 2}}
		if asc {
			q.OrderBy = []tracking.OrderBy{{Kind: tracking.KindAttribute, Key: "start_time", Asc: true}}
		}
		all := must(h.Store.SearchRuns(ctx, ws, tracking.RunQuery{ExperimentIDs: q.ExperimentIDs, OrderBy: q.OrderBy,
			ViewType: q.ViewType, Page: tracking.Page{Limit: 100}}))
		var paged []string
		for range 10 {
			page := must(h.Store.SearchRuns(ctx, ws, q))
			for _, r := range page {
				paged = append(paged, r.Info.RunID)
			}
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1].Info
			q.After = &tracking.RunCursor{StartTime: last.StartTime, RunID: last.RunID}
		}
		var ordered []string
		for _, r := range all {
			ordered = append(ordered, r.Info.RunID)
		}
		if !slices.Equal(paged, ordered) || len(paged) != len(want) {
			t.Errorf("keyset pages (asc=%v): %v, want %v", asc, paged, ordered)
		}
	}
}

func testInputsOutputs(t *testing.T, h Harness, ws string) {
	info := newRun(t, h, ws, "0", 1)
	ds := tracking.DatasetInput{Tags: []tracking.Tag{{Key: tracking.TagDataContext, Value: "train"}},
		Dataset: tracking.Dataset{Name: "iris", Digest: "abc", SourceType: "code", Source: "{}"}}
	check(t, h.Store.LogInputs(ctx, ws, info.RunID, []tracking.DatasetInput{ds, ds}, []tracking.ModelInput{{ModelID: "m-1"}}))
	check(t, h.Store.LogOutputs(ctx, ws, info.RunID, []tracking.ModelOutput{{ModelID: "m-2", Step: 3}}))
	run := must(h.Store.GetRun(ctx, ws, info.RunID))
	if len(run.Inputs) != 1 || run.Inputs[0].Dataset.Name != "iris" || run.Inputs[0].Tags[0].Value != "train" {
		t.Errorf("dataset inputs: %+v", run.Inputs)
	}
	if len(run.ModelInputs) != 1 || len(run.ModelOutputs) != 1 || run.ModelOutputs[0].Step != 3 {
		t.Errorf("model inputs/outputs: %+v %+v", run.ModelInputs, run.ModelOutputs)
	}
	clauses := must(tracking.ParseRunFilter("datasets.name = 'iris' and datasets.context = 'train'"))
	runs := must(h.Store.SearchRuns(ctx, ws, tracking.RunQuery{ExperimentIDs: []string{"0"}, Filter: clauses,
		ViewType: tracking.ViewActiveOnly, Page: tracking.Page{Limit: 10}}))
	if len(runs) != 1 {
		t.Errorf("dataset filter found %d runs", len(runs))
	}
}

func testLoggedModels(t *testing.T, h Harness, ws string) {
	s := h.Store
	info := newRun(t, h, ws, "0", 1)
	m := must(s.CreateLoggedModel(ctx, ws, tracking.LoggedModel{ModelID: "m-" + randomHex(t), ExperimentID: "0",
		Name: "model", SourceRunID: info.RunID, Params: []tracking.Param{{Key: "C", Value: "1"}},
		Tags: []tracking.Tag{{Key: "a", Value: "1"}}}))
	if m.Status != tracking.ModelPending || m.ArtifactURI == "" {
		t.Errorf("created model: %+v", m)
	}
	check(t, s.LogBatch(ctx, ws, info.RunID, tracking.Batch{Metrics: []tracking.Metric{{Key: "acc", Value: 0.9, ModelID: m.ModelID}}}))
	check(t, s.SetLoggedModelTags(ctx, ws, m.ModelID, []tracking.Tag{{Key: "b", Value: "2"}}))
	check(t, s.DeleteLoggedModelTag(ctx, ws, m.ModelID, "a"))
	wantNotFound(t, "delete missing model tag", s.DeleteLoggedModelTag(ctx, ws, m.ModelID, "a"))
	check(t, s.LogLoggedModelParams(ctx, ws, m.ModelID, []tracking.Param{{Key: "D", Value: "2"}}))
	got := must(s.FinalizeLoggedModel(ctx, ws, m.ModelID, tracking.ModelReady))
	if got.Status != tracking.ModelReady || len(got.Params) != 2 || len(got.Tags) != 1 || len(got.Metrics) != 1 || got.Metrics[0].RunID != info.RunID {
		t.Errorf("finalized model: %+v", got)
	}
	for _, f := range []string{"name = 'model'", "metrics.acc > 0.5", "params.C = '1' and tags.b = '2'"} {
		clauses := must(tracking.ParseModelFilter(f))
		found := must(s.SearchLoggedModels(ctx, ws, tracking.ModelQuery{ExperimentIDs: []string{"0"}, Filter: clauses, Page: tracking.Page{Limit: 10}}))
		if len(found) != 1 {
			t.Errorf("search models %q: %d found", f, len(found))
		}
	}
	check(t, s.DeleteLoggedModel(ctx, ws, m.ModelID))
	_, err := s.GetLoggedModel(ctx, ws, m.ModelID)
	wantNotFound(t, "deleted model", err)
}

func testJobRuns(t *testing.T, h Harness, ws string) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]bool{}
		created int
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info := tracking.RunInfo{RunID: "a" + randomHex(t) + "0000000000000000000000", ExperimentID: "0",
				RunName: "train", Status: tracking.StatusRunning, StartTime: int64(i)}
			got, made, err := h.Store.EnsureJobRun(ctx, ws, "job1", "train", info, []tracking.Tag{{Key: tracking.TagCielStep, Value: "train"}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[got.RunID] = true
			if made {
				created++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 1 || created != 1 {
		t.Errorf("concurrent EnsureJobRun made %d runs (%d creations), want 1", len(ids), created)
	}
	links := must(h.Store.JobRuns(ctx, ws, "job1"))
	if len(links) != 1 || links[0].Step != "train" {
		t.Errorf("job runs: %+v", links)
	}
	if links := must(h.Store.JobRuns(ctx, ws, "no-such-job")); len(links) != 0 {
		t.Errorf("runs of unknown job: %+v", links)
	}
}

func testWorkspacesApart(t *testing.T, h Harness, ws string) {
	other := h.NewWorkspace(t)
	info := newRun(t, h, ws, "0", 1)
	_, err := h.Store.GetRun(ctx, other, info.RunID)
	wantNotFound(t, "run from another workspace", err)
	wantNotFound(t, "log to run of another workspace", h.Store.LogBatch(ctx, other, info.RunID, tracking.Batch{}))
	must(h.Store.CreateExperiment(ctx, ws, tracking.Experiment{Name: "shared-name"}))
	must(h.Store.CreateExperiment(ctx, other, tracking.Experiment{Name: "shared-name"}))
	runs := must(h.Store.SearchRuns(ctx, other, tracking.RunQuery{ExperimentIDs: []string{"0"},
		ViewType: tracking.ViewAll, Page: tracking.Page{Limit: 10}}))
	if len(runs) != 0 {
		t.Errorf("search sees runs of another workspace: %d", len(runs))
	}
	_, err = h.Store.CreateExperiment(ctx, "no-such-workspace", tracking.Experiment{Name: "x"})
	wantNotFound(t, "experiment in unknown workspace", err)
}
