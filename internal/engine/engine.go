// Package engine runs jobs: it turns a submitted Azure ML job into a plan of
// leaf command steps (a DAG), binds inputs and outputs, decides reuse, runs
// ready steps on their compute with retries and timeouts, and records every
// state change durably so a restarted server picks up where it was.
//
// engine does not parse files (spec does) nor serve HTTP (api does).
package engine

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Job and step statuses, Azure ML's words.
const (
	StatusNotStarted = "NotStarted"
	StatusQueued     = "Queued"
	StatusPreparing  = "Preparing"
	StatusRunning    = "Running"
	StatusCompleted  = "Completed"
	StatusFailed     = "Failed"
	StatusCanceled   = "Canceled"
)

// Terminal reports whether a status is final.
func Terminal(s string) bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCanceled
}

// EnvBuilder prepares the Python environment a step runs in.
type EnvBuilder interface {
	// Ensure returns a ready environment, building it on first use and
	// writing progress to w. It may be called concurrently; concurrent
	// calls for one spec build once.
	Ensure(ctx context.Context, s envs.Spec, w io.Writer) (envs.Env, error)
}

// StepInfo describes a step to an Observer.
type StepInfo struct {
	Workspace  string
	Job        string // job name
	JobType    string // command or pipeline
	Experiment string // the job's experiment_name ("Default" when unset)
	Display    string // the job's display name
	Step       string // leaf step name ("main" for a command job)
	Attempt    int
	// Parent is the step whose run is this step's parent run, for a
	// sweep's trials in a pipeline; "" means the job's run.
	Parent string
}

// Observer hears about jobs and steps as they run; tracking uses it to make
// every job and step an MLflow run. Calls may be concurrent.
type Observer interface {
	// StepStarting is called once before a step first starts (and again if
	// it is resumed after a restart); the returned KEY=VALUE pairs are added
	// to the environment of every attempt. An error fails the step.
	StepStarting(ctx context.Context, s StepInfo) ([]string, error)
	// StepFinished is called once a step is terminal (Completed, Failed or
	// Canceled), including a step completed by reuse.
	StepFinished(ctx context.Context, s StepInfo, status string)
	// JobFinished is called once a job is terminal.
	JobFinished(ctx context.Context, ws, job, status string)
}

// Config configures an Engine.
type Config struct {
	// Home is where step working directories and logs go (Home/jobs/...).
	Home     string
	Store    store.Store
	Blobs    blob.Store
	Envs     EnvBuilder
	Executor compute.Executor
	// Remote, when set, makes the executors of computes of type
	// kubernetes; without it their steps fail saying so.
	Remote RemoteExecutors
	Logger *slog.Logger
	// Observer, when set, hears about steps and jobs.
	Observer Observer
	// Data, when set, reads inputs given as data URIs (datastore paths,
	// job outputs, URLs) and writes outputs to datastore paths; without
	// it such jobs are refused.
	Data DataPaths
	// Leases, when set, is a store several servers share: the engine then
	// runs only the jobs whose lease it holds, as Replica, renewing them
	// every third of Lease, and takes over jobs whose lease has ended
	// (leases.go). Without it the engine is the store's only one.
	Leases  Leases
	Replica string
	Lease   time.Duration
}

// Engine runs jobs. Its methods may be called concurrently.
type Engine struct {
	cfg Config
	rec *recorder
	// hub tells subscribers the state changes the store records
	// (events.go).
	hub *hub

	mu      sync.Mutex
	running map[string]*jobRun // "ws/job" -> run in progress
	sems    map[string]chan struct{}
	// computes are the computes steps read lately (computes.go).
	computes recent[[2]string, cachedCompute]
	// gathering is held by the step that takes several slots (slots.go).
	gathering chan struct{}
	wg        sync.WaitGroup
	ctx       context.Context
	stop      context.CancelFunc
}

