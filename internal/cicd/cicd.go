// Package cicd runs CI/CD pipelines written in Azure Pipelines YAML from
// repositories ciel hosts: it keeps pipeline definitions and their runs,
// starts a run when a push matches a pipeline's trigger (or on request),
// expands the YAML at the pushed commit (azp), runs each job with the agent
// (agent), and keeps logs and published artifacts.
//
// It is not the YAML parser (cicd/azp), the job runner (cicd/agent) or the
// git server (cicd/githost); it ties them to the workspace.
package cicd

import (
	"context"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/agent"
)

// Pipeline is a pipeline definition: a YAML file in a hosted repository.
type Pipeline struct {
	Workspace  string    `json:"workspace"`
	Name       string    `json:"name"`
	ID         int64     `json:"id"`
	Repository string    `json:"repository"`
	YAMLPath   string    `json:"yaml_path"`
	CreatedAt  time.Time `json:"created_at"`
	// RepositoryURL is where an external repository is mirrored from
	// (credentials included; show it with githost.RedactURL); "" for a
	// repository hosted by ciel. Repository then names the mirror.
	RepositoryURL string `json:"repository_url,omitempty"`
	// DefaultBranch is the branch a manual run takes when none is given;
	// "" means main.
	DefaultBranch string `json:"default_branch,omitempty"`
	// WebhookSecret is the shared secret an external pipeline's webhook
	// checks (hex of 32 random bytes); "" for a hosted repository's.
	WebhookSecret string `json:"-"`
}

// Run statuses, as Azure DevOps names a build's.
const (
	StatusNotStarted = "notStarted"
	StatusInProgress = "inProgress"
	StatusCancelling = "cancelling"
	StatusCompleted  = "completed"
)

// Run results, as Azure DevOps names a build's; "" until completed.
const (
	ResultSucceeded          = "succeeded"
	ResultPartiallySucceeded = "partiallySucceeded"
	ResultFailed             = "failed"
	ResultCanceled           = "canceled"
)

// Reasons a run was started.
const (
	ReasonCI     = "individualCI"
	ReasonManual = "manual"
)

// Run is one run of a pipeline.
type Run struct {
	Workspace     string            `json:"workspace"`
	Pipeline      string            `json:"pipeline"`
	ID            int64             `json:"id"`
	Status        string            `json:"status"`
	Result        string            `json:"result,omitempty"`
	Reason        string            `json:"reason"`
	SourceBranch  string            `json:"source_branch"`  // refs/heads/main
	SourceVersion string            `json:"source_version"` // commit SHA
	Parameters    map[string]string `json:"parameters,omitempty"`
	// PullRequest is the pull request a pr: trigger's run builds; nil for
	// other runs.
	PullRequest *PullRequest `json:"pull_request,omitempty"`
	QueueTime   time.Time    `json:"queue_time"`
	StartTime   time.Time    `json:"start_time"`
	FinishTime  time.Time    `json:"finish_time"`
	// Error says why a run failed before or between its jobs (a bad YAML,
	// a missing file, the server stopping); job and step failures are in
	// Jobs.
	Error     string     `json:"error,omitempty"`
	Jobs      []RunJob   `json:"jobs,omitempty"`
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// TestResults sums what the run's PublishTestResults@2 steps read;
	// nil when none ran.
	TestResults *agent.TestResults `json:"test_results,omitempty"`
}

// RunJob is the timeline of one job of a run.
type RunJob struct {
	Stage       string    `json:"stage"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name,omitempty"`
	Status      string    `json:"status"` // pending, inProgress, completed
	Result      string    `json:"result,omitempty"`
	StartTime   time.Time `json:"start_time"`
	FinishTime  time.Time `json:"finish_time"`
	Steps       []RunStep `json:"steps,omitempty"`
}

// RunStep is one step of a job's timeline.
type RunStep struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name,omitempty"`
	Status      string    `json:"status"` // the agent's: pending, inProgress, succeeded, failed, skipped, canceled, ...
	StartTime   time.Time `json:"start_time"`
	FinishTime  time.Time `json:"finish_time"`
	ExitCode    int       `json:"exit_code"`
	Error       string    `json:"error,omitempty"`
}

// Artifact is a published build artifact: a tree in the blob store.
type Artifact struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Files  int    `json:"files"`
	Size   int64  `json:"size"`
}

// Store keeps pipelines and runs. Its methods may be called concurrently.
// Not-found is an error wrapping store.ErrNotFound; a name taken,
// store.ErrConflict.
type Store interface {
	// CreatePipeline stores p and returns it with its ID (unique on the
	// server); ErrConflict when ws already has a pipeline of that name.
	CreatePipeline(ctx context.Context, p Pipeline) (Pipeline, error)
	// GetPipeline returns the pipeline ws/name.
	GetPipeline(ctx context.Context, ws, name string) (Pipeline, error)
	// ListPipelines returns ws's pipelines by name.
	ListPipelines(ctx context.Context, ws string) ([]Pipeline, error)
	// ListExternalPipelines returns the pipelines of every workspace whose
	// RepositoryURL is set.
	ListExternalPipelines(ctx context.Context) ([]Pipeline, error)
	// DeletePipeline deletes the pipeline and its runs.
	DeletePipeline(ctx context.Context, ws, name string) error
	// CreateRun stores r and returns it with its ID, unique on the server
	// and increasing. The run is durable when CreateRun returns.
	CreateRun(ctx context.Context, r Run) (Run, error)
	// UpdateRun replaces the stored run of r.ID (whole record).
	UpdateRun(ctx context.Context, r Run) error
	// GetRun returns run id of workspace ws.
	GetRun(ctx context.Context, ws string, id int64) (Run, error)
	// ListRuns returns ws's runs, newest first, of one pipeline or all
	// (pipeline ""), at most limit (0: all).
	ListRuns(ctx context.Context, ws, pipeline string, limit int) ([]Run, error)
	// ListUnfinishedRuns returns the runs of every workspace whose status
	// is not completed, oldest first.
	ListUnfinishedRuns(ctx context.Context) ([]Run, error)
	// ClaimStrandedRuns makes this server the owner of the unfinished runs
	// no live server runs (all of them, for a server alone; with mine,
	// its own from before it started again too) and returns them, oldest
	// first.
	ClaimStrandedRuns(ctx context.Context, mine bool) ([]Run, error)

	// CreateVariableGroup stores g and returns it with its ID;
	// ErrConflict when ws already has a group of that name.
	CreateVariableGroup(ctx context.Context, g VariableGroup) (VariableGroup, error)
	// GetVariableGroup returns the group ws/name.
	GetVariableGroup(ctx context.Context, ws, name string) (VariableGroup, error)
	// ListVariableGroups returns ws's groups by name.
	ListVariableGroups(ctx context.Context, ws string) ([]VariableGroup, error)
	// DeleteVariableGroup deletes the group ws/name.
	DeleteVariableGroup(ctx context.Context, ws, name string) error

	ScheduleStore
}

// VariableGroup is a named set of variables a pipeline's variables: list
// pulls in with "- group: <name>" (az pipelines variable-group).
type VariableGroup struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	ID          int64             `json:"id"`
	Description string            `json:"description,omitempty"`
	Variables   map[string]string `json:"variables"`
	CreatedAt   time.Time         `json:"created_at"`
}
