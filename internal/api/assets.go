package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

func (s *server) workspaceView(w store.Workspace) client.Workspace {
	rg := orDefault(w.ResourceGroup, "local")
	return client.Workspace{
		Name: w.Name, ResourceGroup: w.ResourceGroup, Location: w.Location, DisplayName: w.DisplayName,
		Description: w.Description, Tags: w.Tags, CreatedAt: w.CreatedAt,
		MLflowTrackingURI: tracking.TrackingURI(s.base, w.Name),
		ID: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/" + rg +
			"/providers/Microsoft.MachineLearningServices/workspaces/" + w.Name,
	}
}

func (s *server) listWorkspaces(_ http.ResponseWriter, r *http.Request) (any, error) {
	list, err := s.st.ListWorkspaces(r.Context())
	if err != nil {
		return nil, err
	}
	return views(list, s.workspaceView), nil
}

func (s *server) createWorkspace(_ http.ResponseWriter, r *http.Request) (any, error) {
	var in client.Workspace
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name); err != nil {
		return nil, err
	}
	w := store.Workspace{Name: in.Name, ResourceGroup: in.ResourceGroup, Location: in.Location,
		DisplayName: in.DisplayName, Description: in.Description, Tags: in.Tags, CreatedAt: time.Now().UTC()}
	if err := s.st.CreateWorkspace(r.Context(), w); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &httpError{status: http.StatusConflict, code: "Conflict", target: "name",
				msg: fmt.Sprintf("workspace %q already exists", in.Name)}
		}
		return nil, err
	}
	return created{s.workspaceView(w)}, nil
}

// workspace returns the workspace named in the path, or a 404 that says how
// to create it.
func (s *server) workspace(r *http.Request) (store.Workspace, error) {
	name := r.PathValue("ws")
	w, err := s.st.GetWorkspace(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return w, &httpError{status: http.StatusNotFound, code: "NotFound", target: "workspace",
			msg: fmt.Sprintf("workspace %q not found; create it with: ciel workspace create --name %s", name, name)}
	}
	return w, err
}

func (s *server) getWorkspace(_ http.ResponseWriter, r *http.Request) (any, error) {
	w, err := s.workspace(r)
	if err != nil {
		return nil, err
	}
	return s.workspaceView(w), nil
}

// DefaultMaxUploadBytes bounds one upload's tar body when
// Config.MaxUploadBytes is 0. It is larger than the artifact proxy's,
// since one upload carries a whole data folder, not one file.
const DefaultMaxUploadBytes = 10 << 30

// upload stores a tar stream of files in the datastore, streaming each to
// disk, and answers with the tree's digest. A body over the cap is a 413;
// one the client breaks off is a 400 logged at debug level (no fault of
// the server's); a malformed archive is a 400; a failure to store is a
// 500. The blob being written when it fails is removed; blobs of files
// already stored stay (content-addressed, other trees may share them).
func (s *server) upload(w http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	limit := s.cfg.MaxUploadBytes
	if limit <= 0 {
		limit = DefaultMaxUploadBytes
	}
	if r.ContentLength > limit {
		// The body stays unread: close rather than read it to reuse the
		// connection.
		w.Header().Set("Connection", "close")
		return nil, uploadTooLarge(limit)
	}
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, limit)}
	d, err := blob.IngestTar(r.Context(), s.blobs, body)
	if err != nil {
		return nil, s.uploadError(r, body.err, err)
	}
	t, err := blob.GetTree(r.Context(), s.blobs, d)
	if err != nil {
		return nil, err
	}
	return created{client.Upload{Digest: d, Files: len(t.Entries), Size: t.Size()}}, nil
}

// uploadError is the answer to a failed upload; readErr is the body's
// own failure, if any.
func (s *server) uploadError(r *http.Request, readErr, err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(readErr, &tooBig):
		return uploadTooLarge(tooBig.Limit)
	case readErr != nil:
		if ge := guard.BodyError(readErr); ge != nil {
			return refusal(ge)
		}
		s.log.Debug("upload broken off by the client", "path", r.URL.Path, "err", readErr)
		return badRequest("", "upload: the request body was broken off: %v", readErr)
	case errors.Is(err, blob.ErrBadArchive), errors.Is(err, blob.ErrUnsafePath), errors.Is(err, blob.ErrInvalidTree):
		return badRequest("", "upload: %v", err)
	}
	return fmt.Errorf("upload: %w", err)
}

