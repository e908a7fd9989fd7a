package tracking

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ciel-mlops/ciel/internal/store"
)

// maxExperimentName is MLflow's limit on experiment names.
const maxExperimentName = 500

func checkExperimentName(name string) error {
	if strings.TrimSpace(name) == "" {
		return missing("name")
	}
	if len(name) > maxExperimentName {
		return invalidf("Experiment name exceeds the maximum length of %d characters", maxExperimentName)
	}
	return nil
}

func (h *Handler) createExperiment(r *http.Request, ws string) (any, error) {
	var in struct {
		Name             string    `json:"name"`
		ArtifactLocation string    `json:"artifact_location"`
		Tags             []wireTag `json:"tags"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if err := checkExperimentName(in.Name); err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		if err := checkTag(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	e, err := h.cfg.Store.CreateExperiment(r.Context(), ws, Experiment{Name: in.Name,
		ArtifactLocation: in.ArtifactLocation, Tags: tagsIn(in.Tags)})
	if errors.Is(err, store.ErrConflict) {
		return nil, Errorf(CodeResourceAlreadyExists, "Experiment(name=%s) already exists.", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"experiment_id": e.ID}, nil
}

// experiment returns the experiment with id, or MLflow's not-found error.
func (h *Handler) experiment(r *http.Request, ws, id string) (Experiment, error) {
	if id == "" {
		return Experiment{}, missing("experiment_id")
	}
	if err := checkExperimentID(id); err != nil {
		return Experiment{}, err
	}
	e, err := h.cfg.Store.GetExperiment(r.Context(), ws, id)
	if errors.Is(err, store.ErrNotFound) {
		return e, Errorf(CodeResourceDoesNotExist, "No Experiment with id=%s exists", id)
	}
	return e, err
}

func (h *Handler) getExperiment(r *http.Request, ws string) (any, error) {
	e, err := h.experiment(r, ws, r.URL.Query().Get("experiment_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": experimentOut(e)}, nil
}

func (h *Handler) getExperimentByName(r *http.Request, ws string) (any, error) {
	name := r.URL.Query().Get("experiment_name")
	if name == "" {
		return nil, missing("experiment_name")
	}
	e, err := h.cfg.Store.GetExperimentByName(r.Context(), ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(CodeResourceDoesNotExist, "Could not find experiment with name '%s'", name)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": experimentOut(e)}, nil
}

func (h *Handler) searchExperiments(r *http.Request, ws string) (any, error) {
	var in struct {
		MaxResults *jsonInt `json:"max_results"`
		PageToken  string   `json:"page_token"`
		Filter     string   `json:"filter"`
		OrderBy    []string `json:"order_by"`
		ViewType   string   `json:"view_type"`
	}
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		in.PageToken, in.Filter, in.OrderBy, in.ViewType = q.Get("page_token"), q.Get("filter"), q["order_by"], q.Get("view_type")
		if n, err := queryInt(r, "max_results"); err != nil {
			return nil, err
		} else if n != nil {
			in.MaxResults = (*jsonInt)(n)
		}
	} else if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	q := ExperimentQuery{}
	var err error
	if q.Page, err = pageOf(in.MaxResults, 1000, in.PageToken); err != nil {
		return nil, err
	}
	if q.ViewType, err = viewType(in.ViewType); err != nil {
		return nil, err
	}
	if q.Filter, err = ParseExperimentFilter(in.Filter); err != nil {
		return nil, err
	}
	for _, o := range in.OrderBy {
		ob, err := ParseExperimentOrderBy(o)
		if err != nil {
			return nil, err
		}
		q.OrderBy = append(q.OrderBy, ob)
	}
	exps, err := h.cfg.Store.SearchExperiments(r.Context(), ws, q)
	if err != nil {
		return nil, err
	}
	token, n := nextToken(q.Page, len(exps))
	out := struct {
		Experiments   []wireExperiment `json:"experiments,omitempty"`
		NextPageToken string           `json:"next_page_token,omitempty"`
	}{NextPageToken: token}
	for _, e := range exps[:n] {
		out.Experiments = append(out.Experiments, experimentOut(e))
	}
	return out, nil
}

// viewType checks a view type, "" meaning ACTIVE_ONLY.
func viewType(v string) (string, error) {
	switch v {
	case "":
		return ViewActiveOnly, nil
	case ViewActiveOnly, ViewDeletedOnly, ViewAll:
		return v, nil
	}
	return "", invalidf("Invalid view type %q: expected ACTIVE_ONLY, DELETED_ONLY or ALL", v)
}

func (h *Handler) updateExperiment(r *http.Request, ws string) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		NewName      string `json:"new_name"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if in.NewName == "" {
		return nil, missing("new_name")
	}
	e, err := h.experiment(r, ws, in.ExperimentID)
	if err != nil {
		return nil, err
	}
	if e.LifecycleStage != StageActive {
		return nil, invalidf("Cannot rename a non-active experiment.")
	}
	if err := checkExperimentName(in.NewName); err != nil {
		return nil, err
	}
	err = h.cfg.Store.RenameExperiment(r.Context(), ws, in.ExperimentID, in.NewName)
	if errors.Is(err, store.ErrConflict) {
		return nil, Errorf(CodeResourceAlreadyExists, "Experiment(name=%s) already exists.", in.NewName)
	}
	return nil, err
}

func (h *Handler) stageExperiment(stage string) apiFunc {
	return func(r *http.Request, ws string) (any, error) {
		var in struct {
			ExperimentID string `json:"experiment_id"`
		}
		if err := readJSON(r, &in); err != nil {
			return nil, err
		}
		if _, err := h.experiment(r, ws, in.ExperimentID); err != nil {
			return nil, err
		}
		return nil, h.cfg.Store.SetExperimentStage(r.Context(), ws, in.ExperimentID, stage)
	}
}

func (h *Handler) setExperimentTag(r *http.Request, ws string) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if err := checkTag(in.Key, in.Value); err != nil {
		return nil, err
	}
	if _, err := h.experiment(r, ws, in.ExperimentID); err != nil {
		return nil, err
	}
	return nil, h.cfg.Store.SetExperimentTag(r.Context(), ws, in.ExperimentID, Tag{Key: in.Key, Value: in.Value})
}

func (h *Handler) deleteExperimentTag(r *http.Request, ws string) (any, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if _, err := h.experiment(r, ws, in.ExperimentID); err != nil {
		return nil, err
	}
	err := h.cfg.Store.DeleteExperimentTag(r.Context(), ws, in.ExperimentID, in.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(CodeResourceDoesNotExist, "No tag with name: %s in experiment with id %s", in.Key, in.ExperimentID)
	}
	return nil, err
}
