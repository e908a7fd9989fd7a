// Package schedule runs Azure ML job schedules (`az ml schedule`): it keeps
// each schedule's next fire time in the store and, when that time comes,
// submits the job the schedule captured when it was created.
//
// # Firing, and what a restart does
//
// A schedule's next fire time is stored. A firing submits one job and, in
// the same store transaction, records the firing, records the job and
// moves the next fire time past the present, so a server that stops at any
// moment has done all of it or none: it never fires a time twice and never
// loses one. A time that came due while no server ran fires once when the
// next server starts (its trigger time is the first time it missed), not
// once per time missed; the schedule then carries on from the present. A
// job recorded by a firing but not yet started when the server stopped is
// started by the next server, like any unfinished job. A disabled schedule
// does not fire; enabling it again resumes at its next time after the
// present, without firing the times it missed.
//
// schedule does not parse files (spec does), compute trigger times
// (trigger does) or run jobs (the engine does).
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/trigger"
)

// Tags every job a schedule submits carries, so that `ciel job show` says
// which schedule started it and for which time.
const (
	TagScheduleName = "azureml.scheduleName"
	TagTriggerTime  = "azureml.scheduleTriggerTime"
)

// Schedule is a schedule as the store keeps it.
type Schedule struct {
	Workspace   string             `json:"workspace"`
	Name        string             `json:"name"`
	DisplayName string             `json:"display_name,omitempty"`
	Description string             `json:"description,omitempty"`
	Tags        map[string]string  `json:"tags,omitempty"`
	Properties  map[string]string  `json:"properties,omitempty"`
	Trigger     trigger.Definition `json:"trigger"`
	// Source is create_job as the file named it ("./job.yml",
	// "azureml:<job>").
	Source string `json:"source,omitempty"`
	// Job is what each firing submits: the job as it was submitted when the
	// schedule was created, its code and data already uploaded.
	Job *spec.Job `json:"job"`
	// Since is when the trigger was defined: its start when it names none.
	Since   time.Time `json:"since"`
	Enabled bool      `json:"enabled"`
	// NextFire is the next time the schedule fires; zero when it fires no
	// more (disabled, or past its end time).
	NextFire time.Time `json:"next_fire,omitzero"`
	// Revision changes with every change to the schedule; a firing is
	// recorded only if the schedule is still the one it read.
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Firing is one time a schedule fired.
type Firing struct {
	Workspace   string    `json:"workspace"`
	Schedule    string    `json:"schedule"`
	TriggerTime time.Time `json:"trigger_time"` // the time that came due
	FiredAt     time.Time `json:"fired_at"`
	Job         string    `json:"job,omitempty"`   // the job submitted; "" if none could be
	Error       string    `json:"error,omitempty"` // why no job was submitted
}

// Store keeps schedules and their firings. Its methods may be called
// concurrently; a method that returns nil has made its writes durable.
type Store interface {
	// PutSchedule creates s, or replaces the schedule of its workspace
	// and name (keeping its CreatedAt), giving it a new Revision; it
	// returns the schedule stored. store.ErrNotFound when the workspace
	// does not exist.
	PutSchedule(ctx context.Context, s Schedule) (Schedule, error)
	// GetSchedule returns store.ErrNotFound when there is no such
	// schedule.
	GetSchedule(ctx context.Context, ws, name string) (Schedule, error)
	// ListSchedules returns a workspace's schedules by name;
	// store.ErrNotFound when the workspace does not exist.
	ListSchedules(ctx context.Context, ws string) ([]Schedule, error)
	// SetScheduleEnabled enables or disables a schedule and sets its next
	// fire time, giving it a new Revision; store.ErrNotFound when absent.
	SetScheduleEnabled(ctx context.Context, ws, name string, enabled bool, next time.Time) (Schedule, error)
	// DeleteSchedule deletes a schedule and its firings (not its jobs);
	// store.ErrNotFound when absent.
	DeleteSchedule(ctx context.Context, ws, name string) error
	// DueSchedules returns the enabled schedules of every workspace whose
	// next fire time is not after now, soonest first.
	DueSchedules(ctx context.Context, now time.Time) ([]Schedule, error)
	// FireSchedule records firing f of s in one transaction: it sets the
	// schedule's next fire time to next (zero: none), adds f, and creates
	// job and its steps when job is not nil. It does so only while the
	// schedule still has s.Revision and s.NextFire; otherwise it writes
	// nothing and returns store.ErrConflict, as it does when the job's
	// name is taken.
	FireSchedule(ctx context.Context, s Schedule, f Firing, next time.Time, job *store.Job, steps []store.Step) error
	// ListFirings returns a schedule's latest firings, newest first, at
	// most limit.
	ListFirings(ctx context.Context, ws, name string, limit int) ([]Firing, error)
}

// Jobs resolves and starts jobs: the engine.
type Jobs interface {
	// Prepare resolves job in workspace ws without recording it; problems
	// with the job are *spec.Error.
	Prepare(ctx context.Context, ws string, job *spec.Job) (engine.Prepared, error)
	// Start runs a prepared job its caller has recorded.
	Start(p engine.Prepared)
}

// JobReader reads the jobs of a workspace, for create_job: azureml:<job>.
type JobReader interface {
	// GetJob returns store.ErrNotFound when there is no such job.
	GetJob(ctx context.Context, ws, name string) (store.Job, error)
}

// Config configures a Service.
type Config struct {
	Store    Store
	Jobs     Jobs
	Existing JobReader
	Logger   *slog.Logger
	// Now is the clock; nil is time.Now. Tests set their own.
	Now func() time.Time
	// Tick is how often the service looks for due schedules; 0 is a
	// second.
	Tick time.Duration
}

// Service creates, changes and fires schedules. Its methods may be called
// concurrently.
type Service struct {
	cfg  Config
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New returns a service; Start starts firing.
func New(cfg Config) *Service {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Service{cfg: cfg, log: log, ctx: ctx, stop: stop}
}

// InvalidError is a schedule the service refuses, naming the field at
// fault ("trigger.time_zone", "create_job").
type InvalidError struct {
	Field string
	Msg   string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Msg }

// ErrEnabled refuses to delete a schedule that is enabled: as in Azure ML,
// it is disabled first.
var ErrEnabled = errors.New("schedule is enabled")

func (s *Service) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now().UTC()
	}
	return time.Now().UTC()
}

