package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/registry/regtracking"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// The model registry's resources: /api/v1/workspaces/{ws}/models[/{name}
// [/versions/{version}]]. The registry itself is internal/registry; these
// handlers shape its models like `az ml model` and map its errors.

// modelRoutes builds the registry (see initRegistry) and adds its routes:
// the /api/v1 resources through h, MLflow's registry API to mux.
func (s *server) modelRoutes(mux *routeMux, h func(string, handlerFunc)) {
	if !s.initRegistry() {
		return
	}
	s.regAPI.Register(mux)
	const base = "/api/v1/workspaces/{ws}/models"
	h("POST "+base, s.createModelVersion)
	h("GET "+base, s.listModels)
	h("GET "+base+"/{name}", s.getModel)
	h("POST "+base+"/{name}/archive", s.archiveModel)
	h("POST "+base+"/{name}/restore", s.archiveModel)
	h("GET "+base+"/{name}/versions", s.listModelVersions)
	h("GET "+base+"/{name}/versions/{version}", s.getModelVersion)
	h("PATCH "+base+"/{name}/versions/{version}", s.updateModelVersion)
	h("DELETE "+base+"/{name}/versions/{version}", s.deleteModelVersion)
	h("POST "+base+"/{name}/versions/{version}/archive", s.archiveModel)
	h("POST "+base+"/{name}/versions/{version}/restore", s.archiveModel)
	h("GET "+base+"/{name}/versions/{version}/download", s.downloadModelVersion)
	h("GET "+base+"/{name}/aliases/{alias}", s.getModelVersionByAlias)
}

// registryErr turns the registry's refusals into 400s naming the field at
// fault; not-found and conflicts map through status() as they are.
func registryErr(err error, target string) error {
	if errors.Is(err, registry.ErrInvalid) {
		return &httpError{status: http.StatusBadRequest, code: "UserError", msg: err.Error(), target: target}
	}
	return err
}

// modelVersionView shapes v like `az ml model show`.
func modelVersionView(v registry.Version) client.ModelVersion {
	out := client.ModelVersion{
		Name: v.Name, Version: strconv.Itoa(v.Version),
		ID:   fmt.Sprintf("azureml:/workspaces/%s/models/%s/versions/%d", v.Workspace, v.Name, v.Version),
		Type: v.Type, Description: v.Description, Path: v.Source, Folder: v.Folder, Tags: v.Tags, Aliases: v.Aliases,
		Stage: v.Stage, Status: v.Status, JobName: v.Lineage.Job, RunID: v.RunID, Archived: v.Archived,
		CreationContext: client.CreationContext{CreatedAt: v.CreatedAt, CreatedBy: "local"},
		Lineage: client.ModelLineage{
			Source: v.Lineage.Source, Digest: v.Lineage.Digest, Job: v.Lineage.Job, Step: v.Lineage.Step,
			Output: v.Lineage.Output, RunID: v.Lineage.RunID, Code: v.Lineage.Code, Component: v.Lineage.Component,
			Origin: v.Lineage.Origin,
		},
	}
	for _, in := range v.Lineage.Inputs {
		out.Lineage.Inputs = append(out.Lineage.Inputs, client.DataLineage(in))
	}
	return out
}

// modelView shapes a registered model; latest is its latest version
// number (0 when none).
func modelView(m registry.Model, latest int) client.Model {
	return client.Model{
		Name: m.Name, ID: fmt.Sprintf("azureml:/workspaces/%s/models/%s", m.Workspace, m.Name),
		Description: m.Description, Tags: m.Tags, Aliases: m.Aliases, LatestVersion: latest,
		CreationContext: client.CreationContext{CreatedAt: m.CreatedAt, CreatedBy: "local"},
	}
}

// versionNumber parses the {version} path segment.
func versionNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, badRequest("version", "version %q: expected a positive whole number (or 'latest')", s)
	}
	return n, nil
}

