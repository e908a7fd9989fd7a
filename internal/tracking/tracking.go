// Package tracking is ciel's experiment tracking: experiments, runs, their
// params, metrics (with step and timestamp), tags, dataset inputs, MLflow 3
// logged models and run artifacts. It serves the MLflow REST API (2.0, as
// the mlflow 3.x client speaks it) per workspace under
// /ws/{ws}/api/2.0/mlflow/..., with the artifact proxy beside it, so
// mlflow.set_tracking_uri("http://host:port/ws/<workspace>") is all a script
// needs. It also makes every job and pipeline step a run (see Observer).
//
// tracking holds no SQL: the metadata lives behind Store, implemented by
// store/sqldb; artifact files live under an artifacts.Root. It is not the
// model registry (registered models and versions live in internal/registry).
package tracking

// Lifecycle stages of experiments, runs and logged models (MLflow's words).
const (
	StageActive  = "active"
	StageDeleted = "deleted"
)

// Run statuses (MLflow's RunStatus names).
const (
	StatusRunning   = "RUNNING"
	StatusScheduled = "SCHEDULED"
	StatusFinished  = "FINISHED"
	StatusFailed    = "FAILED"
	StatusKilled    = "KILLED"
)

// Logged model statuses.
const (
	ModelPending = "LOGGED_MODEL_PENDING"
	ModelReady   = "LOGGED_MODEL_READY"
	ModelFailed  = "LOGGED_MODEL_UPLOAD_FAILED"
)

// Well-known tag keys.
const (
	TagRunName     = "mlflow.runName"
	TagParentRunID = "mlflow.parentRunId"
	TagUser        = "mlflow.user"
	TagSourceName  = "mlflow.source.name"
	TagSourceType  = "mlflow.source.type"
	TagCielJob     = "ciel.job"
	TagCielStep    = "ciel.step"
	// TagStepRun names the run of the ciel step a run was started in; steps
	// get it through MLFLOW_RUN_CONTEXT, so every run their mlflow client
	// creates carries it.
	TagStepRun = "ciel.step_run_id"
	// TagDataContext is the dataset input tag that says what a dataset was
	// used for ("train", "eval"); filters call it datasets.context.
	TagDataContext = "mlflow.data.context"
)

// DefaultExperimentID is the experiment every workspace starts with, named
// "Default"; runs created without an experiment land there.
const DefaultExperimentID = "0"

// Tag is a key and value attached to an experiment, run or logged model.
type Tag struct {
	Key   string
	Value string
}

// Param is a run's (or logged model's) input parameter; once logged its
// value never changes.
type Param struct {
	Key   string
	Value string
}

// Experiment groups runs. IDs are decimal strings, unique in a workspace.
type Experiment struct {
	ID               string
	Name             string
	ArtifactLocation string
	LifecycleStage   string
	CreationTime     int64 // unix milliseconds
	LastUpdateTime   int64 // unix milliseconds
	Tags             []Tag
}

// RunInfo is a run's own fields. RunID is 32 lowercase hex digits.
type RunInfo struct {
	RunID          string
	ExperimentID   string
	RunName        string
	UserID         string
	Status         string
	StartTime      int64  // unix milliseconds
	EndTime        *int64 // unix milliseconds; nil while unset
	ArtifactURI    string
	LifecycleStage string
}

// Metric is one logged value of a metric. In a run's data it is the latest
// value of its key: the greatest (step, timestamp, value).
type Metric struct {
	Key       string
	Value     float64 // may be NaN or ±Inf
	Timestamp int64   // unix milliseconds
	Step      int64
	// RunID is set where metrics of several runs are listed together.
	RunID string
	// ModelID, DatasetName and DatasetDigest link a metric to a logged
	// model and the dataset it was computed on; empty when unset.
	ModelID       string
	DatasetName   string
	DatasetDigest string
}

// Dataset describes data a run used.
type Dataset struct {
	Name       string
	Digest     string
	SourceType string
	Source     string
	Schema     string
	Profile    string
}

// DatasetInput is a dataset a run used, with tags such as
// mlflow.data.context.
type DatasetInput struct {
	Tags    []Tag
	Dataset Dataset
}

// ModelInput names a logged model a run used.
type ModelInput struct {
	ModelID string
}

// ModelOutput names a logged model a run produced, at a step.
type ModelOutput struct {
	ModelID string
	Step    int64
}

// Run is a run with its data: latest metrics, params, tags, inputs and
// outputs.
type Run struct {
	Info         RunInfo
	Metrics      []Metric
	Params       []Param
	Tags         []Tag
	Inputs       []DatasetInput
	ModelInputs  []ModelInput
	ModelOutputs []ModelOutput
}

// Tag returns the value of the run's tag key, or "" when it has none.
func (r Run) Tag(key string) string {
	for _, t := range r.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// LoggedModel is an MLflow 3 logged model: a model's files under its own
// artifact location, linked to the run that produced it. IDs are "m-" and
// 32 hex digits.
type LoggedModel struct {
	ModelID         string
	ExperimentID    string
	Name            string
	ArtifactURI     string
	Status          string
	StatusMessage   string
	ModelType       string
	SourceRunID     string
	CreationTime    int64 // unix milliseconds
	LastUpdatedTime int64 // unix milliseconds
	LifecycleStage  string
	Tags            []Tag
	Params          []Param
	// Metrics are every metric logged with this model's ID.
	Metrics []Metric
}

// JobRun links a ciel job's step to its run; Step is "" for a pipeline's
// parent run.
type JobRun struct {
	Job   string
	Step  string
	RunID string
}

// Trace states (MLflow's TraceState names).
const (
	TraceStateUnspecified = "STATE_UNSPECIFIED"
	TraceStateOK          = "OK"
	TraceStateError       = "ERROR"
	TraceStateInProgress  = "IN_PROGRESS"
)

// Well-known trace tag and metadata keys.
const (
	// TagTraceArtifactLocation is the tag the store gives every trace: the
	// artifact URI its spans (traces.json) are uploaded to and read from.
	TagTraceArtifactLocation = "mlflow.artifactLocation"
	// TagTraceName is the name of a trace's root span; filters call it name.
	TagTraceName = "mlflow.traceName"
	// TagSpansLocation says where a trace's spans are kept; ciel keeps them
	// only as an artifact (ARTIFACT_REPO), never in the tracking store.
	TagSpansLocation = "mlflow.trace.spansLocation"
	// MetaSourceRun is the metadata key naming the run a trace was created
	// in; filters call it run_id.
	MetaSourceRun = "mlflow.sourceRun"
)

// SpansInArtifacts is the TagSpansLocation value of every ciel trace.
const SpansInArtifacts = "ARTIFACT_REPO"

// TraceInfo is an MLflow 3 trace's metadata. Its spans are not here: the
// client uploads them as the artifact traces.json under the trace's
// TagTraceArtifactLocation. IDs are chosen by the client ("tr-" and 32 hex
// digits) and unique in a workspace.
type TraceInfo struct {
	TraceID         string
	ExperimentID    string
	ClientRequestID string
	RequestTime     int64 // unix milliseconds
	// ExecutionDuration is in milliseconds; 0 while unknown.
	ExecutionDuration int64
	State             string
	RequestPreview    string
	ResponsePreview   string
	// Metadata is set when the trace is recorded and not changed after;
	// Tags may be set and deleted later.
	Metadata map[string]string
	Tags     map[string]string
}
