package run

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// Config is what a Runner needs. Store and Resources are required; a nil
// Secrets refuses Key Vault references, a nil Jobs refuses `ciel`
// activities, a nil Env gives activities an Env with only the workspace.
type Config struct {
	Store     Store
	Resources Resources
	Secrets   Secrets
	Jobs      Jobs
	// Env returns the environment data activities of workspace ws reach
	// (datastores, an HTTP client, a log). WebActivity uses its HTTP
	// client too (http.DefaultClient when nil).
	Env func(ws string) *activity.Env
	// Activities finds the function that runs a data activity type;
	// nil is activity.For.
	Activities func(typ string) (activity.Func, bool)
	// Factory is what pipeline().DataFactory returns ("ciel" when empty).
	Factory string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Runner starts pipeline runs and keeps the ones in progress. It is safe
// for concurrent use; Close stops every run it holds.
type Runner struct {
	cfg    Config
	base   context.Context
	stop   context.CancelCauseFunc
	mu     sync.Mutex
	active map[string]*execution
	// slots bound the runs of a pipeline with a concurrency at once, by
	// workspace and pipeline.
	slots map[string]chan struct{}
	wg    sync.WaitGroup
}

// errShutdown is the cause runs are stopped with when the runner closes:
// they are recorded Failed, as Recover would, so rerun from failure works.
var errShutdown = errors.New("the server stopped during the run")

// errCancelled is the cause a run is stopped with by Cancel.
var errCancelled = errors.New("pipeline run cancelled")

// New returns a Runner for cfg.
func New(cfg Config) (*Runner, error) {
	if cfg.Store == nil || cfg.Resources == nil {
		return nil, errors.New("new pipeline runner: Store and Resources are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Activities == nil {
		cfg.Activities = activity.For
	}
	if cfg.Factory == "" {
		cfg.Factory = "ciel"
	}
	base, stop := context.WithCancelCause(context.Background())
	return &Runner{cfg: cfg, base: base, stop: stop, active: map[string]*execution{}, slots: map[string]chan struct{}{}}, nil
}

// Close stops every run in progress, records each Failed ("the server
// stopped during the run") and waits for them.
func (r *Runner) Close() {
	r.stop(errShutdown)
	r.wg.Wait()
}

// Recover closes the records a stopped server left open: runs Queued or
// InProgress become Failed, so they can be rerun from failure. Call it
// once on start, before any run starts.
func (r *Runner) Recover(ctx context.Context) ([]string, error) {
	ids, err := r.cfg.Store.MarkInterrupted(ctx, errShutdown.Error(), r.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("recover pipeline runs: %w", err)
	}
	return ids, nil
}

// RunRequest asks for a run of Pipeline in Workspace with Parameters
// (JSON values by name). InvokedBy defaults to a manual run. Trigger is
// what trigger() returns to the run's expressions.
type RunRequest struct {
	Workspace  string
	Pipeline   string
	Parameters map[string]any
	InvokedBy  InvokedBy
	Trigger    map[string]any
}

// StartRun checks the request (parameters bound and typed, the pipeline's
// activities known and their dependencies sound), records the run Queued
// and starts it; it returns at once. An *InvalidError is a request to
// refuse; an error wrapping store.ErrNotFound names a missing pipeline.
func (r *Runner) StartRun(ctx context.Context, req RunRequest) (PipelineRun, error) {
	ex, err := r.prepare(ctx, req, runLink{})
	if err != nil {
		return PipelineRun{}, err
	}
	return r.launch(ctx, ex)
}

// runLink is how a run relates to others: the ExecutePipeline activity
// that started it, or the run it reruns.
type runLink struct {
	parent      *execution
	groupID     string
	reference   string
	rerunMode   string
	reuse       map[string]*result
	parentCtx   context.Context
	parentRunID string
}

// prepare loads and checks the pipeline and builds the run, unstarted.
func (r *Runner) prepare(ctx context.Context, req RunRequest, link runLink) (*execution, error) {
	p, err := r.cfg.Resources.Pipeline(ctx, req.Workspace, req.Pipeline)
	if err != nil {
		return nil, fmt.Errorf("pipeline %q: %w", req.Pipeline, err)
	}
	if err := r.validate(p); err != nil {
		return nil, err
	}
	params, err := bindParams(p.Parameters, req.Parameters, fmt.Sprintf("pipeline %q", p.Name))
	if err != nil {
		return nil, err
	}
	vars, err := initVariables(p)
	if err != nil {
		return nil, err
	}
	stored := maskSecure(p.Parameters, params)
	inv := req.InvokedBy
	if inv.InvokedByType == "" {
		inv = InvokedBy{Name: InvokedManual, ID: InvokedManual, InvokedByType: InvokedManual}
	}
	id := newID()
	group := link.groupID
	if group == "" {
		group = id
	}
	now := r.cfg.Now().UTC()
	run := PipelineRun{
		Workspace: req.Workspace, RunID: id, RunGroupID: group, IsLatest: true,
		PipelineName: p.Name, Parameters: stored, InvokedBy: inv, Status: StatusQueued,
		ParentRunID: link.parentRunID, ReferenceRunID: link.reference, Rerun: link.rerunMode,
		Trigger: req.Trigger, LastUpdated: now,
	}
	depth := 0
	if link.parent != nil {
		depth = link.parent.depth + 1
	}
	return &execution{r: r, run: run, params: params, pipeline: p, vars: vars, reuse: link.reuse, depth: depth, parentCtx: link.parentCtx}, nil
}

// launch records the run and starts it.
func (r *Runner) launch(ctx context.Context, ex *execution) (PipelineRun, error) {
	if err := r.cfg.Store.CreatePipelineRun(ctx, ex.run); err != nil {
		return PipelineRun{}, fmt.Errorf("record pipeline run of %q: %w", ex.run.PipelineName, err)
	}
	parent := r.base
	if ex.parentCtx != nil {
		parent = ex.parentCtx
	}
	ex.ctx, ex.cancel = context.WithCancelCause(parent)
	ex.done = make(chan struct{})
	// A parent's context may end without the runner's: stop with the
	// runner too.
	stopWithRunner := context.AfterFunc(r.base, func() { ex.cancel(context.Cause(r.base)) })
	r.mu.Lock()
	r.active[ex.run.RunID] = ex
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer stopWithRunner()
		ex.main()
		r.mu.Lock()
		delete(r.active, ex.run.RunID)
		r.mu.Unlock()
	}()
	return ex.snapshot(), nil
}

// GetRun returns a pipeline run as last recorded.
func (r *Runner) GetRun(ctx context.Context, ws, runID string) (PipelineRun, error) {
	run, err := r.cfg.Store.GetPipelineRun(ctx, ws, runID)
	if err != nil {
		return PipelineRun{}, fmt.Errorf("pipeline run %q: %w", runID, err)
	}
	return run, nil
}

// ListRuns returns a workspace's pipeline runs, newest first.
func (r *Runner) ListRuns(ctx context.Context, ws string, q RunQuery) ([]PipelineRun, error) {
	return r.cfg.Store.ListPipelineRuns(ctx, ws, q)
}

// QueryActivityRuns returns a pipeline run's activity runs in the order
// they started; an error wrapping store.ErrNotFound when there is no such
// run.
func (r *Runner) QueryActivityRuns(ctx context.Context, ws, runID string) ([]ActivityRun, error) {
	if _, err := r.GetRun(ctx, ws, runID); err != nil {
		return nil, err
	}
	return r.cfg.Store.ListActivityRuns(ctx, ws, runID)
}

// Wait blocks until the run ends (or ctx does) and returns its record.
func (r *Runner) Wait(ctx context.Context, ws, runID string) (PipelineRun, error) {
	r.mu.Lock()
	ex := r.active[runID]
	r.mu.Unlock()
	if ex != nil && ex.run.Workspace == ws {
		select {
		case <-ex.done:
		case <-ctx.Done():
			return PipelineRun{}, ctx.Err()
		}
	}
	for {
		run, err := r.GetRun(ctx, ws, runID)
		if err != nil || run.Status.Done() {
			return run, err
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Cancel cancels a run: it is recorded Canceling, its running activities
// (and the runs its ExecutePipeline activities wait on) are stopped, and
// it ends Cancelled. ErrDone when it has already ended.
func (r *Runner) Cancel(ctx context.Context, ws, runID string) error {
	r.mu.Lock()
	ex := r.active[runID]
	r.mu.Unlock()
	if ex == nil || ex.run.Workspace != ws {
		// Not running here: a record a stopped server left open is
		// closed as cancelled.
		run, err := r.GetRun(ctx, ws, runID)
		if err != nil {
			return err
		}
		if run.Status.Done() {
			return fmt.Errorf("cancel pipeline run %q: %w", runID, ErrDone)
		}
		r.finishRecord(&run, StatusCancelled, "")
		return r.cfg.Store.UpdatePipelineRun(ctx, run)
	}
	if err := ex.setStatus(ctx, StatusCanceling); err != nil {
		return err
	}
	ex.cancel(errCancelled)
	return nil
}

// finishRecord sets a run's final status, end and duration.
func (r *Runner) finishRecord(run *PipelineRun, st Status, msg string) {
	now := r.cfg.Now().UTC()
	run.Status, run.Message, run.RunEnd, run.LastUpdated = st, msg, &now, now
	if run.RunStart != nil {
		d := now.Sub(*run.RunStart).Milliseconds()
		run.DurationInMs = &d
	}
}

// validate checks a pipeline before it runs: activity names unique in
// the whole pipeline, every type known, every dependency naming an
// activity of the same container with known conditions, and no cycle.
func (r *Runner) validate(p factory.Pipeline) error {
	seen := map[string]bool{}
	return r.validateContainer(p.Name, p.Activities, seen)
}

// newID returns a random UUID (version 4), the shape of ADF's run ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// acquire waits, the run still Queued, until fewer runs of the pipeline
// than its concurrency are in progress; release gives the place back.
func (r *Runner) acquire(ex *execution) (release func(), err error) {
	n := ex.pipeline.Concurrency
	if n <= 0 {
		return func() {}, nil
	}
	key := ex.run.Workspace + "\x00" + ex.pipeline.Name
	r.mu.Lock()
	ch := r.slots[key]
	if ch == nil || cap(ch) != n {
		ch = make(chan struct{}, n)
		r.slots[key] = ch
	}
	r.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ex.ctx.Done():
		return nil, ex.ctx.Err()
	}
}

// masked is what a run's record keeps of a SecureString parameter.
const masked = "**********"

// maskSecure returns the parameters as a run's record keeps them: secure
// ones masked, as ADF's monitoring shows them.
func maskSecure(specs map[string]factory.ParamSpec, params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if t := specs[k].Type; strings.EqualFold(t, "SecureString") || strings.EqualFold(t, "SecureObject") {
			v = masked
		}
		out[k] = v
	}
	return out
}
