// Package store defines ciel's metadata repository: workspaces, versioned
// assets (data, environments, components, computes), jobs and their steps, and
// the reuse index that lets an unchanged step skip running. Backends live one
// per package (store/sqlite, later store/postgres) and all pass the shared
// suite in store/storetest.
//
// store holds metadata only; file contents live in the blob store.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors every backend translates its own errors into at its edge.
var (
	// ErrNotFound is returned when the named thing does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when creating a thing that already exists with
	// different content.
	ErrConflict = errors.New("already exists")
)

// Asset kinds.
const (
	KindData        = "data"
	KindEnvironment = "environment"
	KindComponent   = "component"
	KindCompute     = "compute"
	KindModel       = "model"
)

// Workspace is a named, isolated set of assets and jobs.
type Workspace struct {
	Name          string            `json:"name"`
	ResourceGroup string            `json:"resource_group,omitempty"`
	Location      string            `json:"location,omitempty"`
	DisplayName   string            `json:"display_name,omitempty"`
	Description   string            `json:"description,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
}

// Asset is one version of a data asset, environment, component, compute or
// model. Computes are unversioned and use Version "".
type Asset struct {
	Workspace string          `json:"workspace"`
	Kind      string          `json:"kind"`
	Name      string          `json:"name"`
	Version   string          `json:"version"`
	Spec      json.RawMessage `json:"spec"`
	Archived  bool            `json:"archived,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// Job is a submitted job: a command job or a pipeline.
type Job struct {
	Workspace       string            `json:"workspace"`
	Name            string            `json:"name"`
	Type            string            `json:"type"`
	DisplayName     string            `json:"display_name,omitempty"`
	ExperimentName  string            `json:"experiment_name,omitempty"`
	Status          string            `json:"status"`
	Error           string            `json:"error,omitempty"`
	Spec            json.RawMessage   `json:"spec"`              // the submitted spec.Job
	Plan            json.RawMessage   `json:"plan"`              // the engine's resolved plan
	Outputs         map[string]string `json:"outputs,omitempty"` // pipeline output -> blob digest
	Archived        bool              `json:"archived,omitempty"`
	CancelRequested bool              `json:"cancel_requested,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	StartedAt       *time.Time        `json:"started_at,omitempty"`
	EndedAt         *time.Time        `json:"ended_at,omitempty"`
	// Owner is the server that runs the job when several share one store
	// ("" for a server alone), until LeaseUntil unless it renews its
	// lease. Set at CreateJob and by the lease methods, never by UpdateJob.
	Owner      string     `json:"-"`
	LeaseUntil *time.Time `json:"-"`
}

// Step is one leaf step of a job (a command job has exactly one).
type Step struct {
	Workspace  string            `json:"workspace"`
	Job        string            `json:"job"`
	Name       string            `json:"name"` // "train", or "sub/train" inside a pipeline component
	Status     string            `json:"status"`
	Attempt    int               `json:"attempt"`
	ReusedFrom string            `json:"reused_from,omitempty"` // "job/step" whose outputs were reused
	Outputs    map[string]string `json:"outputs,omitempty"`     // output name -> blob digest
	Error      string            `json:"error,omitempty"`
	ExitCode   *int              `json:"exit_code,omitempty"`
	PID        int               `json:"pid,omitempty"` // process group of the running attempt
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	EndedAt    *time.Time        `json:"ended_at,omitempty"`
	// Log is the blob digest of the step's finished log, kept where
	// servers share a store so that every one of them serves it (the log
	// file is on the disk of the server that ran the step); "" otherwise.
	Log string `json:"log,omitempty"`
}

// Reuse records that a step with a given reuse key completed with these
// outputs, so a later identical step can take them instead of running.
type Reuse struct {
	Key       string            `json:"key"`
	Workspace string            `json:"workspace"`
	Job       string            `json:"job"`
	Step      string            `json:"step"`
	Outputs   map[string]string `json:"outputs"`
	CreatedAt time.Time         `json:"created_at"`
}

// Store is the metadata repository. All methods may be called concurrently.
// A method that returns nil has made its write durable (fsynced): it survives
// a crash of the process right after.
type Store interface {
	// CreateWorkspace creates w; ErrConflict if the name is taken.
	CreateWorkspace(ctx context.Context, w Workspace) error
	// GetWorkspace returns ErrNotFound when there is no such workspace.
	GetWorkspace(ctx context.Context, name string) (Workspace, error)
	// ListWorkspaces returns every workspace.
	ListWorkspaces(ctx context.Context) ([]Workspace, error)
	// DeleteWorkspace removes the workspace and everything in it;
	// ErrNotFound if absent.
	DeleteWorkspace(ctx context.Context, name string) error

	// PutAsset creates an asset version. Re-creating an identical version
	// (same Spec bytes) is a no-op; a different one is ErrConflict unless
	// replace is true (computes and updates use replace).
	PutAsset(ctx context.Context, a Asset, replace bool) error
	// GetAsset returns one version; version "" means the latest
	// non-archived version (newest created). ErrNotFound when absent.
	GetAsset(ctx context.Context, ws, kind, name, version string) (Asset, error)
	// ListAssets lists a workspace's assets of a kind, every version of name
	// when name is set, else the latest version of each name; newest first.
	// "Latest" is the version GetAsset returns for version "" (names whose
	// versions are all archived are left out). ErrNotFound when the
	// workspace is absent.
	ListAssets(ctx context.Context, ws, kind, name string) ([]Asset, error)
	// ArchiveAsset sets Archived on one version (all versions when version
	// is ""). ErrNotFound when absent.
	ArchiveAsset(ctx context.Context, ws, kind, name, version string, archived bool) error
	// DeleteAsset removes a version (all versions when version is "").
	// ErrNotFound when absent.
	DeleteAsset(ctx context.Context, ws, kind, name, version string) error

	// CreateJob stores a job and its steps in one transaction; ErrConflict
	// if the job name is taken in the workspace.
	CreateJob(ctx context.Context, j Job, steps []Step) error
	// GetJob returns ErrNotFound when absent.
	GetJob(ctx context.Context, ws, name string) (Job, error)
	// ListJobs lists a workspace's jobs, newest first, leaving out archived
	// ones unless includeArchived. ErrNotFound when the workspace is absent.
	ListJobs(ctx context.Context, ws string, includeArchived bool) ([]Job, error)
	// UpdateJob replaces the mutable fields of a job (status, error,
	// outputs, times, archived, cancel_requested). ErrNotFound when absent.
	UpdateJob(ctx context.Context, j Job) error
	// ListActiveJobs returns jobs of every workspace whose status is not
	// terminal (Completed, Failed or Canceled), so a restarted server can
	// resume them.
	ListActiveJobs(ctx context.Context) ([]Job, error)

	// ListSteps returns a job's steps ordered by name; ErrNotFound when the
	// job is absent.
	ListSteps(ctx context.Context, ws, job string) ([]Step, error)
	// UpdateSteps replaces the mutable fields of several steps in one
	// transaction. Concurrent callers may share one commit. ErrNotFound,
	// and no step changed, when any step is absent.
	UpdateSteps(ctx context.Context, steps ...Step) error

	// AddSteps adds steps to an existing job in one transaction, for steps
	// made while it runs (a sweep's trials). ErrNotFound, and nothing
	// added, when the job is absent; ErrConflict when a step name is taken.
	AddSteps(ctx context.Context, steps ...Step) error

	// PutReuse records a reuse entry, replacing any earlier one for the key.
	PutReuse(ctx context.Context, r Reuse) error
	// GetReuse returns ErrNotFound when no step with the key has completed.
	GetReuse(ctx context.Context, ws, key string) (Reuse, error)

	// Close releases the store after queued writes finish; acknowledged
	// writes stay durable.
	Close() error
}
