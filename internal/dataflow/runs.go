package dataflow

import (
	"context"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
)

// Runs is the pipeline runtime the service starts and reads runs through
// (*run.Runner); its records carry Data Factory's REST field names.
type Runs interface {
	StartRun(ctx context.Context, req run.RunRequest) (run.PipelineRun, error)
	GetRun(ctx context.Context, ws, runID string) (run.PipelineRun, error)
	ListRuns(ctx context.Context, ws string, q run.RunQuery) ([]run.PipelineRun, error)
	QueryActivityRuns(ctx context.Context, ws, runID string) ([]run.ActivityRun, error)
	Cancel(ctx context.Context, ws, runID string) error
	Rerun(ctx context.Context, ws, runID string, opts run.RerunOptions) (run.PipelineRun, error)
}

// Triggers is the trigger scheduler (*triggers.Service): the one keeper
// of a trigger's runtime state, its runs and its windows.
type Triggers interface {
	StartTrigger(ctx context.Context, ws string, t factory.Trigger) (triggers.State, error)
	StopTrigger(ctx context.Context, ws, name string) (triggers.State, error)
	DeleteTrigger(ctx context.Context, ws, name string) error
	RuntimeState(ctx context.Context, ws, name string) (string, error)
	RuntimeStates(ctx context.Context, ws string) (map[string]string, error)
	Runs(ctx context.Context, q triggers.RunQuery) ([]triggers.Run, error)
	Windows(ctx context.Context, ws, name string) ([]triggers.Window, error)
	RerunWindow(ctx context.Context, ws, name string, start time.Time) (triggers.Window, error)
}

// RerunOptions says where a rerun starts: from the failure, or from a
// named top-level activity; neither reruns the whole pipeline.
type RerunOptions struct {
	FromFailure       bool
	StartActivityName string
}

// RunQuery narrows a query of runs (ADF's RunFilterParameters): updated
// in [LastUpdatedAfter, LastUpdatedBefore), pipeline (or, for trigger
// runs, trigger) and status when set; at most Limit (0: the default).
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
