package tracking

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/ciel-mlops/ciel/internal/artifacts"
)

// MLflow 3 tracing. The client ends a trace by recording its TraceInfo
// (POST /api/3.0/mlflow/traces) and then uploads its spans as traces.json
// to the artifact location in the returned tags, through the artifact
// proxy; get_trace and search_traces read the info here and the spans from
// there. ciel does not serve /version, so the client's OTLP span logging
// (which it turns on only for servers of version 3.4 or later) stays off
// and it keeps to this path.

// Prefixes of the trace API. The v3 calls (start, get, search, batch get)
// are under 3.0 only; the calls the client makes under 2.0 (tags, delete,
// link to run) are served under both, as MLflow's server does.
var (
	traceV3Prefixes = []string{"/ws/{ws}/api/3.0/mlflow", "/ws/{ws}/ajax-api/3.0/mlflow"}
	traceV2Prefixes = append(append([]string{}, apiPrefixes...), traceV3Prefixes...)
)

// maxLinkTraces is the most traces one link-to-run call may name, as in
// MLflow.
const maxLinkTraces = 100

func (h *Handler) traceV3Routes() []route {
	return []route{
		{"POST", "/traces", h.startTrace},
		{"GET", "/traces/{trace_id}", h.getTraceInfo},
		{"POST", "/traces/search", h.searchTraces},
		{"POST", "/traces/batchGetInfos", h.batchGetTraceInfos},
	}
}

func (h *Handler) traceV2Routes() []route {
	return []route{
		{"PATCH", "/traces/{trace_id}/tags", h.setTraceTag},
		{"DELETE", "/traces/{trace_id}/tags", h.deleteTraceTag},
		{"POST", "/traces/delete-traces", h.deleteTraces},
		{"POST", "/traces/link-to-run", h.linkTracesToRun},
	}
}

// registerTraces adds the trace routes to mux.
func (h *Handler) registerTraces(mux Mux) {
	h.handleRoutes(mux, traceV3Prefixes, h.traceV3Routes())
	h.handleRoutes(mux, traceV2Prefixes, h.traceV2Routes())
}

// traceNotFound is MLflow's error for an unknown trace. The client relies
// on its wording: "Trace with ID 'get' not found" tells it a server has no
// GET /traces/get.
func traceNotFound(id string) error {
	return Errorf(CodeResourceDoesNotExist, "Trace with ID '%s' not found.", id)
}

// Tags the store manages: where the spans are. Changing them would lose
// the spans, so clients may not (MLflow refuses the spans location too).
var immutableTraceTags = map[string]bool{TagSpansLocation: true, TagTraceArtifactLocation: true}