// New returns an engine; call Resume to pick up unfinished jobs and Close to
// stop.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	e := &Engine{
		cfg: cfg, hub: &hub{},
		running: map[string]*jobRun{}, sems: map[string]chan struct{}{}, gathering: make(chan struct{}, 1),
		ctx: ctx, stop: stop,
	}
	e.rec = newRecorder(cfg.Store, cfg.Logger, e.publishSteps)
	return e
}

// Close stops scheduling, kills running steps and waits for the job
// goroutines to end. Jobs left unfinished resume on the next start.
func (e *Engine) Close() {
	e.stop()
	e.wg.Wait()
	e.rec.close()
	e.hub.close()
}

// JobDir is where a job's step directories live.
func (e *Engine) JobDir(ws, job string) string {
	return filepath.Join(e.cfg.Home, "jobs", ws, job)
}

// StepLogPath is the path of a step's log.
func (e *Engine) StepLogPath(ws, job, step string) string {
	return filepath.Join(e.JobDir(ws, job), filepath.FromSlash(step), "std_log.txt")
}

// Submit resolves job against workspace ws, records it and starts it. The
// returned job is recorded durably. Problems with the job are *spec.Error.
func (e *Engine) Submit(ctx context.Context, ws string, job *spec.Job) (store.Job, error) {
	p, err := e.Prepare(ctx, ws, job)
	if err != nil {
		return store.Job{}, err
	}
	if err := e.cfg.Store.CreateJob(ctx, p.Job, p.Steps); err != nil {
		return store.Job{}, fmt.Errorf("create job %q: %w", p.Job.Name, err)
	}
	e.Start(p)
	return p.Job, nil
}

// Prepared is a job resolved against its workspace and not yet recorded:
// the job and step rows to store, and the plan that runs them.
type Prepared struct {
	Job   store.Job
	Steps []store.Step
	Plan  *Plan
}

// Prepare resolves job against workspace ws (a job with no name gets a
// generated one) without recording or starting it, for a caller that
// records the job in a transaction of its own (the scheduler records a
// firing and its job together) and then calls Start. Problems with the job
// are *spec.Error.
func (e *Engine) Prepare(ctx context.Context, ws string, job *spec.Job) (Prepared, error) {
	plan, err := e.buildPlan(ctx, ws, job)
	if err != nil {
		return Prepared{}, err
	}
	name := job.Name
	if name == "" {
		name = NewJobName()
	}
	specJSON, err := json.Marshal(job)
	if err != nil {
		return Prepared{}, fmt.Errorf("encode job: %w", err)
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return Prepared{}, fmt.Errorf("encode plan: %w", err)
	}
	now := time.Now().UTC()
	j := store.Job{
		Workspace: ws, Name: name, Type: plan.Type, DisplayName: orDefault(job.DisplayName, name),
		ExperimentName: orDefault(job.ExperimentName, "Default"), Status: StatusQueued,
		Spec: specJSON, Plan: planJSON, CreatedAt: now,
	}
	if e.cfg.Leases != nil {
		until := now.Add(e.cfg.Lease)
		j.Owner, j.LeaseUntil = e.cfg.Replica, &until
	}
	steps := make([]store.Step, len(plan.Steps))
	for i, s := range plan.Steps {
		steps[i] = store.Step{Workspace: ws, Job: name, Name: s.Name, Status: StatusNotStarted}
	}
	return Prepared{Job: j, Steps: steps, Plan: plan}, nil
}

// Start runs a prepared job its caller has recorded durably. A job recorded
// but never started (the server stopped in between) is started by the
// next server's Resume, like any unfinished job.
func (e *Engine) Start(p Prepared) {
	e.start(p.Job, p.Plan, p.Steps)
}

