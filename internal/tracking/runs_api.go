package tracking

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ciel-mlops/ciel/internal/store"
)

// runNotFound is MLflow's error for an unknown run.
func runNotFound(id string) error {
	return Errorf(CodeResourceDoesNotExist, "Run with id=%s not found", id)
}

// notFoundAs maps store.ErrNotFound in err to the given MLflow error.
func notFoundAs(err error, as error) error {
	if errors.Is(err, store.ErrNotFound) {
		return as
	}
	return err
}

// runRef is the run a request names; clients send both spellings.
type runRef struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (r runRef) id() (string, error) {
	id := r.RunID
	if id == "" {
		id = r.RunUUID
	}
	return id, checkRunID(id)
}

func (h *Handler) createRun(r *http.Request, ws string) (any, error) {
	var in struct {
		ExperimentID string    `json:"experiment_id"`
		UserID       string    `json:"user_id"`
		RunName      string    `json:"run_name"`
		StartTime    jsonInt   `json:"start_time"`
		Tags         []wireTag `json:"tags"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if in.ExperimentID == "" {
		in.ExperimentID = DefaultExperimentID
	}
	if err := checkExperimentID(in.ExperimentID); err != nil {
		return nil, err
	}
	tags := tagsIn(in.Tags)
	for _, t := range tags {
		if err := checkTag(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	if run, ok, err := h.stepRun(r, ws, in.ExperimentID, tags); ok || err != nil {
		return map[string]any{"run": runOut(run)}, err
	}
	name, tags, err := runName(in.RunName, tags)
	if err != nil {
		return nil, err
	}
	info := RunInfo{RunID: newHexID(16), ExperimentID: in.ExperimentID, RunName: name, UserID: in.UserID,
		Status: StatusRunning, StartTime: int64(in.StartTime), LifecycleStage: StageActive}
	if info.StartTime == 0 {
		info.StartTime = nowMS()
	}
	info, err = h.cfg.Store.CreateRun(r.Context(), ws, info, tags)
	if err != nil {
		return nil, notFoundAs(err, Errorf(CodeResourceDoesNotExist, "No Experiment with id=%s exists", in.ExperimentID))
	}
	return map[string]any{"run": runOut(Run{Info: info, Tags: tags})}, nil
}

// stepRun answers a create-run call made inside a ciel step with the step's
// own run (see Observer): when the new run would be top-level (no
// mlflow.parentRunId), carries TagStepRun, and is in the step run's
// experiment. The call's other tags are added to the step's run, which is
// marked RUNNING again. ok is false when the call should create a run.
func (h *Handler) stepRun(r *http.Request, ws, expID string, tags []Tag) (run Run, ok bool, err error) {
	var stepRun string
	for _, t := range tags {
		switch t.Key {
		case TagParentRunID:
			return Run{}, false, nil
		case TagStepRun:
			stepRun = t.Value
		}
	}
	if stepRun == "" {
		return Run{}, false, nil
	}
	run, err = h.cfg.Store.GetRun(r.Context(), ws, stepRun)
	if err != nil || run.Info.ExperimentID != expID || run.Info.LifecycleStage != StageActive {
		return Run{}, false, nil
	}
	extra := make([]Tag, 0, len(tags))
	for _, t := range tags {
		if t.Key != TagRunName {
			extra = append(extra, t)
		}
	}
	if err := h.cfg.Store.LogBatch(r.Context(), ws, stepRun, Batch{Tags: extra}); err != nil {
		return Run{}, true, err
	}
	if run.Info.Status != StatusRunning {
		running := StatusRunning
		if _, err := h.cfg.Store.UpdateRun(r.Context(), ws, stepRun, RunUpdate{Status: &running}); err != nil {
			return Run{}, true, err
		}
	}
	run, err = h.cfg.Store.GetRun(r.Context(), ws, stepRun)
	return run, true, err
}

// runName settles a new run's name: the one given, else the mlflow.runName
// tag, else a generated one; the tag is added when missing.
func runName(name string, tags []Tag) (string, []Tag, error) {
	for _, t := range tags {
		if t.Key != TagRunName {
			continue
		}
		if name != "" && t.Value != name {
			return "", nil, invalidf("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "+
				"different values (run_name='%s', mlflow.runName='%s').", name, t.Value)
		}
		return t.Value, tags, nil
	}
	if name == "" {
		name = randomRunName()
	}
	return name, append(tags, Tag{Key: TagRunName, Value: name}), nil
}

func (h *Handler) getRun(r *http.Request, ws string) (any, error) {
	q := r.URL.Query()
	id, err := runRef{RunID: q.Get("run_id"), RunUUID: q.Get("run_uuid")}.id()
	if err != nil {
		return nil, err
	}
	run, err := h.cfg.Store.GetRun(r.Context(), ws, id)
	if err != nil {
		return nil, notFoundAs(err, runNotFound(id))
	}
	return map[string]any{"run": runOut(run)}, nil
}

var runStatuses = map[string]bool{StatusRunning: true, StatusScheduled: true, StatusFinished: true,
	StatusFailed: true, StatusKilled: true}

func (h *Handler) updateRun(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		Status  *string  `json:"status"`
		EndTime *jsonInt `json:"end_time"`
		RunName *string  `json:"run_name"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	u := RunUpdate{Status: in.Status, EndTime: (*int64)(in.EndTime)}
	if in.Status != nil && !runStatuses[*in.Status] {
		return nil, invalidf("Invalid run status %q", *in.Status)
	}
	if in.RunName != nil && *in.RunName != "" {
		u.RunName = in.RunName
	}
	info, err := h.cfg.Store.UpdateRun(r.Context(), ws, id, u)
	if err != nil {
		return nil, notFoundAs(err, runNotFound(id))
	}
	return map[string]any{"run_info": runInfoOut(info)}, nil
}

func (h *Handler) stageRun(stage string) apiFunc {
	return func(r *http.Request, ws string) (any, error) {
		var in runRef
		if err := readJSON(r, &in); err != nil {
			return nil, err
		}
		id, err := in.id()
		if err != nil {
			return nil, err
		}
		return nil, notFoundAs(h.cfg.Store.SetRunStage(r.Context(), ws, id, stage), runNotFound(id))
	}
}

func (h *Handler) searchRuns(r *http.Request, ws string) (any, error) {
	var in struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter"`
		RunViewType   string   `json:"run_view_type"`
		MaxResults    *jsonInt `json:"max_results"`
		OrderBy       []string `json:"order_by"`
		PageToken     string   `json:"page_token"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	q := RunQuery{ExperimentIDs: in.ExperimentIDs}
	for _, id := range in.ExperimentIDs {
		if err := checkExperimentID(id); err != nil {
			return nil, err
		}
	}
	var err error
	if q.Page, err = pageOf(in.MaxResults, 1000, in.PageToken); err != nil {
		return nil, err
	}
	if q.ViewType, err = viewType(in.RunViewType); err != nil {
		return nil, err
	}
	if q.Filter, err = ParseRunFilter(in.Filter); err != nil {
		return nil, err
	}
	for _, o := range in.OrderBy {
		ob, err := ParseRunOrderBy(o)
		if err != nil {
			return nil, err
		}
		q.OrderBy = append(q.OrderBy, ob)
	}
	keyset, _ := q.KeysetOrder()
	if keyset {
		q.After = cursorOf(in.PageToken)
		if q.After != nil {
			q.Offset = 0
		}
	}
	runs, err := h.cfg.Store.SearchRuns(r.Context(), ws, q)
	if err != nil {
		return nil, err
	}
	token, n := nextToken(q.Page, len(runs))
	if keyset && token != "" {
		token = cursorToken(q.CursorAt(runs[n-1]))
	}
	out := struct {
		Runs          []wireRun `json:"runs,omitempty"`
		NextPageToken string    `json:"next_page_token,omitempty"`
	}{Runs: make([]wireRun, 0, n), NextPageToken: token}
	for _, run := range runs[:n] {
		out.Runs = append(out.Runs, runOut(run))
	}
	return out, nil
}

// cursorToken is the page token of a keyset-paged search that stopped at c.
func cursorToken(c RunCursor) string {
	b, _ := json.Marshal(struct {
		Cursor RunCursor `json:"after"`
	}{c})
	return base64.StdEncoding.EncodeToString(b)
}

// cursorOf returns the cursor a page token carries, or nil for an
// offset token (or none).
func cursorOf(token string) *RunCursor {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil || token == "" {
		return nil
	}
	var t struct {
		Cursor *RunCursor `json:"after"`
	}
	if json.Unmarshal(raw, &t) != nil || t.Cursor == nil || t.Cursor.RunID == "" {
		return nil
	}
	return t.Cursor
}

// log records b on run id after checking it as MLflow does.
func (h *Handler) log(r *http.Request, ws, id string, b Batch) (any, error) {
	for _, m := range b.Metrics {
		if err := checkMetric(m); err != nil {
			return nil, err
		}
	}
	for _, p := range b.Params {
		if err := checkParam(p.Key, p.Value); err != nil {
			return nil, err
		}
	}
	for _, t := range b.Tags {
		if err := checkTag(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	return nil, notFoundAs(h.cfg.Store.LogBatch(r.Context(), ws, id, b), runNotFound(id))
}

func (h *Handler) logMetric(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		Key           string     `json:"key"`
		Value         *JSONFloat `json:"value"`
		Timestamp     *jsonInt   `json:"timestamp"`
		Step          jsonInt    `json:"step"`
		ModelID       string     `json:"model_id"`
		DatasetName   string     `json:"dataset_name"`
		DatasetDigest string     `json:"dataset_digest"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	if in.Value == nil {
		return nil, missing("value")
	}
	if in.Timestamp == nil {
		return nil, missing("timestamp")
	}
	m := Metric{Key: in.Key, Value: float64(*in.Value), Timestamp: int64(*in.Timestamp), Step: int64(in.Step),
		ModelID: in.ModelID, DatasetName: in.DatasetName, DatasetDigest: in.DatasetDigest}
	return h.log(r, ws, id, Batch{Metrics: []Metric{m}})
}

func (h *Handler) logParam(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		Key   string  `json:"key"`
		Value *string `json:"value"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	if in.Value == nil {
		return nil, missing("value")
	}
	return h.log(r, ws, id, Batch{Params: []Param{{Key: in.Key, Value: *in.Value}}})
}

func (h *Handler) setTag(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	return h.log(r, ws, id, Batch{Tags: []Tag{{Key: in.Key, Value: in.Value}}})
}

func (h *Handler) deleteTag(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		Key string `json:"key"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	err = h.cfg.Store.DeleteRunTag(r.Context(), ws, id, in.Key)
	if errors.Is(err, store.ErrNotFound) {
		if _, gerr := h.cfg.Store.GetRun(r.Context(), ws, id); gerr != nil {
			return nil, notFoundAs(gerr, runNotFound(id))
		}
		return nil, Errorf(CodeResourceDoesNotExist, "No tag with name: %s in run with id %s", in.Key, id)
	}
	return nil, err
}

func (h *Handler) logBatch(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		Metrics []wireMetric `json:"metrics"`
		Params  []wireTag    `json:"params"`
		Tags    []wireTag    `json:"tags"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.Metrics) > maxBatchMetrics:
		return nil, invalidf("A batch logging request can contain at most %d metrics. Got %d metrics.", maxBatchMetrics, len(in.Metrics))
	case len(in.Params) > maxBatchParamsTag:
		return nil, invalidf("A batch logging request can contain at most %d params. Got %d params.", maxBatchParamsTag, len(in.Params))
	case len(in.Tags) > maxBatchParamsTag:
		return nil, invalidf("A batch logging request can contain at most %d tags. Got %d tags.", maxBatchParamsTag, len(in.Tags))
	case len(in.Metrics)+len(in.Params)+len(in.Tags) > maxBatchEntities:
		return nil, invalidf("A batch logging request can contain at most %d metrics, params, and tags in total.", maxBatchEntities)
	}
	b := Batch{Metrics: make([]Metric, len(in.Metrics)), Params: paramsIn(in.Params), Tags: tagsIn(in.Tags)}
	for i, m := range in.Metrics {
		b.Metrics[i] = metricIn(m)
	}
	return h.log(r, ws, id, b)
}
