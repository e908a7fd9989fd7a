package client

import (
	"context"
	"io"
	"net/http"
)

// Model is a registered model as the API shows it.
type Model struct {
	Name        string            `json:"name"`
	ID          string            `json:"id,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Aliases maps an alias ("champion") to the version it points at.
	Aliases map[string]int `json:"aliases,omitempty"`
	// LatestVersion is the highest version that is ready and not archived
	// (0 when there is none).
	LatestVersion   int             `json:"latest_version,omitempty"`
	CreationContext CreationContext `json:"creation_context"`
}

// ModelVersion is one version of a registered model, shaped like `az ml
// model show`, with the registry's aliases, stage and lineage beside it.
type ModelVersion struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	ID          string `json:"id,omitempty"`
	Type        string `json:"type"` // custom_model or mlflow_model
	Description string `json:"description,omitempty"`
	// Path is where the version's files are: an mlflow-artifacts: URI the
	// MLflow client downloads through the tracking server.
	Path string `json:"path,omitempty"`
	// Folder is what the files appear under inside AZUREML_MODEL_DIR when
	// the version is deployed ("" for the root), as Azure ML keeps the
	// name of the folder a model was registered from.
	Folder  string            `json:"folder,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	Aliases []string          `json:"aliases,omitempty"`
	Stage   string            `json:"stage,omitempty"`
	// Status is READY once the files are in place.
	Status   string `json:"status"`
	JobName  string `json:"job_name,omitempty"` // the job that produced it, as az shows
	RunID    string `json:"run_id,omitempty"`
	Archived bool   `json:"archived,omitempty"`
	// Lineage says what produced the files.
	Lineage         ModelLineage    `json:"lineage"`
	CreationContext CreationContext `json:"creation_context"`
}

// ModelLineage says what produced a model version.
type ModelLineage struct {
	Source    string        `json:"source,omitempty"` // what it was registered from
	Digest    string        `json:"digest,omitempty"` // content digest of its files
	Job       string        `json:"job,omitempty"`
	Step      string        `json:"step,omitempty"`
	Output    string        `json:"output,omitempty"`
	RunID     string        `json:"run_id,omitempty"`
	Code      string        `json:"code,omitempty"` // digest of the step's code snapshot
	Component string        `json:"component,omitempty"`
	Inputs    []DataLineage `json:"inputs,omitempty"`
	// Origin is what submitted the producing job: the CI run, pipeline,
	// branch and commit (ci.* tags) or the Data Factory run (datafactory.*).
	Origin map[string]string `json:"origin,omitempty"`
}

// DataLineage is one piece of data that flowed into a model version.
type DataLineage struct {
	Step   string `json:"step"`
	Input  string `json:"input"`
	Asset  string `json:"asset,omitempty"` // azureml:name:version when registered
	Digest string `json:"digest"`
	// Origin is what produced the data asset: the Data Factory run
	// (datafactory.* tags) or the CI run (ci.*) its tags name.
	Origin map[string]string `json:"origin,omitempty"`
}

// ModelCreate asks for a model version to be created.
type ModelCreate struct {
	Name string `json:"name"`
	// Version is the number to give it; "" takes the next.
	Version string `json:"version,omitempty"`
	// Path is where the files come from: azureml://jobs/<job>/outputs/<o>,
	// azureml://jobs/<job>/outputs/artifacts/paths/<p>, runs:/<run>/<p>,
	// models:/<name>/<version>, or blob:sha256:... after an upload.
	Path string `json:"path"`
	// Folder is the name of the local folder a blob: path was uploaded
	// from; deployments find the files under it in AZUREML_MODEL_DIR.
	// Other paths imply it (their last segment).
	Folder string `json:"folder,omitempty"`
	// Type is custom_model or mlflow_model; "" detects it from an MLmodel
	// file.
	Type        string            `json:"type,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ModelVersionUpdate changes a version; empty fields change nothing.
type ModelVersionUpdate struct {
	Description   *string           `json:"description,omitempty"`
	Stage         *string           `json:"stage,omitempty"`
	SetTags       map[string]string `json:"set_tags,omitempty"`
	RemoveTags    []string          `json:"remove_tags,omitempty"`
	SetAliases    []string          `json:"set_aliases,omitempty"`
	RemoveAliases []string          `json:"remove_aliases,omitempty"`
}

// CreateModelVersion registers a model version (and the model, when the
// name is new).
func (c *Client) CreateModelVersion(ctx context.Context, ws string, m ModelCreate) (ModelVersion, error) {
	var out ModelVersion
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "models"), m, &out)
	return out, err
}

// ListModels lists a workspace's registered models.
func (c *Client) ListModels(ctx context.Context, ws string) ([]Model, error) {
	var out []Model
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "models"), nil, &out)
	return out, err
}

// GetModel returns a registered model.
func (c *Client) GetModel(ctx context.Context, ws, name string) (Model, error) {
	var out Model
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "models", name), nil, &out)
	return out, err
}

// ListModelVersions lists every version of a model, oldest first.
func (c *Client) ListModelVersions(ctx context.Context, ws, name string) ([]ModelVersion, error) {
	var out []ModelVersion
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "models", name, "versions"), nil, &out)
	return out, err
}

// GetModelVersion returns one version; version "latest" is the highest
// that is ready and not archived.
func (c *Client) GetModelVersion(ctx context.Context, ws, name, version string) (ModelVersion, error) {
	var out ModelVersion
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "models", name, "versions", version), nil, &out)
	return out, err
}

// GetModelVersionByAlias returns the version an alias points at.
func (c *Client) GetModelVersionByAlias(ctx context.Context, ws, name, alias string) (ModelVersion, error) {
	var out ModelVersion
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "models", name, "aliases", alias), nil, &out)
	return out, err
}

// UpdateModelVersion changes a version's description, stage, tags and
// aliases, and returns it.
func (c *Client) UpdateModelVersion(ctx context.Context, ws, name, version string, u ModelVersionUpdate) (ModelVersion, error) {
	var out ModelVersion
	err := c.doJSON(ctx, http.MethodPatch, wsPath(ws, "models", name, "versions", version), u, &out)
	return out, err
}

// ArchiveModel archives (or, with archived false, restores) one version,
// or every version when version is "".
func (c *Client) ArchiveModel(ctx context.Context, ws, name, version string, archived bool) error {
	p := wsPath(ws, "models", name)
	if version != "" {
		p = wsPath(ws, "models", name, "versions", version)
	}
	verb := "/archive"
	if !archived {
		verb = "/restore"
	}
	return c.doJSON(ctx, http.MethodPost, p+verb, nil, nil)
}

// DeleteModelVersion deletes a version and its files.
func (c *Client) DeleteModelVersion(ctx context.Context, ws, name, version string) error {
	return c.doJSON(ctx, http.MethodDelete, wsPath(ws, "models", name, "versions", version), nil, nil)
}

// DownloadModelVersion returns a tar stream of a version's files. The
// caller closes the reader.
func (c *Client) DownloadModelVersion(ctx context.Context, ws, name, version string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, wsPath(ws, "models", name, "versions", version, "download"), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
