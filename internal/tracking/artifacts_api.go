package tracking

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/ciel-mlops/ciel/internal/artifacts"
)

// The artifact proxy: mlflow resolves "mlflow-artifacts:/<rel>" against the
// tracking URI keeping its path, so a run's files are PUT and GET at
// /ws/{ws}/api/2.0/mlflow-artifacts/artifacts/<rel> and listed at
// .../artifacts?path=<rel>. On disk rel is Artifacts.Path(ws, rel).
const artifactsPrefix = "/ws/{ws}/api/2.0/mlflow-artifacts"

func (h *Handler) artifactRoutes() []route {
	return []route{
		{"GET", "/ws/{ws}/api/3.0/mlflow/server-info", h.serverInfo},
		{"GET", artifactsPrefix + "/artifacts", h.listArtifacts},
		{"PUT", artifactsPrefix + "/artifacts/{path...}", h.putArtifact},
		{"DELETE", artifactsPrefix + "/artifacts/{path...}", h.deleteArtifact},
		{"POST", artifactsPrefix + "/mpu/create/{path...}", h.createUpload},
		{"POST", artifactsPrefix + "/mpu/complete/{path...}", h.completeUpload},
		{"POST", artifactsPrefix + "/mpu/abort/{path...}", h.abortUpload},
	}
}

// serverInfo tells the client what this server supports: multipart
// uploads through the proxy, no MLflow workspaces (ciel's are in the URL).
func (h *Handler) serverInfo(_ *http.Request, _ string) (any, error) {
	return map[string]any{
		"store_type": "SqlStore", "workspaces_enabled": false, "trace_archival_enabled": false,
		"multipart_uploads_enabled": true, "multipart_downloads_enabled": false,
		"presigned_upload_run_id_supported": false, "presigned_upload_model_id_supported": false,
		"features_enabled": map[string]bool{},
	}, nil
}

// requireWorkspace returns RESOURCE_DOES_NOT_EXIST for an unknown workspace,
// so writes never create files for one.
func (h *Handler) requireWorkspace(r *http.Request, ws string) error {
	if h.cfg.Workspaces == nil {
		return nil
	}
	if _, err := h.cfg.Workspaces.GetWorkspace(r.Context(), ws); err != nil {
		return notFoundAs(err, Errorf(CodeResourceDoesNotExist,
			"workspace %q not found; create it with: ciel workspace create --name %s", ws, ws))
	}
	return nil
}

// putArtifact stores the body as the file at the path (see fileRel), in
// one piece once it has all arrived.
func (h *Handler) putArtifact(r *http.Request, ws string) (any, error) {
	raw := r.PathValue("path")
	rel, err := fileRel(raw)
	if err == nil {
		err = h.writable(raw, rel)
	}
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(raw, "/") {
		return nil, badArtifactPath(raw, "it names a folder, not a file")
	}
	if err := h.requireWorkspace(r, ws); err != nil {
		return nil, err
	}
	p, err := h.cfg.Artifacts.Path(ws, rel)
	if err != nil {
		return nil, badArtifactPath(raw, err.Error())
	}
	tmp, n, err := h.receive(r, ws, "artifact "+rel)
	if err != nil {
		return nil, err
	}
	old, err := place(tmp, p, rel)
	if err != nil {
		os.Remove(tmp)
		h.quota.release(ws, n)
		return nil, err
	}
	h.quota.commit(ws, n, n, old)
	return nil, nil
}

func (h *Handler) getArtifact(w http.ResponseWriter, r *http.Request, ws string) error {
	raw := r.PathValue("path")
	if raw == "" {
		v, err := h.listArtifacts(r, ws)
		if err != nil {
			return err
		}
		return writeJSON(w, v)
	}
	rel, err := fileRel(raw)
	if err != nil {
		return err
	}
	p, err := h.cfg.Artifacts.Path(ws, rel)
	if err != nil {
		return badArtifactPath(raw, err.Error())
	}
	return errNoArtifact(rel, serveFile(w, r, p))
}

// errNoArtifact turns a missing file into MLflow's not-found error.
func errNoArtifact(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return Errorf(CodeResourceDoesNotExist, "No such artifact: '%s'", rel)
	}
	return err
}

