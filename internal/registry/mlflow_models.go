package registry

import (
	"fmt"
	"net/http"
)

// Search page sizes, MLflow's defaults and limits.
const (
	modelsPageDefault   = 100
	modelsPageMax       = 1000
	versionsPageDefault = 10000
	versionsPageMax     = 200000
)

// modelAnswer answers {"registered_model": ...} for the model a call
// returned, or its error.
func (s *Server) modelAnswer(r *http.Request, ws string, m Model, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return s.registeredModel(r, ws, m)
}

// registeredModel answers {"registered_model": ...} for a model.
func (s *Server) registeredModel(r *http.Request, ws string, m Model) (any, error) {
	versions, err := s.svc.ListVersions(r.Context(), ws, m.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": toMLModel(m, versions)}, nil
}

func (s *Server) createModel(r *http.Request, ws string, p params) (any, error) {
	name, err := p.required("name")
	if err != nil {
		return nil, err
	}
	tags, err := p.tags()
	if err != nil {
		return nil, err
	}
	m, err := s.svc.CreateModel(r.Context(), ws, name, p.str("description"), tags)
	return s.modelAnswer(r, ws, m, err)
}

func (s *Server) getModel(r *http.Request, ws string, p params) (any, error) {
	name, err := p.required("name")
	if err != nil {
		return nil, err
	}
	m, err := s.svc.GetModel(r.Context(), ws, name)
	return s.modelAnswer(r, ws, m, err)
}

func (s *Server) renameModel(r *http.Request, ws string, p params) (any, error) {
	k, err := p.requiredAll("name", "new_name")
	if err != nil {
		return nil, err
	}
	m, err := s.svc.RenameModel(r.Context(), ws, k[0], k[1])
	return s.modelAnswer(r, ws, m, err)
}

func (s *Server) updateModel(r *http.Request, ws string, p params) (any, error) {
	name, err := p.required("name")
	if err != nil {
		return nil, err
	}
	var u ModelUpdate
	if p.has("description") {
		d := p.str("description")
		u.Description = &d
	}
	m, err := s.svc.UpdateModel(r.Context(), ws, name, u)
	return s.modelAnswer(r, ws, m, err)
}

func (s *Server) deleteModel(r *http.Request, ws string, p params) (any, error) {
	name, err := p.required("name")
	if err != nil {
		return nil, err
	}
	return nil, s.svc.DeleteModel(r.Context(), ws, name)
}

// page returns the slice of n results a request's max_results and
// page_token select, and the token of the next page ("" at the end).
func page(p params, n, def, limit int) (from, to int, next string, err error) {
	size, err := p.integer("max_results", def)
	if err != nil {
		return 0, 0, "", err
	}
	if size < 1 || size > limit {
		return 0, 0, "", invalid(fmt.Sprintf("Invalid value for request parameter max_results. It must be at most %d and at least 1, but got value %d", limit, size))
	}
	from, err = ParsePageToken(p.str("page_token"))
	if err != nil {
		return 0, 0, "", err
	}
	from = min(from, n)
	to = min(from+size, n)
	if to < n {
		next = PageToken(to)
	}
	return from, to, next, nil
}

func (s *Server) searchModels(r *http.Request, ws string, p params) (any, error) {
	models, err := s.svc.SearchModels(r.Context(), ws, p.str("filter"), p.strs("order_by"))
	if err != nil {
		return nil, err
	}
	from, to, next, err := page(p, len(models), modelsPageDefault, modelsPageMax)
	if err != nil {
		return nil, err
	}
	all, err := s.svc.ListVersions(r.Context(), ws, "")
	if err != nil {
		return nil, err
	}
	byModel := map[string][]Version{}
	for _, v := range all {
		byModel[v.Name] = append(byModel[v.Name], v)
	}
	out := make([]mlRegisteredModel, 0, to-from)
	for _, m := range models[from:to] {
		out = append(out, toMLModel(m, byModel[m.Name]))
	}
	return map[string]any{"registered_models": out, "next_page_token": next}, nil
}

func (s *Server) latestVersions(r *http.Request, ws string, p params) (any, error) {
	name, err := p.required("name")
	if err != nil {
		return nil, err
	}
	var stages []string
	for _, st := range p.strs("stages") {
		c, err := canonicalStage(st)
		if err != nil {
			return nil, err
		}
		stages = append(stages, c)
	}
	versions, err := s.svc.ListVersions(r.Context(), ws, name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_versions": toMLVersions(latestPerStage(versions, stages))}, nil
}

func (s *Server) setModelTag(r *http.Request, ws string, p params) (any, error) {
	k, err := p.requiredAll("name", "key")
	if err != nil {
		return nil, err
	}
	_, err = s.svc.UpdateModel(r.Context(), ws, k[0], ModelUpdate{SetTags: map[string]string{k[1]: p.str("value")}})
	return nil, err
}

func (s *Server) deleteModelTag(r *http.Request, ws string, p params) (any, error) {
	k, err := p.requiredAll("name", "key")
	if err != nil {
		return nil, err
	}
	_, err = s.svc.UpdateModel(r.Context(), ws, k[0], ModelUpdate{RemoveTags: []string{k[1]}})
	return nil, err
}

func (s *Server) setAlias(r *http.Request, ws string, p params) (any, error) {
	k, err := p.requiredAll("name", "alias")
	if err != nil {
		return nil, err
	}
	version, err := p.version()
	if err != nil {
		return nil, err
	}
	return nil, s.svc.SetAlias(r.Context(), ws, k[0], k[1], version)
}

func (s *Server) deleteAlias(r *http.Request, ws string, p params) (any, error) {
	k, err := p.requiredAll("name", "alias")
	if err != nil {
		return nil, err
	}
	return nil, s.svc.DeleteAlias(r.Context(), ws, k[0], k[1])
}

func (s *Server) versionByAlias(r *http.Request, ws string, p params) (any, error) {
	k, err := p.requiredAll("name", "alias")
	if err != nil {
		return nil, err
	}
	return versionAnswer(s.svc.VersionByAlias(r.Context(), ws, k[0], k[1]))
}
