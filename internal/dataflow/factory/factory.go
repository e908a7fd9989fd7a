// Package factory holds Azure Data Factory's resources — linked services,
// datasets, pipelines (with their activities) and triggers — as Data
// Factory's JSON has them: a name and a "properties" object, the shape ADF
// Studio commits to git ({"name": ..., "properties": {...}}) and the REST
// API returns.
//
// factory parses and validates; it does not evaluate expressions (expr
// does), reach data (connect does) or run anything (run does). Values that
// may hold expressions (type properties, parameter values, defaults) are
// kept as raw JSON so whoever evaluates them sees exactly what was written.
package factory

import "encoding/json"

// Kind names a kind of factory resource, as the CLI's nouns and the
// folders of a factory kept in git do.
type Kind string

// The kinds of resource, with the folder ADF's git integration keeps each
// in.
const (
	KindLinkedService Kind = "linkedService"
	KindDataset       Kind = "dataset"
	KindPipeline      Kind = "pipeline"
	KindTrigger       Kind = "trigger"
)

// Reference names another resource: a linked service, a dataset or a
// pipeline, with the parameter values passed to it (raw: they may be
// expressions evaluated in the referring scope).
type Reference struct {
	ReferenceName string                     `json:"referenceName"`
	Type          string                     `json:"type,omitempty"` // LinkedServiceReference, DatasetReference, PipelineReference
	Parameters    map[string]json.RawMessage `json:"parameters,omitempty"`
}

// ParamSpec declares a parameter of a linked service, dataset or pipeline,
// or a pipeline variable: its type (String, Int, Float, Bool, Array,
// Object, SecureString; variables: String, Boolean, Integer, Array) and
// default value.
type ParamSpec struct {
	Type         string          `json:"type"`
	DefaultValue json.RawMessage `json:"defaultValue,omitempty"`
}

// Folder is the folder a resource is shown in (ADF Studio's tree).
type Folder struct {
	Name string `json:"name"`
}

// LinkedService is a connection: a database, a store of files, an HTTP
// service or a key vault.
type LinkedService struct {
	Name        string               `json:"name"`
	Type        string               `json:"type"` // PostgreSqlV2, MySql, AzureBlobStorage, ...
	Description string               `json:"description,omitempty"`
	Parameters  map[string]ParamSpec `json:"parameters,omitempty"`
	Annotations []json.RawMessage    `json:"annotations,omitempty"`
	// ConnectVia is the integration runtime; ciel runs every activity
	// itself and keeps it only to write it back.
	ConnectVia     *Reference      `json:"connectVia,omitempty"`
	TypeProperties json.RawMessage `json:"typeProperties,omitempty"`
}

// Dataset is a named view of data in a linked service: a table, or files
// at a location in a format.
type Dataset struct {
	Name              string               `json:"name"`
	Type              string               `json:"type"` // DelimitedText, Parquet, PostgreSqlV2Table, ...
	Description       string               `json:"description,omitempty"`
	LinkedServiceName Reference            `json:"linkedServiceName"`
	Parameters        map[string]ParamSpec `json:"parameters,omitempty"`
	Annotations       []json.RawMessage    `json:"annotations,omitempty"`
	Folder            *Folder              `json:"folder,omitempty"`
	TypeProperties    json.RawMessage      `json:"typeProperties,omitempty"`
	// Schema (and the older Structure) list the columns: [{"name",
	// "type"}] for tables and text, physical types for Parquet.
	Schema    json.RawMessage `json:"schema,omitempty"`
	Structure json.RawMessage `json:"structure,omitempty"`
}

// Pipeline is a named graph of activities with parameters and variables.
type Pipeline struct {
	Name        string               `json:"name"`
	Description string               `json:"description,omitempty"`
	Activities  []Activity           `json:"activities"`
	Parameters  map[string]ParamSpec `json:"parameters,omitempty"`
	Variables   map[string]ParamSpec `json:"variables,omitempty"`
	// Concurrency bounds the runs of this pipeline at once (0: no bound).
	Concurrency int               `json:"concurrency,omitempty"`
	Annotations []json.RawMessage `json:"annotations,omitempty"`
	Folder      *Folder           `json:"folder,omitempty"`
}

// Activity is one step of a pipeline. Control activities (ForEach,
// IfCondition, Switch, Until) hold further activities in their
// TypeProperties.
type Activity struct {
	Name           string            `json:"name"`
	Type           string            `json:"type"` // Copy, Lookup, ForEach, ...
	Description    string            `json:"description,omitempty"`
	DependsOn      []Dependency      `json:"dependsOn,omitempty"`
	Policy         *Policy           `json:"policy,omitempty"`
	UserProperties []json.RawMessage `json:"userProperties,omitempty"`
	// State "Inactive" skips the activity, marking it OnInactiveMarkAs
	// (Succeeded, the default; Failed; Skipped).
	State             string          `json:"state,omitempty"`
	OnInactiveMarkAs  string          `json:"onInactiveMarkAs,omitempty"`
	Inputs            []Reference     `json:"inputs,omitempty"`
	Outputs           []Reference     `json:"outputs,omitempty"`
	LinkedServiceName *Reference      `json:"linkedServiceName,omitempty"`
	TypeProperties    json.RawMessage `json:"typeProperties,omitempty"`
}

// Dependency conditions.
const (
	DependSucceeded = "Succeeded"
	DependFailed    = "Failed"
	DependCompleted = "Completed"
	DependSkipped   = "Skipped"
)

// Dependency makes an activity wait for another and run only when that
// one ended in one of the conditions.
type Dependency struct {
	Activity             string   `json:"activity"`
	DependencyConditions []string `json:"dependencyConditions"`
}

// Policy bounds an activity: Timeout is a .NET TimeSpan ("0.12:00:00",
// "01:00:00"; raw because it may be an expression), Retry how many times a
// failed attempt is tried again, RetryIntervalInSeconds the wait between.
type Policy struct {
	Timeout                json.RawMessage `json:"timeout,omitempty"`
	Retry                  json.RawMessage `json:"retry,omitempty"`
	RetryIntervalInSeconds int             `json:"retryIntervalInSeconds,omitempty"`
	SecureInput            bool            `json:"secureInput,omitempty"`
	SecureOutput           bool            `json:"secureOutput,omitempty"`
}

// TriggerPipeline is a pipeline a trigger starts, with the parameter
// values it passes (raw: expressions over @trigger()).
type TriggerPipeline struct {
	PipelineReference Reference                  `json:"pipelineReference"`
	Parameters        map[string]json.RawMessage `json:"parameters,omitempty"`
}

// Trigger starts pipelines: ScheduleTrigger, TumblingWindowTrigger or
// BlobEventsTrigger. A tumbling window trigger names one pipeline (its
// "pipeline" property); the others a list ("pipelines"); both are kept in
// Pipelines.
type Trigger struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Description string            `json:"description,omitempty"`
	Annotations []json.RawMessage `json:"annotations,omitempty"`
	// RuntimeState is Started or Stopped; a trigger is created stopped.
	RuntimeState   string            `json:"runtimeState,omitempty"`
	Pipelines      []TriggerPipeline `json:"pipelines,omitempty"`
	TypeProperties json.RawMessage   `json:"typeProperties,omitempty"`
}
