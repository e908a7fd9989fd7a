package tracking

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/ciel-mlops/ciel/internal/artifacts"
)

// The artifact proxy: mlflow resolves "mlflow-artifacts:/<rel>" against the
// tracking URI keeping its path, so a run's files are PUT and GET at
// /ws/{ws}/api/2.0/mlflow-artifacts/artifacts/<rel> and listed at
// .../artifacts?path=<rel>. The files are kept by the ArtifactStore.
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
		{"GET", artifactsPrefix + "/presigned/{path...}", h.presignedDownload},
	}
}

// serverInfo tells the client what this server supports: multipart
// uploads (presigned, or through the proxy), presigned downloads where the
// store hands them out, no MLflow workspaces (ciel's are in the URL).
func (h *Handler) serverInfo(_ *http.Request, _ string) (any, error) {
	_, direct := h.cfg.Artifacts.(DirectUploads)
	return map[string]any{
		"store_type": "SqlStore", "workspaces_enabled": false, "trace_archival_enabled": false,
		"multipart_uploads_enabled": direct || h.cfg.PartsDir != "", "multipart_downloads_enabled": direct,
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
	return nil, h.storeBody(r, ws, rel)
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
	return errNoArtifact(rel, h.serveFile(w, r, ws, rel))
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

// list lists the folder rel of ws, each entry's path being prefix/name;
// a file or a missing path lists as nothing.
func (h *Handler) list(r *http.Request, ws, rel, prefix string) ([]fileInfo, error) {
	entries, err := h.cfg.Artifacts.List(r.Context(), ws, rel)
	if err != nil {
		return nil, err
	}
	out := make([]fileInfo, 0, len(entries))
	for _, e := range entries {
		fi := fileInfo{Path: path.Join(prefix, e.Name), IsDir: e.IsDir}
		if !e.IsDir {
			size := e.Size
			fi.FileSize = &size
		}
		out = append(out, fi)
	}
	return out, nil
}

func (h *Handler) listArtifacts(r *http.Request, ws string) (any, error) {
	raw := r.URL.Query().Get("path")
	rel, err := cleanRel(raw)
	if err != nil {
		return nil, err
	}
	files, err := h.list(r, ws, rel, "")
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
	err = h.cfg.Artifacts.Delete(r.Context(), ws, rel)
	h.quota.forget(ws)
	if err != nil {
		return nil, fmt.Errorf("delete artifact %s: %w", rel, err)
	}
	return nil, nil
}

// listUnder answers an MLflow ListArtifacts-style call for the artifact
// root uri (a run's or a logged model's): the entries of sub below it.
func (h *Handler) listUnder(r *http.Request, ws, uri, sub string) (any, error) {
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
	if out.Files, err = h.list(r, ws, rel, clean); err != nil {
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
	return h.listUnder(r, ws, run.Info.ArtifactURI, q.Get("path"))
}

func (h *Handler) listLoggedModelArtifacts(r *http.Request, ws string) (any, error) {
	id := r.PathValue("model_id")
	m, err := h.cfg.Store.GetLoggedModel(r.Context(), ws, id)
	if err != nil {
		return nil, notFoundAs(err, modelNotFound(id))
	}
	return h.listUnder(r, ws, m.ArtifactURI, r.URL.Query().Get("artifact_directory_path"))
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
	return errNoArtifact(sub, h.serveFile(w, r, ws, rel))
}

// serveFile answers with the file rel of ws (ranges supported); a
// missing file or a folder is fs.ErrNotExist.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, ws, rel string) error {
	f, err := h.cfg.Artifacts.Open(r.Context(), ws, rel)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", f.ModTime(), f)
	return nil
}

// presignedDownload answers MLflow's GET .../mlflow-artifacts/presigned/
// <path> with a URL the client downloads the file from, in ranges, without
// the server; a store that hands out none answers as MLflow's server does
// then (501 NOT_IMPLEMENTED), and the client reads through the proxy.
func (h *Handler) presignedDownload(r *http.Request, ws string) (any, error) {
	raw := r.PathValue("path")
	rel, err := fileRel(raw)
	if err != nil {
		return nil, err
	}
	d, ok := h.cfg.Artifacts.(DirectUploads)
	if !ok {
		return nil, Errorf(CodeNotImplemented, "Multipart download is not supported for the current artifact repository")
	}
	u, size, err := d.DownloadURL(r.Context(), ws, rel)
	if err != nil {
		return nil, errNoArtifact(rel, err)
	}
	return map[string]any{"url": u, "headers": map[string]string{}, "file_size": size}, nil
}
