package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// jobRun is the state of one job while it runs.
type jobRun struct {
	a   *Agent
	job Job
	dir string // the job folder (Agent.BuildDirectory)

	vars    *variables
	pathPre []string // ##vso[task.prependpath] entries, newest first
	venv    string   // the job's virtualenv
	pyVer   string   // its Python version, "3.11.7"

	out     *logSink
	steps   []StepResult
	outputs map[string]string
	names   map[string]int // default step names used so far

	mu       sync.Mutex
	pgids    []int        // process groups started, killed at the end of the job
	canceled bool         // the job was canceled or timed out
	tests    *TestResults // what PublishTestResults@2 steps read
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newJobRun makes the job folder, its variables and its virtualenv.
func (a *Agent) newJobRun(ctx context.Context, job Job, log io.Writer) (*jobRun, error) {
	prefix := unsafeName.ReplaceAllString(job.Name, "_")
	if prefix == "" {
		prefix = "job"
	}
	dir, err := os.MkdirTemp(a.cfg.Dir, prefix+"-")
	if err != nil {
		return nil, fmt.Errorf("create job folder: %w", err)
	}
	for _, sub := range []string{"s", "a", "b", "tmp", "TestResults"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create job folder: %w", err)
		}
	}
	r := &jobRun{
		a: a, job: job, dir: dir,
		vars:    newVariables(),
		out:     newLogSink(log),
		outputs: map[string]string{},
		names:   map[string]int{},
		venv:    filepath.Join(dir, "venv"),
	}
	r.initVariables()
	for _, s := range r.vars.secretValues() {
		r.out.addSecret(s)
	}
	ver, err := r.makeVenv(ctx, a.cfg.Python)
	if err != nil {
		return nil, fmt.Errorf("create the job's virtualenv: %w", err)
	}
	r.pyVer = ver
	return r, nil
}

// initVariables sets the run's variables, the job's own and the folder ones.
func (r *jobRun) initVariables() {
	secret := map[string]bool{}
	for _, s := range r.job.Secrets {
		secret[strings.ToLower(s)] = true
	}
	for k, v := range r.job.Variables {
		r.vars.set(k, v, secret[strings.ToLower(k)])
	}
	for _, v := range r.job.Spec.Variables {
		if v.Group != "" || v.Name == "" || strings.HasPrefix(strings.TrimSpace(v.Value), "$[") {
			continue
		}
		r.vars.set(v.Name, azp.ExpandMacros(v.Value, r.vars.lookup), false)
	}
	d := r.dir
	for k, v := range map[string]string{
		"Agent.BuildDirectory":           d,
		"Agent.WorkFolder":               r.a.cfg.Dir,
		"Agent.TempDirectory":            filepath.Join(d, "tmp"),
		"Agent.ToolsDirectory":           filepath.Join(d, "tmp"),
		"Agent.HomeDirectory":            r.a.cfg.Dir,
		"Agent.JobName":                  r.job.Name,
		"Agent.Name":                     "ciel",
		"Agent.MachineName":              hostname(),
		"Agent.OS":                       "Linux",
		"Agent.OSArchitecture":           osArch(),
		"Agent.JobStatus":                "Succeeded",
		"Build.SourcesDirectory":         filepath.Join(d, "s"),
		"Build.Repository.LocalPath":     filepath.Join(d, "s"),
		"Build.ArtifactStagingDirectory": filepath.Join(d, "a"),
		"Build.StagingDirectory":         filepath.Join(d, "a"),
		"Build.BinariesDirectory":        filepath.Join(d, "b"),
		"System.ArtifactsDirectory":      filepath.Join(d, "a"),
		"System.DefaultWorkingDirectory": filepath.Join(d, "s"),
		"Common.TestResultsDirectory":    filepath.Join(d, "TestResults"),
		"Pipeline.Workspace":             d,
		"System.JobName":                 r.job.Name,
		"System.JobDisplayName":          firstNonEmpty(r.job.Spec.DisplayName, r.job.Name),
		"System.Culture":                 "en-US",
		"TF_BUILD":                       "True",
	} {
		r.vars.set(k, v, false)
	}
}