// Resume restarts every job that was active when the server last stopped
// (with Leases: every job whose lease has ended, and then, as long as the
// engine runs, those whose lease ends later). Steps that were running are
// killed (their process group, if it survived) and run again; completed
// steps are kept.
func (e *Engine) Resume(ctx context.Context) error {
	if e.cfg.Leases != nil {
		if err := e.claim(ctx, true); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		e.wg.Add(1)
		go e.keepLeases()
		return nil
	}
	jobs, err := e.cfg.Store.ListActiveJobs(ctx)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	for _, j := range jobs {
		if err := e.resumeJob(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

// resumeJob starts j again from its recorded steps.
func (e *Engine) resumeJob(ctx context.Context, j store.Job) error {
	var plan Plan
	if err := json.Unmarshal(j.Plan, &plan); err != nil {
		e.cfg.Logger.Error("resume: bad plan", "job", j.Name, "err", err)
		return nil
	}
	steps, err := e.cfg.Store.ListSteps(ctx, j.Workspace, j.Name)
	if err != nil {
		return fmt.Errorf("resume job %q: %w", j.Name, err)
	}
	var reset []store.Step
	for i, s := range steps {
		if Terminal(s.Status) || s.Status == StatusNotStarted {
			continue
		}
		killOrphan(s.PID, j.Workspace+"/"+j.Name+"/"+s.Name)
		steps[i].Status, steps[i].PID = StatusNotStarted, 0
		reset = append(reset, steps[i])
	}
	if len(reset) > 0 {
		if err := e.cfg.Store.UpdateSteps(ctx, reset...); err != nil {
			return fmt.Errorf("resume job %q: %w", j.Name, err)
		}
	}
	e.cfg.Logger.Info("resuming job", "workspace", j.Workspace, "job", j.Name, "steps_reset", len(reset))
	e.start(j, &plan, steps)
	return nil
}

// Cancel asks a job to stop. Running steps are killed with their whole
// process group. Canceling a finished job is a no-op.
func (e *Engine) Cancel(ctx context.Context, ws, name string) (store.Job, error) {
	j, err := e.cfg.Store.GetJob(ctx, ws, name)
	if err != nil {
		return j, err
	}
	if Terminal(j.Status) {
		return j, nil
	}
	j.CancelRequested = true
	if err := e.cfg.Store.UpdateJob(ctx, j); err != nil {
		return j, err
	}
	e.mu.Lock()
	run := e.running[ws+"/"+name]
	e.mu.Unlock()
	if run != nil {
		run.cancel()
		<-run.done
	}
	return e.cfg.Store.GetJob(ctx, ws, name)
}

// Wait blocks until the job has stopped running in this engine.
func (e *Engine) Wait(ws, name string) {
	e.mu.Lock()
	run := e.running[ws+"/"+name]
	e.mu.Unlock()
	if run != nil {
		<-run.done
	}
}

// semaphore returns the slot pool of a compute, sized to its concurrency.
func (e *Engine) semaphore(ws, computeName string, size int) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := ws + "/" + computeName
	s, ok := e.sems[key]
	if !ok || cap(s) != size {
		s = make(chan struct{}, size)
		e.sems[key] = s
	}
	return s
}

// concurrency is how many steps a compute runs at once.
func (e *Engine) concurrency(ctx context.Context, ws, name string) int {
	n := runtime.NumCPU()
	c, ok := e.computeSpec(ctx, ws, name)
	switch {
	case !ok:
		return n
	case c.MaxConcurrency > 0:
		return c.MaxConcurrency
	case c.MaxInstances > 0:
		return c.MaxInstances
	case c.Type == spec.ComputeKubernetes:
		return defaultRemoteConcurrency
	}
	return n
}

var (
	adjectives = []string{"amiable", "brave", "calm", "eager", "frosty", "gentle", "happy", "jolly", "keen", "lucid", "mellow", "nifty", "plucky", "quirky", "sincere", "tender", "upbeat", "witty", "zealous", "bold"}
	nouns      = []string{"lamp", "river", "cloud", "sparrow", "lemon", "anchor", "comet", "forest", "garden", "harbor", "island", "kettle", "meadow", "orchard", "pepper", "quilt", "rocket", "spoon", "tiger", "violin"}
)

// NewJobName returns a random job name in Azure ML's style, e.g.
// "quirky_lamp_8k2m3p1q9x".
func NewJobName() string {
	pick := func(list []string) string {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
		return list[n.Int64()]
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 10)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return pick(adjectives) + "_" + pick(nouns) + "_" + string(b)
}
