package registry

import (
	"net/http"
)

// modelVersion answers {"model_version": ...}.
func modelVersion(v Version) any {
	return map[string]any{"model_version": toMLVersion(v)}
}

// versionAnswer answers {"model_version": ...} for the version a call
// returned, or its error.
func versionAnswer(v Version, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return modelVersion(v), nil
}

// nameVersion reads the "name" and "version" fields every version call
// takes.
func nameVersion(p params) (string, int, error) {
	name, err := p.required("name")
	if err != nil {
		return "", 0, err
	}
	v, err := p.version()
	return name, v, err
}

// createVersion registers a version. The source (a run's artifacts, a
// logged model models:/m-..., another version) is resolved to files and
// copied into the registry; source in the answer is where the copy is.
func (s *Server) createVersion(r *http.Request, ws string, p params) (any, error) {
	k, err := p.requiredAll("name", "source")
	if err != nil {
		return nil, err
	}
	name, source := k[0], k[1]
	tags, err := p.tags()
	if err != nil {
		return nil, err
	}
	if _, err := s.svc.GetModel(r.Context(), ws, name); err != nil {
		return nil, err
	}
	v, err := s.svc.CreateVersion(r.Context(), NewVersion{
		Workspace: ws, Name: name, Source: source, Description: p.str("description"), Tags: tags,
		RunID: p.str("run_id"), ModelID: p.str("model_id"),
	})
	return versionAnswer(v, err)
}

func (s *Server) getVersion(r *http.Request, ws string, p params) (any, error) {
	name, version, err := nameVersion(p)
	if err != nil {
		return nil, err
	}
	v, err := s.svc.GetVersion(r.Context(), ws, name, version)
	return versionAnswer(v, err)
}

func (s *Server) updateVersion(r *http.Request, ws string, p params) (any, error) {
	name, version, err := nameVersion(p)
	if err != nil {
		return nil, err
	}
	var u VersionUpdate
	if p.has("description") {
		d := p.str("description")
		u.Description = &d
	}
	v, err := s.svc.UpdateVersion(r.Context(), ws, name, version, u)
	return versionAnswer(v, err)
}

func (s *Server) transitionStage(r *http.Request, ws string, p params) (any, error) {
	name, version, err := nameVersion(p)
	if err != nil {
		return nil, err
	}
	stage, err := p.required("stage")
	if err != nil {
		return nil, err
	}
	v, err := s.svc.TransitionStage(r.Context(), ws, name, version, stage, p.boolean("archive_existing_versions"))
	return versionAnswer(v, err)
}

func (s *Server) deleteVersion(r *http.Request, ws string, p params) (any, error) {
	name, version, err := nameVersion(p)
	if err != nil {
		return nil, err
	}
	return nil, s.svc.DeleteVersion(r.Context(), ws, name, version)
}

func (s *Server) searchVersions(r *http.Request, ws string, p params) (any, error) {
	versions, err := s.svc.SearchVersions(r.Context(), ws, p.str("filter"), p.strs("order_by"))
	if err != nil {
		return nil, err
	}
	from, to, next, err := page(p, len(versions), versionsPageDefault, versionsPageMax)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_versions": toMLVersions(versions[from:to]), "next_page_token": next}, nil
}

func (s *Server) downloadURI(r *http.Request, ws string, p params) (any, error) {
	name, version, err := nameVersion(p)
	if err != nil {
		return nil, err
	}
	v, err := s.svc.GetVersion(r.Context(), ws, name, version)
	if err != nil {
		return nil, err
	}
	if err := s.svc.HasFiles(v); err != nil {
		return nil, err
	}
	return map[string]string{"artifact_uri": v.Source}, nil
}

func (s *Server) setVersionTag(r *http.Request, ws string, p params) (any, error) {
	return s.updateVersionTag(r, ws, p, func(key string) VersionUpdate {
		return VersionUpdate{SetTags: map[string]string{key: p.str("value")}}
	})
}

func (s *Server) deleteVersionTag(r *http.Request, ws string, p params) (any, error) {
	return s.updateVersionTag(r, ws, p, func(key string) VersionUpdate { return VersionUpdate{RemoveTags: []string{key}} })
}

// updateVersionTag applies the update made for the call's "key" to the
// version its "name" and "version" name.
func (s *Server) updateVersionTag(r *http.Request, ws string, p params, update func(key string) VersionUpdate) (any, error) {
	name, version, err := nameVersion(p)
	if err != nil {
		return nil, err
	}
	key, err := p.required("key")
	if err != nil {
		return nil, err
	}
	_, err = s.svc.UpdateVersion(r.Context(), ws, name, version, update(key))
	return nil, err
}
