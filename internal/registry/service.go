package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Limits on names and tags, MLflow's own.
const (
	maxNameLen     = 256
	maxTagKeyLen   = 250
	maxTagValueLen = 100_000
	maxAliasLen    = 255
)

// Config configures a Service.
type Config struct {
	// Store keeps the models and versions.
	Store Store
	// Blobs is the datastore uploads, job outputs and copies go through.
	Blobs blob.Store
	// Artifacts is the shared artifact root the version files are copied
	// into: a folder (CIEL_HOME/mlartifacts, a LocalFiles) or a bucket.
	Artifacts ArtifactFiles
	// CacheDir is where versions' files are written out for endpoints and
	// batch jobs when Artifacts is no local folder (one folder per tree).
	CacheDir string
	// Jobs resolves azureml://jobs/... sources; without it they are
	// refused.
	Jobs JobResolver
	// Tracking resolves runs:/ and models:/<model_id> sources; without it
	// they are refused.
	Tracking Tracking
	// Data resolves azureml://datastores/... and http(s) sources; without
	// it they are refused.
	Data RemoteData
	// Logger receives what cannot be returned (failed clean-ups).
	Logger *slog.Logger
}

// Service is the model registry: the rules over a Store and the files in
// the artifact root. Its methods may be called concurrently.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// CheckName reports whether name can name a registered model.
func CheckName(name string) error {
	switch {
	case name == "":
		return invalid("a model name is required")
	case len(name) > maxNameLen:
		return invalid(fmt.Sprintf("model name %.40q... is longer than %d bytes", name, maxNameLen))
	case strings.TrimSpace(name) == "":
		return invalid("a model name must not be blank")
	case !utf8.ValidString(name) || strings.ContainsAny(name, "/:\\\x00") || name == "." || name == "..":
		return invalid(fmt.Sprintf("Invalid model name '%s'. Names cannot contain '/', ':', '\\' or NUL, nor be '.' or '..'.", name))
	}
	return nil
}

// checkTag reports whether key=value can be a tag.
func checkTag(key, value string) error {
	switch {
	case key == "":
		return invalid("a tag key must not be empty")
	case len(key) > maxTagKeyLen:
		return invalid(fmt.Sprintf("tag key %.40q... is longer than %d bytes", key, maxTagKeyLen))
	case len(value) > maxTagValueLen:
		return invalid(fmt.Sprintf("value of tag %q is longer than %d bytes", key, maxTagValueLen))
	}
	return nil
}

func checkTags(tags map[string]string) error {
	for k, v := range tags {
		if err := checkTag(k, v); err != nil {
			return err
		}
	}
	return nil
}

// aliasRE is MLflow's rule for alias names.
var aliasRE = regexp.MustCompile(`^[\w-]+$`)

