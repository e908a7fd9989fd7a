package azp

import "github.com/ciel-mlops/ciel/internal/spec"

// DefaultStage and DefaultJob name the implicit stage and job Azure creates
// for a pipeline written as steps only or jobs only.
const (
	DefaultStage = "__default"
	DefaultJob   = "Job"
)

// Pipeline is a pipeline after compile-time expansion: templates inlined,
// ${{ }} evaluated, and the three accepted shapes (steps, jobs, stages)
// normalised to stages.
type Pipeline struct {
	Name       string
	Trigger    *Trigger // nil: the key was absent (Azure then triggers on every branch)
	PR         *Trigger // nil: the key was absent
	Schedules  []Schedule
	Variables  []Variable
	Parameters []Parameter
	Resources  Resources
	Pool       *Pool
	Stages     []*Stage
}

// Filter is an include/exclude list of branches, paths or tags.
type Filter struct {
	Include []string
	Exclude []string
}

// Trigger is a CI (trigger:) or PR (pr:) trigger.
type Trigger struct {
	None     bool // trigger: none
	Batch    bool
	Branches Filter
	Paths    Filter
	Tags     Filter
	// AutoCancel and Drafts apply to pr: only; nil means unset.
	AutoCancel *bool
	Drafts     *bool
}

// Schedule is one entry of schedules:.
type Schedule struct {
	Cron        string
	DisplayName string
	Branches    Filter
	Always      bool
	Batch       bool
}

// Variable is one entry of a variables: list: a name/value pair or a
// reference to a variable group.
type Variable struct {
	Name     string
	Value    string
	Group    string // set for "- group: name"; Name and Value are then empty
	Readonly bool
}

// Parameter is a declared, typed template or pipeline parameter.
type Parameter struct {
	Name        string
	DisplayName string
	Type        string // string, number, boolean, object, step, stepList, job, jobList, stage, stageList, ...
	Default     any    // an expression value (see Eval); nil when there is none
	Values      []any  // allowed values; empty when unrestricted
}

// Resources holds the resources: section; only repositories are modelled.
type Resources struct {
	Repositories []Repository
}

// Repository is one resources.repositories entry.
type Repository struct {
	Alias    string // the repository: key, used in template: x.yml@alias and checkout: alias
	Type     string // git, github, githubenterprise, bitbucket
	Name     string
	Ref      string
	Endpoint string
}

// Pool names the agent pool a job runs on.
type Pool struct {
	Name    string
	VMImage string
	Demands []string
}

// Stage is one stage of a pipeline.
type Stage struct {
	Name        string
	DisplayName string
	DependsOn   []string
	// DependsOnSet is true when dependsOn was written (an empty list then
	// means "no dependencies" rather than "the previous stage").
	DependsOnSet bool
	Condition    string
	Variables    []Variable
	Pool         *Pool
	Jobs         []*Job
	Pos          spec.Pos
}

// Job is a job or a deployment job.
type Job struct {
	Name             string
	DisplayName      string
	DependsOn        []string
	DependsOnSet     bool
	Condition        string
	ContinueOnError  bool
	TimeoutInMinutes int
	CancelTimeout    int
	Strategy         *Strategy
	Pool             *Pool
	Variables        []Variable
	Steps            []*Step
	Deployment       *Deployment // non-nil for a deployment: job; Steps then holds runOnce.deploy.steps
	Pos              spec.Pos
}

// Strategy is a job's strategy: a matrix or a parallel count.
type Strategy struct {
	Matrix      []MatrixLeg // in file order
	MatrixExpr  string      // a $[ ] run-time matrix, unevaluated
	Parallel    int
	MaxParallel int
}

// MatrixLeg is one named configuration of a matrix.
type MatrixLeg struct {
	Name      string
	Variables []Variable
}

// Deployment carries what a deployment job adds to a job.
type Deployment struct {
	Environment string
	Strategy    string // only "runOnce" is modelled
}

// StepKind says which of the step shapes a Step was written as.
type StepKind string

// Step kinds.
const (
	StepScript   StepKind = "script"
	StepBash     StepKind = "bash"
	StepPwsh     StepKind = "pwsh"
	StepCheckout StepKind = "checkout"
	StepTask     StepKind = "task"
	StepPublish  StepKind = "publish"
	StepDownload StepKind = "download"
	StepTemplate StepKind = "template" // only seen by callers of Parse; Expand inlines templates
)

// TaskRef is a task: reference such as UsePythonVersion@0.
type TaskRef struct {
	Name    string // as written
	Version string // the major version after @; "" when omitted
}

// Is reports whether the task is name (case-insensitively, as Azure
// matches task names) at the given major version; version "" matches any.
func (t TaskRef) Is(name, version string) bool {
	return equalFold(t.Name, name) && (version == "" || t.Version == version)
}

// Step is one step of a job.
type Step struct {
	Kind StepKind
	// Script is the body of script/bash/pwsh, the repository of checkout
	// (self, none or an alias), the path of publish, the source of download
	// (current, none or a pipeline resource) and the file of template.
	Script           string
	Task             TaskRef
	Inputs           map[string]string
	DisplayName      string
	Name             string
	Condition        string
	ContinueOnError  bool
	Enabled          bool
	Env              map[string]string
	TimeoutInMinutes int
	RetryCount       int
	WorkingDirectory string
	FailOnStderr     bool
	// Options holds the kind-specific keys: checkout's clean, fetchDepth,
	// lfs, submodules, path, persistCredentials; publish's and download's
	// artifact, patterns, path.
	Options map[string]string
	Pos     spec.Pos
}