// Create creates schedule def in workspace ws, or replaces the one of its
// name, enabled. Its job is captured now: a job file's job as def holds it
// (its code already uploaded), or a copy of the existing job it names with
// its overrides applied; it must resolve in the workspace now, as a job
// submitted now would. The first firing is the trigger's first time at or
// after now.
func (s *Service) Create(ctx context.Context, ws string, def *spec.Schedule) (Schedule, error) {
	if err := spec.CheckSubmittedSchedule(def); err != nil {
		var fe *spec.FieldError
		if errors.As(err, &fe) {
			return Schedule{}, &InvalidError{Field: fe.Field, Msg: fe.Msg}
		}
		return Schedule{}, err
	}
	since := s.now().Truncate(time.Second)
	trig, err := compile(def.Trigger, since)
	if err != nil {
		return Schedule{}, err
	}
	next, ok := trig.Next(since.Add(-time.Nanosecond))
	if !ok {
		return Schedule{}, &InvalidError{Field: "trigger.end_time", Msg: fmt.Sprintf("%s has passed: the schedule would never fire", def.Trigger.EndTime)}
	}
	job, err := s.captureJob(ctx, ws, &def.CreateJob)
	if err != nil {
		return Schedule{}, err
	}
	// A dry run: the job must resolve now (its compute, environment and
	// data exist), so that a schedule does not fail at its first firing.
	trial, err := instance(job, def.Name, next)
	if err != nil {
		return Schedule{}, err
	}
	if _, err := s.cfg.Jobs.Prepare(ctx, ws, trial); err != nil {
		return Schedule{}, fmt.Errorf("create_job (%s): %w", def.CreateJob.Source, err)
	}
	return s.cfg.Store.PutSchedule(ctx, Schedule{
		Workspace: ws, Name: def.Name, DisplayName: def.DisplayName, Description: def.Description,
		Tags: def.Tags, Properties: def.Properties, Trigger: def.Trigger, Source: def.CreateJob.Source,
		Job: job, Since: since, Enabled: true, NextFire: next,
	})
}

