package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/store"
)

// NewVersion asks for a version to be created.
type NewVersion struct {
	Workspace string
	Name      string
	// Version is the number to give it; 0 takes the next.
	Version int
	// Source is where the files come from (see resolve for the forms).
	Source string
	// Type is TypeCustom or TypeMLflow; "" detects it: TypeMLflow when
	// the files have an MLmodel file at their root.
	Type        string
	Description string
	Tags        map[string]string
	// Folder names the files of an uploaded folder (a blob: source) as
	// the folder they came from was named; other sources imply it.
	Folder string
	// RunID and ModelID, when set, override what the source implies.
	RunID   string
	ModelID string
	// CreateModel registers the name first when it is not yet (as `ciel
	// model create` does); without it a missing model is not-found (as
	// MLflow's create-version is).
	CreateModel bool
}

// CreateVersion copies a source's files into the artifact root and
// registers them as a version. It is durable in two steps: the version is
// recorded PENDING_REGISTRATION, the files are copied, and then it is
// READY. A version left pending by a crash stays visible as pending; on
// any other failure it is removed again.
func (s *Service) CreateVersion(ctx context.Context, req NewVersion) (Version, error) {
	if err := s.checkNewVersion(req); err != nil {
		return Version{}, err
	}
	if s.isPromptVersion(ctx, req) {
		return s.createPromptVersion(ctx, req)
	}
	res, err := s.resolve(ctx, req.Workspace, req.Source, req.Folder)
	if err != nil {
		return Version{}, err
	}
	typ, err := s.filesType(ctx, res.digest)
	if err != nil {
		return Version{}, err
	}
	if req.Type == TypeMLflow && typ != TypeMLflow {
		return Version{}, invalid(fmt.Sprintf("source %s has no %s file at its root, so it is not an MLflow model; "+
			"register it as %s, or point at the folder that holds MLmodel", req.Source, MLmodelFile, TypeCustom))
	}
	if req.Type == "" {
		req.Type = typ
	}
	if req.CreateModel {
		_, err := s.CreateModel(ctx, req.Workspace, req.Name, "", nil)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return Version{}, err
		}
	}
	v, err := s.cfg.Store.CreateVersion(ctx, Version{
		Workspace: req.Workspace, Name: req.Name, Version: req.Version, Type: req.Type,
		Description: req.Description, Tags: req.Tags, Status: StatusPending, Stage: StageNone,
		RunID: orDefault(req.RunID, res.runID), ModelID: orDefault(req.ModelID, res.modelID), Lineage: res.lineage,
		Folder: res.folder,
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return Version{}, conflict(fmt.Sprintf("Model Version (name=%s, version=%d) already exists.", req.Name, req.Version))
	case err != nil:
		return Version{}, modelNotFound(err, req.Name)
	}
	rel, err := s.placeFiles(ctx, v, res.digest)
	if err != nil {
		s.removeFiles(ctx, v.Workspace, rel)
		if derr := s.cfg.Store.DeleteVersion(context.WithoutCancel(ctx), v.Workspace, v.Name, v.Version); derr != nil {
			s.cfg.Logger.Error("remove failed model version", "model", v.Name, "version", v.Version, "err", derr)
		}
		return Version{}, fmt.Errorf("copy files of model %s version %d: %w", v.Name, v.Version, err)
	}
	ready, err := s.cfg.Store.UpdateVersion(ctx, v.Workspace, v.Name, v.Version, func(v *Version) error {
		v.Status, v.Storage, v.Source = StatusReady, rel, artifacts.Location(rel)
		return nil
	})
	if err != nil {
		return Version{}, fmt.Errorf("mark model %s version %d ready: %w", v.Name, v.Version, err)
	}
	return ready, nil
}

// promptSources are the placeholder sources MLflow's clients send for a
// prompt version, which has no files: its text is in its tags.
var promptSources = map[string]bool{"prompt-template": true, "dummy-source": true}

// isPromptVersion reports whether req is a version of an MLflow prompt (a
// registered model tagged mlflow.prompt.is_prompt) with a placeholder
// source.
func (s *Service) isPromptVersion(ctx context.Context, req NewVersion) bool {
	if !promptSources[req.Source] {
		return false
	}
	m, err := s.cfg.Store.GetModel(ctx, req.Workspace, req.Name)
	return err == nil && strings.EqualFold(m.Tags[promptTag], "true")
}

