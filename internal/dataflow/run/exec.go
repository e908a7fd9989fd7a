package run

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ciel-mlops/ciel/internal/dataflow/expr"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// execution is one pipeline run in progress.
type execution struct {
	r        *Runner
	pipeline factory.Pipeline
	depth    int
	// reuse holds, for a rerun, the results of the earlier run's
	// top-level activities that are not run again.
	reuse     map[string]*result
	parentCtx context.Context

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}

	// params are the run's bound parameters; the record masks secure ones.
	params map[string]any

	mu   sync.Mutex
	run  PipelineRun
	vars map[string]*variable
	// pipelineScope is pipeline() for expressions; read-only once built.
	pipelineScope map[string]any
}

// result is how an activity of a container ended.
type result struct {
	status Status
	output any
	err    *ErrorInfo
	runID  string
	// view is activity('name') for expressions, built once.
	view map[string]any
}

func newResult(st Status, output any, e *ErrorInfo, runID string) *result {
	view := map[string]any{"status": string(st), "output": output, "activityRunId": runID}
	if e != nil {
		view["error"] = map[string]any{"errorCode": e.ErrorCode, "message": e.Message, "failureType": e.FailureType, "target": e.Target}
	}
	return &result{status: st, output: output, err: e, runID: runID, view: view}
}

// frame is a container's scope: the pipeline, a ForEach iteration, an If
// branch, a Switch case or an Until pass. activity('x') finds x in the
// nearest frame that ran it.
type frame struct {
	parent    *frame
	mu        sync.Mutex
	results   map[string]*result
	item      any
	hasItem   bool
	parentRun string
	iteration *int
}

func (f *frame) child(parentRun string, iteration *int) *frame {
	c := &frame{parent: f, results: map[string]*result{}, parentRun: parentRun, iteration: iteration}
	c.item, c.hasItem = f.item, f.hasItem
	return c
}

func (f *frame) set(name string, r *result) {
	f.mu.Lock()
	f.results[name] = r
	f.mu.Unlock()
}

func (f *frame) get(name string) *result {
	for ; f != nil; f = f.parent {
		f.mu.Lock()
		r := f.results[name]
		f.mu.Unlock()
		if r != nil {
			return r
		}
	}
	return nil
}

// scope is what expressions in frame f see.
func (ex *execution) scope(f *frame) *expr.Scope {
	return &expr.Scope{
		Pipeline: ex.pipelineScope,
		Activity: func(name string) (any, bool) {
			if r := f.get(name); r != nil {
				return r.view, true
			}
			return nil, false
		},
		Item:     f.item,
		HasItem:  f.hasItem,
		Variable: ex.variable,
		Trigger:  ex.run.Trigger,
		Now:      ex.r.cfg.Now,
	}
}

// snapshot returns the run's record as it stands.
func (ex *execution) snapshot() PipelineRun {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.run
}

// setStatus records a new status (InProgress, Canceling) before it is
// acted on.
func (ex *execution) setStatus(ctx context.Context, st Status) error {
	ex.mu.Lock()
	if ex.run.Status.Done() || ex.run.Status == StatusCanceling {
		ex.mu.Unlock()
		return fmt.Errorf("pipeline run %q: %w", ex.run.RunID, ErrDone)
	}
	ex.run.Status = st
	ex.run.LastUpdated = ex.r.cfg.Now().UTC()
	if st == StatusInProgress {
		t := ex.run.LastUpdated
		ex.run.RunStart = &t
	}
	run := ex.run
	ex.mu.Unlock()
	if err := ex.r.cfg.Store.UpdatePipelineRun(context.WithoutCancel(ctx), run); err != nil {
		return fmt.Errorf("record pipeline run %q %s: %w", run.RunID, st, err)
	}
	return nil
}

// main runs the pipeline to its end and records how it ended.
func (ex *execution) main() {
	defer close(ex.done)
	log := ex.r.cfg.Logger.With("pipeline", ex.run.PipelineName, "runId", ex.run.RunID)
	release, err := ex.r.acquire(ex)
	if err != nil {
		ex.finish(ex.stopped())
		return
	}
	defer release()
	if err := ex.setStatus(ex.ctx, StatusInProgress); err != nil {
		log.Error("pipeline run not started", "err", err)
		ex.finish(StatusFailed, err.Error())
		return
	}
	ex.pipelineScope = ex.buildPipelineScope()
	root := &frame{results: map[string]*result{}}
	st, e := ex.runContainer(ex.ctx, root, ex.pipeline.Activities)
	msg := ""
	if e != nil {
		msg = fmt.Sprintf("Operation on target %s failed: %s", e.Target, e.Message)
	}
	if ex.ctx.Err() != nil {
		st, msg = ex.stopped()
	}
	ex.finish(st, msg)
	log.Info("pipeline run ended", "status", st)
}

// stopped is how a run whose context ended ends: Cancelled by Cancel (or
// by the activity of a parent run that waited on it), Failed when the
// server stopped, so that it can be rerun from failure.
func (ex *execution) stopped() (Status, string) {
	switch cause := context.Cause(ex.ctx); {
	case errors.Is(cause, errCancelled):
		return StatusCancelled, ""
	case errors.Is(cause, errShutdown):
		return StatusFailed, errShutdown.Error()
	default:
		return StatusCancelled, cause.Error()
	}
}

// finish records the run's end.
func (ex *execution) finish(st Status, msg string) {
	ex.mu.Lock()
	ex.r.finishRecord(&ex.run, st, msg)
	if rv, ok := ex.vars[returnValueVar]; ok && rv.value != nil {
		ex.run.ReturnValue, _ = rv.value.(map[string]any)
	}
	run := ex.run
	ex.mu.Unlock()
	if err := ex.r.cfg.Store.UpdatePipelineRun(context.WithoutCancel(ex.ctx), run); err != nil {
		ex.r.cfg.Logger.Error("record pipeline run end", "runId", run.RunID, "err", err)
	}
}