// compile compiles a trigger, naming the field at fault.
func compile(d trigger.Definition, since time.Time) (*trigger.Trigger, error) {
	t, err := trigger.Compile(d, since)
	var fe *trigger.FieldError
	if errors.As(err, &fe) {
		return nil, &InvalidError{Field: "trigger." + fe.Field, Msg: fe.Msg}
	}
	return t, err
}

// captureJob returns the job a create_job describes, with no name (each
// firing names its own).
func (s *Service) captureJob(ctx context.Context, ws string, sj *spec.ScheduledJob) (*spec.Job, error) {
	if sj.Job != nil {
		j, err := copyJob(sj.Job)
		if err == nil {
			j.Name = ""
		}
		return j, err
	}
	j, err := ExistingJob(ctx, s.cfg.Existing, ws, sj.JobName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &InvalidError{Field: "create_job", Msg: err.Error()}
	}
	if err != nil {
		return nil, err
	}
	if err := spec.ApplyJobOverrides(j, sj.Overrides); err != nil {
		return nil, err
	}
	return j, nil
}

// notFoundError is a message that matches store.ErrNotFound.
type notFoundError string

func (e notFoundError) Error() string { return string(e) }
func (e notFoundError) Unwrap() error { return store.ErrNotFound }

// ExistingJob returns a copy of the job named name in workspace ws, as it
// was submitted, with no name: what `create_job: azureml:<job>` (and a
// factory's `ciel` activity naming a job) submits again. An error wrapping
// store.ErrNotFound says there is no such job.
func ExistingJob(ctx context.Context, jobs JobReader, ws, name string) (*spec.Job, error) {
	stored, err := jobs.GetJob(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundError(fmt.Sprintf("no job named %q in workspace %s (see ciel job list)", name, ws))
	}
	if err != nil {
		return nil, err
	}
	j, err := decodeJob(stored.Spec)
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", name, err)
	}
	j.Name = ""
	return j, nil
}

// Get returns a schedule; store.ErrNotFound when absent.
func (s *Service) Get(ctx context.Context, ws, name string) (Schedule, error) {
	return s.cfg.Store.GetSchedule(ctx, ws, name)
}

// List returns a workspace's schedules by name.
func (s *Service) List(ctx context.Context, ws string) ([]Schedule, error) {
	return s.cfg.Store.ListSchedules(ctx, ws)
}

// Firings returns a schedule's latest firings, newest first.
func (s *Service) Firings(ctx context.Context, ws, name string, limit int) ([]Firing, error) {
	return s.cfg.Store.ListFirings(ctx, ws, name, limit)
}

// SetEnabled enables or disables a schedule. Enabling sets its next fire
// time to the trigger's first time after now; the times it missed while
// disabled do not fire.
func (s *Service) SetEnabled(ctx context.Context, ws, name string, enabled bool) (Schedule, error) {
	sc, err := s.cfg.Store.GetSchedule(ctx, ws, name)
	if err != nil {
		return sc, err
	}
	var next time.Time
	if enabled {
		trig, err := compile(sc.Trigger, sc.Since)
		if err != nil {
			return sc, err
		}
		next, _ = trig.Next(s.now())
	}
	return s.cfg.Store.SetScheduleEnabled(ctx, ws, name, enabled, next)
}

// Delete deletes a disabled schedule; ErrEnabled when it is enabled.
func (s *Service) Delete(ctx context.Context, ws, name string) error {
	sc, err := s.cfg.Store.GetSchedule(ctx, ws, name)
	if err != nil {
		return err
	}
	if sc.Enabled {
		return fmt.Errorf("delete schedule %q: %w; disable it first (ciel schedule disable --name %s)", name, ErrEnabled, name)
	}
	return s.cfg.Store.DeleteSchedule(ctx, ws, name)
}