// modelVersion returns the version the path names; "latest" is the latest
// version that is ready and not archived.
func (s *server) modelVersion(r *http.Request) (registry.Version, error) {
	if _, err := s.workspace(r); err != nil {
		return registry.Version{}, err
	}
	ws, name, ver := r.PathValue("ws"), r.PathValue("name"), r.PathValue("version")
	if ver == "latest" {
		return s.registry.LatestVersion(r.Context(), ws, name)
	}
	n, err := versionNumber(ver)
	if err != nil {
		return registry.Version{}, err
	}
	return s.registry.GetVersion(r.Context(), ws, name, n)
}

func (s *server) createModelVersion(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	var req client.ModelCreate
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := registry.CheckName(req.Name); err != nil {
		return nil, registryErr(err, "name")
	}
	// MLflow's registry API takes any name MLflow does; a model made as
	// Azure ML makes one takes Azure ML's rule, as its other assets do.
	if err := spec.CheckName("model name", req.Name); err != nil {
		return nil, badRequest("name", "%v", err)
	}
	n := 0
	if req.Version != "" {
		var err error
		if n, err = versionNumber(req.Version); err != nil {
			return nil, err
		}
	}
	if req.Path == "" {
		return nil, badRequest("path", "path is required: azureml://jobs/<job>/outputs/<output>, runs:/<run_id>/<path>, models:/<name>/<version> or a local path")
	}
	v, err := s.registry.CreateVersion(r.Context(), registry.NewVersion{
		Workspace: r.PathValue("ws"), Name: req.Name, Version: n, Source: req.Path, Folder: req.Folder, Type: req.Type,
		Description: req.Description, Tags: req.Tags, CreateModel: true,
	})
	if err != nil {
		return nil, registryErr(err, "path")
	}
	return created{modelVersionView(v)}, nil
}

func (s *server) listModels(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	ws := r.PathValue("ws")
	models, err := s.registry.ListModels(r.Context(), ws)
	if err != nil {
		return nil, err
	}
	versions, err := s.registry.ListVersions(r.Context(), ws, "")
	if err != nil {
		return nil, err
	}
	latest := map[string]int{}
	for _, v := range versions {
		if v.Status == registry.StatusReady && !v.Archived {
			latest[v.Name] = max(latest[v.Name], v.Version)
		}
	}
	return views(models, func(m registry.Model) client.Model { return modelView(m, latest[m.Name]) }), nil
}

func (s *server) getModel(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	ws, name := r.PathValue("ws"), r.PathValue("name")
	m, err := s.registry.GetModel(r.Context(), ws, name)
	if err != nil {
		return nil, err
	}
	latest := 0
	if v, err := s.registry.LatestVersion(r.Context(), ws, name); err == nil {
		latest = v.Version
	}
	return modelView(m, latest), nil
}

