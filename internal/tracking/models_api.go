package tracking

import (
	"net/http"
	"strings"
)

// modelNotFound is MLflow's error for an unknown logged model.
func modelNotFound(id string) error {
	return Errorf(CodeResourceDoesNotExist, "Logged model with ID '%s' not found.", id)
}

var modelStatuses = map[string]bool{ModelPending: true, ModelReady: true, ModelFailed: true}

func (h *Handler) createLoggedModel(r *http.Request, ws string) (any, error) {
	var in struct {
		ExperimentID string    `json:"experiment_id"`
		Name         string    `json:"name"`
		ModelType    string    `json:"model_type"`
		SourceRunID  string    `json:"source_run_id"`
		Params       []wireTag `json:"params"`
		Tags         []wireTag `json:"tags"`
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
	if in.Name == "" {
		in.Name = randomRunName()
	}
	for _, p := range in.Params {
		if err := checkParam(p.Key, p.Value); err != nil {
			return nil, err
		}
	}
	for _, t := range in.Tags {
		if err := checkTag(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	now := nowMS()
	m, err := h.cfg.Store.CreateLoggedModel(r.Context(), ws, LoggedModel{
		ModelID: "m-" + newHexID(16), ExperimentID: in.ExperimentID, Name: in.Name, ModelType: in.ModelType,
		SourceRunID: in.SourceRunID, Status: ModelPending, CreationTime: now, LastUpdatedTime: now,
		LifecycleStage: StageActive, Params: paramsIn(in.Params), Tags: tagsIn(in.Tags)})
	if err != nil {
		return nil, notFoundAs(err, Errorf(CodeResourceDoesNotExist, "No Experiment with id=%s exists", in.ExperimentID))
	}
	return map[string]any{"model": loggedModelOut(m)}, nil
}

func (h *Handler) getLoggedModel(r *http.Request, ws string) (any, error) {
	id := r.PathValue("model_id")
	m, err := h.cfg.Store.GetLoggedModel(r.Context(), ws, id)
	if err != nil {
		return nil, notFoundAs(err, modelNotFound(id))
	}
	return map[string]any{"model": loggedModelOut(m)}, nil
}

func (h *Handler) finalizeLoggedModel(r *http.Request, ws string) (any, error) {
	id := r.PathValue("model_id")
	var in struct {
		Status string `json:"status"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if !modelStatuses[in.Status] {
		return nil, invalidf("Invalid logged model status %q", in.Status)
	}
	m, err := h.cfg.Store.FinalizeLoggedModel(r.Context(), ws, id, in.Status)
	if err != nil {
		return nil, notFoundAs(err, modelNotFound(id))
	}
	return map[string]any{"model": loggedModelOut(m)}, nil
}

func (h *Handler) deleteLoggedModel(r *http.Request, ws string) (any, error) {
	id := r.PathValue("model_id")
	return nil, notFoundAs(h.cfg.Store.DeleteLoggedModel(r.Context(), ws, id), modelNotFound(id))
}

func (h *Handler) setLoggedModelTags(r *http.Request, ws string) (any, error) {
	id := r.PathValue("model_id")
	var in struct {
		Tags []wireTag `json:"tags"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		if err := checkTag(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	return nil, notFoundAs(h.cfg.Store.SetLoggedModelTags(r.Context(), ws, id, tagsIn(in.Tags)), modelNotFound(id))
}

func (h *Handler) deleteLoggedModelTag(r *http.Request, ws string) (any, error) {
	id, key := r.PathValue("model_id"), r.PathValue("tag_key")
	if _, err := h.cfg.Store.GetLoggedModel(r.Context(), ws, id); err != nil {
		return nil, notFoundAs(err, modelNotFound(id))
	}
	err := h.cfg.Store.DeleteLoggedModelTag(r.Context(), ws, id, key)
	return nil, notFoundAs(err, Errorf(CodeResourceDoesNotExist, "No tag with key '%s' found for logged model '%s'", key, id))
}

func (h *Handler) logLoggedModelParams(r *http.Request, ws string) (any, error) {
	id := r.PathValue("model_id")
	var in struct {
		Params []wireTag `json:"params"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	for _, p := range in.Params {
		if err := checkParam(p.Key, p.Value); err != nil {
			return nil, err
		}
	}
	return nil, notFoundAs(h.cfg.Store.LogLoggedModelParams(r.Context(), ws, id, paramsIn(in.Params)), modelNotFound(id))
}

func (h *Handler) searchLoggedModels(r *http.Request, ws string) (any, error) {
	var in struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter"`
		MaxResults    *jsonInt `json:"max_results"`
		PageToken     string   `json:"page_token"`
		OrderBy       []struct {
			FieldName string `json:"field_name"`
			Ascending *bool  `json:"ascending"`
		} `json:"order_by"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	q := ModelQuery{ExperimentIDs: in.ExperimentIDs}
	for _, id := range in.ExperimentIDs {
		if err := checkExperimentID(id); err != nil {
			return nil, err
		}
	}
	var err error
	if q.Page, err = pageOf(in.MaxResults, 100, in.PageToken); err != nil {
		return nil, err
	}
	if q.Filter, err = ParseModelFilter(in.Filter); err != nil {
		return nil, err
	}
	for _, o := range in.OrderBy {
		ob, err := parseModelOrderField(strings.TrimSpace(o.FieldName), o.Ascending == nil || *o.Ascending)
		if err != nil {
			return nil, err
		}
		q.OrderBy = append(q.OrderBy, ob)
	}
	models, err := h.cfg.Store.SearchLoggedModels(r.Context(), ws, q)
	if err != nil {
		return nil, err
	}
	token, n := nextToken(q.Page, len(models))
	out := struct {
		Models        []wireLoggedModel `json:"models,omitempty"`
		NextPageToken string            `json:"next_page_token,omitempty"`
	}{NextPageToken: token}
	for _, m := range models[:n] {
		out.Models = append(out.Models, loggedModelOut(m))
	}
	return out, nil
}
