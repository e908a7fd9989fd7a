package dataflow

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
	"github.com/ciel-mlops/ciel/internal/store"
)

// CreateRun starts a run of a stored pipeline with parameter values.
func (s *Service) CreateRun(ctx context.Context, ws, pipeline string, params map[string]any) (run.PipelineRun, error) {
	if s.cfg.Runs == nil {
		return run.PipelineRun{}, ErrNoRuntime
	}
	p, err := s.Pipeline(ctx, ws, pipeline)
	if err != nil {
		return run.PipelineRun{}, err
	}
	for k := range params {
		if _, ok := p.Parameters[k]; !ok {
			return run.PipelineRun{}, invalid("parameters."+k, "pipeline %q declares no parameter %q (it declares %s)", p.Name, k, paramNames(p.Parameters))
		}
	}
	return s.cfg.Runs.StartRun(ctx, run.RunRequest{Workspace: ws, Pipeline: p.Name, Parameters: params})
}

func paramNames(m map[string]factory.ParamSpec) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// Run returns a pipeline run.
func (s *Service) Run(ctx context.Context, ws, runID string) (run.PipelineRun, error) {
	if s.cfg.Runs == nil {
		return run.PipelineRun{}, ErrNoRuntime
	}
	return s.cfg.Runs.GetRun(ctx, ws, runID)
}

// QueryRuns returns the pipeline runs q matches, newest first.
func (s *Service) QueryRuns(ctx context.Context, ws string, q RunQuery) ([]run.PipelineRun, error) {
	if s.cfg.Runs == nil {
		return nil, ErrNoRuntime
	}
	return s.cfg.Runs.ListRuns(ctx, ws, run.RunQuery{PipelineName: q.PipelineName, Status: run.Status(q.Status),
		After: q.LastUpdatedAfter, Before: q.LastUpdatedBefore, Limit: q.Limit})
}

// CancelRun cancels a run and the runs its ExecutePipeline activities
// wait on (Data Factory's isRecursive, which ciel always does).
func (s *Service) CancelRun(ctx context.Context, ws, runID string) error {
	if s.cfg.Runs == nil {
		return ErrNoRuntime
	}
	return s.cfg.Runs.Cancel(ctx, ws, runID)
}

// Rerun starts an ended run again, whole, from its failure or from a
// named activity, in its run group.
func (s *Service) Rerun(ctx context.Context, ws, runID string, opts RerunOptions) (run.PipelineRun, error) {
	if s.cfg.Runs == nil {
		return run.PipelineRun{}, ErrNoRuntime
	}
	if opts.FromFailure && opts.StartActivityName != "" {
		return run.PipelineRun{}, invalid("startActivityName", "a rerun starts from the failure or from a named activity, not both")
	}
	return s.cfg.Runs.Rerun(ctx, ws, runID, run.RerunOptions{FromFailure: opts.FromFailure, StartActivity: opts.StartActivityName})
}

