// Package triggers fires Data Factory triggers: schedule triggers
// (a recurrence with hours, minutes, week days, month days and monthly
// occurrences in a time zone), tumbling window triggers (contiguous
// windows from a start that may be in the past, with a delay, a bound on
// windows at once, retries and dependencies on other windows) and storage
// event triggers (blob created or deleted under a path of a ciel
// datastore). Each firing starts the trigger's pipelines with parameters
// evaluated over @trigger().
//
// # What survives a restart
//
// A trigger's runtime state (Started or Stopped, and the definition it
// was started with) is stored, so a restarted server carries on firing.
// Every firing is written as a trigger run before its pipelines start, in
// the same transaction that moves the trigger on (a schedule's next time,
// a window's state, a blob seen), and pipelines are started through a
// Starter that is idempotent on the trigger run's id. So a server that
// stops at any moment neither loses nor doubles a firing: the next server
// starts what a recorded run has not yet started, and nothing else.
//
// A schedule time that came due while no server ran fires once, for the
// first time missed. Tumbling windows are all run, in order of their
// start, however many came due. Blobs created or deleted while no server
// ran fire when the next server looks. A stopped trigger fires nothing:
// started again, a schedule resumes at its next time after the present, a
// storage event trigger from the datastore as it is then (what changed
// while it was stopped does not fire), and a tumbling window trigger from
// its first window not yet run.
//
// triggers does not parse factory files (factory does), evaluate
// expressions (expr does), run pipelines (the Starter does) or keep
// trigger definitions: a trigger is handed to StartTrigger with its
// definition.
package triggers

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/files"
)

// Runtime states of a trigger.
const (
	Started = "Started"
	Stopped = "Stopped"
)

// Trigger run statuses, as Data Factory names them.
const (
	RunInProgress = "Inprogress"
	RunSucceeded  = "Succeeded"
	RunFailed     = "Failed"
)

// Window states.
const (
	WindowWaiting   = "Waiting"
	WindowRunning   = "Running"
	WindowSucceeded = "Succeeded"
	WindowFailed    = "Failed"
)

