package trackingtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// newTrace records a finished trace in exp, started at start (ms).
func newTrace(t *testing.T, h Harness, ws, exp string, start int64, tags, meta map[string]string) tracking.TraceInfo {
	t.Helper()
	return must(h.Store.StartTrace(ctx, ws, tracking.TraceInfo{
		TraceID: fmt.Sprintf("tr-%024x%s", start, randomHex(t)), ExperimentID: exp, RequestTime: start,
		ExecutionDuration: start % 100, State: tracking.TraceStateOK, RequestPreview: `{"q": 1}`,
		ResponsePreview: "2", Tags: tags, Metadata: meta}))
}

func traceIDs(ts []tracking.TraceInfo) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.TraceID
	}
	return out
}

func testTraceLifecycle(t *testing.T, h Harness, ws string) {
	s := h.Store
	exp := must(s.CreateExperiment(ctx, ws, tracking.Experiment{Name: "traces"}))
	in := tracking.TraceInfo{TraceID: "tr-" + strings.Repeat("ab", 16), ExperimentID: exp.ID, ClientRequestID: "c1",
		RequestTime: 1000, ExecutionDuration: 73, State: tracking.TraceStateOK, RequestPreview: "in", ResponsePreview: "out",
		Tags: map[string]string{tracking.TagTraceName: "predict"}, Metadata: map[string]string{"mlflow.user": "me"}}
	got := must(s.StartTrace(ctx, ws, in))
	wantLoc := exp.ArtifactLocation + "/traces/" + in.TraceID + "/artifacts"
	if got.Tags[tracking.TagTraceArtifactLocation] != wantLoc || got.Tags[tracking.TagSpansLocation] != tracking.SpansInArtifacts {
		t.Errorf("started trace tags: %v, want artifact location %s", got.Tags, wantLoc)
	}
	want := in
	want.Tags = maps.Clone(got.Tags)
	want.Tags[tracking.TagTraceName] = "predict"
	if g := must(s.GetTraceInfo(ctx, ws, in.TraceID)); !traceEqual(g, want) {
		t.Errorf("get trace:\n got %+v\nwant %+v", g, want)
	}

	// A retry replaces fields and merges tags and metadata.
	retry := in
	retry.State, retry.Tags, retry.Metadata = tracking.TraceStateError, map[string]string{"b": "2"}, map[string]string{"m": "x"}
	got = must(s.StartTrace(ctx, ws, retry))
	if got.State != tracking.TraceStateError || got.Tags["b"] != "2" || got.Tags[tracking.TagTraceName] != "predict" ||
		got.Metadata["m"] != "x" || got.Metadata["mlflow.user"] != "me" {
		t.Errorf("retried trace: %+v", got)
	}

	check(t, s.SetTraceTag(ctx, ws, in.TraceID, tracking.Tag{Key: "k", Value: "v"}))
	check(t, s.SetTraceTag(ctx, ws, in.TraceID, tracking.Tag{Key: "k", Value: "w"}))
	if g := must(s.GetTraceInfo(ctx, ws, in.TraceID)); g.Tags["k"] != "w" {
		t.Errorf("tag after set: %v", g.Tags)
	}
	check(t, s.DeleteTraceTag(ctx, ws, in.TraceID, "k"))
	wantNotFound(t, "delete missing trace tag", s.DeleteTraceTag(ctx, ws, in.TraceID, "k"))

	unknown := "tr-" + strings.Repeat("0", 32)
	_, err := s.GetTraceInfo(ctx, ws, unknown)
	wantNotFound(t, "unknown trace", err)
	wantNotFound(t, "tag unknown trace", s.SetTraceTag(ctx, ws, unknown, tracking.Tag{Key: "k", Value: "v"}))
	wantNotFound(t, "untag unknown trace", s.DeleteTraceTag(ctx, ws, unknown, "k"))
	if got := must(s.GetTraceInfos(ctx, ws, []string{unknown, in.TraceID, in.TraceID})); !slices.Equal(traceIDs(got), []string{in.TraceID}) {
		t.Errorf("batch get: %v", traceIDs(got))
	}

	_, err = s.StartTrace(ctx, ws, tracking.TraceInfo{TraceID: "tr-x", ExperimentID: "999", State: tracking.TraceStateOK})
	wantNotFound(t, "trace in unknown experiment", err)
	check(t, s.SetExperimentStage(ctx, ws, exp.ID, tracking.StageDeleted))
	_, err = s.StartTrace(ctx, ws, tracking.TraceInfo{TraceID: "tr-y", ExperimentID: exp.ID, State: tracking.TraceStateOK})
	wantCode(t, "trace in deleted experiment", err, tracking.CodeInvalidParameterValue)
}

