package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/store"
)

// ObserverConfig configures an Observer.
type ObserverConfig struct {
	Store Store
	// BaseURL is the server's base URL as steps reach it,
	// "http://127.0.0.1:8765"; a step's tracking URI is BaseURL/ws/<ws>.
	BaseURL string
	// Token, when set, is given to steps as MLFLOW_TRACKING_TOKEN.
	Token  string
	Logger *slog.Logger
}

// Observer makes every ciel job an MLflow run in the experiment named by
// the job's experiment_name: a command job is one run, a pipeline a parent
// run with one child run per step (tagged mlflow.parentRunId). Each step
// starts with MLFLOW_TRACKING_URI, MLFLOW_RUN_ID and MLFLOW_EXPERIMENT_NAME
// set, so mlflow calls in it land on its run; retries and resumed jobs keep
// the step's run.
//
// mlflow forgets MLFLOW_RUN_ID once its first run ends (sklearn autolog
// ends the run it starts around fit), so later calls would start a new
// run. As in Azure ML, a top-level run started inside a step is the step's
// run: steps also get MLFLOW_RUN_CONTEXT, which makes the client tag every
// run it creates with TagStepRun, and the API answers such a create with
// the step's run (see Handler). Nested runs stay separate runs.
//
// It is safe for concurrent use.
type Observer struct {
	cfg ObserverConfig

	// What the steps of a job in progress need again and again, so that a
	// step costs one write when it starts and one when it ends; dropped
	// when the job finishes.
	mu   sync.Mutex
	jobs map[[2]string]*jobState // by {workspace, job}
}

// jobState is what the observer remembers of a job in progress.
type jobState struct {
	experiment string            // the experiment's ID, once known
	runs       map[string]string // step ("" for the parent) -> run ID
	ended      map[string]bool   // steps whose run StepFinished ended
}

// job returns the state of a job, creating it; o.mu must be held.
func (o *Observer) job(ws, job string) *jobState {
	k := [2]string{ws, job}
	st := o.jobs[k]
	if st == nil {
		st = &jobState{runs: map[string]string{}, ended: map[string]bool{}}
		o.jobs[k] = st
	}
	return st
}

var _ engine.Observer = (*Observer)(nil)

// NewObserver returns an observer for cfg.
func NewObserver(cfg ObserverConfig) *Observer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Observer{cfg: cfg, jobs: map[[2]string]*jobState{}}
}

// TrackingURI is the MLflow tracking URI of workspace ws on a server at
// base.
func TrackingURI(base, ws string) string {
	return base + "/ws/" + url.PathEscape(ws)
}

// runStatus maps an Azure ML status to an MLflow run status.
func runStatus(status string) string {
	switch status {
	case engine.StatusCompleted:
		return StatusFinished
	case engine.StatusFailed:
		return StatusFailed
	case engine.StatusCanceled:
		return StatusKilled
	}
	return StatusRunning
}

// experiment returns the ID of the experiment of a step's job, creating it
// (or restoring it, when deleted) as needed; the job remembers it.
func (o *Observer) experiment(ctx context.Context, s engine.StepInfo) (string, error) {
	o.mu.Lock()
	id := o.job(s.Workspace, s.Job).experiment
	o.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := o.findExperiment(ctx, s.Workspace, s.Experiment)
	if err == nil {
		o.mu.Lock()
		o.job(s.Workspace, s.Job).experiment = id
		o.mu.Unlock()
	}
	return id, err
}

// forgetExperiment drops the experiment a job remembers (it was deleted).
func (o *Observer) forgetExperiment(s engine.StepInfo) {
	o.mu.Lock()
	o.job(s.Workspace, s.Job).experiment = ""
	o.mu.Unlock()
}