// fileInfo is one entry of an artifact listing.
type fileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// listDir lists the directory p, each entry's path being prefix/name; a
// file or a missing path lists as nothing.
func listDir(p, prefix string) ([]fileInfo, error) {
	entries, err := os.ReadDir(p)
	if err != nil {
		var pe *fs.PathError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &pe) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]fileInfo, 0, len(entries))
	for _, e := range entries {
		if legacyTempRE.MatchString(e.Name()) || prefix == "" && e.Name() == legacyPartsDir {
			continue
		}
		fi := fileInfo{Path: path.Join(prefix, e.Name()), IsDir: e.IsDir()}
		if !e.IsDir() {
			info, err := e.Info()
			if err != nil {
				continue
			}
			size := info.Size()
			fi.FileSize = &size
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (h *Handler) listArtifacts(r *http.Request, ws string) (any, error) {
	raw := r.URL.Query().Get("path")
	rel, err := cleanRel(raw)
	if err != nil {
		return nil, err
	}
	p, err := h.cfg.Artifacts.Path(ws, rel)
	if err != nil {
		return nil, badArtifactPath(raw, err.Error())
	}
	files, err := listDir(p, "")
	if err != nil {
		return nil, fmt.Errorf("list artifacts %s: %w", rel, err)
	}
	return struct {
		Files []fileInfo `json:"files,omitempty"`
	}{files}, nil
}

// deleteArtifact removes the file or folder at the path (see deleteRel).
func (h *Handler) deleteArtifact(r *http.Request, ws string) (any, error) {
	raw := r.PathValue("path")
	rel, err := deleteRel(raw)
	if err == nil {
		err = h.writable(raw, rel)
	}
	if err != nil {
		return nil, err
	}
	p, err := h.cfg.Artifacts.Path(ws, rel)
	if err != nil {
		return nil, badArtifactPath(raw, err.Error())
	}
	err = os.RemoveAll(p)
	h.quota.forget(ws)
	if err != nil {
		return nil, fmt.Errorf("delete artifact %s: %w", rel, err)
	}
	return nil, nil
}

// listUnder answers an MLflow ListArtifacts-style call for the artifact
// root uri (a run's or a logged model's): the entries of sub below it.
func (h *Handler) listUnder(ws, uri, sub string) (any, error) {
	out := struct {
		RootURI string     `json:"root_uri"`
		Files   []fileInfo `json:"files,omitempty"`
	}{RootURI: uri}
	root, err := artifacts.Rel(uri)
	if err != nil {
		return out, nil // not proxied by ciel: the client reads it itself
	}
	rel, clean, err := subRel(root, sub)
	if err != nil {
		return nil, err
	}
	p, err := h.cfg.Artifacts.Path(ws, rel)
	if err != nil {
		return nil, badArtifactPath(sub, err.Error())
	}
	if out.Files, err = listDir(p, clean); err != nil {
		return nil, fmt.Errorf("list artifacts %s: %w", sub, err)
	}
	return out, nil
}

func (h *Handler) listRunArtifacts(r *http.Request, ws string) (any, error) {
	q := r.URL.Query()
	id, err := runRef{RunID: q.Get("run_id"), RunUUID: q.Get("run_uuid")}.id()
	if err != nil {
		return nil, err
	}
	run, err := h.cfg.Store.GetRun(r.Context(), ws, id)
	if err != nil {
		return nil, notFoundAs(err, runNotFound(id))
	}
	return h.listUnder(ws, run.Info.ArtifactURI, q.Get("path"))
}

func (h *Handler) listLoggedModelArtifacts(r *http.Request, ws string) (any, error) {
	id := r.PathValue("model_id")
	m, err := h.cfg.Store.GetLoggedModel(r.Context(), ws, id)
	if err != nil {
		return nil, notFoundAs(err, modelNotFound(id))
	}
	return h.listUnder(ws, m.ArtifactURI, r.URL.Query().Get("artifact_directory_path"))
}

func (h *Handler) getLoggedModelArtifact(w http.ResponseWriter, r *http.Request, ws string) error {
	id := r.PathValue("model_id")
	m, err := h.cfg.Store.GetLoggedModel(r.Context(), ws, id)
	if err != nil {
		return notFoundAs(err, modelNotFound(id))
	}
	root, err := artifacts.Rel(m.ArtifactURI)
	if err != nil {
		return invalidf("logged model %s keeps its artifacts outside ciel: %s", id, m.ArtifactURI)
	}
	sub := r.URL.Query().Get("artifact_file_path")
	rel, clean, err := subRel(root, sub)
	if err != nil {
		return err
	}
	if clean == "" {
		return badArtifactPath(sub, "it names the logged model's artifact root, not a file")
	}
	p, err := h.cfg.Artifacts.Path(ws, rel)
	if err != nil {
		return badArtifactPath(sub, err.Error())
	}
	return errNoArtifact(sub, serveFile(w, r, p))
}

// serveFile answers with the regular file p (ranges supported); a missing
// file or a directory is fs.ErrNotExist.
func serveFile(w http.ResponseWriter, r *http.Request, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.IsDir() {
		return fs.ErrNotExist
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", info.ModTime(), f)
	return nil
}
