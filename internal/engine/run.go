package engine

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ciel-mlops/ciel/internal/compute/local"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// jobRun is a job being run by this engine.
type jobRun struct {
	e      *Engine
	job    store.Job
	plan   *Plan
	byName map[string]*PlanStep
	ctx    context.Context
	cancel context.CancelFunc
	// held ends when the server stops or loses the job's lease: the run
	// then stops without recording anything, for the next owner to resume.
	held    context.Context
	release context.CancelFunc
	done    chan struct{}
	// ended is set as the run records the job's end: from then on the
	// job is terminal in the store, which leaves it out of the lease
	// renewals' answers, and its lease no longer matters.
	ended atomic.Bool
	// parent is the step whose run is the parent of this run's steps' runs
	// ("" for the job's run); a sweep runs its trials with it set.
	parent string

	// Owned by the scheduling goroutine.
	steps map[string]*store.Step
}

// stepDone is what a step goroutine reports back to the scheduler.
type stepDone struct {
	name string
	step store.Step
}

// start launches the scheduling goroutine of a job.
func (e *Engine) start(j store.Job, plan *Plan, steps []store.Step) {
	held, release := context.WithCancel(e.ctx)
	ctx, cancel := context.WithCancel(held)
	r := &jobRun{e: e, job: j, plan: plan, ctx: ctx, cancel: cancel, held: held, release: release, done: make(chan struct{}),
		byName: map[string]*PlanStep{}, steps: map[string]*store.Step{}}
	for _, s := range plan.Steps {
		r.byName[s.Name] = s
	}
	for i := range steps {
		r.steps[steps[i].Name] = &steps[i]
	}
	key := j.Workspace + "/" + j.Name
	e.mu.Lock()
	e.running[key] = r
	e.mu.Unlock()
	// Recorded by the caller: a new job appears in lists as it starts.
	e.hub.publish(JobChange(j))
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(r.done)
		r.loop()
		e.mu.Lock()
		delete(e.running, key)
		e.mu.Unlock()
	}()
}

// loop starts ready steps, collects their results and finishes the job.
func (r *jobRun) loop() {
	results := make(chan stepDone)
	inflight := 0
	failed := false
	if r.job.Status != StatusRunning {
		now := time.Now().UTC()
		r.job.Status, r.job.StartedAt = StatusRunning, &now
		r.saveJob()
	}
	for {
		if r.ctx.Err() == nil && (!failed || r.plan.ContinueOnStepFailure) {
			for _, ps := range r.plan.Steps {
				st := r.steps[ps.Name]
				if st.Status != StatusNotStarted || !r.ready(ps) {
					continue
				}
				st.Status = StatusQueued
				r.e.rec.put(*st, false)
				inflight++
				go func(ps *PlanStep, st store.Step) {
					var done store.Step
					if ps.Sweep != nil {
						done = r.runSweep(ps, st)
					} else {
						done = r.runStep(ps, st)
					}
					// Told here, not in the scheduling loop, so a slow
					// observer holds up only this step's dependants. A
					// sweep job's sweep step has no run of its own: the
					// job's run is its trials' parent.
					if obs := r.e.cfg.Observer; obs != nil && Terminal(done.Status) && !(ps.Sweep != nil && r.plan.Type == spec.JobSweep) {
						obs.StepFinished(context.Background(), r.info(ps.Name, done.Attempt), done.Status)
					}
					results <- stepDone{name: ps.Name, step: done}
				}(ps, *st)
			}
		}
		if inflight == 0 {
			break
		}
		res := <-results
		inflight--
		*r.steps[res.name] = res.step
		if res.step.Status != StatusCompleted {
			failed = true
			if !r.plan.ContinueOnStepFailure && r.ctx.Err() == nil {
				r.firstError(res.step)
				r.cancel() // stop siblings: the pipeline has failed
			}
		}
	}
	r.finish()
}

// ready reports whether every step ps depends on has completed.
func (r *jobRun) ready(ps *PlanStep) bool {
	for _, d := range ps.Deps {
		if r.steps[d].Status != StatusCompleted {
			return false
		}
	}
	return true
}

func (r *jobRun) firstError(s store.Step) {
	if r.job.Error == "" {
		r.job.Error = s.Error
	}
}

// finish records the job's final status.
func (r *jobRun) finish() {
	if r.held.Err() != nil {
		// The server is stopping or lost the lease: leave the job active
		// for whoever resumes it.
		return
	}
	j, err := r.e.cfg.Store.GetJob(context.Background(), r.job.Workspace, r.job.Name)
	if err == nil {
		r.job.CancelRequested = j.CancelRequested
	}
	status := StatusCompleted
	var firstFailed string
	for _, ps := range r.plan.Steps {
		st := r.steps[ps.Name]
		if st.Status == StatusFailed && firstFailed == "" {
			firstFailed = ps.Name
			r.firstError(*st)
		}
		if st.Status != StatusCompleted {
			status = StatusFailed
		}
	}
	if r.job.CancelRequested {
		status = StatusCanceled
		if r.job.Error == "" {
			r.job.Error = "canceled by request"
		}
	}
	if status == StatusCompleted {
		r.job.Error = ""
		r.job.Outputs = map[string]string{}
		for name, ref := range r.plan.Outputs {
			r.job.Outputs[name] = r.steps[ref.Step].Outputs[ref.Port]
		}
	}
	// Steps that never ran because the pipeline stopped are canceled.
	var left []store.Step
	for _, ps := range r.plan.Steps {
		st := r.steps[ps.Name]
		if !Terminal(st.Status) {
			st.Status = StatusCanceled
			left = append(left, *st)
		}
	}
	for _, s := range left {
		r.e.rec.put(s, false)
	}
	r.e.rec.flush()
	now := time.Now().UTC()
	r.job.Status, r.job.EndedAt = status, &now
	r.ended.Store(true)
	r.saveJob()
	if obs := r.e.cfg.Observer; obs != nil {
		obs.JobFinished(context.Background(), r.job.Workspace, r.job.Name, status)
	}
}

func (r *jobRun) saveJob() {
	if err := r.e.cfg.Store.UpdateJob(context.Background(), r.job); err != nil {
		r.e.cfg.Logger.Error("record job status", "job", r.job.Name, "err", err)
		return
	}
	r.e.hub.publish(JobChange(r.job))
}

// killOrphan kills the process group of a step that was running when the
// server died, if it is still there and still a ciel step.
func killOrphan(pgid int, step string) {
	if pgid <= 0 {
		return
	}
	// Only that step's process: a PID recorded by a server on another
	// machine may name anything here.
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pgid) + "/environ")
	if err != nil || !strings.Contains("\x00"+string(env), "\x00CIEL_STEP="+step+"\x00") {
		return
	}
	if syscall.Kill(-pgid, 0) == nil {
		local.KillGroup(pgid)
	}
}

// errorTail formats a failed step's error with the end of its log.
func errorTail(step, msg, logPath string) string {
	tail := lastLines(logPath, 20)
	if tail == "" {
		return fmt.Sprintf("step %s: %s", step, msg)
	}
	return fmt.Sprintf("step %s: %s\n--- last lines of %s ---\n%s", step, msg, logPath, tail)
}

// lastLines returns up to n last lines of a file (read from its last 16 KiB).
func lastLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := fi.Size() - 16<<10
	if off < 0 {
		off = 0
	}
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