// run runs every step and returns the job's result.
func (r *jobRun) run(ctx context.Context) JobResult {
	timeout := r.job.Spec.TimeoutInMinutes
	if timeout <= 0 {
		timeout = r.a.cfg.JobTimeoutMinutes
	}
	jobCtx, cancel := context.WithTimeout(ctx, time.Duration(timeout)*r.a.cfg.Minute)
	defer cancel()

	specs := r.job.Spec.Steps
	implicit := r.job.Checkout != nil && !hasCheckout(specs)
	if implicit {
		specs = append([]*azp.Step{{Kind: azp.StepCheckout, Script: "self", Enabled: true}}, specs...)
	}
	r.steps = make([]StepResult, len(specs))
	for i, s := range specs {
		r.steps[i] = StepResult{Index: i, Implicit: implicit && i == 0, Name: r.stepName(s),
			DisplayName: displayName(s), Status: StatusPending, ExitCode: -1}
	}
	for i := range r.steps {
		r.notify(i)
	}
	for i, s := range specs {
		if jobCtx.Err() != nil && !r.isCanceled() {
			r.markCanceled(ctx, jobCtx, timeout)
		}
		r.runStep(ctx, jobCtx, i, s)
	}
	if jobCtx.Err() != nil && !r.isCanceled() {
		r.markCanceled(ctx, jobCtx, timeout)
	}
	return JobResult{Status: r.jobStatus(), Steps: append([]StepResult(nil), r.steps...), Outputs: r.outputs, Dir: r.dir,
		TestResults: r.tests}
}

// markCanceled records that the job was canceled or timed out.
func (r *jobRun) markCanceled(ctx, jobCtx context.Context, timeout int) {
	r.mu.Lock()
	r.canceled = true
	r.mu.Unlock()
	r.vars.set("Agent.JobStatus", "Canceled", false)
	if ctx.Err() == nil && jobCtx.Err() != nil {
		r.out.line(fmt.Sprintf("##[error]The job running on agent ciel ran longer than the maximum time of %d minutes.", timeout))
	} else {
		r.out.line("##[error]The operation was canceled.")
	}
}

func (r *jobRun) isCanceled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.canceled
}

// jobStatus folds the step results into the job's.
func (r *jobRun) jobStatus() string {
	if r.isCanceled() {
		return StatusCanceled
	}
	st := StatusSucceeded
	for _, s := range r.steps {
		switch s.Status {
		case StatusFailed:
			return StatusFailed
		case StatusCanceled:
			return StatusCanceled
		case StatusSucceededWithIssues:
			st = StatusSucceededWithIssues
		}
	}
	return st
}

// notify reports step i's state to OnStep.
func (r *jobRun) notify(i int) {
	if r.job.OnStep == nil {
		return
	}
	s := r.steps[i]
	s.Issues = append([]Issue(nil), s.Issues...)
	r.job.OnStep(s)
}

// stepName is the step's name:, or a default one as Azure gives
// (CmdLine, CmdLine1, ...; the task name for a task).
func (r *jobRun) stepName(s *azp.Step) string {
	if s.Name != "" {
		return s.Name
	}
	base := "__default"
	switch s.Kind {
	case azp.StepScript:
		base = "CmdLine"
	case azp.StepBash:
		base = "Bash"
	case azp.StepCheckout:
		base = "Checkout"
	case azp.StepPublish:
		base = "PublishPipelineArtifact"
	case azp.StepDownload:
		base = "DownloadPipelineArtifact"
	case azp.StepTask:
		base = unsafeName.ReplaceAllString(s.Task.Name, "_")
	case azp.StepPwsh:
		base = "PowerShell"
	}
	n := r.names[base]
	r.names[base] = n + 1
	if n == 0 {
		return base
	}
	return fmt.Sprintf("%s%d", base, n)
}

// displayName is what the log and the UI call a step.
func displayName(s *azp.Step) string {
	if s.DisplayName != "" {
		return s.DisplayName
	}
	switch s.Kind {
	case azp.StepScript:
		return "CmdLine"
	case azp.StepBash:
		return "Bash"
	case azp.StepPwsh:
		return "PowerShell"
	case azp.StepCheckout:
		if s.Script == "none" {
			return "Checkout none"
		}
		return "Checkout " + s.Script + " to s"
	case azp.StepPublish:
		return "Publish " + firstNonEmpty(s.Options["artifact"], "drop")
	case azp.StepDownload:
		return "Download " + firstNonEmpty(s.Options["artifact"], "artifacts")
	case azp.StepTask:
		return s.Task.Name
	}
	return string(s.Kind)
}

func hasCheckout(steps []*azp.Step) bool {
	for _, s := range steps {
		if s.Kind == azp.StepCheckout {
			return true
		}
	}
	return false
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
