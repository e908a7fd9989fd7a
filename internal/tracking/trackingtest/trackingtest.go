// Package trackingtest is the conformance suite every tracking.Store
// backend runs: call Run from the backend's tests with a function that
// returns a fresh store and a way to create workspaces in it.
package trackingtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// Harness is a backend under test.
type Harness struct {
	Store tracking.Store
	// NewWorkspace creates an empty workspace and returns its name.
	NewWorkspace func(t *testing.T) string
}

// Run runs the suite; setup is called once per subtest.
func Run(t *testing.T, setup func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness, ws string)
	}{
		{"DefaultExperiment", testDefaultExperiment},
		{"ExperimentLifecycle", testExperimentLifecycle},
		{"RunLifecycle", testRunLifecycle},
		{"LogBatch", testLogBatch},
		{"LogBatchSizes", testLogBatchSizes},
		{"LatestMetric", testLatestMetric},
		{"ParamsAreImmutable", testParamsImmutable},
		{"DeletedRunRefusesWrites", testDeletedRun},
		{"SearchRuns", testSearchRuns},
		{"SearchOrderAndPaging", testSearchOrder},
		{"InputsOutputs", testInputsOutputs},
		{"LoggedModels", testLoggedModels},
		{"JobRunsConcurrently", testJobRuns},
		{"WorkspacesApart", testWorkspacesApart},
		{"ReadsSeeWrites", testReadsSeeWrites},
		{"ConcurrentReadsAndWrites", testConcurrentReadsAndWrites},
		{"TraceLifecycle", testTraceLifecycle},
		{"SearchTraces", testSearchTraces},
		{"DeleteTraces", testDeleteTraces},
		{"TracesWorkspacesApart", testTracesWorkspacesApart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			tt.fn(t, h, h.NewWorkspace(t))
		})
	}
}

var ctx = context.Background()

// must returns v, or stops the test with err: a panic fails the test that
// called it, with the stack showing where.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: got %v, want store.ErrNotFound", what, err)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var e *tracking.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

// newRun creates a running run in experiment exp.
func newRun(t *testing.T, h Harness, ws, exp string, start int64, tags ...tracking.Tag) tracking.RunInfo {
	t.Helper()
	id := fmt.Sprintf("%024x%s", start, randomHex(t))
	return must(h.Store.CreateRun(ctx, ws, tracking.RunInfo{RunID: id, ExperimentID: exp, RunName: "r",
		Status: tracking.StatusRunning, StartTime: start}, tags))
}

var (
	hexMu  sync.Mutex
	hexSeq uint32
)

// randomHex returns 8 hex digits unique in this process.
func randomHex(*testing.T) string {
	hexMu.Lock()
	defer hexMu.Unlock()
	hexSeq++
	return fmt.Sprintf("%08x", hexSeq)
}

func testDefaultExperiment(t *testing.T, h Harness, ws string) {
	e := must(h.Store.GetExperiment(ctx, ws, tracking.DefaultExperimentID))
	if e.Name != "Default" || e.LifecycleStage != tracking.StageActive || e.ArtifactLocation == "" {
		t.Errorf("default experiment: %+v", e)
	}
	e2 := must(h.Store.CreateExperiment(ctx, ws, tracking.Experiment{Name: "next"}))
	if e2.ID != "1" {
		t.Errorf("first created experiment has ID %q, want 1", e2.ID)
	}
}