func traceEqual(a, b tracking.TraceInfo) bool {
	return a.TraceID == b.TraceID && a.ExperimentID == b.ExperimentID && a.ClientRequestID == b.ClientRequestID &&
		a.RequestTime == b.RequestTime && a.ExecutionDuration == b.ExecutionDuration && a.State == b.State &&
		a.RequestPreview == b.RequestPreview && a.ResponsePreview == b.ResponsePreview &&
		maps.Equal(a.Tags, b.Tags) && maps.Equal(a.Metadata, b.Metadata)
}

func testSearchTraces(t *testing.T, h Harness, ws string) {
	s := h.Store
	exp := must(s.CreateExperiment(ctx, ws, tracking.Experiment{Name: "search"})).ID
	run := newRun(t, h, ws, exp, 1)
	var ids []string
	for i := range 5 {
		tags := map[string]string{tracking.TagTraceName: fmt.Sprintf("f%d", i%2)}
		if i == 3 {
			tags["env"] = "prod"
		}
		meta := map[string]string{}
		if i == 1 {
			meta[tracking.MetaSourceRun] = run.RunID
		}
		ids = append(ids, newTrace(t, h, ws, exp, int64(1000+i*10), tags, meta).TraceID)
	}
	newTrace(t, h, ws, "0", 5000, nil, nil) // another experiment

	search := func(filter string, order ...string) []string {
		t.Helper()
		q := tracking.TraceQuery{ExperimentIDs: []string{exp}, Page: tracking.Page{Limit: 100}}
		q.Filter = must(tracking.ParseTraceFilter(filter))
		for _, o := range order {
			q.OrderBy = append(q.OrderBy, must(tracking.ParseTraceOrderBy(o)))
		}
		return traceIDs(must(s.SearchTraces(ctx, ws, q)))
	}
	rev := func(is ...int) []string {
		out := make([]string, len(is))
		for i, n := range is {
			out[i] = ids[n]
		}
		return out
	}
	tests := []struct {
		filter string
		order  []string
		want   []string
	}{
		{"", nil, rev(4, 3, 2, 1, 0)},
		{"", []string{"timestamp_ms ASC"}, rev(0, 1, 2, 3, 4)},
		{"tags.env = 'prod'", nil, rev(3)},
		{"tags.env IS NULL AND name = 'f1'", nil, rev(1)},
		{"name IN ('f0')", nil, rev(4, 2, 0)},
		{"trace.timestamp_ms >= 1020 AND execution_time_ms < 40", nil, rev(3, 2)},
		{"end_time_ms > 1060", nil, rev(4)},
		{"status = 'OK' AND request_id = '" + ids[2] + "'", nil, rev(2)},
		{"metadata.`mlflow.sourceRun` = '" + run.RunID + "'", nil, rev(1)},
		{"run_id = '" + run.RunID + "'", nil, rev(1)},
		{"tags.mlflow.traceName LIKE 'f%'", []string{"name DESC", "timestamp_ms"}, rev(1, 3, 0, 2, 4)},
	}
	for _, tt := range tests {
		if got := search(tt.filter, tt.order...); !slices.Equal(got, tt.want) {
			t.Errorf("search %q order %v: got %v, want %v", tt.filter, tt.order, got, tt.want)
		}
	}
	page := must(s.SearchTraces(ctx, ws, tracking.TraceQuery{ExperimentIDs: []string{exp}, Page: tracking.Page{Offset: 1, Limit: 2}}))
	if !slices.Equal(traceIDs(page), rev(3, 2)) {
		t.Errorf("page: %v", traceIDs(page))
	}

	// Linking makes a trace found by its run too; linking twice is a no-op.
	check(t, s.LinkTracesToRun(ctx, ws, run.RunID, []string{ids[4]}))
	check(t, s.LinkTracesToRun(ctx, ws, run.RunID, []string{ids[4], ids[1]}))
	if got := search("run_id = '" + run.RunID + "'"); !slices.Equal(got, rev(4, 1)) {
		t.Errorf("search by run after link: %v", got)
	}
	wantNotFound(t, "link unknown trace", s.LinkTracesToRun(ctx, ws, run.RunID, []string{ids[0], "tr-none"}))
	if got := search("run_id = '" + run.RunID + "'"); !slices.Equal(got, rev(4, 1)) {
		t.Errorf("a failed link linked something: %v", got)
	}
	wantNotFound(t, "link to unknown run", s.LinkTracesToRun(ctx, ws, strings.Repeat("0", 32), []string{ids[0]}))
}