// checkAlias reports whether alias can name a version, by MLflow's rules:
// word characters and '-', not "latest" and not like a version ("v3").
func checkAlias(alias string) error {
	switch {
	case alias == "":
		return invalid("Registered model alias name cannot be empty.")
	case !aliasRE.MatchString(alias):
		return invalid(fmt.Sprintf("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias))
	case len(alias) > maxAliasLen:
		return invalid(fmt.Sprintf("alias %.40q... is longer than %d bytes", alias, maxAliasLen))
	case strings.EqualFold(alias, "latest"):
		return invalid("'latest' alias name (case insensitive) is reserved.")
	case (alias[0] == 'v' || alias[0] == 'V') && isDigits(alias[1:]):
		return invalid(fmt.Sprintf("Version alias name '%s' is reserved.", alias))
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// modelNotFound wraps a store error for a missing model with MLflow's
// wording.
func modelNotFound(err error, name string) error {
	if isNotFound(err) {
		return notFound(fmt.Sprintf("Registered Model with name=%s not found", name))
	}
	return err
}

// versionNotFound wraps a store error for a missing version.
func versionNotFound(err error, name string, version int) error {
	if isNotFound(err) {
		return notFound(fmt.Sprintf("Model Version (name=%s, version=%d) not found", name, version))
	}
	return err
}

// CreateModel registers a model name. store.ErrConflict when it is taken.
func (s *Service) CreateModel(ctx context.Context, ws, name, description string, tags map[string]string) (Model, error) {
	if err := CheckName(name); err != nil {
		return Model{}, err
	}
	if err := checkTags(tags); err != nil {
		return Model{}, err
	}
	err := s.cfg.Store.CreateModel(ctx, Model{Workspace: ws, Name: name, Description: description, Tags: tags})
	switch {
	case errors.Is(err, store.ErrConflict):
		return Model{}, conflict(fmt.Sprintf("Registered Model (name=%s) already exists.", name))
	case isNotFound(err):
		return Model{}, notFound(fmt.Sprintf("workspace %q not found", ws))
	case err != nil:
		return Model{}, err
	}
	return s.GetModel(ctx, ws, name)
}

// GetModel returns a registered model.
func (s *Service) GetModel(ctx context.Context, ws, name string) (Model, error) {
	m, err := s.cfg.Store.GetModel(ctx, ws, name)
	return m, modelNotFound(err, name)
}

// ListModels returns a workspace's registered models ordered by name.
func (s *Service) ListModels(ctx context.Context, ws string) ([]Model, error) {
	return s.cfg.Store.ListModels(ctx, ws)
}

// ModelUpdate is a change to a registered model; nil and empty fields
// change nothing.
type ModelUpdate struct {
	Description *string
	SetTags     map[string]string
	RemoveTags  []string
}

// UpdateModel changes a registered model's description and tags.
func (s *Service) UpdateModel(ctx context.Context, ws, name string, u ModelUpdate) (Model, error) {
	if err := checkTags(u.SetTags); err != nil {
		return Model{}, err
	}
	m, err := s.cfg.Store.UpdateModel(ctx, ws, name, func(m *Model) error {
		if u.Description != nil {
			m.Description = *u.Description
		}
		m.Tags = editTags(m.Tags, u.SetTags, u.RemoveTags)
		return nil
	})
	return m, modelNotFound(err, name)
}

// editTags returns tags with set added and remove removed.
func editTags(tags, set map[string]string, remove []string) map[string]string {
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, set)
	for _, k := range remove {
		delete(out, k)
	}
	return out
}

// RenameModel renames a registered model; its versions, aliases and
// files follow (the files stay where they are, so download URIs handed
// out before keep working).
func (s *Service) RenameModel(ctx context.Context, ws, name, newName string) (Model, error) {
	if err := CheckName(newName); err != nil {
		return Model{}, err
	}
	m, err := s.cfg.Store.RenameModel(ctx, ws, name, newName)
	if errors.Is(err, store.ErrConflict) {
		return Model{}, conflict(fmt.Sprintf("Registered Model (name=%s) already exists.", newName))
	}
	return m, modelNotFound(err, name)
}

// DeleteModel deletes a registered model, its versions and their files.
func (s *Service) DeleteModel(ctx context.Context, ws, name string) error {
	versions, err := s.cfg.Store.ListVersions(ctx, ws, name)
	if err != nil {
		return modelNotFound(err, name)
	}
	if err := s.cfg.Store.DeleteModel(ctx, ws, name); err != nil {
		return modelNotFound(err, name)
	}
	for _, v := range versions {
		s.removeFiles(ctx, ws, v.Storage)
	}
	return nil
}

// SetAlias points alias at a version.
func (s *Service) SetAlias(ctx context.Context, ws, name, alias string, version int) error {
	if err := checkAlias(alias); err != nil {
		return err
	}
	if _, err := s.GetVersion(ctx, ws, name, version); err != nil {
		return err
	}
	return versionNotFound(s.cfg.Store.SetAlias(ctx, ws, name, alias, version), name, version)
}

// DeleteAlias removes an alias.
func (s *Service) DeleteAlias(ctx context.Context, ws, name, alias string) error {
	if _, err := s.GetModel(ctx, ws, name); err != nil {
		return err
	}
	err := s.cfg.Store.DeleteAlias(ctx, ws, name, alias)
	if isNotFound(err) {
		return notFound(fmt.Sprintf("Registered model alias %s not found.", alias))
	}
	return err
}

// VersionByAlias returns the version an alias points at.
func (s *Service) VersionByAlias(ctx context.Context, ws, name, alias string) (Version, error) {
	m, err := s.GetModel(ctx, ws, name)
	if err != nil {
		return Version{}, err
	}
	v, ok := m.Aliases[alias]
	if !ok {
		return Version{}, notFound(fmt.Sprintf("Registered model alias %s not found.", alias))
	}
	return s.GetVersion(ctx, ws, name, v)
}
