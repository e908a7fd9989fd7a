package triggers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/expr"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Time formats of @trigger(): Data Factory gives scheduled times and
// window bounds to the second, and the time a trigger fired to a tenth of
// a microsecond.
const (
	layoutSecond  = "2006-01-02T15:04:05Z"
	layoutPrecise = "2006-01-02T15:04:05.0000000Z"
)

func fmtSecond(t time.Time) string  { return t.UTC().Format(layoutSecond) }
func fmtPrecise(t time.Time) string { return t.UTC().Format(layoutPrecise) }

// newRunID returns a trigger run id: 32 random hex digits.
func newRunID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// newRun returns an in-progress run of trigger st fired at now, with
// @trigger() holding scope's entries besides its name and startTime.
func newRun(st State, now time.Time, props map[string]string, scope map[string]any) Run {
	trig := map[string]any{"name": st.Name, "startTime": fmtPrecise(now), "type": st.Definition.Type}
	maps.Copy(trig, scope)
	p := map[string]string{"TriggerTime": fmtPrecise(now)}
	maps.Copy(p, props)
	return Run{Workspace: st.Workspace, ID: newRunID(), TriggerName: st.Name, TriggerType: st.Definition.Type,
		Timestamp: now, Status: RunInProgress, Properties: p, Trigger: trig}
}

// startPipelines starts every pipeline of def for run r (those it has not
// started yet: the Starter makes a repeat harmless) and returns r with
// TriggeredPipelines filled in. It fails on the first pipeline that could
// not start; a pipeline whose parameters do not evaluate is not started.
func (s *Service) startPipelines(ctx context.Context, r Run, def factory.Trigger) (Run, error) {
	if r.TriggeredPipelines == nil {
		r.TriggeredPipelines = map[string]string{}
	}
	scope := &expr.Scope{Trigger: r.Trigger, Now: s.now}
	by := InvokedBy{Name: r.TriggerName, ID: r.ID, Type: r.TriggerType}
	for _, p := range def.Pipelines {
		name := p.PipelineReference.ReferenceName
		if _, done := r.TriggeredPipelines[name]; done {
			continue
		}
		params := make(map[string]any, len(p.Parameters))
		for k, raw := range p.Parameters {
			v, err := expr.EvalRaw(raw, scope)
			if err != nil {
				return r, fmt.Errorf("pipeline %s: parameter %s: %w", name, k, err)
			}
			params[k] = v
		}
		id, err := s.cfg.Starter.StartRun(ctx, r.Workspace, name, params, by)
		if err != nil {
			return r, fmt.Errorf("pipeline %s: %w", name, err)
		}
		r.TriggeredPipelines[name] = id
	}
	return r, nil
}

// fireRun starts the pipelines of a recorded schedule or storage event
// run and records how that went: Succeeded once every pipeline started
// (as in Data Factory, such a trigger does not wait for its pipelines),
// Failed naming the one that could not.
func (s *Service) fireRun(ctx context.Context, r Run, def factory.Trigger) error {
	r, err := s.startPipelines(ctx, r, def)
	if ctx.Err() != nil {
		return ctx.Err() // stopping: the next server finishes the run
	}
	r.Status = RunSucceeded
	if err != nil {
		r.Status, r.Message = RunFailed, err.Error()
		s.log.Warn("trigger could not start a pipeline", "workspace", r.Workspace, "trigger", r.TriggerName, "run", r.ID, "err", err)
	}
	return s.cfg.Store.PutRun(ctx, r)
}

// resumeRuns finishes the schedule and storage event runs recorded but not
// finished: a server stopped between recording a firing and starting its
// pipelines. (A tumbling window's runs are followed through its window.)
func (s *Service) resumeRuns(ctx context.Context) error {
	runs, err := s.cfg.Store.ListRuns(ctx, RunQuery{Status: RunInProgress})
	if err != nil {
		return fmt.Errorf("unfinished trigger runs: %w", err)
	}
	var errs []error
	for _, r := range runs {
		if r.TriggerType == TypeTumblingWindow {
			continue
		}
		st, err := s.cfg.Store.GetTrigger(ctx, r.Workspace, r.TriggerName)
		if errors.Is(err, store.ErrNotFound) {
			r.Status, r.Message = RunFailed, "the trigger was deleted before its pipelines started"
			errs = append(errs, s.cfg.Store.PutRun(ctx, r))
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, s.fireRun(ctx, r, st.Definition))
	}
	return errors.Join(errs...)
}

// fireSchedule fires a started schedule trigger whose next time has come:
// once, for that time, however many of its times have passed, and moves
// its next time past now.
func (s *Service) fireSchedule(ctx context.Context, st State, c *compiled, now time.Time) error {
	if st.Next.IsZero() || st.Next.After(now) {
		return nil
	}
	from := now
	if st.Next.After(from) {
		from = st.Next
	}
	next, _ := c.schedule.Next(from)
	r := newRun(st, now, map[string]string{"ScheduledTime": fmtSecond(st.Next)},
		map[string]any{"scheduledTime": fmtSecond(st.Next)})
	if err := s.cfg.Store.AdvanceTrigger(ctx, st, next, []Run{r}, nil); err != nil {
		return err
	}
	s.log.Info("schedule trigger fired", "workspace", st.Workspace, "trigger", st.Name, "scheduled", st.Next, "next", next)
	return s.fireRun(ctx, r, st.Definition)
}