func testDeleteTraces(t *testing.T, h Harness, ws string) {
	s := h.Store
	exp := must(s.CreateExperiment(ctx, ws, tracking.Experiment{Name: "delete"})).ID
	var ids []string
	for i := range 5 {
		ids = append(ids, newTrace(t, h, ws, exp, int64(100+i), map[string]string{"i": fmt.Sprint(i)}, nil).TraceID)
	}
	other := newTrace(t, h, ws, "0", 1, nil, nil)

	got := must(s.DeleteTraces(ctx, ws, tracking.TraceDeletion{ExperimentID: exp, TraceIDs: []string{ids[2], other.TraceID}}))
	if !slices.Equal(traceIDs(got), []string{ids[2]}) || got[0].Tags["i"] != "2" || got[0].Tags[tracking.TagTraceArtifactLocation] == "" {
		t.Errorf("delete by ID returned %+v", got)
	}
	_, err := s.GetTraceInfo(ctx, ws, ids[2])
	wantNotFound(t, "deleted trace", err)
	got = must(s.DeleteTraces(ctx, ws, tracking.TraceDeletion{ExperimentID: exp, MaxTimestamp: ptr(int64(103)), MaxTraces: ptr(2)}))
	if !slices.Equal(traceIDs(got), []string{ids[0], ids[1]}) {
		t.Errorf("delete oldest two: %v", traceIDs(got))
	}
	got = must(s.DeleteTraces(ctx, ws, tracking.TraceDeletion{ExperimentID: exp, MaxTimestamp: ptr(int64(103))}))
	if !slices.Equal(traceIDs(got), []string{ids[3]}) {
		t.Errorf("delete up to 103: %v", traceIDs(got))
	}
	if got := must(s.DeleteTraces(ctx, ws, tracking.TraceDeletion{ExperimentID: exp, TraceIDs: []string{ids[0]}})); len(got) != 0 {
		t.Errorf("deleting again deleted %v", traceIDs(got))
	}
	must(s.GetTraceInfo(ctx, ws, ids[4]))
	must(s.GetTraceInfo(ctx, ws, other.TraceID))
}

func testTracesWorkspacesApart(t *testing.T, h Harness, ws string) {
	s := h.Store
	other := h.NewWorkspace(t)
	tr := newTrace(t, h, ws, "0", 10, nil, nil)
	// The same client-chosen ID may be used in another workspace.
	same := tr
	same.Tags, same.Metadata = map[string]string{"here": "other"}, nil
	must(s.StartTrace(ctx, other, same))
	if g := must(s.GetTraceInfo(ctx, ws, tr.TraceID)); g.Tags["here"] != "" {
		t.Errorf("a write in another workspace changed this one's trace: %v", g.Tags)
	}
	_, err := s.DeleteTraces(ctx, other, tracking.TraceDeletion{ExperimentID: "0", TraceIDs: []string{tr.TraceID}})
	check(t, err)
	must(s.GetTraceInfo(ctx, ws, tr.TraceID))
	_, err = s.GetTraceInfo(ctx, other, tr.TraceID)
	wantNotFound(t, "trace deleted in its workspace", err)
	q := tracking.TraceQuery{ExperimentIDs: []string{"0"}, Page: tracking.Page{Limit: 10}}
	if got := must(s.SearchTraces(ctx, other, q)); len(got) != 0 {
		t.Errorf("other workspace finds %v", traceIDs(got))
	}
}
