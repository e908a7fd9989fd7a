// Package registry is ciel's model registry: registered models with
// numbered versions, tags, aliases ("champion") and lineage (the job, step,
// run, code snapshot and data that produced a version), and the MLflow
// model-registry REST API served on the same data, so mlflow.register_model
// and models:/name@alias loading work against ciel unchanged.
//
// A version's files are copied, once, into the workspace's shared artifact
// root (internal/artifacts) under models/<name>/<version>; its download URI
// is the mlflow-artifacts: location of that folder, which the tracking
// server's artifact proxy serves. Copying (rather than pointing at a run's
// artifacts, as MLflow does) keeps a version's files stable when runs, jobs
// or logged models are deleted.
//
// registry is not experiment tracking (internal/tracking) and does not serve
// models (internal/serving); it only keeps and hands out their files.
package registry

import (
	"errors"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// Model types, as Azure ML names them.
const (
	// TypeCustom is any folder of files.
	TypeCustom = "custom_model"
	// TypeMLflow is an MLflow model: a folder with an MLmodel file.
	TypeMLflow = "mlflow_model"
)

// Version statuses, as MLflow names them.
const (
	// StatusPending is a version whose files are being copied.
	StatusPending = "PENDING_REGISTRATION"
	// StatusFailed is a version whose files could not be copied.
	StatusFailed = "FAILED_REGISTRATION"
	// StatusReady is a version whose files are in place.
	StatusReady = "READY"
)

// Stages of MLflow's (deprecated but still used) stage workflow.
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

// MLmodelFile marks a folder as an MLflow model.
const MLmodelFile = "MLmodel"

// StorageRoot is the folder of each workspace's artifact root that holds
// registered versions' files (StorageRoot/<name>/<version>). The registry
// owns it: the files of a READY version never change, so the artifact
// proxy should serve it read-only.
const StorageRoot = "models"

// ErrInvalid is what errors for a request the registry refuses (a bad name,
// an unsupported source, a malformed filter) match with errors.Is. Not-found
// and already-exists errors match store.ErrNotFound and store.ErrConflict.
var ErrInvalid = errors.New("invalid parameter")

// Model is a registered model: a name under which versions are kept.
type Model struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Aliases maps an alias ("champion") to the version it points at.
	Aliases map[string]int `json:"aliases,omitempty"`
	// LastVersion is the highest version number ever given out under the
	// name; numbers of deleted versions are not reused.
	LastVersion int       `json:"last_version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Version is one version of a registered model.
type Version struct {
	Workspace   string `json:"workspace"`
	Name        string `json:"name"`
	Version     int    `json:"version"`
	Type        string `json:"type"` // TypeCustom or TypeMLflow
	Description string `json:"description,omitempty"`
	// Source is where the version's files are for download: the
	// mlflow-artifacts: location of Storage.
	Source string `json:"source,omitempty"`
	// Storage is the folder of the version's files, relative to the
	// workspace's artifact root (models/<name>/<version>).
	Storage string `json:"storage,omitempty"`
	// Folder is the name the files appear under inside AZUREML_MODEL_DIR
	// when the version is deployed: the last segment of the path it was
	// registered from, as Azure ML lays out a registered folder
	// ($AZUREML_MODEL_DIR/model/...). Empty when the files sit at the
	// root: a single file, or a version registered before ciel kept it.
	Folder        string            `json:"folder,omitempty"`
	RunID         string            `json:"run_id,omitempty"`
	ModelID       string            `json:"model_id,omitempty"` // MLflow 3 logged model it came from
	Status        string            `json:"status"`
	StatusMessage string            `json:"status_message,omitempty"`
	Stage         string            `json:"stage"`
	Tags          map[string]string `json:"tags,omitempty"`
	Archived      bool              `json:"archived,omitempty"`
	Lineage       Lineage           `json:"lineage"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	// Aliases are the model's aliases that point at this version; stores
	// fill them on read and ignore them on write.
	Aliases []string `json:"aliases,omitempty"`
}

// Lineage says what produced a version's files.
type Lineage struct {
	// Source is what the version was registered from, as given
	// (azureml://jobs/..., runs:/..., models:/m-..., blob:sha256:...).
	Source string `json:"source,omitempty"`
	// Digest is the content digest of the version's files (a blob tree).
	Digest string `json:"digest,omitempty"`
	// Job, Step and Output name the job output the files came from.
	Job    string `json:"job,omitempty"`
	Step   string `json:"step,omitempty"`
	Output string `json:"output,omitempty"`
	// RunID is the MLflow run of the producing step, when tracked.
	RunID string `json:"run_id,omitempty"`
	// Code is the content digest of the producing step's code snapshot.
	Code string `json:"code,omitempty"`
	// Component is the producing step's component (name:version).
	Component string `json:"component,omitempty"`
	// Inputs are the data that flowed into the producing step, directly or
	// through earlier steps.
	Inputs []DataInput `json:"inputs,omitempty"`
	// Origin holds the producing job's own ci.* and datafactory.* tags: the
	// CI run, pipeline, branch and commit, or the Data Factory run, that
	// submitted it.
	Origin map[string]string `json:"origin,omitempty"`
}

// DataInput is one piece of data in a version's lineage.
type DataInput struct {
	// Step and Input name the step input that read it.
	Step  string `json:"step"`
	Input string `json:"input"`
	// Asset is the registered data asset (azureml:name:version) when the
	// job named one.
	Asset string `json:"asset,omitempty"`
	// Digest is the content digest of the data.
	Digest string `json:"digest"`
	// Origin is what the data asset's tags say produced it: the Data
	// Factory run (datafactory.*) or the CI run (ci.*).
	Origin map[string]string `json:"origin,omitempty"`
}

// kindError is an error with its own message that matches a sentinel.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// invalid returns an error matching ErrInvalid with msg as its message.
func invalid(msg string) error { return &kindError{msg: msg, kind: ErrInvalid} }

// notFound returns an error matching store.ErrNotFound with msg.
func notFound(msg string) error { return &kindError{msg: msg, kind: store.ErrNotFound} }

// conflict returns an error matching store.ErrConflict with msg.
func conflict(msg string) error { return &kindError{msg: msg, kind: store.ErrConflict} }