func (s *server) listModelVersions(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	list, err := s.registry.ListVersions(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return views(list, modelVersionView), nil
}

func (s *server) getModelVersion(_ http.ResponseWriter, r *http.Request) (any, error) {
	v, err := s.modelVersion(r)
	if err != nil {
		return nil, err
	}
	return modelVersionView(v), nil
}

func (s *server) getModelVersionByAlias(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	v, err := s.registry.VersionByAlias(r.Context(), r.PathValue("ws"), r.PathValue("name"), r.PathValue("alias"))
	if err != nil {
		return nil, err
	}
	return modelVersionView(v), nil
}

// updateModelVersion applies description, stage and tag changes, then the
// alias changes.
func (s *server) updateModelVersion(_ http.ResponseWriter, r *http.Request) (any, error) {
	v, err := s.modelVersion(r)
	if err != nil {
		return nil, err
	}
	var u client.ModelVersionUpdate
	if err := decode(r, &u); err != nil {
		return nil, err
	}
	ctx, ws := r.Context(), v.Workspace
	if u.Description != nil || u.Stage != nil || len(u.SetTags) > 0 || len(u.RemoveTags) > 0 {
		v, err = s.registry.UpdateVersion(ctx, ws, v.Name, v.Version, registry.VersionUpdate{
			Description: u.Description, Stage: u.Stage, SetTags: u.SetTags, RemoveTags: u.RemoveTags,
		})
		if err != nil {
			return nil, registryErr(err, "")
		}
	}
	for _, a := range u.RemoveAliases {
		if err := s.registry.DeleteAlias(ctx, ws, v.Name, a); err != nil {
			return nil, registryErr(err, "remove_aliases")
		}
	}
	for _, a := range u.SetAliases {
		if err := s.registry.SetAlias(ctx, ws, v.Name, a, v.Version); err != nil {
			return nil, registryErr(err, "set_aliases")
		}
	}
	if v, err = s.registry.GetVersion(ctx, ws, v.Name, v.Version); err != nil {
		return nil, err
	}
	return modelVersionView(v), nil
}

// archiveModel archives or restores one version, or every version of a
// model when the path names none.
func (s *server) archiveModel(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	ctx, ws, name := r.Context(), r.PathValue("ws"), r.PathValue("name")
	archived := strings.HasSuffix(r.URL.Path, "/archive")
	var targets []int
	if r.PathValue("version") != "" {
		n, err := versionNumber(r.PathValue("version"))
		if err != nil {
			return nil, err
		}
		targets = []int{n}
	} else {
		list, err := s.registry.ListVersions(ctx, ws, name)
		if err != nil {
			return nil, err
		}
		for _, v := range list {
			targets = append(targets, v.Version)
		}
	}
	for _, n := range targets {
		if _, err := s.registry.UpdateVersion(ctx, ws, name, n, registry.VersionUpdate{Archived: &archived}); err != nil {
			return nil, err
		}
	}
	return map[string]any{"name": name, "archived": archived, "versions": len(targets)}, nil
}

func (s *server) deleteModelVersion(_ http.ResponseWriter, r *http.Request) (any, error) {
	v, err := s.modelVersion(r)
	if err != nil {
		return nil, err
	}
	if err := s.registry.DeleteVersion(r.Context(), v.Workspace, v.Name, v.Version); err != nil {
		return nil, err
	}
	return map[string]string{"name": v.Name, "version": strconv.Itoa(v.Version), "status": "deleted"}, nil
}

// downloadModelVersion answers a tar of a version's files.
func (s *server) downloadModelVersion(w http.ResponseWriter, r *http.Request) (any, error) {
	guard.Streaming(w)
	v, err := s.modelVersion(r)
	if err != nil {
		return nil, err
	}
	if err := s.registry.HasFiles(v); err != nil {
		return nil, registryErr(err, "version")
	}
	if ok, err := s.blobs.Has(r.Context(), v.Lineage.Digest); err != nil || !ok {
		return nil, fmt.Errorf("files of model %s version %d (%s) are missing from the datastore: %w", v.Name, v.Version, v.Lineage.Digest, errors.Join(err, blob.ErrNotFound))
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", "attachment; filename="+url.PathEscape(fmt.Sprintf("%s-%d.tar", v.Name, v.Version)))
	if err := blob.WriteTar(r.Context(), s.blobs, v.Lineage.Digest, w); err != nil {
		s.log.Error("write model tar", "model", v.Name, "version", v.Version, "err", err)
	}
	return streamed{}, nil
}

// initRegistry builds the model registry over the metadata store, with
// version files in the shared artifact root, job outputs resolved by
// jobLineage, runs and logged models by tracking (when the store keeps
// them), and its MLflow API. It reports false, building nothing, when the
// metadata store keeps no models.
func (s *server) initRegistry() bool {
	if s.registry != nil {
		return true
	}
	rs, ok := s.st.(registry.Store)
	if !ok {
		return false
	}
	cfg := registry.Config{
		Store: rs, Blobs: s.blobs, Artifacts: s.arts.store, CacheDir: filepath.Join(s.cfg.Home, "cache", "models"),
		Jobs: jobLineage{s}, Logger: s.log,
	}
	if s.initDatastores(); s.data != nil {
		cfg.Data = s.data
	}
	if tr, ok := s.st.(regtracking.TrackingReader); ok {
		cfg.Tracking = regtracking.New(tr)
	}
	s.registry = registry.New(cfg)
	s.regAPI = registry.NewServer(registry.ServerConfig{Service: s.registry, Logger: s.log, Token: s.cfg.Token})
	return true
}
