// Package agent runs one job of an Azure Pipelines run on this machine the way
// a fresh Microsoft-hosted agent would: a new job folder (s/, a/, b/, tmp/),
// the predefined folder variables, its own Python virtualenv first on PATH,
// each step a real process in its own process group with live logs, the
// logging commands (##vso[...]) read from step output, step conditions,
// continueOnError, timeouts and cancellation.
//
// agent is not a scheduler: it does not decide which jobs of a run start,
// evaluate job conditions, store logs or artifacts, or know about git. Its
// caller hands it an expanded job (azp.Job), the run's variables and callbacks
// for checkout and artifacts.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// Step and job statuses, with Azure DevOps' spelling.
const (
	StatusPending             = "pending"
	StatusInProgress          = "inProgress"
	StatusSucceeded           = "succeeded"
	StatusSucceededWithIssues = "succeededWithIssues"
	StatusFailed              = "failed"
	StatusSkipped             = "skipped"
	StatusCanceled            = "canceled"
)

// Config configures an Agent.
type Config struct {
	// Dir is the base folder; each job gets a fresh Dir/<unique>/.
	Dir string
	// Python is the interpreter a job's first virtualenv is made from;
	// "python3" when empty.
	Python string
	// Logger receives the agent's own diagnostics; slog.Default() when nil.
	Logger *slog.Logger
	// Minute is how long one minute of timeoutInMinutes lasts; time.Minute
	// when zero. Tests shorten it.
	Minute time.Duration
	// JobTimeoutMinutes applies when a job's timeoutInMinutes is 0; Azure's
	// default of 60 when zero.
	JobTimeoutMinutes int
	// KillGrace is how long a step's process group has between SIGTERM and
	// SIGKILL; 5 s when zero.
	KillGrace time.Duration
	// NoUV disables uv: virtualenvs are then always made with
	// "<python> -m venv". Zero value: use uv when it is on PATH.
	NoUV bool
	// ToolsDir, when set, is put first on every step's PATH, before the
	// job's virtualenv and ##vso[task.prependpath] entries, so the tools in
	// it win over any a step installs: the server puts ciel's `az` shim
	// there (see WriteAzShim) so that `az ml ...` in a step, and in an
	// AzureCLI@2 task, is carried out by ciel against the same workspace.
	ToolsDir string
	// GroupsDir, when set, is where the agent writes down the process
	// group of every step it starts until its job ends, so that a server
	// killed during a run can be followed by one that kills what was left
	// running (KillOrphans). It must not be shared by two live agents.
	GroupsDir string
}

// Agent runs jobs. It is safe for concurrent use: each Run works in its own
// folder.
type Agent struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg, creates cfg.Dir and returns an Agent.
func New(cfg Config) (*Agent, error) {
	if cfg.Dir == "" {
		return nil, errors.New("agent: Config.Dir is required")
	}
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.Minute <= 0 {
		cfg.Minute = time.Minute
	}
	if cfg.JobTimeoutMinutes <= 0 {
		cfg.JobTimeoutMinutes = 60
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = 5 * time.Second
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("agent dir %q: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create agent dir: %w", err)
	}
	l := cfg.Logger
	if l == nil {
		l = slog.Default()
	}
	return &Agent{cfg: cfg, log: l}, nil
}

// Job is one job of a run, ready to run.
type Job struct {
	// Name is the job's name in the run ("Job", "__default", a matrix leg
	// "Job.linux"); it becomes Agent.JobName and System.JobName.
	Name string
	// Spec is the expanded job: steps, condition, timeoutInMinutes,
	// continueOnError, variables. The job condition is the caller's to
	// evaluate; Spec.Variables are applied over Variables (values written
	// as $[ ] are left to the caller and skipped here).
	Spec *azp.Job
	// Variables holds the pipeline and predefined variables, resolved. The
	// agent adds the folder ones.
	Variables map[string]string
	// Secrets names the entries of Variables whose values are secret: they
	// are masked in the log and, as in Azure, not exposed as environment
	// variables unless a step maps them with env:.
	Secrets []string
	// Checkout materialises the run's commit of self into dir; nil makes
	// checkout steps fail (and skips the implicit checkout).
	Checkout func(ctx context.Context, dir string) error
	// CheckoutRepository materialises another repository (a
	// resources.repositories alias) into dir; nil makes such steps fail.
	CheckoutRepository func(ctx context.Context, alias, dir string) error
	// Publish stores the folder or file at dir as the run's artifact.
	Publish func(ctx context.Context, artifact, dir string) error
	// Download writes the run's artifact into dir; artifact "" means every
	// artifact of the run, each in dir/<name>.
	Download func(ctx context.Context, artifact, dir string) error
	// OnStep is called on every step state change; it may be nil. Calls
	// come from the goroutine running the job, one at a time.
	OnStep func(StepResult)
}

// Issue is an error or warning a step logged (##vso[task.logissue]) or the
// agent reported about a step.
type Issue struct {
	Type    string // "error" or "warning"
	Message string
}

// StepResult is the state of one step.
type StepResult struct {
	// Index is the step's position in JobResult.Steps.
	Index int
	// Implicit is true for the checkout Azure adds to a job that has none.
	Implicit    bool
	Name        string
	DisplayName string
	Status      string
	Start, End  time.Time
	// ExitCode is the exit code of the step's process; -1 when it was
	// killed or never ran one.
	ExitCode int
	Error    string
	Issues   []Issue
}

// JobResult is what a job ended as.
type JobResult struct {
	Status string // succeeded, succeededWithIssues, failed, canceled
	Steps  []StepResult
	// Outputs maps "stepName.var" to the value of each output variable
	// (##vso[task.setvariable isOutput=true]).
	Outputs map[string]string
	// Dir is the job's folder, left in place for the caller to inspect or
	// remove.
	Dir string
	// TestResults sums what the job's PublishTestResults@2 steps read; nil
	// when none ran.
	TestResults *TestResults
}

// Run runs job and writes its log to log as Azure prints it. It returns an
// error only when the agent itself cannot work (folders, virtualenv); a
// failing job is a JobResult with Status failed.
func (a *Agent) Run(ctx context.Context, job Job, log io.Writer) (JobResult, error) {
	if job.Spec == nil {
		return JobResult{}, errors.New("run job: Spec is nil")
	}
	r, err := a.newJobRun(ctx, job, log)
	if err != nil {
		return JobResult{}, fmt.Errorf("run job %q: %w", job.Name, err)
	}
	defer r.cleanupProcesses()
	res := r.run(ctx)
	return res, nil
}
