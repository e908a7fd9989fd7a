package tracking

import (
	"context"
	"math"
	"strconv"
)

// Store keeps tracking metadata. Every method may be called concurrently; a
// method that returns nil has made its write durable. Lookups are scoped to
// the workspace ws: an ID that exists only in another workspace is not
// found. Unless said otherwise, a missing workspace, experiment, run,
// logged model or trace is an error wrapping store.ErrNotFound, and a rule of
// MLflow's that a write breaks (a changed param, a write to a deleted run)
// is an *Error with its MLflow code.
type Store interface {
	ExperimentStore
	RunStore
	LoggedModelStore
	JobRunStore
	TraceStore
}

// ExperimentStore keeps experiments. Every workspace has the experiment
// DefaultExperimentID, named "Default", from its creation on.
type ExperimentStore interface {
	// CreateExperiment creates e (Name, ArtifactLocation, Tags; times are
	// set to now when zero) and returns it with its new ID, the next
	// integer in the workspace. An empty ArtifactLocation becomes
	// artifacts.Location(ID). store.ErrConflict if the name is taken.
	CreateExperiment(ctx context.Context, ws string, e Experiment) (Experiment, error)
	// GetExperiment returns an experiment with its tags.
	GetExperiment(ctx context.Context, ws, id string) (Experiment, error)
	// GetExperimentByName returns an experiment with its tags, active or
	// deleted.
	GetExperimentByName(ctx context.Context, ws, name string) (Experiment, error)
	// SearchExperiments returns the experiments matching q, in its order.
	SearchExperiments(ctx context.Context, ws string, q ExperimentQuery) ([]Experiment, error)
	// RenameExperiment renames an active experiment; store.ErrConflict if
	// the name is taken.
	RenameExperiment(ctx context.Context, ws, id, name string) error
	// SetExperimentStage deletes (StageDeleted) or restores (StageActive)
	// an experiment together with its runs.
	SetExperimentStage(ctx context.Context, ws, id, stage string) error
	// SetExperimentTag sets (replaces) one tag.
	SetExperimentTag(ctx context.Context, ws, id string, t Tag) error
	// DeleteExperimentTag removes a tag; store.ErrNotFound if absent.
	DeleteExperimentTag(ctx context.Context, ws, id, key string) error
}

// RunStore keeps runs and what is logged to them.
type RunStore interface {
	// CreateRun creates a run in info.ExperimentID with tags. RunID,
	// Status and StartTime come from info; ArtifactURI is set to
	// "<experiment artifact location>/<run id>/artifacts". An *Error with
	// CodeInvalidParameterValue if the experiment is deleted.
	CreateRun(ctx context.Context, ws string, info RunInfo, tags []Tag) (RunInfo, error)
	// GetRun returns a run with its data.
	GetRun(ctx context.Context, ws, runID string) (Run, error)
	// UpdateRun changes a run's status, end time and name (a nil field is
	// left as it is; a new name also sets the mlflow.runName tag).
	UpdateRun(ctx context.Context, ws, runID string, u RunUpdate) (RunInfo, error)
	// SetRunStage deletes (StageDeleted) or restores (StageActive) a run.
	SetRunStage(ctx context.Context, ws, runID, stage string) error
	// SearchRuns returns the runs matching q, in its order, with their data.
	SearchRuns(ctx context.Context, ws string, q RunQuery) ([]Run, error)
	// LogBatch records metrics, params and tags on an active run, all or
	// none. Re-logging a param with the same value is a no-op; another
	// value is an *Error with CodeInvalidParameterValue. Concurrent callers
	// share commits.
	LogBatch(ctx context.Context, ws, runID string, b Batch) error
	// DeleteRunTag removes a tag of an active run; store.ErrNotFound if it
	// has no such tag.
	DeleteRunTag(ctx context.Context, ws, runID, key string) error
	// LogInputs records datasets and models a run used; a dataset already
	// recorded (same name and digest) is kept as it was.
	LogInputs(ctx context.Context, ws, runID string, datasets []DatasetInput, models []ModelInput) error
	// LogOutputs records logged models a run produced.
	LogOutputs(ctx context.Context, ws, runID string, models []ModelOutput) error
	// MetricHistory returns every value logged for a run's metric key,
	// ordered by step, then timestamp; at most limit from offset.
	MetricHistory(ctx context.Context, ws, runID, key string, offset, limit int) ([]Metric, error)
	// MetricHistoryBulk returns the values of key for several runs, each
	// with RunID set, for steps in [startStep, endStep] (nil: unbounded),
	// at most limit per run. Unknown runs contribute nothing.
	MetricHistoryBulk(ctx context.Context, ws string, runIDs []string, key string, startStep, endStep *int64, limit int) ([]Metric, error)
}