// createPromptVersion records a prompt version: READY at once, no files.
func (s *Service) createPromptVersion(ctx context.Context, req NewVersion) (Version, error) {
	v, err := s.cfg.Store.CreateVersion(ctx, Version{
		Workspace: req.Workspace, Name: req.Name, Version: req.Version, Type: TypeCustom, Source: req.Source,
		Description: req.Description, Tags: req.Tags, Status: StatusReady, Stage: StageNone,
		RunID: req.RunID, ModelID: req.ModelID, Lineage: Lineage{Source: req.Source},
	})
	if errors.Is(err, store.ErrConflict) {
		return Version{}, conflict(fmt.Sprintf("Model Version (name=%s, version=%d) already exists.", req.Name, req.Version))
	}
	return v, modelNotFound(err, req.Name)
}

func (s *Service) checkNewVersion(req NewVersion) error {
	if err := CheckName(req.Name); err != nil {
		return err
	}
	if req.Version < 0 {
		return invalid(fmt.Sprintf("version %d: must be a positive number", req.Version))
	}
	switch req.Type {
	case "", TypeCustom, TypeMLflow:
	default:
		return invalid(fmt.Sprintf("model type %q: expected %s or %s", req.Type, TypeCustom, TypeMLflow))
	}
	return checkTags(req.Tags)
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// filesType returns the type the files of a tree say a model is:
// TypeMLflow when an MLmodel file is at their root.
func (s *Service) filesType(ctx context.Context, digest string) (string, error) {
	t, err := blob.GetTree(ctx, s.cfg.Blobs, digest)
	if err != nil {
		return "", fmt.Errorf("read the files of %s: %w", digest, err)
	}
	for _, e := range t.Entries {
		if e.Path == MLmodelFile {
			return TypeMLflow, nil
		}
	}
	return TypeCustom, nil
}

// placeFiles writes the tree digest into a new folder of the artifact root
// and returns the folder, relative to the workspace's root.
func (s *Service) placeFiles(ctx context.Context, v Version, digest string) (string, error) {
	if _, ok := s.localRoot(); !ok {
		return s.placeStored(ctx, v, digest)
	}
	rel, dir, err := s.freeFolder(v.Workspace, v.Name, v.Version)
	if err != nil {
		return "", err
	}
	return rel, blob.Materialize(ctx, s.cfg.Blobs, digest, dir, false)
}

// freeFolder returns a folder for a version's files that nothing occupies:
// models/<name>/<version>, or models/<name>/<version>-<n> when that is
// taken (by the files of a model since renamed). Names are made safe for a
// path and a URI first.
func (s *Service) freeFolder(ws, name string, version int) (rel, dir string, err error) {
	root, _ := s.localRoot()
	base := path.Join(StorageRoot, safeSegment(name), strconv.Itoa(version))
	for n := 0; n < 1000; n++ {
		rel = base
		if n > 0 {
			rel = fmt.Sprintf("%s-%d", base, n)
		}
		if dir, err = root.Path(ws, rel); err != nil {
			return "", "", err
		}
		err = os.MkdirAll(filepath.Dir(dir), 0o700)
		if err == nil {
			err = os.Mkdir(dir, 0o700)
		}
		if err == nil {
			return rel, dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", "", err
		}
	}
	return "", "", fmt.Errorf("no free folder for %s", base)
}

// safeSegment returns name with every byte that is not a letter, digit,
// '.', '_' or '-' replaced by '_', so that it is one path segment that
// needs no escaping in a URI.
func safeSegment(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	out := string(b)
	if strings.Trim(out, ".") == "" {
		out = strings.Repeat("_", len(out))
	}
	return out
}

// removeFiles removes a version's folder; failures are logged, since the
// metadata is already gone.
func (s *Service) removeFiles(ctx context.Context, ws, rel string) {
	if rel == "" {
		return
	}
	root, ok := s.localRoot()
	if !ok {
		if err := s.cfg.Artifacts.Delete(context.WithoutCancel(ctx), ws, rel); err != nil {
			s.cfg.Logger.Error("remove model files", "workspace", ws, "path", rel, "err", err)
		}
		return
	}
	dir, err := root.Path(ws, rel)
	if err == nil {
		err = os.RemoveAll(dir)
	}
	if err != nil {
		s.cfg.Logger.Error("remove model files", "workspace", ws, "path", rel, "err", err)
		return
	}
	_ = os.Remove(filepath.Dir(dir)) // the model's folder, once empty
}

// FilesDir returns a local folder holding a version's files: theirs in
// the artifact root when it is a folder, else a copy written out of the
// datastore (see Config.CacheDir).
func (s *Service) FilesDir(ctx context.Context, v Version) (string, error) {
	if v.Status != StatusReady || v.Storage == "" {
		return "", invalid(fmt.Sprintf("version %d of model %s is %s; it has no files", v.Version, v.Name, v.Status))
	}
	root, ok := s.localRoot()
	if !ok {
		return s.cachedFiles(ctx, v)
	}
	return root.Path(v.Workspace, v.Storage)
}

// HasFiles checks a version has files, without writing any out.
func (s *Service) HasFiles(v Version) error {
	if v.Status != StatusReady || v.Storage == "" {
		return invalid(fmt.Sprintf("version %d of model %s is %s; it has no files", v.Version, v.Name, v.Status))
	}
	return nil
}

// GetVersion returns one version.
func (s *Service) GetVersion(ctx context.Context, ws, name string, version int) (Version, error) {
	v, err := s.cfg.Store.GetVersion(ctx, ws, name, version)
	return v, versionNotFound(err, name, version)
}

// LatestVersion returns the highest-numbered version that is READY and
// not archived, as Azure ML's "latest" label does.
func (s *Service) LatestVersion(ctx context.Context, ws, name string) (Version, error) {
	list, err := s.ListVersions(ctx, ws, name)
	if err != nil {
		return Version{}, err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if v := list[i]; v.Status == StatusReady && !v.Archived {
			return v, nil
		}
	}
	return Version{}, notFound(fmt.Sprintf("registered model %s has no version that is ready and not archived", name))
}

// ListVersions returns a model's versions (every model's when name is ""),
// ordered by name and version number.
func (s *Service) ListVersions(ctx context.Context, ws, name string) ([]Version, error) {
	list, err := s.cfg.Store.ListVersions(ctx, ws, name)
	if name != "" {
		err = modelNotFound(err, name)
	}
	return list, err
}

// VersionUpdate is a change to a version; nil and empty fields change
// nothing.
type VersionUpdate struct {
	Description *string
	SetTags     map[string]string
	RemoveTags  []string
	Stage       *string
	Archived    *bool
}

// UpdateVersion changes a version's description, tags, stage or archived
// flag.
func (s *Service) UpdateVersion(ctx context.Context, ws, name string, version int, u VersionUpdate) (Version, error) {
	if err := checkTags(u.SetTags); err != nil {
		return Version{}, err
	}
	var stage string
	if u.Stage != nil {
		var err error
		if stage, err = canonicalStage(*u.Stage); err != nil {
			return Version{}, err
		}
	}
	v, err := s.cfg.Store.UpdateVersion(ctx, ws, name, version, func(v *Version) error {
		if u.Description != nil {
			v.Description = *u.Description
		}
		if u.Stage != nil {
			v.Stage = stage
		}
		if u.Archived != nil {
			v.Archived = *u.Archived
		}
		v.Tags = editTags(v.Tags, u.SetTags, u.RemoveTags)
		return nil
	})
	return v, versionNotFound(err, name, version)
}

// canonicalStage returns MLflow's spelling of a stage given in any case.
func canonicalStage(stage string) (string, error) {
	for _, st := range []string{StageNone, StageStaging, StageProduction, StageArchived} {
		if strings.EqualFold(stage, st) {
			return st, nil
		}
	}
	return "", invalid(fmt.Sprintf("Invalid Model Version stage: %s. Value must be one of %s, %s, %s, %s.",
		stage, StageNone, StageStaging, StageProduction, StageArchived))
}

// TransitionStage moves a version to a stage; with archiveExisting, the
// model's other versions in that stage (Staging or Production) move to
// Archived.
func (s *Service) TransitionStage(ctx context.Context, ws, name string, version int, stage string, archiveExisting bool) (Version, error) {
	v, err := s.UpdateVersion(ctx, ws, name, version, VersionUpdate{Stage: &stage})
	if err != nil || !archiveExisting || (v.Stage != StageStaging && v.Stage != StageProduction) {
		return v, err
	}
	list, err := s.ListVersions(ctx, ws, name)
	if err != nil {
		return v, err
	}
	archived := StageArchived
	for _, o := range list {
		if o.Version != version && o.Stage == v.Stage {
			if _, err := s.UpdateVersion(ctx, ws, name, o.Version, VersionUpdate{Stage: &archived}); err != nil {
				return v, err
			}
		}
	}
	return v, nil
}

// DeleteVersion deletes a version and its files.
func (s *Service) DeleteVersion(ctx context.Context, ws, name string, version int) error {
	v, err := s.GetVersion(ctx, ws, name, version)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteVersion(ctx, ws, name, version); err != nil {
		return versionNotFound(err, name, version)
	}
	s.removeFiles(ctx, ws, v.Storage)
	return nil
}
