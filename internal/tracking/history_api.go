package tracking

import (
	"encoding/json"
	"net/http"
)

func (h *Handler) logInputs(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		Datasets []wireDatasetInput `json:"datasets"`
		Models   []wireModelInput   `json:"models"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	ds := make([]DatasetInput, len(in.Datasets))
	for i, d := range in.Datasets {
		if d.Dataset.Name == "" || d.Dataset.Digest == "" {
			return nil, missing("datasets.dataset.name and digest")
		}
		ds[i] = DatasetInput{Tags: tagsIn(d.Tags), Dataset: Dataset(d.Dataset)}
	}
	ms := make([]ModelInput, len(in.Models))
	for i, m := range in.Models {
		ms[i] = ModelInput(m)
	}
	return nil, notFoundAs(h.cfg.Store.LogInputs(r.Context(), ws, id, ds, ms), runNotFound(id))
}

func (h *Handler) logOutputs(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		Models []wireModelOutput `json:"models"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	ms := make([]ModelOutput, len(in.Models))
	for i, m := range in.Models {
		ms[i] = ModelOutput{ModelID: m.ModelID, Step: int64(m.Step)}
	}
	return nil, notFoundAs(h.cfg.Store.LogOutputs(r.Context(), ws, id, ms), runNotFound(id))
}

// logModelHistory is the MLflow 2 log-model call: it appends the model's
// JSON to the run's mlflow.log-model.history tag.
func (h *Handler) logModelHistory(r *http.Request, ws string) (any, error) {
	var in struct {
		runRef
		ModelJSON string `json:"model_json"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	var model any
	if err := json.Unmarshal([]byte(in.ModelJSON), &model); err != nil {
		return nil, invalidf("Malformed model info: model_json is not JSON: %v", err)
	}
	run, err := h.cfg.Store.GetRun(r.Context(), ws, id)
	if err != nil {
		return nil, notFoundAs(err, runNotFound(id))
	}
	const key = "mlflow.log-model.history"
	var history []any
	_ = json.Unmarshal([]byte(run.Tag(key)), &history)
	b, err := json.Marshal(append(history, model))
	if err != nil {
		return nil, err
	}
	return nil, notFoundAs(h.cfg.Store.LogBatch(r.Context(), ws, id, Batch{Tags: []Tag{{Key: key, Value: string(b)}}}), runNotFound(id))
}

// maxHistory is how many values one get-history page holds by default.
const maxHistory = 25000

func (h *Handler) metricHistory(r *http.Request, ws string) (any, error) {
	q := r.URL.Query()
	id, err := runRef{RunID: q.Get("run_id"), RunUUID: q.Get("run_uuid")}.id()
	if err != nil {
		return nil, err
	}
	key := q.Get("metric_key")
	if key == "" {
		return nil, missing("metric_key")
	}
	n, err := queryInt(r, "max_results")
	if err != nil {
		return nil, err
	}
	page, err := pageOf((*jsonInt)(n), maxHistory, q.Get("page_token"))
	if err != nil {
		return nil, err
	}
	ms, err := h.cfg.Store.MetricHistory(r.Context(), ws, id, key, page.Offset, page.Limit)
	if err != nil {
		return nil, notFoundAs(err, runNotFound(id))
	}
	token, keep := nextToken(page, len(ms))
	return struct {
		Metrics       []wireMetric `json:"metrics,omitempty"`
		NextPageToken string       `json:"next_page_token,omitempty"`
	}{metricsOut(ms[:keep]), token}, nil
}

// maxBulkRuns and maxBulkPoints bound a get-history-bulk-interval call, as
// MLflow's server does.
const (
	maxBulkRuns   = 100
	maxBulkPoints = 2500
)

func (h *Handler) metricHistoryBulk(r *http.Request, ws string) (any, error) {
	q := r.URL.Query()
	ids, key := q["run_ids"], q.Get("metric_key")
	if len(ids) == 0 {
		return nil, missing("run_ids")
	}
	if len(ids) > maxBulkRuns {
		return nil, invalidf("GetMetricHistoryBulkInterval request must specify at most %d run_ids. Received %d run_ids.", maxBulkRuns, len(ids))
	}
	if key == "" {
		return nil, missing("metric_key")
	}
	start, err := queryInt(r, "start_step")
	if err != nil {
		return nil, err
	}
	end, err := queryInt(r, "end_step")
	if err != nil {
		return nil, err
	}
	limit := int64(maxBulkPoints)
	if n, err := queryInt(r, "max_results"); err != nil {
		return nil, err
	} else if n != nil {
		if *n <= 0 || *n > maxBulkPoints {
			return nil, invalidf("max_results must be between 1 and %d", maxBulkPoints)
		}
		limit = *n
	}
	all, err := h.cfg.Store.MetricHistoryBulk(r.Context(), ws, ids, key, start, end, 0)
	if err != nil {
		return nil, err
	}
	return struct {
		Metrics []wireMetric `json:"metrics"`
	}{metricsOut(sampleSteps(all, int(limit)))}, nil
}

// sampleSteps keeps, per run, at most limit values on evenly spaced steps,
// always keeping the first and last step (MLflow's bulk-interval sampling).
func sampleSteps(ms []Metric, limit int) []Metric {
	byRun := map[string][]Metric{}
	var order []string
	for _, m := range ms {
		if _, ok := byRun[m.RunID]; !ok {
			order = append(order, m.RunID)
		}
		byRun[m.RunID] = append(byRun[m.RunID], m)
	}
	out := make([]Metric, 0, len(ms))
	for _, id := range order {
		run := byRun[id]
		var steps []int64
		for _, m := range run {
			if len(steps) == 0 || steps[len(steps)-1] != m.Step {
				steps = append(steps, m.Step)
			}
		}
		keep := map[int64]bool{}
		if len(steps) <= limit {
			for _, s := range steps {
				keep[s] = true
			}
		} else {
			for i := range limit {
				keep[steps[i*(len(steps)-1)/max(limit-1, 1)]] = true
			}
		}
		for _, m := range run {
			if keep[m.Step] {
				out = append(out, m)
			}
		}
	}
	return out
}