// LoggedModelStore keeps MLflow 3 logged models.
type LoggedModelStore interface {
	// CreateLoggedModel creates m (ModelID set by the caller, status
	// pending unless set) with its tags and params; ArtifactURI is set to
	// "<experiment artifact location>/models/<model id>/artifacts".
	CreateLoggedModel(ctx context.Context, ws string, m LoggedModel) (LoggedModel, error)
	// GetLoggedModel returns a model with its tags, params and metrics.
	GetLoggedModel(ctx context.Context, ws, id string) (LoggedModel, error)
	// FinalizeLoggedModel sets a model's status.
	FinalizeLoggedModel(ctx context.Context, ws, id, status string) (LoggedModel, error)
	// DeleteLoggedModel marks a model deleted; it is then not found.
	DeleteLoggedModel(ctx context.Context, ws, id string) error
	// SetLoggedModelTags sets (replaces) tags.
	SetLoggedModelTags(ctx context.Context, ws, id string, tags []Tag) error
	// DeleteLoggedModelTag removes a tag; store.ErrNotFound if absent.
	DeleteLoggedModelTag(ctx context.Context, ws, id, key string) error
	// LogLoggedModelParams records params (same-value re-logging is a
	// no-op, as for runs).
	LogLoggedModelParams(ctx context.Context, ws, id string, params []Param) error
	// SearchLoggedModels returns the models matching q, in its order.
	SearchLoggedModels(ctx context.Context, ws string, q ModelQuery) ([]LoggedModel, error)
}

// JobRunStore links ciel jobs and steps to runs.
type JobRunStore interface {
	// EnsureJobRun returns the run linked to (job, step) in ws, creating
	// it from info and tags (as CreateRun does) and linking it when there
	// is none. Concurrent calls for one key create one run; created says
	// whether this call did.
	EnsureJobRun(ctx context.Context, ws, job, step string, info RunInfo, tags []Tag) (run RunInfo, created bool, err error)
	// JobRuns lists the runs linked to a job's steps (and its parent run,
	// Step ""), ordered by step. Empty when there are none.
	JobRuns(ctx context.Context, ws, job string) ([]JobRun, error)
}

// Batch is what one log-batch call records.
type Batch struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// RunUpdate says what UpdateRun changes; nil fields stay as they are.
type RunUpdate struct {
	Status  *string
	EndTime *int64
	RunName *string
}

// View types: which lifecycle stages a search returns.
const (
	ViewActiveOnly  = "ACTIVE_ONLY"
	ViewDeletedOnly = "DELETED_ONLY"
	ViewAll         = "ALL"
)

// Page is the window of results a search returns: Limit results from
// Offset (Limit 0 means none).
type Page struct {
	Offset int
	Limit  int
}

// RunQuery selects runs of some experiments.
type RunQuery struct {
	ExperimentIDs []string
	Filter        []Clause
	OrderBy       []OrderBy // then start_time DESC, run_id
	ViewType      string
	Page
	// After, when set, starts the page after this run instead of at
	// Page.Offset (keyset paging: each page reads only its own runs). It
	// is only valid when KeysetOrder says so.
	After *RunCursor
}

// RunCursor is where a keyset-paged search stopped: the last run returned
// and, when the order is by a metric, param or tag, where that run's value
// of it falls.
type RunCursor struct {
	StartTime int64  `json:"start_time"`
	RunID     string `json:"run_id"`
	// Seg is the part of a key's order the run is in: 0 runs with a value
	// (Value holds it: a param's or tag's text, a metric's value as
	// strconv's shortest 'g' form), 1 runs whose metric is NaN, 2 runs
	// without the key. MLflow puts NaN and then missing values last in
	// both directions.
	Seg   int    `json:"seg,omitempty"`
	Value string `json:"value,omitempty"`
}

// Segments of a key's order; see RunCursor.Seg.
const (
	SegValue   = 0
	SegNaN     = 1
	SegMissing = 2
)

// KeysetOrder reports whether q's order allows keyset paging (After), and
// whether it is ascending: the default order (start_time DESC), start_time
// alone, or one metric, param or tag key over one experiment; each then
// start_time DESC and run_id.
func (q RunQuery) KeysetOrder() (ok, asc bool) {
	switch {
	case len(q.OrderBy) == 0:
		return true, false
	case len(q.OrderBy) > 1:
		return false, false
	}
	switch o := q.OrderBy[0]; o.Kind {
	case KindAttribute:
		return o.Key == "start_time", o.Asc
	case KindMetric, KindParam, KindTag:
		return len(q.ExperimentIDs) == 1, o.Asc
	}
	return false, false
}

