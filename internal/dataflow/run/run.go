// Package run runs Data Factory pipelines: parameters bound and checked,
// variables initialised, activities started when their dependsOn
// conditions are met (Succeeded, Failed, Completed, Skipped), independent
// ones at once, each under its policy (timeout, retry), control flow
// (ForEach, IfCondition, Switch, Until, Filter, Wait, SetVariable,
// AppendVariable, ExecutePipeline, Fail, WebActivity), the data activities
// of package activity with their datasets and linked services resolved,
// and the `ciel` activity that runs an Azure ML job.
//
// Every pipeline run and activity run is recorded through Store before it
// is acted on, so a run can be followed while it runs, cancelled, rerun
// from its failed activities, and a server killed mid-run leaves records a
// restart can close (Runner.Recover).
//
// run does not keep factory resources (a Resources does), parse them
// (factory does), evaluate expressions (expr does) or touch data
// (activity does); it is the control flow between them.
package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// Status is the status of a pipeline run or an activity run, with Data
// Factory's names.
type Status string

// Pipeline run and activity run statuses. Skipped is for activities only:
// one whose dependency conditions could not be met, or an inactive one
// marked so.
const (
	StatusQueued     Status = "Queued"
	StatusInProgress Status = "InProgress"
	StatusSucceeded  Status = "Succeeded"
	StatusFailed     Status = "Failed"
	StatusCanceling  Status = "Canceling"
	StatusCancelled  Status = "Cancelled"
	StatusSkipped    Status = "Skipped"
)

// Done reports whether s is final.
func (s Status) Done() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusCancelled, StatusSkipped:
		return true
	}
	return false
}

// InvokedBy says what started a pipeline run: a trigger, a user, or a
// parent pipeline's ExecutePipeline activity (InvokedByType
// "PipelineActivity", ID the parent's run id).
type InvokedBy struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	InvokedByType string `json:"invokedByType"`
}

// Invoker types.
const (
	InvokedManual   = "Manual"
	InvokedPipeline = "PipelineActivity"
)

// PipelineRun is one run of a pipeline, with ADF's REST field names.
type PipelineRun struct {
	Workspace    string         `json:"workspace"`
	RunID        string         `json:"runId"`
	RunGroupID   string         `json:"runGroupId"`
	IsLatest     bool           `json:"isLatest"`
	PipelineName string         `json:"pipelineName"`
	Parameters   map[string]any `json:"parameters"`
	InvokedBy    InvokedBy      `json:"invokedBy"`
	RunStart     *time.Time     `json:"runStart,omitempty"`
	RunEnd       *time.Time     `json:"runEnd,omitempty"`
	DurationInMs *int64         `json:"durationInMs,omitempty"`
	Status       Status         `json:"status"`
	Message      string         `json:"message"`
	// ParentRunID is the run whose ExecutePipeline activity started this
	// one.
	ParentRunID string `json:"parentRunId,omitempty"`
	// ReferenceRunID is the run this one reruns (same RunGroupID); Rerun
	// says how much of it was reused.
	ReferenceRunID string `json:"referencePipelineRunId,omitempty"`
	Rerun          string `json:"rerunMode,omitempty"`
	// ReturnValue is what the run set with SetVariable on the system
	// variable pipelineReturnValue.
	ReturnValue map[string]any `json:"pipelineReturnValue,omitempty"`
	// Trigger is what trigger() returned to the run's expressions, kept
	// so a rerun sees the same.
	Trigger map[string]any `json:"trigger,omitempty"`
	// LastUpdated is when the record was last written.
	LastUpdated time.Time `json:"lastUpdated"`
}

// ErrorInfo is a failed activity's error, or a failed run's cause, as ADF
// reports it. FailureType is UserError or SystemError; Target names the
// activity.
type ErrorInfo struct {
	ErrorCode   string `json:"errorCode"`
	Message     string `json:"message"`
	FailureType string `json:"failureType"`
	Target      string `json:"target"`
}

// ActivityRun is one attempt of one activity in a pipeline run. A retried
// activity has one record per attempt (RetryAttempt 0, 1, ...); an
// activity inside a ForEach or Until has one per iteration, with
// ParentActivityRunID naming the container's run.
type ActivityRun struct {
	Workspace           string     `json:"workspace"`
	PipelineRunID       string     `json:"pipelineRunId"`
	PipelineName        string     `json:"pipelineName"`
	ActivityRunID       string     `json:"activityRunId"`
	ActivityName        string     `json:"activityName"`
	ActivityType        string     `json:"activityType"`
	Status              Status     `json:"status"`
	ActivityRunStart    *time.Time `json:"activityRunStart,omitempty"`
	ActivityRunEnd      *time.Time `json:"activityRunEnd,omitempty"`
	DurationInMs        *int64     `json:"durationInMs,omitempty"`
	Input               any        `json:"input"`
	Output              any        `json:"output"`
	Error               *ErrorInfo `json:"error,omitempty"`
	RetryAttempt        int        `json:"retryAttempt,omitempty"`
	ParentActivityRunID string     `json:"parentActivityRunId,omitempty"`
	// Iteration counts from 0 inside a ForEach (the item's index) or an
	// Until (the loop's pass); nil elsewhere.
	Iteration *int `json:"iteration,omitempty"`
}

// RunQuery filters ListPipelineRuns. Zero fields do not filter; runs come
// newest first, at most Limit (0: 100).
type RunQuery struct {
	PipelineName string
	Status       Status
	RunGroupID   string
	After        time.Time
	Before       time.Time
	Limit        int
}