// ActivityRuns returns a pipeline run's activity runs in start order,
// narrowed by q's activity name, type and status and its time window.
func (s *Service) ActivityRuns(ctx context.Context, ws, runID string, q RunQuery) ([]run.ActivityRun, error) {
	if s.cfg.Runs == nil {
		return nil, ErrNoRuntime
	}
	all, err := s.cfg.Runs.QueryActivityRuns(ctx, ws, runID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		start := a.ActivityRunStart
		switch {
		case q.ActivityName != "" && !strings.EqualFold(q.ActivityName, a.ActivityName),
			q.ActivityType != "" && !strings.EqualFold(q.ActivityType, a.ActivityType),
			q.Status != "" && !strings.EqualFold(q.Status, string(a.Status)),
			start != nil && !q.LastUpdatedAfter.IsZero() && start.Before(q.LastUpdatedAfter),
			start != nil && !q.LastUpdatedBefore.IsZero() && !start.Before(q.LastUpdatedBefore):
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// StartTrigger starts a stored trigger through the trigger scheduler,
// with its definition as stored.
func (s *Service) StartTrigger(ctx context.Context, ws, name string) (Resource, error) {
	if s.cfg.Triggers == nil {
		return Resource{}, ErrNoRuntime
	}
	t, err := s.Trigger(ctx, ws, name)
	if err != nil {
		return Resource{}, err
	}
	if _, err := s.cfg.Triggers.StartTrigger(ctx, ws, t); err != nil {
		return Resource{}, err
	}
	return s.Get(ctx, ws, factory.KindTrigger, name)
}

// StopTrigger stops a trigger; runs it started go on.
func (s *Service) StopTrigger(ctx context.Context, ws, name string) (Resource, error) {
	if s.cfg.Triggers == nil {
		return Resource{}, ErrNoRuntime
	}
	r, err := s.Get(ctx, ws, factory.KindTrigger, name)
	if err != nil {
		return Resource{}, err
	}
	if _, err := s.cfg.Triggers.StopTrigger(ctx, ws, r.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Resource{}, err
	}
	r.RuntimeState = TriggerStopped
	return r, nil
}

// TriggerRuns returns the trigger runs q matches (PipelineName names the
// trigger), newest first.
func (s *Service) TriggerRuns(ctx context.Context, ws string, q RunQuery) ([]triggers.Run, error) {
	if s.cfg.Triggers == nil {
		return nil, ErrNoRuntime
	}
	return s.cfg.Triggers.Runs(ctx, triggers.RunQuery{Workspace: ws, Trigger: q.PipelineName, Status: q.Status,
		From: q.LastUpdatedAfter, To: q.LastUpdatedBefore, Limit: q.Limit})
}

// TriggerWindows returns a tumbling window trigger's windows, earliest
// first.
func (s *Service) TriggerWindows(ctx context.Context, ws, name string) ([]triggers.Window, error) {
	if s.cfg.Triggers == nil {
		return nil, ErrNoRuntime
	}
	r, err := s.Get(ctx, ws, factory.KindTrigger, name)
	if err != nil {
		return nil, err
	}
	return s.cfg.Triggers.Windows(ctx, ws, r.Name)
}

// RerunWindow runs a finished window of a tumbling window trigger again:
// the one starting at start, or (start zero) the one trigger run runID
// ran, as Data Factory's trigger-run rerun names it.
func (s *Service) RerunWindow(ctx context.Context, ws, name string, start time.Time, runID string) (triggers.Window, error) {
	if s.cfg.Triggers == nil {
		return triggers.Window{}, ErrNoRuntime
	}
	r, err := s.Get(ctx, ws, factory.KindTrigger, name)
	if err != nil {
		return triggers.Window{}, err
	}
	if start.IsZero() {
		ws2, err := s.cfg.Triggers.Windows(ctx, ws, r.Name)
		if err != nil {
			return triggers.Window{}, err
		}
		for _, w := range ws2 {
			if w.TriggerRunID == runID {
				start = w.Start
			}
		}
		if start.IsZero() {
			return triggers.Window{}, fmt.Errorf("trigger %q has no window run by trigger run %q: %w", r.Name, runID, store.ErrNotFound)
		}
	}
	return s.cfg.Triggers.RerunWindow(ctx, ws, r.Name, start)
}

// runtimeState is a trigger's runtime state as the trigger scheduler
// keeps it; Stopped without one.
func (s *Service) runtimeState(ctx context.Context, ws, name string) (string, error) {
	if s.cfg.Triggers == nil {
		return TriggerStopped, nil
	}
	return s.cfg.Triggers.RuntimeState(ctx, ws, name)
}

// checkStopped refuses to change or delete a started trigger, as Data
// Factory does.
func (s *Service) checkStopped(ctx context.Context, ws, name string) error {
	state, err := s.runtimeState(ctx, ws, name)
	if err != nil {
		return err
	}
	if state == TriggerStarted {
		return &TriggerStartedError{Name: name}
	}
	return nil
}

// checkTrigger checks that the scheduler can fire t (triggers.Check),
// placing a problem at its field in d's file when d has one.
func checkTrigger(d Document, t *factory.Trigger) error {
	err := triggers.Check(*t)
	var ie *triggers.InvalidError
	if !errors.As(err, &ie) || d.doc == nil {
		return err
	}
	p := []any{"properties"}
	for _, seg := range strings.Split(ie.Field, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		p = append(p, key)
		for rest != "" {
			num, more, _ := strings.Cut(rest, "]")
			if i, err := strconv.Atoi(num); err == nil {
				p = append(p, i)
			}
			rest = strings.TrimPrefix(more, "[")
		}
	}
	v, _ := d.doc.Lookup(p...)
	return &factory.Error{File: d.File, Line: v.Pos.Line, Col: v.Pos.Col, Msg: "properties." + ie.Field + ": " + ie.Msg}
}