// CursorAt returns the cursor of a keyset-paged page of q that ends at run.
func (q RunQuery) CursorAt(run Run) RunCursor {
	c := RunCursor{StartTime: run.Info.StartTime, RunID: run.Info.RunID}
	if len(q.OrderBy) != 1 || q.OrderBy[0].Kind == KindAttribute {
		return c
	}
	o := q.OrderBy[0]
	c.Seg = SegMissing
	switch o.Kind {
	case KindMetric:
		for _, m := range run.Metrics {
			if m.Key != o.Key {
				continue
			}
			if math.IsNaN(m.Value) {
				c.Seg = SegNaN
			} else {
				c.Seg, c.Value = SegValue, strconv.FormatFloat(m.Value, 'g', -1, 64)
			}
		}
	case KindParam:
		for _, p := range run.Params {
			if p.Key == o.Key {
				c.Seg, c.Value = SegValue, p.Value
			}
		}
	case KindTag:
		for _, t := range run.Tags {
			if t.Key == o.Key {
				c.Seg, c.Value = SegValue, t.Value
			}
		}
	}
	return c
}

// ExperimentQuery selects experiments.
type ExperimentQuery struct {
	Filter   []Clause
	OrderBy  []OrderBy // then experiment_id ASC
	ViewType string
	Page
}

// ModelQuery selects logged models of some experiments (all when empty).
type ModelQuery struct {
	ExperimentIDs []string
	Filter        []Clause
	OrderBy       []OrderBy // then creation time DESC, model_id
	Page
}

// Entity kinds a filter clause or order-by key names.
const (
	KindAttribute = "attribute"
	KindMetric    = "metric"
	KindParam     = "param"
	KindTag       = "tag"
	KindDataset   = "dataset"
	// KindMetadata names a trace's request metadata.
	KindMetadata = "metadata"
)

// Clause is one comparison of a search filter, already validated: Kind and
// Key say what is compared, Op how (=, !=, <, <=, >, >=, LIKE, ILIKE, IN,
// NOT IN, IS NULL, IS NOT NULL), and Str, Num or List the value. Attribute
// keys are canonical (created -> start_time, "run name" -> run_name).
type Clause struct {
	Kind  string
	Key   string
	Op    string
	IsNum bool
	Num   float64
	Str   string
	List  []string
}

// OrderBy is one key of a search's order.
type OrderBy struct {
	Kind string
	Key  string
	Asc  bool
}

// TraceStore keeps MLflow 3 traces' metadata (TraceInfo). Their spans are
// artifacts, kept by the artifact store, not here.
type TraceStore interface {
	// StartTrace records t in its experiment and returns it as stored: its
	// tags gain TagTraceArtifactLocation ("<experiment artifact
	// location>/traces/<trace id>/artifacts") and TagSpansLocation. Recording
	// a trace ID again (a client's retry) replaces its fields and merges its
	// tags and metadata. An *Error with CodeInvalidParameterValue if the
	// experiment is deleted.
	StartTrace(ctx context.Context, ws string, t TraceInfo) (TraceInfo, error)
	// GetTraceInfo returns one trace.
	GetTraceInfo(ctx context.Context, ws, traceID string) (TraceInfo, error)
	// GetTraceInfos returns the traces of ids that exist, in the order of
	// ids; unknown ones are left out (no error).
	GetTraceInfos(ctx context.Context, ws string, ids []string) ([]TraceInfo, error)
	// SearchTraces returns the traces matching q, in its order.
	SearchTraces(ctx context.Context, ws string, q TraceQuery) ([]TraceInfo, error)
	// SetTraceTag sets (replaces) one tag of a trace.
	SetTraceTag(ctx context.Context, ws, traceID string, t Tag) error
	// DeleteTraceTag removes a tag; store.ErrNotFound if the trace or the
	// tag is absent.
	DeleteTraceTag(ctx context.Context, ws, traceID, key string) error
	// DeleteTraces deletes the traces of one experiment that d selects and
	// returns them (tags included, so the caller can remove their
	// artifacts). Deleting nothing is not an error.
	DeleteTraces(ctx context.Context, ws string, d TraceDeletion) ([]TraceInfo, error)
	// LinkTracesToRun links traces to a run, so a search by run_id finds
	// them as well as the traces created in it; linking twice is a no-op.
	// store.ErrNotFound if the run or any trace is absent (then nothing is
	// linked).
	LinkTracesToRun(ctx context.Context, ws, runID string, traceIDs []string) error
}

// TraceQuery selects traces of some experiments.
type TraceQuery struct {
	ExperimentIDs []string
	// Filter clauses are of KindAttribute (trace_id, timestamp_ms,
	// execution_time_ms, end_time_ms, status, client_request_id, run_id),
	// KindTag or KindMetadata; see ParseTraceFilter.
	Filter  []Clause
	OrderBy []OrderBy // then timestamp_ms DESC, trace_id
	Page
}

// TraceDeletion selects the traces DeleteTraces removes: those of
// ExperimentID with a request time at most MaxTimestamp (when set) or with
// an ID in TraceIDs (when set), the oldest MaxTraces of them (when set).
type TraceDeletion struct {
	ExperimentID string
	MaxTimestamp *int64
	MaxTraces    *int
	TraceIDs     []string
}