// Store keeps pipeline and activity runs durably. Every method may be
// called concurrently. Not-found errors wrap store.ErrNotFound.
type Store interface {
	// CreatePipelineRun records a new run, and marks every other run of
	// its RunGroupID not latest; ErrConflict when the id is taken,
	// ErrNotFound when the workspace is absent.
	CreatePipelineRun(ctx context.Context, r PipelineRun) error
	// UpdatePipelineRun replaces a run's record; ErrNotFound when absent.
	UpdatePipelineRun(ctx context.Context, r PipelineRun) error
	// GetPipelineRun returns one run.
	GetPipelineRun(ctx context.Context, ws, runID string) (PipelineRun, error)
	// ListPipelineRuns returns a workspace's runs, newest first.
	ListPipelineRuns(ctx context.Context, ws string, q RunQuery) ([]PipelineRun, error)
	// PutActivityRun creates or replaces an activity run's record;
	// ErrNotFound when its pipeline run is absent.
	PutActivityRun(ctx context.Context, a ActivityRun) error
	// ListActivityRuns returns a pipeline run's activity runs in the order
	// they started.
	ListActivityRuns(ctx context.Context, ws, runID string) ([]ActivityRun, error)
	// MarkInterrupted ends every run and activity run not yet done (a
	// server stopped under them): runs Queued or InProgress become
	// Failed with msg, Canceling ones Cancelled, activity runs not done
	// Failed. It returns the ids of the pipeline runs it changed.
	MarkInterrupted(ctx context.Context, msg string, at time.Time) ([]string, error)
}

// Resources finds a workspace's factory resources by name. Not-found
// errors wrap store.ErrNotFound. Methods may be called concurrently.
type Resources interface {
	Pipeline(ctx context.Context, ws, name string) (factory.Pipeline, error)
	Dataset(ctx context.Context, ws, name string) (factory.Dataset, error)
	LinkedService(ctx context.Context, ws, name string) (factory.LinkedService, error)
}

// Secrets resolves Azure Key Vault secret references from ciel's own
// secret store. A reference {"type": "AzureKeyVaultSecret", "store":
// {"referenceName": vault}, "secretName": name, "secretVersion": version}
// names vault, the AzureKeyVault linked service, as written.
type Secrets interface {
	// Secret returns the secret's value (version "" is the latest); an
	// error wrapping store.ErrNotFound when there is none.
	Secret(ctx context.Context, ws, vault, name, version string) (string, error)
}

// Origin says which factory run asked for a job or a data asset version:
// the factory, pipeline, pipeline run and activity. Jobs record it as the
// job's (and the data version's) tags, so lineage reads back to the run.
type Origin struct {
	Factory       string `json:"factory,omitempty"`
	PipelineName  string `json:"pipelineName,omitempty"`
	FactoryRunID  string `json:"factoryRunId"`
	ActivityName  string `json:"activityName"`
	ActivityRunID string `json:"activityRunId"`
}

// JobRequest is an Azure ML job a `ciel` (or AzureMLExecutePipeline)
// activity submits: a job file in a datastore (JobFile), an inline job
// (Job, the YAML's fields as JSON), or a copy of an existing job or
// pipeline job (JobName, or PipelineID as Azure names it), with its inputs
// set from Parameters, in ExperimentName.
type JobRequest struct {
	JobFile        string         `json:"jobFile,omitempty"`
	Job            map[string]any `json:"job,omitempty"`
	JobName        string         `json:"jobName,omitempty"`
	PipelineID     string         `json:"mlPipelineId,omitempty"`
	Parameters     map[string]any `json:"parameters,omitempty"`
	ExperimentName string         `json:"experimentName,omitempty"`
	Origin
}

// JobResult is how a submitted job ended: its Azure ML status
// (Completed, Failed, Canceled), its outputs (name to an
// azureml://jobs/<job>/outputs/<o> URI), its error when it failed, and
// the page that shows it.
type JobResult struct {
	Status    string         `json:"status"`
	Outputs   map[string]any `json:"outputs,omitempty"`
	Error     string         `json:"error,omitempty"`
	StudioURL string         `json:"studioUrl,omitempty"`
}

// DataRequest is a data asset version a `ciel` activity registers
// (registerData): Path, a datastore path or job output, under Name at
// Version ("" is one more than the latest), of Type uri_folder, uri_file
// or mltable.
type DataRequest struct {
	Name        string            `json:"name"`
	Version     string            `json:"version,omitempty"`
	Type        string            `json:"type,omitempty"`
	Path        string            `json:"path"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Origin
}

// Jobs submits Azure ML jobs for `ciel` activities and waits for them,
// and registers the data assets they name.
type Jobs interface {
	// Submit starts the job and returns its name.
	Submit(ctx context.Context, ws string, req JobRequest) (string, error)
	// Wait blocks until the job ends or ctx is done.
	Wait(ctx context.Context, ws, job string) (JobResult, error)
	// Cancel asks the job to stop; it is called when the activity is
	// cancelled or times out.
	Cancel(ctx context.Context, ws, job string) error
	// RegisterData registers a data asset version and returns what the
	// activity outputs of it (name, version, path).
	RegisterData(ctx context.Context, ws string, req DataRequest) (map[string]any, error)
}

// InvalidError is a request the runner refuses before any run starts: a
// parameter missing or of the wrong type, an unknown activity type, a
// dependency on an activity that does not exist. Callers answer it with
// 400.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// Errors callers branch on: Rerun of a run that has not ended, Cancel of
// one that has.
var (
	ErrNotDone = errors.New("pipeline run has not ended")
	ErrDone    = errors.New("pipeline run has already ended")
)