func (ex *execution) buildPipelineScope() map[string]any {
	run := ex.snapshot()
	m := map[string]any{
		"DataFactory": ex.r.cfg.Factory,
		"Pipeline":    run.PipelineName,
		"RunId":       run.RunID,
		"GroupId":     run.RunGroupID,
		"TriggerType": run.InvokedBy.InvokedByType,
		"TriggerId":   run.InvokedBy.ID,
		"TriggerName": run.InvokedBy.Name,
		"parameters":  ex.params,
	}
	if run.RunStart != nil {
		m["TriggerTime"] = run.RunStart.Format("2006-01-02T15:04:05.0000000Z")
	}
	if t, ok := run.Trigger["startTime"].(string); ok {
		m["TriggerTime"] = t
	}
	if run.InvokedBy.InvokedByType == InvokedPipeline {
		m["TriggeredByPipelineName"] = run.InvokedBy.Name
		m["TriggeredByPipelineRunId"] = run.InvokedBy.ID
	}
	return m
}

// runContainer runs a list of activities to the end: each starts when
// every activity it depends on has ended in one of the conditions named
// (any of one dependency's conditions, all dependencies), independent
// ones at once; one whose conditions can no longer be met is Skipped. It
// returns the container's outcome by ADF's rule (see outcome).
func (ex *execution) runContainer(ctx context.Context, f *frame, acts []factory.Activity) (Status, *ErrorInfo) {
	type ended struct {
		i int
		r *result
	}
	const (
		pending = iota
		running
		finished
	)
	index := make(map[string]int, len(acts))
	for i, a := range acts {
		index[a.Name] = i
	}
	state := make([]int, len(acts))
	results := make([]*result, len(acts))
	endc := make(chan ended)
	inflight := 0
	for {
		for progressed := true; progressed && ctx.Err() == nil; {
			progressed = false
			for i, a := range acts {
				if state[i] != pending {
					continue
				}
				if prior := ex.reused(f, a.Name); prior != nil {
					state[i], results[i], progressed = finished, prior, true
					f.set(a.Name, prior)
					continue
				}
				ready, met := depsMet(a, index, state, results, finished)
				if !ready {
					continue
				}
				progressed = true
				if !met {
					state[i], results[i] = finished, ex.skip(ctx, f, a)
					f.set(a.Name, results[i])
					continue
				}
				state[i] = running
				inflight++
				go func(i int, a factory.Activity) {
					endc <- ended{i, ex.runActivity(ctx, f, a)}
				}(i, a)
			}
		}
		if inflight == 0 {
			break
		}
		e := <-endc
		inflight--
		state[e.i], results[e.i] = finished, e.r
		f.set(acts[e.i].Name, e.r)
	}
	if ctx.Err() != nil {
		return StatusCancelled, nil
	}
	return outcome(acts, index, results)
}

// reused returns the earlier run's result of a top-level activity a
// rerun does not run again.
func (ex *execution) reused(f *frame, name string) *result {
	if f.parent != nil || ex.reuse == nil {
		return nil
	}
	return ex.reuse[name]
}

// depsMet says whether every dependency of a has ended (ready) and, if
// so, whether each ended in one of its conditions (met). Completed means
// Succeeded or Failed; a Skipped or Cancelled activity meets only
// Skipped.
func depsMet(a factory.Activity, index map[string]int, state []int, results []*result, finished int) (ready, met bool) {
	met = true
	for _, d := range a.DependsOn {
		j := index[d.Activity]
		if state[j] != finished {
			return false, false
		}
		if !conditionMet(results[j].status, d.DependencyConditions) {
			met = false
		}
	}
	return true, met
}

func conditionMet(st Status, conds []string) bool {
	for _, c := range conds {
		switch {
		case equalFold(c, factory.DependSucceeded) && st == StatusSucceeded,
			equalFold(c, factory.DependFailed) && st == StatusFailed,
			equalFold(c, factory.DependCompleted) && (st == StatusSucceeded || st == StatusFailed),
			equalFold(c, factory.DependSkipped) && st == StatusSkipped:
			return true
		}
	}
	return false
}

// outcome is ADF's rule for a pipeline's (or a container's) status: look
// at every leaf activity (one no other depends on); for a skipped leaf,
// look at the activities it depends on instead, and so on up; the
// container succeeds iff every activity looked at succeeded. So a failure
// followed only by an Upon Failure handler that succeeds is handled
// (try-catch), while one whose Upon Success path was skipped is not
// (do-if-else).
func outcome(acts []factory.Activity, index map[string]int, results []*result) (Status, *ErrorInfo) {
	hasChild := make([]bool, len(acts))
	for _, a := range acts {
		for _, d := range a.DependsOn {
			hasChild[index[d.Activity]] = true
		}
	}
	seen := make([]bool, len(acts))
	var failed *ErrorInfo
	ok := true
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		r := results[i]
		if r == nil {
			return
		}
		if r.status == StatusSkipped {
			for _, d := range acts[i].DependsOn {
				visit(index[d.Activity])
			}
			return
		}
		if r.status != StatusSucceeded {
			ok = false
			if failed == nil {
				failed = r.err
				if failed == nil {
					failed = &ErrorInfo{ErrorCode: "ActivityFailed", Message: fmt.Sprintf("activity %s ended %s", acts[i].Name, r.status), FailureType: "UserError", Target: acts[i].Name}
				}
			}
		}
	}
	for i := range acts {
		if !hasChild[i] {
			visit(i)
		}
	}
	if ok {
		return StatusSucceeded, nil
	}
	return StatusFailed, failed
}
