// Package spec parses and validates the files a user writes: Azure ML CLI v2
// job, component, environment, data asset and compute YAML. It is the only
// place that knows YAML; everything downstream works on these types, which
// also travel over the HTTP API as JSON.
//
// Every error spec returns for a bad file is a *Error (or an ErrorList of
// them) carrying file:line:column and what was expected. Paths in a parsed
// file (code directories, data paths, conda files, component files) are
// resolved against the directory of the file that names them, so callers never
// see a relative path. spec does not resolve azureml: references; that needs a
// workspace and is the server's job.
package spec

import (
	"fmt"
	"strings"
)

// Input and output types understood by jobs and components.
const (
	TypeURIFile     = "uri_file"
	TypeURIFolder   = "uri_folder"
	TypeMLTable     = "mltable"
	TypeCustomModel = "custom_model"
	TypeMLflowModel = "mlflow_model"
	TypeString      = "string"
	TypeInteger     = "integer"
	TypeNumber      = "number"
	TypeBoolean     = "boolean"
)

// Job types.
const (
	JobCommand  = "command"
	JobPipeline = "pipeline"
)

// Pos is a location in a user's file. Line and Col are 1-based; zero means
// unknown.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats the position as file:line:col, leaving out what is unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	return b.String()
}

// Error is one problem in a user's file at a known position.
type Error struct {
	Pos Pos    `json:"pos"`
	Msg string `json:"message"`
	// Source is the text of the line at Pos, kept for YAML syntax errors
	// so that Snippet can show it with a caret under the column.
	Source string `json:"source,omitempty"`
}