func (o *Observer) findExperiment(ctx context.Context, ws, name string) (string, error) {
	for range 2 {
		e, err := o.cfg.Store.GetExperimentByName(ctx, ws, name)
		if err == nil {
			if e.LifecycleStage != StageActive {
				if err := o.cfg.Store.SetExperimentStage(ctx, ws, e.ID, StageActive); err != nil {
					return "", err
				}
			}
			return e.ID, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		e, err = o.cfg.Store.CreateExperiment(ctx, ws, Experiment{Name: name})
		if err == nil {
			return e.ID, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return "", err
		}
		// Another step created it first: read it again.
	}
	return "", fmt.Errorf("experiment %q: created and removed concurrently", name)
}

// cachedRun returns the run remembered for a step of a job in progress.
func (o *Observer) cachedRun(ws, job, step string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id, ok := o.job(ws, job).runs[step]
	return id, ok
}

func (o *Observer) remember(ws, job, step, runID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.job(ws, job).runs[step] = runID
}

// jobRun returns the run of (job, step), creating it from info and tags in
// the store when it has none; created says whether this call did.
func (o *Observer) jobRun(ctx context.Context, s engine.StepInfo, step string, info RunInfo, tags []Tag) (string, bool, error) {
	if id, ok := o.cachedRun(s.Workspace, s.Job, step); ok {
		return id, false, nil
	}
	run, created, err := o.cfg.Store.EnsureJobRun(ctx, s.Workspace, s.Job, step, info, tags)
	if err != nil {
		return "", false, err
	}
	if !created && run.Status != StatusRunning && step != "" {
		// A step resumed after a restart: its run is running again.
		running := StatusRunning
		if _, err := o.cfg.Store.UpdateRun(ctx, s.Workspace, run.RunID, RunUpdate{Status: &running}); err != nil {
			return "", false, err
		}
	}
	o.remember(s.Workspace, s.Job, step, run.RunID)
	return run.RunID, created, nil
}

// stepRun returns the run of a step, creating the experiment, the
// pipeline's parent run and the step's run as needed, and whether this call
// created the step's run.
func (o *Observer) stepRun(ctx context.Context, s engine.StepInfo) (string, bool, error) {
	if id, ok := o.cachedRun(s.Workspace, s.Job, s.Step); ok {
		return id, false, nil
	}
	exp, err := o.experiment(ctx, s)
	if err != nil {
		return "", false, err
	}
	id, created, err := o.createStepRun(ctx, s, exp)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeInvalidParameterValue {
		// The remembered experiment was deleted since: look it up again.
		o.forgetExperiment(s)
		if exp, err = o.experiment(ctx, s); err == nil {
			id, created, err = o.createStepRun(ctx, s, exp)
		}
	}
	return id, created, err
}

func (o *Observer) createStepRun(ctx context.Context, s engine.StepInfo, exp string) (string, bool, error) {
	now := nowMS()
	base := []Tag{{Key: TagCielJob, Value: s.Job}, {Key: TagUser, Value: "ciel"},
		{Key: TagSourceType, Value: "JOB"}, {Key: TagSourceName, Value: s.Job}}
	name := s.Step
	tags := append([]Tag{{Key: TagCielStep, Value: s.Step}}, base...)
	if s.JobType == "pipeline" || s.JobType == "sweep" {
		parent, _, err := o.jobRun(ctx, s, "",
			RunInfo{RunID: newHexID(16), ExperimentID: exp, RunName: s.Display, UserID: "ciel", Status: StatusRunning, StartTime: now},
			append(base, Tag{Key: TagRunName, Value: s.Display}))
		if err != nil {
			return "", false, err
		}
		if s.Parent != "" {
			// A trial of a sweep step: the step's run is its parent.
			up := s
			up.Step, up.Parent = s.Parent, ""
			if parent, _, err = o.stepRun(ctx, up); err != nil {
				return "", false, err
			}
		}
		tags = append(tags, Tag{Key: TagParentRunID, Value: parent})
	} else {
		name = s.Display
	}
	tags = append(tags, Tag{Key: TagRunName, Value: name})
	return o.jobRun(ctx, s, s.Step,
		RunInfo{RunID: newHexID(16), ExperimentID: exp, RunName: name, UserID: "ciel", Status: StatusRunning, StartTime: now}, tags)
}

// StepStarting returns the MLflow environment of the step's run; a retry
// or a resumed step gets its earlier run back, marked RUNNING again.
func (o *Observer) StepStarting(ctx context.Context, s engine.StepInfo) ([]string, error) {
	runID, created, err := o.stepRun(ctx, s)
	if err == nil && !created && s.Attempt > 1 {
		// A retry: the run ended with the failed attempt.
		running := StatusRunning
		_, err = o.cfg.Store.UpdateRun(ctx, s.Workspace, runID, RunUpdate{Status: &running})
	}
	if err != nil {
		return nil, fmt.Errorf("tracking run of step %s: %w", s.Step, err)
	}
	env := []string{
		"MLFLOW_TRACKING_URI=" + TrackingURI(o.cfg.BaseURL, s.Workspace),
		"MLFLOW_RUN_ID=" + runID,
		"MLFLOW_EXPERIMENT_NAME=" + s.Experiment,
		"MLFLOW_RUN_CONTEXT=" + `{"` + TagStepRun + `": "` + runID + `"}`,
	}
	if o.cfg.Token != "" {
		env = append(env, "MLFLOW_TRACKING_TOKEN="+o.cfg.Token)
	}
	return env, nil
}

// StepFinished ends the step's run with the step's status (a step reused
// from an earlier job gets a run too).
func (o *Observer) StepFinished(ctx context.Context, s engine.StepInfo, status string) {
	runID, _, err := o.stepRun(ctx, s)
	if err == nil {
		err = o.end(ctx, s.Workspace, runID, runStatus(status))
	}
	if err == nil {
		o.mu.Lock()
		o.job(s.Workspace, s.Job).ended[s.Step] = true
		o.mu.Unlock()
	}
	if err != nil {
		o.cfg.Logger.Error("end tracking run of step", "workspace", s.Workspace, "job", s.Job, "step", s.Step, "err", err)
	}
}

// JobFinished ends the pipeline's parent run, and any step run still
// running (its step never reported an end), with the job's status. What
// this observer saw of the job spares reading every step's run back.
func (o *Observer) JobFinished(ctx context.Context, ws, job, status string) {
	o.mu.Lock()
	seen := o.jobs[[2]string{ws, job}]
	delete(o.jobs, [2]string{ws, job})
	o.mu.Unlock()
	runs, err := o.cfg.Store.JobRuns(ctx, ws, job)
	if err != nil {
		o.cfg.Logger.Error("end tracking runs of job", "workspace", ws, "job", job, "err", err)
		return
	}
	for _, jr := range runs {
		st := runStatus(status)
		if jr.Step != "" {
			if !o.stillRunning(ctx, ws, jr, seen) {
				continue
			}
			st = StatusKilled
		}
		if err := o.end(ctx, ws, jr.RunID, st); err != nil {
			o.cfg.Logger.Error("end tracking run of job", "workspace", ws, "job", job, "run", jr.RunID, "err", err)
		}
	}
}

// stillRunning reports whether a step's run is still running at the end of
// its job: known when this observer saw the step start or end, read from
// the store otherwise (a run from before a restart).
func (o *Observer) stillRunning(ctx context.Context, ws string, jr JobRun, seen *jobState) bool {
	if seen != nil {
		if seen.ended[jr.Step] {
			return false
		}
		if _, ok := seen.runs[jr.Step]; ok {
			return true
		}
	}
	r, err := o.cfg.Store.GetRun(ctx, ws, jr.RunID)
	return err == nil && r.Info.Status == StatusRunning
}

func (o *Observer) end(ctx context.Context, ws, runID, status string) error {
	end := nowMS()
	_, err := o.cfg.Store.UpdateRun(ctx, ws, runID, RunUpdate{Status: &status, EndTime: &end})
	return err
}