func uploadTooLarge(limit int64) error {
	return &httpError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLarge",
		msg: fmt.Sprintf("upload is larger than the %d bytes this server takes in one request (its upload limit)", limit)}
}

// bodyReader remembers the first error, other than io.EOF, of a request
// body, so that a failed upload can tell the client's doing from the
// server's.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}

// assetKinds maps URL segments to store kinds.
var assetKinds = map[string]string{
	client.KindData: store.KindData, client.KindEnvironment: store.KindEnvironment,
	client.KindComponent: store.KindComponent, client.KindCompute: store.KindCompute,
}

func kindOf(r *http.Request) (string, error) {
	k, ok := assetKinds[r.PathValue("kind")]
	if !ok {
		return "", &httpError{status: http.StatusNotFound, code: "NotFound", msg: fmt.Sprintf("no such resource kind %q", r.PathValue("kind"))}
	}
	return k, nil
}

func assetView(a store.Asset) client.Asset {
	id := "azureml:" + a.Name
	if a.Version != "" {
		id += ":" + a.Version
	}
	return client.Asset{Kind: a.Kind, Name: a.Name, Version: a.Version, Archived: a.Archived, CreatedAt: a.CreatedAt, Spec: a.Spec, ID: id}
}

func (s *server) createAsset(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	kind, err := kindOf(r)
	if err != nil {
		return nil, err
	}
	ws := r.PathValue("ws")
	name, version, body, err := s.decodeAsset(r, kind)
	if err != nil {
		return nil, err
	}
	if err := checkName("name", name); err != nil {
		return nil, err
	}
	if kind != store.KindCompute && version == "" {
		if version, err = s.nextVersion(r, ws, kind, name); err != nil {
			return nil, err
		}
		if body, err = setVersion(body, version); err != nil {
			return nil, err
		}
	}
	a := store.Asset{Workspace: ws, Kind: kind, Name: name, Version: version, Spec: body, CreatedAt: time.Now().UTC()}
	if err := s.st.PutAsset(r.Context(), a, kind == store.KindCompute); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &httpError{status: http.StatusConflict, code: "Conflict", target: "version",
				msg: fmt.Sprintf("%s %s version %s already exists with different content; use a new --version", kind, name, version)}
		}
		return nil, err
	}
	return created{assetView(a)}, nil
}

// decodeAsset reads and checks an asset spec of kind.
func (s *server) decodeAsset(r *http.Request, kind string) (name, version string, body json.RawMessage, err error) {
	var v any
	switch kind {
	case store.KindData:
		d := &spec.Data{}
		v = d
		defer func() {
			if err == nil {
				err = s.checkData(r, d)
			}
		}()
	case store.KindEnvironment:
		v = &spec.Environment{}
	case store.KindComponent:
		v = &spec.Component{}
	case store.KindCompute:
		v = &spec.Compute{}
	}
	if err := decode(r, v); err != nil {
		return "", "", nil, err
	}
	if err := checkAsset(v); err != nil {
		return "", "", nil, err
	}
	switch x := v.(type) {
	case *spec.Data:
		name, version = x.Name, x.Version
	case *spec.Environment:
		name, version = x.Name, x.Version
		if x.Image == "" && x.CondaFile == "" && x.BuildPath == "" {
			return "", "", nil, badRequest("image", "environment %s: give an image, a conda_file or a build context", x.Name)
		}
	case *spec.Component:
		name, version = x.Name, x.Version
		if x.Code != "" && !strings.HasPrefix(x.Code, "blob:") {
			return "", "", nil, badRequest("code", "component %s: code %q was not uploaded; create components with the ciel CLI, which uploads code", x.Name, x.Code)
		}
	case *spec.Compute:
		name = x.Name
		switch x.Type {
		case "", "local", "amlcompute", "computeinstance", "kubernetes":
		default:
			return "", "", nil, badRequest("type", "compute type %q: expected local, amlcompute, computeinstance or kubernetes", x.Type)
		}
	}
	body, err = json.Marshal(v)
	return name, version, body, err
}