func testExperimentLifecycle(t *testing.T, h Harness, ws string) {
	s := h.Store
	e := must(s.CreateExperiment(ctx, ws, tracking.Experiment{Name: "a", Tags: []tracking.Tag{{Key: "k", Value: "v"}}}))
	if _, err := s.CreateExperiment(ctx, ws, tracking.Experiment{Name: "a"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name: %v, want ErrConflict", err)
	}
	got := must(s.GetExperimentByName(ctx, ws, "a"))
	if got.ID != e.ID || !slices.Equal(got.Tags, []tracking.Tag{{Key: "k", Value: "v"}}) {
		t.Errorf("get by name: %+v", got)
	}
	check(t, s.RenameExperiment(ctx, ws, e.ID, "b"))
	must(s.CreateExperiment(ctx, ws, tracking.Experiment{Name: "c"}))
	if err := s.RenameExperiment(ctx, ws, e.ID, "c"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rename onto a taken name: %v", err)
	}
	check(t, s.SetExperimentTag(ctx, ws, e.ID, tracking.Tag{Key: "k", Value: "w"}))
	check(t, s.DeleteExperimentTag(ctx, ws, e.ID, "k"))
	wantNotFound(t, "delete missing tag", s.DeleteExperimentTag(ctx, ws, e.ID, "k"))

	run := newRun(t, h, ws, e.ID, 1)
	check(t, s.SetExperimentStage(ctx, ws, e.ID, tracking.StageDeleted))
	if r := must(s.GetRun(ctx, ws, run.RunID)); r.Info.LifecycleStage != tracking.StageDeleted {
		t.Errorf("run of deleted experiment is %s", r.Info.LifecycleStage)
	}
	_, err := s.CreateRun(ctx, ws, tracking.RunInfo{RunID: "f" + randomHex(t), ExperimentID: e.ID, Status: tracking.StatusRunning}, nil)
	wantCode(t, "create run in deleted experiment", err, tracking.CodeInvalidParameterValue)
	deleted := must(s.SearchExperiments(ctx, ws, tracking.ExperimentQuery{ViewType: tracking.ViewDeletedOnly, Page: tracking.Page{Limit: 10}}))
	if len(deleted) != 1 || deleted[0].ID != e.ID {
		t.Errorf("deleted-only search: %+v", deleted)
	}
	check(t, s.SetExperimentStage(ctx, ws, e.ID, tracking.StageActive))
	if r := must(s.GetRun(ctx, ws, run.RunID)); r.Info.LifecycleStage != tracking.StageActive {
		t.Errorf("run of restored experiment is %s", r.Info.LifecycleStage)
	}
	_, err = s.GetExperiment(ctx, ws, "999")
	wantNotFound(t, "unknown experiment", err)
	_, err = s.GetExperiment(ctx, ws, "not-a-number")
	wantNotFound(t, "malformed experiment ID", err)
}

func testRunLifecycle(t *testing.T, h Harness, ws string) {
	s := h.Store
	info := newRun(t, h, ws, "0", 100, tracking.Tag{Key: "t", Value: "1"})
	if info.ArtifactURI == "" || info.LifecycleStage != tracking.StageActive {
		t.Errorf("created run: %+v", info)
	}
	st, end, name := tracking.StatusFinished, int64(200), "renamed"
	got := must(s.UpdateRun(ctx, ws, info.RunID, tracking.RunUpdate{Status: &st, EndTime: &end, RunName: &name}))
	if got.Status != st || got.EndTime == nil || *got.EndTime != end || got.RunName != name {
		t.Errorf("updated run: %+v", got)
	}
	run := must(s.GetRun(ctx, ws, info.RunID))
	if run.Tag(tracking.TagRunName) != name || run.Tag("t") != "1" {
		t.Errorf("run tags after rename: %+v", run.Tags)
	}
	check(t, s.DeleteRunTag(ctx, ws, info.RunID, "t"))
	wantNotFound(t, "delete missing run tag", s.DeleteRunTag(ctx, ws, info.RunID, "t"))
	_, err := s.GetRun(ctx, ws, "0123456789abcdef0123456789abcdef")
	wantNotFound(t, "unknown run", err)
	_, err = s.UpdateRun(ctx, ws, "0123456789abcdef0123456789abcdef", tracking.RunUpdate{Status: &st})
	wantNotFound(t, "update unknown run", err)
	wantNotFound(t, "delete unknown run", s.SetRunStage(ctx, ws, "0123456789abcdef0123456789abcdef", tracking.StageDeleted))
}

func testLogBatch(t *testing.T, h Harness, ws string) {
	s := h.Store
	info := newRun(t, h, ws, "0", 1)
	b := tracking.Batch{Params: []tracking.Param{{Key: "p", Value: "1"}}, Tags: []tracking.Tag{{Key: "t", Value: "x"}}}
	for i := range 100 {
		b.Metrics = append(b.Metrics, tracking.Metric{Key: "m", Value: float64(i), Step: int64(i), Timestamp: 1000 + int64(i)})
	}
	b.Metrics = append(b.Metrics, tracking.Metric{Key: "nan", Value: math.NaN(), Timestamp: 1},
		tracking.Metric{Key: "inf", Value: math.Inf(-1), Timestamp: 1})
	check(t, s.LogBatch(ctx, ws, info.RunID, b))
	check(t, s.LogBatch(ctx, ws, info.RunID, b)) // identical values are kept once
	hist := must(s.MetricHistory(ctx, ws, info.RunID, "m", 0, 1000))
	if len(hist) != 100 || hist[99].Value != 99 || hist[0].Step != 0 {
		t.Errorf("history: %d values, last %+v", len(hist), hist[len(hist)-1])
	}
	page := must(s.MetricHistory(ctx, ws, info.RunID, "m", 10, 5))
	if len(page) != 5 || page[0].Step != 10 {
		t.Errorf("history page: %+v", page)
	}
	run := must(s.GetRun(ctx, ws, info.RunID))
	vals := map[string]float64{}
	for _, m := range run.Metrics {
		vals[m.Key] = m.Value
	}
	if vals["m"] != 99 || !math.IsNaN(vals["nan"]) || !math.IsInf(vals["inf"], -1) {
		t.Errorf("latest metrics: %v", vals)
	}
	bulk := must(s.MetricHistoryBulk(ctx, ws, []string{info.RunID, "ffffffffffffffffffffffffffffffff"}, "m", ptr(int64(5)), ptr(int64(9)), 0))
	if len(bulk) != 5 || bulk[0].RunID != info.RunID || bulk[0].Step != 5 {
		t.Errorf("bulk history: %+v", bulk)
	}
	_, err := s.MetricHistory(ctx, ws, "ffffffffffffffffffffffffffffffff", "m", 0, 10)
	wantNotFound(t, "history of unknown run", err)
}

func ptr[T any](v T) *T { return &v }

// testLogBatchSizes logs batches of many sizes, the metrics of three keys
// interleaved and the greatest step of each key placed anywhere in the
// batch, and checks that every value is kept and each key's latest is the
// greatest: a backend may split a batch however it likes, but not lose or
// misorder a part of it.
func testLogBatchSizes(t *testing.T, h Harness, ws string) {
	for _, n := range []int{1, 2, 7, 8, 9, 63, 64, 65, 71, 200, 1000} {
		info := newRun(t, h, ws, "0", 1)
		keys := []string{"a", "b", "c"}
		want := map[string]int{}
		top := map[string]int64{}
		var b tracking.Batch
		for i := range n {
			k := keys[i%len(keys)]
			step := int64((i * 7919) % n) // a permutation of 0..n-1 when n is not a multiple of 7919
			b.Metrics = append(b.Metrics, tracking.Metric{Key: k, Value: float64(step), Step: step, Timestamp: 5})
			want[k]++
			top[k] = max(top[k], step)
		}
		check(t, h.Store.LogBatch(ctx, ws, info.RunID, b))
		for _, k := range keys {
			hist := must(h.Store.MetricHistory(ctx, ws, info.RunID, k, 0, 2000))
			if len(hist) != want[k] {
				t.Errorf("batch of %d: key %s has %d values, want %d", n, k, len(hist), want[k])
			}
		}
		run := must(h.Store.GetRun(ctx, ws, info.RunID))
		if len(run.Metrics) != len(want) {
			t.Errorf("batch of %d: %d latest metrics, want %d", n, len(run.Metrics), len(want))
		}
		for _, m := range run.Metrics {
			if m.Step != top[m.Key] || m.Value != float64(top[m.Key]) {
				t.Errorf("batch of %d: latest %s = step %d value %v, want step %d", n, m.Key, m.Step, m.Value, top[m.Key])
			}
		}
	}
}

func testLatestMetric(t *testing.T, h Harness, ws string) {
	info := newRun(t, h, ws, "0", 1)
	for _, m := range []tracking.Metric{
		{Key: "m", Value: 5, Step: 2, Timestamp: 10},
		{Key: "m", Value: 9, Step: 1, Timestamp: 99}, // older step: not the latest
		{Key: "m", Value: 3, Step: 2, Timestamp: 11}, // same step, later: latest
	} {
		check(t, h.Store.LogBatch(ctx, ws, info.RunID, tracking.Batch{Metrics: []tracking.Metric{m}}))
	}
	run := must(h.Store.GetRun(ctx, ws, info.RunID))
	if len(run.Metrics) != 1 || run.Metrics[0].Value != 3 || run.Metrics[0].Step != 2 {
		t.Errorf("latest metric: %+v", run.Metrics)
	}
}

func testParamsImmutable(t *testing.T, h Harness, ws string) {
	info := newRun(t, h, ws, "0", 1)
	p := func(v string) tracking.Batch { return tracking.Batch{Params: []tracking.Param{{Key: "p", Value: v}}} }
	check(t, h.Store.LogBatch(ctx, ws, info.RunID, p("1")))
	check(t, h.Store.LogBatch(ctx, ws, info.RunID, p("1")))
	wantCode(t, "changed param", h.Store.LogBatch(ctx, ws, info.RunID, p("2")), tracking.CodeInvalidParameterValue)
	// All or nothing: the metric in the failed batch is not kept.
	b := p("3")
	b.Metrics = []tracking.Metric{{Key: "lost", Value: 1}}
	wantCode(t, "changed param in batch", h.Store.LogBatch(ctx, ws, info.RunID, b), tracking.CodeInvalidParameterValue)
	if run := must(h.Store.GetRun(ctx, ws, info.RunID)); len(run.Metrics) != 0 || run.Params[0].Value != "1" {
		t.Errorf("after failed batch: %+v", run)
	}
}

func testDeletedRun(t *testing.T, h Harness, ws string) {
	info := newRun(t, h, ws, "0", 1)
	check(t, h.Store.SetRunStage(ctx, ws, info.RunID, tracking.StageDeleted))
	err := h.Store.LogBatch(ctx, ws, info.RunID, tracking.Batch{Tags: []tracking.Tag{{Key: "a", Value: "b"}}})
	wantCode(t, "log to deleted run", err, tracking.CodeInvalidParameterValue)
	check(t, h.Store.SetRunStage(ctx, ws, info.RunID, tracking.StageActive))
	check(t, h.Store.LogBatch(ctx, ws, info.RunID, tracking.Batch{Tags: []tracking.Tag{{Key: "a", Value: "b"}}}))
	wantNotFound(t, "log to unknown run", h.Store.LogBatch(ctx, ws, "ffffffffffffffffffffffffffffffff", tracking.Batch{}))
}