func (h *Handler) startTrace(r *http.Request, ws string) (any, error) {
	var in struct {
		Trace *wireTrace `json:"trace"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if in.Trace == nil {
		return nil, missing("trace")
	}
	t, err := traceInfoIn(in.Trace.TraceInfo)
	if err != nil {
		return nil, err
	}
	for k, v := range t.Tags {
		if err := checkTag(k, v); err != nil {
			return nil, err
		}
	}
	stored, err := h.cfg.Store.StartTrace(r.Context(), ws, t)
	if err != nil {
		return nil, notFoundAs(err, Errorf(CodeResourceDoesNotExist, "No Experiment with id=%s exists", t.ExperimentID))
	}
	return map[string]any{"trace": wireTrace{TraceInfo: traceInfoOut(stored)}}, nil
}

func (h *Handler) getTraceInfo(r *http.Request, ws string) (any, error) {
	id := r.PathValue("trace_id")
	t, err := h.cfg.Store.GetTraceInfo(r.Context(), ws, id)
	if err != nil {
		return nil, notFoundAs(err, traceNotFound(id))
	}
	return map[string]any{"trace": wireTrace{TraceInfo: traceInfoOut(t)}}, nil
}

func (h *Handler) batchGetTraceInfos(r *http.Request, ws string) (any, error) {
	var in struct {
		TraceIDs      []string  `json:"trace_ids"`
		ExperimentIDs *[]string `json:"experiment_ids"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if len(in.TraceIDs) == 0 {
		return nil, missing("trace_ids")
	}
	infos, err := h.cfg.Store.GetTraceInfos(r.Context(), ws, in.TraceIDs)
	if err != nil {
		return nil, err
	}
	out := struct {
		TraceInfos []wireTraceInfo `json:"trace_infos"`
	}{TraceInfos: []wireTraceInfo{}}
	for _, t := range infos {
		// experiment_ids, when sent, scopes the answer (an empty list
		// allows nothing).
		if in.ExperimentIDs != nil && !slices.Contains(*in.ExperimentIDs, t.ExperimentID) {
			continue
		}
		out.TraceInfos = append(out.TraceInfos, traceInfoOut(t))
	}
	return out, nil
}

func (h *Handler) searchTraces(r *http.Request, ws string) (any, error) {
	var in struct {
		Locations  []wireTraceLocation `json:"locations"`
		Filter     string              `json:"filter"`
		MaxResults *jsonInt            `json:"max_results"`
		OrderBy    []string            `json:"order_by"`
		PageToken  string              `json:"page_token"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	var q TraceQuery
	for _, l := range in.Locations {
		if l.MlflowExperiment == nil {
			continue // another kind of location holds none of ciel's traces
		}
		if err := checkExperimentID(l.MlflowExperiment.ExperimentID); err != nil {
			return nil, err
		}
		q.ExperimentIDs = append(q.ExperimentIDs, l.MlflowExperiment.ExperimentID)
	}
	if len(in.Locations) == 0 {
		return nil, missing("locations")
	}
	var err error
	if q.Page, err = pageOf(in.MaxResults, 100, in.PageToken); err != nil {
		return nil, err
	}
	if q.Filter, err = ParseTraceFilter(in.Filter); err != nil {
		return nil, err
	}
	for _, o := range in.OrderBy {
		ob, err := ParseTraceOrderBy(o)
		if err != nil {
			return nil, err
		}
		q.OrderBy = append(q.OrderBy, ob)
	}
	traces, err := h.cfg.Store.SearchTraces(r.Context(), ws, q)
	if err != nil {
		return nil, err
	}
	token, n := nextToken(q.Page, len(traces))
	out := struct {
		Traces        []wireTraceInfo `json:"traces,omitempty"`
		NextPageToken string          `json:"next_page_token,omitempty"`
	}{NextPageToken: token}
	for _, t := range traces[:n] {
		out.Traces = append(out.Traces, traceInfoOut(t))
	}
	return out, nil
}

func (h *Handler) setTraceTag(r *http.Request, ws string) (any, error) {
	id := r.PathValue("trace_id")
	var in struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if err := checkTraceTagChange(in.Key, "set"); err != nil {
		return nil, err
	}
	if err := checkTag(in.Key, in.Value); err != nil {
		return nil, err
	}
	return nil, notFoundAs(h.cfg.Store.SetTraceTag(r.Context(), ws, id, Tag{Key: in.Key, Value: in.Value}), traceNotFound(id))
}

func (h *Handler) deleteTraceTag(r *http.Request, ws string) (any, error) {
	id := r.PathValue("trace_id")
	var in struct {
		Key string `json:"key"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if in.Key == "" {
		in.Key = r.URL.Query().Get("key") // a DELETE's body may be dropped on the way
	}
	if err := checkTraceTagChange(in.Key, "deleted"); err != nil {
		return nil, err
	}
	if _, err := h.cfg.Store.GetTraceInfo(r.Context(), ws, id); err != nil {
		return nil, notFoundAs(err, traceNotFound(id))
	}
	err := h.cfg.Store.DeleteTraceTag(r.Context(), ws, id, in.Key)
	return nil, notFoundAs(err, Errorf(CodeResourceDoesNotExist, "No trace tag with key '%s' for trace with ID '%s'", in.Key, id))
}

// checkTraceTagChange refuses a missing key and the tags the store manages.
func checkTraceTagChange(key, op string) error {
	if key == "" {
		return missing("key")
	}
	if immutableTraceTags[key] {
		return invalidf("Tag '%s' is immutable and cannot be %s on a trace.", key, op)
	}
	return nil
}

func (h *Handler) deleteTraces(r *http.Request, ws string) (any, error) {
	var in struct {
		ExperimentID       string   `json:"experiment_id"`
		MaxTimestampMillis *jsonInt `json:"max_timestamp_millis"`
		MaxTraces          *jsonInt `json:"max_traces"`
		RequestIDs         []string `json:"request_ids"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if in.ExperimentID == "" {
		return nil, missing("experiment_id")
	}
	if err := checkExperimentID(in.ExperimentID); err != nil {
		return nil, err
	}
	// MLflow's rule: by age or by ID, never both nor neither.
	switch {
	case in.MaxTimestampMillis == nil && len(in.RequestIDs) == 0:
		return nil, invalidf("Either `max_timestamp_millis` or `request_ids` must be specified.")
	case in.MaxTimestampMillis != nil && len(in.RequestIDs) > 0:
		return nil, invalidf("Only one of `max_timestamp_millis` and `request_ids` can be specified.")
	case in.MaxTraces != nil && len(in.RequestIDs) > 0:
		return nil, invalidf("`max_traces` can't be specified if `request_ids` is specified.")
	case in.MaxTraces != nil && *in.MaxTraces <= 0:
		return nil, invalidf("`max_traces` must be a positive integer, received %d.", *in.MaxTraces)
	}
	d := TraceDeletion{ExperimentID: in.ExperimentID, TraceIDs: in.RequestIDs}
	if in.MaxTimestampMillis != nil {
		v := int64(*in.MaxTimestampMillis)
		d.MaxTimestamp = &v
	}
	if in.MaxTraces != nil {
		v := int(*in.MaxTraces)
		d.MaxTraces = &v
	}
	deleted, err := h.cfg.Store.DeleteTraces(r.Context(), ws, d)
	if err != nil {
		return nil, err
	}
	for _, t := range deleted {
		if err := h.removeTraceArtifacts(r.Context(), ws, t); err != nil {
			// The traces are gone; stray files cost only disk.
			h.cfg.Logger.Warn("remove trace artifacts", "workspace", ws, "trace", t.TraceID, "err", err)
		}
	}
	return map[string]int{"traces_deleted": len(deleted)}, nil
}

// removeTraceArtifacts removes the traces/<id> folder holding a deleted
// trace's spans, when its location is the one the store gave it (a
// location elsewhere is left alone).
func (h *Handler) removeTraceArtifacts(ctx context.Context, ws string, t TraceInfo) error {
	rel, err := artifacts.Rel(t.Tags[TagTraceArtifactLocation])
	if err != nil {
		return nil
	}
	dir := path.Dir(rel)
	if path.Base(rel) != "artifacts" || path.Base(dir) != t.TraceID || path.Base(path.Dir(dir)) != "traces" {
		return nil
	}
	if err := h.cfg.Artifacts.Delete(ctx, ws, dir); err != nil && !errors.Is(err, artifacts.ErrBadPath) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

func (h *Handler) linkTracesToRun(r *http.Request, ws string) (any, error) {
	var in struct {
		TraceIDs []string `json:"trace_ids"`
		RunID    string   `json:"run_id"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if in.RunID == "" {
		return nil, missing("run_id")
	}
	if len(in.TraceIDs) == 0 {
		return nil, missing("trace_ids")
	}
	if len(in.TraceIDs) > maxLinkTraces {
		return nil, invalidf("Cannot link more than %d traces to a run in a single request. Provided %d traces.",
			maxLinkTraces, len(in.TraceIDs))
	}
	if _, err := h.cfg.Store.GetRun(r.Context(), ws, in.RunID); err != nil {
		return nil, notFoundAs(err, runNotFound(in.RunID))
	}
	err := h.cfg.Store.LinkTracesToRun(r.Context(), ws, in.RunID, in.TraceIDs)
	return nil, notFoundAs(err, Errorf(CodeResourceDoesNotExist, "Some of the traces %s were not found",
		strings.Join(in.TraceIDs, ", ")))
}
