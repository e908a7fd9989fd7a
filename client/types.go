package client

import (
	"encoding/json"
	"time"
)

// Workspace is a workspace as the API shows it.
type Workspace struct {
	Name          string            `json:"name"`
	ID            string            `json:"id,omitempty"`
	ResourceGroup string            `json:"resource_group,omitempty"`
	Location      string            `json:"location,omitempty"`
	DisplayName   string            `json:"display_name,omitempty"`
	Description   string            `json:"description,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	// MLflowTrackingURI is where mlflow clients point to track in this
	// workspace.
	MLflowTrackingURI string    `json:"mlflow_tracking_uri,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
}

// Asset is one version of a data asset, environment, component or compute:
// the submitted spec (spec.Data, spec.Environment, spec.Component,
// spec.Compute as JSON) plus what the server knows of it.
type Asset struct {
	Kind      string          `json:"kind"`
	Name      string          `json:"name"`
	Version   string          `json:"version,omitempty"`
	ID        string          `json:"id,omitempty"`
	Archived  bool            `json:"archived,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	Spec      json.RawMessage `json:"spec"`
}

// Upload is the answer to an upload: the tree digest to use as
// "blob:<digest>" in a spec.
type Upload struct {
	Digest string `json:"digest"`
	Files  int    `json:"files"`
	Size   int64  `json:"size"`
}

// Job is a job as the API shows it, shaped like `az ml job show`.
type Job struct {
	Name            string               `json:"name"`
	ID              string               `json:"id,omitempty"`
	Type            string               `json:"type"`
	DisplayName     string               `json:"display_name,omitempty"`
	Description     string               `json:"description,omitempty"`
	ExperimentName  string               `json:"experiment_name,omitempty"`
	Status          string               `json:"status"`
	Error           string               `json:"error,omitempty"`
	Compute         string               `json:"compute,omitempty"`
	Tags            map[string]string    `json:"tags,omitempty"`
	Archived        bool                 `json:"archived,omitempty"`
	CreationContext CreationContext      `json:"creation_context"`
	StartTime       *time.Time           `json:"start_time,omitempty"`
	EndTime         *time.Time           `json:"end_time,omitempty"`
	Inputs          map[string]any       `json:"inputs,omitempty"`
	Outputs         map[string]JobOutput `json:"outputs,omitempty"`
	Settings        map[string]any       `json:"settings,omitempty"`
	Jobs            map[string]*Step     `json:"jobs,omitempty"` // pipeline steps by name
	Services        map[string]Service   `json:"services,omitempty"`
	// Properties are Azure ML's job properties; a sweep has
	// best_child_run_id and best_trial once it completes.
	Properties map[string]string `json:"properties,omitempty"`
	// ParentJobName is set on the children `job list --parent-job-name`
	// lists (a pipeline's steps, a sweep's trials).
	ParentJobName string `json:"parent_job_name,omitempty"`
	// Warnings are what the server accepted in the job but ignores, each
	// "file:line:col: message" (an input its component does not declare).
	Warnings []string `json:"warnings,omitempty"`
	// Distribution and Resources are a distributed command job's, as az
	// ml job show writes them ({type: pytorch, process_count_per_instance:
	// 2}, {instance_count: 2}).
	Distribution map[string]any `json:"distribution,omitempty"`
	Resources    map[string]any `json:"resources,omitempty"`
	RunTracking
}

// RunTracking is what experiment tracking recorded for a job or step: its
// MLflow run and the run's latest metrics and params (NaN and infinite
// metric values are left out).
type RunTracking struct {
	RunID   string             `json:"run_id,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Params  map[string]string  `json:"params,omitempty"`
}

// CreationContext says when a resource was created.
type CreationContext struct {
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// JobOutput is one output of a job or step.
type JobOutput struct {
	Type   string `json:"type,omitempty"`
	Digest string `json:"digest,omitempty"` // tree digest once produced
}

// Step is one step of a pipeline job.
type Step struct {
	Name       string               `json:"name"`
	Status     string               `json:"status"`
	Component  string               `json:"component,omitempty"`
	Compute    string               `json:"compute,omitempty"`
	ReusedFrom string               `json:"reused_from,omitempty"`
	Attempt    int                  `json:"attempt,omitempty"`
	ExitCode   *int                 `json:"exit_code,omitempty"`
	Error      string               `json:"error,omitempty"`
	StartTime  *time.Time           `json:"start_time,omitempty"`
	EndTime    *time.Time           `json:"end_time,omitempty"`
	Outputs    map[string]JobOutput `json:"outputs,omitempty"`
	// Parent is the sweep step a trial belongs to ("" for a sweep job's
	// trials and for every other step).
	Parent string `json:"parent,omitempty"`
	// Trial is set on a sweep's trials.
	Trial bool `json:"trial,omitempty"`
	// Properties of a sweep step: best_child_run_id and best_trial.
	Properties map[string]string `json:"properties,omitempty"`
	// Command, Environment, EnvironmentVariables and Inputs are what the
	// step runs, from the job's plan. An input is a literal's value, an
	// upstream output's binding as Azure ML writes it
	// ("${{parent.jobs.<step>.outputs.<port>}}"), or a data input's
	// {type, path}: the studio draws the pipeline graph from the bindings.
	Command              string            `json:"command,omitempty"`
	Environment          string            `json:"environment,omitempty"`
	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"`
	Inputs               map[string]any    `json:"inputs,omitempty"`
	// Distribution and Resources are a distributed step's, as on a Job.
	Distribution map[string]any `json:"distribution,omitempty"`
	Resources    map[string]any `json:"resources,omitempty"`
	RunTracking
}

// Service is an endpoint of a job (e.g. the studio page).
type Service struct {
	Endpoint string `json:"endpoint"`
}

// ErrorBody is the JSON body of every 4xx/5xx answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target,omitempty"` // the field at fault, e.g. "jobs.train.inputs.lr"
	} `json:"error"`
}
