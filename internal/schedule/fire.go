package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/trigger"
)

// FireDue fires every schedule due at the service's clock, once each. The
// service's loop calls it every tick; tests call it with their own clock.
func (s *Service) FireDue(ctx context.Context) error {
	now := s.now()
	due, err := s.cfg.Store.DueSchedules(ctx, now)
	if err != nil {
		return fmt.Errorf("due schedules: %w", err)
	}
	var errs []error
	for _, sc := range due {
		if err := s.fire(ctx, sc, now); err != nil && !errors.Is(err, errSkipped) {
			errs = append(errs, fmt.Errorf("schedule %q in workspace %s: %w", sc.Name, sc.Workspace, err))
		}
	}
	return errors.Join(errs...)
}

// fire fires due schedule sc at now: it submits one job for its next fire
// time, however many of its times have passed, and moves its next fire
// time past now. A job that no longer resolves (its compute was deleted)
// is recorded as a failed firing, and the schedule carries on.
func (s *Service) fire(ctx context.Context, sc Schedule, now time.Time) error {
	f := Firing{Workspace: sc.Workspace, Schedule: sc.Name, TriggerTime: sc.NextFire, FiredAt: now}
	trig, err := compile(sc.Trigger, sc.Since)
	if err != nil { // a trigger this version cannot read: stop, saying why
		f.Error = err.Error()
		return s.record(ctx, sc, f, time.Time{}, nil)
	}
	from := now
	if sc.NextFire.After(from) {
		from = sc.NextFire
	}
	next, _ := trig.Next(from)
	job, err := instance(sc.Job, sc.Name, f.TriggerTime)
	if err != nil {
		return err
	}
	p, err := s.cfg.Jobs.Prepare(ctx, sc.Workspace, job)
	if err != nil {
		f.Error = err.Error()
		s.log.Warn("scheduled job could not be submitted", "workspace", sc.Workspace, "schedule", sc.Name, "err", err)
		return s.record(ctx, sc, f, next, nil)
	}
	f.Job = p.Job.Name
	if err := s.record(ctx, sc, f, next, &p); err != nil {
		return err
	}
	s.cfg.Jobs.Start(p)
	s.log.Info("schedule started a job", "workspace", sc.Workspace, "schedule", sc.Name, "job", p.Job.Name,
		"trigger_time", f.TriggerTime, "next", next)
	return nil
}

// record stores firing f (and job p, if any) and the next fire time. A
// schedule changed or deleted meanwhile is left as it now is: nothing is
// recorded and p is not started.
func (s *Service) record(ctx context.Context, sc Schedule, f Firing, next time.Time, p *engine.Prepared) error {
	var job *store.Job
	var steps []store.Step
	if p != nil {
		job, steps = &p.Job, p.Steps
	}
	err := s.cfg.Store.FireSchedule(ctx, sc, f, next, job, steps)
	if errors.Is(err, store.ErrConflict) {
		s.log.Debug("schedule changed while firing; not fired", "workspace", sc.Workspace, "schedule", sc.Name)
		return errSkipped
	}
	return err
}

// errSkipped is a firing left undone because its schedule changed.
var errSkipped = errors.New("schedule changed while firing")

// instance returns the job schedule name submits for trigger time t: a
// copy of job with a generated name, the display name Azure ML gives
// scheduled jobs (<schedule>-<UTC time>), the schedule's name as its
// experiment unless it names one, tags saying which schedule and time
// started it, and the macros in its inputs and outputs replaced.
func instance(job *spec.Job, name string, t time.Time) (*spec.Job, error) {
	j, err := copyJob(job)
	if err != nil {
		return nil, err
	}
	j.Name = engine.NewJobName()
	j.DisplayName = name + "-" + t.UTC().Format("20060102T150405Z")
	if j.ExperimentName == "" {
		j.ExperimentName = name
	}
	j.Tags = maps.Clone(j.Tags)
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	j.Tags[TagScheduleName] = name
	j.Tags[TagTriggerTime] = t.UTC().Format(time.RFC3339)
	spec.ExpandMacros(j, j.Name, t)
	return j, nil
}

// copyJob returns a deep copy of j.
func copyJob(j *spec.Job) (*spec.Job, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("copy job: %w", err)
	}
	return decodeJob(b)
}

func decodeJob(b []byte) (*spec.Job, error) {
	var j spec.Job
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("decode job: %w", err)
	}
	return &j, nil
}

// Start starts firing due schedules, every tick until Close; the first
// pass, at once, fires the schedules that came due while no server ran.
// Call it after the engine has resumed the jobs an earlier server left,
// so that a job recorded by a firing is started once.
func (s *Service) Start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		trigger.Loop(s.ctx, s.cfg.Tick, s.FireDue, func(err error) { s.log.Warn("scheduled jobs", "err", err) })
	}()
}

// Close stops firing and waits for a firing in progress to end.
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}