func (s *server) checkData(r *http.Request, d *spec.Data) error {
	switch d.Type {
	case "":
		d.Type = spec.TypeURIFolder
	case spec.TypeURIFile, spec.TypeURIFolder, spec.TypeMLTable:
	default:
		return badRequest("type", "data type %q: expected uri_file, uri_folder or mltable", d.Type)
	}
	if datastore.IsDataURI(d.Path) && s.data != nil {
		// Kept as written and read when a job uses it, as Azure ML does;
		// checked now so a typo fails here.
		return dataErr(s.data.Check(r.Context(), r.PathValue("ws"), d.Path, false))
	}
	if !strings.HasPrefix(d.Path, "blob:") {
		return badRequest("path", "data %s: path %q was not uploaded; create data with the ciel CLI, which uploads local files, or give azureml://datastores/<ds>/paths/<p>, azureml://jobs/<job>/outputs/<o> or an http(s) URL", d.Name, d.Path)
	}
	if ok, err := s.blobs.Has(r.Context(), strings.TrimPrefix(d.Path, "blob:")); err != nil || !ok {
		return badRequest("path", "data %s: uploaded content %s is not in the datastore", d.Name, d.Path)
	}
	return nil
}

// nextVersion is one more than the highest numeric version, or "1".
func (s *server) nextVersion(r *http.Request, ws, kind, name string) (string, error) {
	list, err := s.st.ListAssets(r.Context(), ws, kind, name)
	if err != nil {
		return "", err
	}
	max := 0
	for _, a := range list {
		if n, err := strconv.Atoi(a.Version); err == nil && n > max {
			max = n
		}
	}
	return strconv.Itoa(max + 1), nil
}

func setVersion(body json.RawMessage, version string) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	m["version"] = version
	return json.Marshal(m)
}

func (s *server) listAssets(_ http.ResponseWriter, r *http.Request) (any, error) {
	return s.assetList(r, "")
}

func (s *server) listAssetVersions(_ http.ResponseWriter, r *http.Request) (any, error) {
	return s.assetList(r, r.PathValue("name"))
}

func (s *server) assetList(r *http.Request, name string) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	kind, err := kindOf(r)
	if err != nil {
		return nil, err
	}
	list, err := s.st.ListAssets(r.Context(), r.PathValue("ws"), kind, name)
	if err != nil {
		return nil, err
	}
	return views(list, assetView), nil
}

func (s *server) getAsset(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	kind, err := kindOf(r)
	if err != nil {
		return nil, err
	}
	name, version := r.PathValue("name"), r.PathValue("version")
	if version == "latest" {
		version = ""
	}
	a, err := s.st.GetAsset(r.Context(), r.PathValue("ws"), kind, name, version)
	if errors.Is(err, store.ErrNotFound) {
		what := name
		if version != "" {
			what += " version " + version
		}
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", msg: fmt.Sprintf("%s %s not found in workspace %s", kind, what, r.PathValue("ws"))}
	}
	if err != nil {
		return nil, err
	}
	return assetView(a), nil
}

func (s *server) deleteAsset(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	kind, err := kindOf(r)
	if err != nil {
		return nil, err
	}
	if err := s.st.DeleteAsset(r.Context(), r.PathValue("ws"), kind, r.PathValue("name"), ""); err != nil {
		return nil, err
	}
	return map[string]string{"status": "deleted"}, nil
}

func (s *server) archiveAsset(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	kind, err := kindOf(r)
	if err != nil {
		return nil, err
	}
	var archived bool
	switch r.PathValue("verb") {
	case "archive":
		archived = true
	case "restore":
	default:
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", msg: "expected archive or restore"}
	}
	if err := s.st.ArchiveAsset(r.Context(), r.PathValue("ws"), kind, r.PathValue("name"), r.PathValue("version"), archived); err != nil {
		return nil, err
	}
	return map[string]bool{"archived": archived}, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
