package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/guard"
)

// OpenVersionFile opens the file rel (relative to the version's folder)
// of a version's files in the artifact root; a missing file wraps
// store.ErrNotFound, a path that climbs out ErrInvalid.
func (s *Service) OpenVersionFile(ctx context.Context, v Version, rel string) (artifacts.File, error) {
	if err := s.HasFiles(v); err != nil {
		return nil, err
	}
	clean, err := artifacts.Clean(rel)
	if err != nil || clean == "" {
		return nil, invalid(fmt.Sprintf("path %q: expected the path of a file of the version, with no \"..\"", rel))
	}
	f, err := s.cfg.Artifacts.Open(ctx, v.Workspace, path.Join(v.Storage, clean))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(fmt.Sprintf("version %d of model %s has no file %s", v.Version, v.Name, clean))
	}
	return f, err
}

// versionArtifact answers MLflow's GET model-versions/get-artifact
// (name, version, path), which its web UI reads a version's files with:
// the file, ranges supported, from wherever the artifact root keeps it.
func (s *Server) versionArtifact(w http.ResponseWriter, r *http.Request) {
	if s.token != "" && !guard.TokenOK(r, s.token) && !guard.BySession(r) {
		writeMLflowError(w, errUnauthenticated)
		return
	}
	f, err := s.openVersionArtifact(r)
	if err != nil {
		if mlflowStatus(err) >= 500 {
			s.log.Error("registry request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeMLflowError(w, err)
		return
	}
	defer f.Close()
	// Never rendered by the browser as a page of this origin.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", "attachment")
	http.ServeContent(w, r, "", f.ModTime(), f)
}

func (s *Server) openVersionArtifact(r *http.Request) (artifacts.File, error) {
	p := params{q: r.URL.Query()}
	name, version, err := nameVersion(p)
	if err != nil {
		return nil, err
	}
	rel, err := p.required("path")
	if err != nil {
		return nil, err
	}
	v, err := s.svc.GetVersion(r.Context(), r.PathValue("ws"), name, version)
	if err != nil {
		return nil, err
	}
	return s.svc.OpenVersionFile(r.Context(), v, rel)
}
