package dataflow

import (
	"context"
	"encoding/json"
	"time"
)

// Runs is the pipeline runtime the service starts and reads runs through.
// Records use Data Factory's REST field names.
type Runs interface {
	// Start starts a run of a stored pipeline with parameter values and
	// returns it as recorded (queued or in progress).
	Start(ctx context.Context, ws string, req RunRequest) (PipelineRun, error)
	// Get returns a run; store.ErrNotFound when there is none.
	Get(ctx context.Context, ws, runID string) (PipelineRun, error)
	// Query returns the runs matching q, newest first.
	Query(ctx context.Context, ws string, q RunQuery) ([]PipelineRun, error)
	// Cancel asks a run (and, recursive, the runs it started) to stop;
	// store.ErrNotFound when there is none. Canceling a finished run does
	// nothing.
	Cancel(ctx context.Context, ws, runID string, recursive bool) error
	// Rerun starts a new run of the same pipeline with the same
	// parameters, in the same run group: from the activity that failed
	// (FromFailure, whose succeeded activities keep their outputs) or
	// from a named activity.
	Rerun(ctx context.Context, ws, runID string, opts RerunOptions) (PipelineRun, error)
	// ActivityRuns returns a run's activity runs, in start order;
	// store.ErrNotFound when there is no such run.
	ActivityRuns(ctx context.Context, ws, runID string, q RunQuery) ([]ActivityRun, error)
}

// RunRequest asks for a run of a pipeline.
type RunRequest struct {
	Pipeline   string
	Parameters map[string]any
	// InvokedBy says who asked: Manual from the API, a trigger's name and
	// type when a trigger fires.
	InvokedBy InvokedBy
}

// RerunOptions says where a rerun starts.
type RerunOptions struct {
	FromFailure       bool
	StartActivityName string
}

// RunQuery narrows a query of runs (ADF's RunFilterParameters): updated
// in [LastUpdatedAfter, LastUpdatedBefore), pipeline and status when set;
// at most Limit (0: the runtime's default).
type RunQuery struct {
	LastUpdatedAfter  time.Time
	LastUpdatedBefore time.Time
	PipelineName      string
	Status            string
	// ActivityName and ActivityType narrow activity runs.
	ActivityName string
	ActivityType string
	Limit        int
}

// InvokedBy is who started a run, as ADF reports it.
type InvokedBy struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	InvokedByType string `json:"invokedByType"` // Manual, ScheduleTrigger, TumblingWindowTrigger, BlobEventsTrigger, PipelineActivity
	PipelineName  string `json:"pipelineName,omitempty"`
	PipelineRunID string `json:"pipelineRunId,omitempty"`
}

// PipelineRun is a pipeline run with Data Factory's REST field names.
type PipelineRun struct {
	RunID         string            `json:"runId"`
	RunGroupID    string            `json:"runGroupId,omitempty"`
	IsLatest      bool              `json:"isLatest"`
	PipelineName  string            `json:"pipelineName"`
	Parameters    map[string]string `json:"parameters,omitempty"`
	InvokedBy     InvokedBy         `json:"invokedBy"`
	RunStart      *time.Time        `json:"runStart,omitempty"`
	RunEnd        *time.Time        `json:"runEnd,omitempty"`
	DurationInMs  *int64            `json:"durationInMs,omitempty"`
	Status        string            `json:"status"` // Queued, InProgress, Succeeded, Failed, Canceling, Cancelled
	Message       string            `json:"message"`
	LastUpdated   time.Time         `json:"lastUpdated"`
	RunDimensions map[string]string `json:"runDimensions,omitempty"`
}

// ActivityRun is one run of an activity with Data Factory's REST field
// names; Input and Output are the activity's JSON.
type ActivityRun struct {
	ActivityRunID    string          `json:"activityRunId"`
	ActivityName     string          `json:"activityName"`
	ActivityType     string          `json:"activityType"`
	PipelineName     string          `json:"pipelineName"`
	PipelineRunID    string          `json:"pipelineRunId"`
	Status           string          `json:"status"`
	ActivityRunStart *time.Time      `json:"activityRunStart,omitempty"`
	ActivityRunEnd   *time.Time      `json:"activityRunEnd,omitempty"`
	DurationInMs     *int64          `json:"durationInMs,omitempty"`
	Input            json.RawMessage `json:"input,omitempty"`
	Output           json.RawMessage `json:"output,omitempty"`
	Error            *ActivityError  `json:"error,omitempty"`
	RetryAttempt     *int            `json:"retryAttempt,omitempty"`
}

// ActivityError is why an activity failed, as ADF reports it.
type ActivityError struct {
	ErrorCode   string `json:"errorCode"`
	Message     string `json:"message"`
	FailureType string `json:"failureType"`
	Target      string `json:"target"`
}

// Triggers is the trigger scheduler: told when a trigger starts or stops,
// and the keeper of trigger runs.
type Triggers interface {
	// Started begins firing a trigger from now (a tumbling window trigger
	// backfills from its startTime).
	Started(ctx context.Context, ws string, t Resource) error
	// Stopped stops firing it; runs it started go on.
	Stopped(ctx context.Context, ws, name string) error
	// Runs returns trigger runs matching q (PipelineName narrows to a
	// trigger by name here), newest first.
	Runs(ctx context.Context, ws string, q RunQuery) ([]TriggerRun, error)
}

// TriggerRun is one firing of a trigger with Data Factory's REST field
// names.
type TriggerRun struct {
	TriggerRunID        string            `json:"triggerRunId"`
	TriggerName         string            `json:"triggerName"`
	TriggerType         string            `json:"triggerType"`
	TriggerRunTimestamp time.Time         `json:"triggerRunTimestamp"`
	Status              string            `json:"status"` // Succeeded, Failed, Inprogress
	Message             string            `json:"message,omitempty"`
	Properties          map[string]string `json:"properties,omitempty"`
	TriggeredPipelines  map[string]string `json:"triggeredPipelines,omitempty"` // pipeline name -> run ID
	RunDimension        map[string]string `json:"runDimension,omitempty"`
	DependencyStatus    map[string]any    `json:"dependencyStatus,omitempty"`
}