// Error formats the problem as "file:line:col: message".
func (e *Error) Error() string {
	if p := e.Pos.String(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// Errorf returns an *Error at pos.
func Errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ErrorList is several problems found in one pass, in file order.
type ErrorList []*Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Err returns nil for an empty list and the list otherwise, so callers can
// `return errs.Err()`.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// InputDecl declares an input of a component.
type InputDecl struct {
	Type        string   `json:"type"`
	Optional    bool     `json:"optional,omitempty"`
	Default     *string  `json:"default,omitempty"` // scalar text as written
	Description string   `json:"description,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Mode        string   `json:"mode,omitempty"`
	Pos         Pos      `json:"pos"`
}

// OutputDecl declares an output of a component.
type OutputDecl struct {
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	Mode        string `json:"mode,omitempty"`
	Pos         Pos    `json:"pos"`
}

// InputValue is what a job gives one of its inputs. Exactly one of Value,
// Binding or Path is set.
type InputValue struct {
	// Value is a literal scalar as written in the file (so "0.10" stays
	// "0.10"); Kind says which YAML scalar kind it was: string, integer,
	// number or boolean.
	Value *string `json:"value,omitempty"`
	Kind  string  `json:"kind,omitempty"`
	// Binding is a ${{parent...}} expression, e.g. "${{parent.inputs.x}}" or
	// "${{parent.jobs.prep.outputs.data}}".
	Binding string `json:"binding,omitempty"`
	// Type, Path and Mode describe a data input: Path is an absolute local
	// path, an azureml: reference, or (after upload) "blob:sha256:<hex>".
	Type     string `json:"type,omitempty"`
	Path     string `json:"path,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Optional bool   `json:"optional,omitempty"`
	Pos      Pos    `json:"pos"`
}

// OutputValue is what a job says of one of its outputs: a binding to the
// parent pipeline's output, or a declaration.
type OutputValue struct {
	Binding string `json:"binding,omitempty"` // ${{parent.outputs.z}}
	Type    string `json:"type,omitempty"`
	Mode    string `json:"mode,omitempty"`
	Path    string `json:"path,omitempty"`
	Name    string `json:"name,omitempty"`    // register as data asset
	Version string `json:"version,omitempty"` // register as data asset
	Pos     Pos    `json:"pos"`
}

// EnvRef is a job's or component's environment: a reference to a registered
// one (azureml:name:version, azureml:name@latest,
// azureml://registries/<r>/environments/<name>/labels/latest) or an inline
// definition.
type EnvRef struct {
	Ref    string       `json:"ref,omitempty"`
	Inline *Environment `json:"inline,omitempty"`
	Pos    Pos          `json:"pos"`
}

// ComponentRef is a pipeline step's component: a registered one
// (azureml:name:version, azureml:name@latest) or a component loaded from a
// file or written inline.
type ComponentRef struct {
	Ref    string     `json:"ref,omitempty"`
	Inline *Component `json:"inline,omitempty"`
	Pos    Pos        `json:"pos"`
}

// Settings are a pipeline job's settings block.
type Settings struct {
	DefaultCompute        string `json:"default_compute,omitempty"`
	DefaultDatastore      string `json:"default_datastore,omitempty"`
	ForceRerun            *bool  `json:"force_rerun,omitempty"`
	ContinueOnStepFailure *bool  `json:"continue_on_step_failure,omitempty"`
	Pos                   Pos    `json:"pos"`
}

// Limits bound a command job.
type Limits struct {
	TimeoutSeconds int `json:"timeout,omitempty"`
	Pos            Pos `json:"pos"`
}

// Resources are what a command job asks of its compute: on a kubernetes
// compute, the instance type its pod is sized by.
type Resources struct {
	InstanceType  string `json:"instance_type,omitempty"`
	InstanceCount int    `json:"instance_count,omitempty"`
	Pos           Pos    `json:"pos"`
}

// RetrySettings ask for a failed step to be run again.
type RetrySettings struct {
	MaxRetries     int `json:"max_retries,omitempty"`
	TimeoutSeconds int `json:"timeout,omitempty"`
	Pos            Pos `json:"pos"`
}

// Job is an Azure ML v2 job file: a command job or a pipeline job, or a step
// inside a pipeline's jobs block.
type Job struct {
	Schema         string            `json:"$schema,omitempty"`
	Type           string            `json:"type"`
	Name           string            `json:"name,omitempty"`
	DisplayName    string            `json:"display_name,omitempty"`
	Description    string            `json:"description,omitempty"`
	ExperimentName string            `json:"experiment_name,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Compute        string            `json:"compute,omitempty"`

	// Command jobs (and command steps written inline).
	Command              string            `json:"command,omitempty"`
	Code                 string            `json:"code,omitempty"` // absolute path, or blob:sha256:<hex> after upload
	Environment          *EnvRef           `json:"environment,omitempty"`
	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"`
	Limits               *Limits           `json:"limits,omitempty"`
	Retry                *RetrySettings    `json:"retry_settings,omitempty"`
	Resources            *Resources        `json:"resources,omitempty"`
	// Distribution starts several processes of the command (pytorch,
	// tensorflow, mpi), resources.instance_count instances of them.
	Distribution *Distribution `json:"distribution,omitempty"`

	// Steps that run a component.
	Component *ComponentRef `json:"component,omitempty"`

	Inputs  map[string]*InputValue  `json:"inputs,omitempty"`
	Outputs map[string]*OutputValue `json:"outputs,omitempty"`

	// Parallel jobs (and parallel steps written inline).
	Parallel *Parallel `json:"parallel,omitempty"`

	// Pipeline jobs.
	Jobs     map[string]*Job `json:"jobs,omitempty"`
	Settings *Settings       `json:"settings,omitempty"`

	// Sweep jobs and steps (their trial is the command above or Component).
	Sweep *Sweep `json:"sweep,omitempty"`

	File string `json:"file,omitempty"` // the file it came from
	Pos  Pos    `json:"pos"`
}

// Component is an Azure ML v2 command, parallel or pipeline component.
type Component struct {
	Schema          string                 `json:"$schema,omitempty"`
	Type            string                 `json:"type"`
	Name            string                 `json:"name,omitempty"`
	Version         string                 `json:"version,omitempty"`
	DisplayName     string                 `json:"display_name,omitempty"`
	Description     string                 `json:"description,omitempty"`
	Tags            map[string]string      `json:"tags,omitempty"`
	IsDeterministic *bool                  `json:"is_deterministic,omitempty"`
	Inputs          map[string]*InputDecl  `json:"inputs,omitempty"`
	Outputs         map[string]*OutputDecl `json:"outputs,omitempty"`
	Command         string                 `json:"command,omitempty"`
	Code            string                 `json:"code,omitempty"`
	// AdditionalIncludes are files and folders (absolute local paths) that
	// join the code snapshot at its root, each under its base name, as Azure
	// ML's additional_includes do. The CLI merges them into Code when it
	// uploads the snapshot, so a stored component has none.
	AdditionalIncludes   []string          `json:"additional_includes,omitempty"`
	Environment          *EnvRef           `json:"environment,omitempty"`
	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"`
	// Distribution is a command component's; a step's own overrides it.
	Distribution *Distribution   `json:"distribution,omitempty"`
	Jobs         map[string]*Job `json:"jobs,omitempty"` // pipeline components
	Settings     *Settings       `json:"settings,omitempty"`
	// Parallel is a parallel component's task, input_data, mini-batch and
	// worker settings, as a parallel job writes them; nil for other types.
	Parallel *Parallel `json:"parallel,omitempty"`
	// Retry is a parallel component's retry_settings, which apply to each
	// mini-batch.
	Retry *RetrySettings `json:"retry_settings,omitempty"`
	File  string         `json:"file,omitempty"`
	Pos   Pos            `json:"pos"`
}

// Environment is an Azure ML v2 environment: a base image and optionally a
// conda file whose pip section describes the Python packages.
type Environment struct {
	Schema      string            `json:"$schema,omitempty"`
	Name        string            `json:"name,omitempty"`
	Version     string            `json:"version,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Image       string            `json:"image,omitempty"`
	// CondaFile is the conda file's YAML text, read from the path the
	// environment names (or written inline), so the environment is
	// self-contained once parsed.
	CondaFile string `json:"conda_file,omitempty"`
	// BuildPath is build.path (a Docker build context); kept for
	// Kubernetes targets, not used locally.
	BuildPath string `json:"build_path,omitempty"`
	// BuildDockerfile is build.dockerfile_path, relative to the context
	// ("" means Dockerfile).
	BuildDockerfile string `json:"dockerfile_path,omitempty"`
	OSType          string `json:"os_type,omitempty"`
	File            string `json:"file,omitempty"`
	Pos             Pos    `json:"pos"`
}

// Data is an Azure ML v2 data asset.
type Data struct {
	Schema      string            `json:"$schema,omitempty"`
	Name        string            `json:"name"`
	Version     string            `json:"version,omitempty"`
	Type        string            `json:"type"` // uri_file, uri_folder, mltable
	Path        string            `json:"path"` // absolute local path or blob:sha256:<hex>
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	File        string            `json:"file,omitempty"`
	Pos         Pos               `json:"pos"`
}

// Compute is a compute target. Locally every type runs steps as processes;
// amlcompute's max_instances becomes the concurrency.
type Compute struct {
	Schema         string `json:"$schema,omitempty"`
	Name           string `json:"name"`
	Type           string `json:"type"` // local, amlcompute, kubernetes
	Size           string `json:"size,omitempty"`
	MinInstances   int    `json:"min_instances,omitempty"`
	MaxInstances   int    `json:"max_instances,omitempty"`
	MaxConcurrency int    `json:"max_concurrency,omitempty"`
	Description    string `json:"description,omitempty"`
	// Kubernetes holds what a compute of type kubernetes needs; nil for
	// the other types.
	*Kubernetes
	File string `json:"file,omitempty"`
	Pos  Pos    `json:"pos"`
}

// Binding is a parsed ${{...}} expression.
//
//	${{parent.inputs.x}}               Scope "parent", Kind "inputs",  Port "x"
//	${{parent.outputs.z}}              Scope "parent", Kind "outputs", Port "z"
//	${{parent.jobs.a.outputs.b}}       Scope "parent", Kind "jobs", Step "a", StepKind "outputs", Port "b"
//	${{inputs.x}} / ${{outputs.y}}     Scope "",       Kind "inputs"/"outputs", Port
type Binding struct {
	Scope    string `json:"scope,omitempty"`
	Kind     string `json:"kind"`
	Step     string `json:"step,omitempty"`
	StepKind string `json:"step_kind,omitempty"`
	Port     string `json:"port"`
}