// State is a trigger's runtime state as the store keeps it.
type State struct {
	Workspace    string          `json:"workspace"`
	Name         string          `json:"name"`
	Definition   factory.Trigger `json:"definition"`
	RuntimeState string          `json:"runtimeState"`
	// Next is, for a schedule trigger, its next fire time; for a tumbling
	// window trigger, the start of the first window not yet recorded.
	// Zero: none.
	Next      time.Time `json:"next,omitzero"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Revision changes with every change of the state; the service moves a
	// trigger on only from the revision it read.
	Revision  int64     `json:"revision"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Run is a trigger run, with Data Factory's field names: one firing of a
// schedule or storage event trigger, one attempt of a tumbling window.
type Run struct {
	Workspace   string    `json:"-"`
	ID          string    `json:"triggerRunId"`
	TriggerName string    `json:"triggerName"`
	TriggerType string    `json:"triggerType"`
	Timestamp   time.Time `json:"triggerRunTimestamp"`
	// Status is Inprogress until every pipeline started (a tumbling
	// window's: until its pipeline run ended), then Succeeded or Failed.
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// Properties say what fired: TriggerTime, ScheduledTime,
	// WindowStartTime, WindowEndTime, Attempt, EventType, FileName,
	// FolderPath.
	Properties map[string]string `json:"properties,omitempty"`
	// TriggeredPipelines maps each pipeline started to its run id.
	TriggeredPipelines map[string]string `json:"triggeredPipelines,omitempty"`
	// Trigger is @trigger() for the run's pipelines, kept so that a run
	// resumed after a restart evaluates its parameters over the same.
	Trigger map[string]any `json:"-"`
}

// Window is one window of a tumbling window trigger and where it stands.
type Window struct {
	Workspace string    `json:"-"`
	Trigger   string    `json:"triggerName"`
	Start     time.Time `json:"windowStartTime"`
	End       time.Time `json:"windowEndTime"`
	Status    string    `json:"status"`
	// Attempt counts the runs tried; TriggerRunID and RunID are the latest
	// one's (RunID is "" until its pipeline run started).
	Attempt      int    `json:"attempt"`
	TriggerRunID string `json:"triggerRunId,omitempty"`
	RunID        string `json:"runId,omitempty"`
	// NotBefore holds a window waiting to retry until then.
	NotBefore time.Time `json:"notBefore,omitzero"`
	Message   string    `json:"message,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Blob is a file a storage event trigger has seen.
type Blob struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"lastModified"`
}

// RunQuery selects trigger runs. Zero fields select all.
type RunQuery struct {
	Workspace string
	Trigger   string
	Status    string
	// From and To bound triggerRunTimestamp: From <= t < To.
	From, To time.Time
	// Limit bounds the answer; 0 is 1000.
	Limit int
}

// Store keeps triggers' runtime state, their runs, windows and the blobs
// storage event triggers have seen. Its methods may be called
// concurrently; a method that returns nil has made its writes durable.
type Store interface {
	// PutTrigger creates st or replaces the state of its workspace and
	// name, giving it a new Revision, and returns what it stored. Errors
	// match store.ErrNotFound when the workspace does not exist.
	PutTrigger(ctx context.Context, st State) (State, error)
	// GetTrigger returns an error matching store.ErrNotFound when there is
	// no such trigger.
	GetTrigger(ctx context.Context, ws, name string) (State, error)
	// ListTriggers returns the triggers of workspace ws ("": of every
	// workspace), by workspace and name.
	ListTriggers(ctx context.Context, ws string) ([]State, error)
	// DeleteTrigger deletes a trigger's state, windows and blobs (not its
	// runs); store.ErrNotFound when absent.
	DeleteTrigger(ctx context.Context, ws, name string) error
	// AdvanceTrigger, in one transaction, sets st's Next to next and adds
	// runs and windows, provided the trigger still has st.Revision and
	// st.Next; otherwise it writes nothing and returns store.ErrConflict.
	AdvanceTrigger(ctx context.Context, st State, next time.Time, runs []Run, windows []Window) error

	// PutRun records r, replacing the run of its ID.
	PutRun(ctx context.Context, r Run) error
	// ListRuns returns the runs q selects, newest first.
	ListRuns(ctx context.Context, q RunQuery) ([]Run, error)

	// ListWindows returns a trigger's windows with one of statuses (none:
	// all), earliest first, at most limit (0: all).
	ListWindows(ctx context.Context, ws, trigger string, statuses []string, limit int) ([]Window, error)
	// UpdateWindow replaces window w, and records run r when not nil, in
	// one transaction, provided the window still has prev's Status and
	// Attempt; otherwise it writes nothing and returns store.ErrConflict.
	UpdateWindow(ctx context.Context, prev, w Window, r *Run) error
	// CountWindows counts a trigger's windows with status that overlap
	// [from, to).
	CountWindows(ctx context.Context, ws, trigger, status string, from, to time.Time) (int, error)

	// ListBlobs returns the blobs a trigger has seen, by path.
	ListBlobs(ctx context.Context, ws, trigger string) ([]Blob, error)
	// ResetBlobs replaces the blobs a trigger has seen with blobs.
	ResetBlobs(ctx context.Context, ws, trigger string, blobs []Blob) error
	// RecordBlob, in one transaction, records b as seen (or, when gone,
	// forgets it) and records run r when not nil.
	RecordBlob(ctx context.Context, ws, trigger string, b Blob, gone bool, r *Run) error
}

// InvokedBy says what started a pipeline run: a trigger's name, the
// trigger run's id and the trigger's type, as a pipeline run's invokedBy
// reports it.
type InvokedBy struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	Type string `json:"invokedByType"`
}

// Starter starts and watches pipeline runs: the pipeline runtime.
type Starter interface {
	// StartRun starts a run of pipeline in workspace ws with parameter
	// values params and returns its run id. It is idempotent on (ws,
	// pipeline, by.ID): called again with a trigger run id it has already
	// started that pipeline for, it returns that run's id and starts
	// nothing, which is how a firing interrupted by a crash is finished
	// without a second run. It may be called concurrently.
	StartRun(ctx context.Context, ws, pipeline string, params map[string]any, by InvokedBy) (string, error)
	// RunStatus returns a pipeline run's status: Queued, InProgress,
	// Succeeded, Failed, Canceling or Cancelled. Errors match
	// store.ErrNotFound when there is no such run.
	RunStatus(ctx context.Context, ws, runID string) (string, error)
}

// Datastores opens the datastores storage event triggers watch.
type Datastores interface {
	// FS returns the files of datastore name of workspace ws. Errors match
	// store.ErrNotFound when there is no such datastore.
	FS(ctx context.Context, ws, name string) (files.FS, error)
}

// definitionJSON is how a definition is compared: two starts of the same
// definition are one.
func definitionJSON(t factory.Trigger) string {
	t.RuntimeState = ""
	b, _ := json.Marshal(t)
	return string(b)
}
