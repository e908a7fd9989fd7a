package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/sweep"
)

// SweepTracker is what a sweep needs of tracking beyond Observer: the
// Observer given in Config may implement it. Without it a sweep runs its
// trials but cannot read their metrics, so it cannot rank them.
type SweepTracker interface {
	// TrialStarting makes sure the trial's run exists (as a child of its
	// parent's run) and records the sampled values as its params. It may be
	// called again for a resumed trial with the same values.
	TrialStarting(ctx context.Context, s StepInfo, params map[string]string) error
	// MetricHistory returns the values the step's run logged for key, in
	// the order logged (by step, then time); none when it logged none.
	MetricHistory(ctx context.Context, s StepInfo, key string) ([]float64, error)
	// SweepFinished records the sweep's outcome on its run: the best
	// trial (empty when none) and its objective value.
	SweepFinished(ctx context.Context, sweepStep StepInfo, best StepInfo, value float64)
}

// pollEvery is how often a sweep with an early termination policy reads
// its running trials' metrics.
const pollEvery = 500 * time.Millisecond

// trial is one trial of a sweep in progress.
type trial struct {
	name    string
	params  map[string]string
	st      store.Step
	cancel  context.CancelFunc
	stopped string    // why the sweep canceled it, if it did
	values  []float64 // the primary metric as logged so far
	done    bool
}

// sweepRun is the controller of one sweep step.
type sweepRun struct {
	r       *jobRun
	ps      *PlanStep
	sw      *spec.Sweep
	tracker SweepTracker
	policy  sweep.Policy
	// conditional are the nested parameters some trials are not given.
	conditional map[string]bool
	source      trialSource
	trials      []*trial
	results     chan trialDone
	running     int
}

// trialDone is a trial's final record, sent from its goroutine.
type trialDone struct {
	t  *trial
	st store.Step
}

// trialName is the step name of trial i of the sweep step sweepStep.
func (r *jobRun) trialName(sweepStep string, i int) string {
	if r.plan.Type == spec.JobSweep {
		return "trial_" + strconv.Itoa(i)
	}
	return sweepStep + "/trial_" + strconv.Itoa(i)
}

// trialParent is the step whose run is a sweep's trials' parent run: the
// job's own run for a sweep job, the sweep step's for a step.
func (r *jobRun) trialParent(sweepStep string) string {
	if r.plan.Type == spec.JobSweep {
		return ""
	}
	return sweepStep
}

// runSweep runs a sweep step to a terminal status: it draws trials, runs
// them as steps of the job, stops those the early termination policy
// gives up on, and completes with the best trial's outputs.
func (r *jobRun) runSweep(ps *PlanStep, st store.Step) store.Step {
	s := &sweepRun{r: r, ps: ps, sw: ps.Sweep, policy: ps.Sweep.Policy(), conditional: ps.Sweep.Conditional(), results: make(chan trialDone)}
	s.tracker, _ = r.e.cfg.Observer.(SweepTracker)
	start := time.Now().UTC()
	if st.StartedAt != nil {
		// Resumed after a restart: limits.timeout runs from the sweep's
		// first start, not from this one.
		start = *st.StartedAt
	}
	st.Attempt++
	st.Status, st.StartedAt, st.EndedAt, st.Error = StatusRunning, &start, nil, ""
	r.e.rec.put(st, false)
	if obs := r.e.cfg.Observer; obs != nil && r.plan.Type != spec.JobSweep {
		if _, err := obs.StepStarting(r.ctx, r.info(ps.Name, st.Attempt)); err != nil {
			return r.fail(st, fmt.Sprintf("step tracking: %v", err), "")
		}
	}
	src, err := r.newTrialSource(ps)
	if err != nil {
		return r.fail(st, err.Error(), "")
	}
	s.source = src
	if err := s.loadTrials(); err != nil {
		return r.fail(st, err.Error(), "")
	}
	ctx := r.ctx
	if s.sw.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(time.Duration(s.sw.TimeoutSeconds)*time.Second))
		defer cancel()
	}
	if err := s.loop(ctx); err != nil {
		s.cancelAll("")
		s.drain()
		return r.fail(st, err.Error(), "")
	}
	if r.ctx.Err() != nil {
		return r.stopped(st)
	}
	return s.finish(st, ctx.Err() != nil)
}

// loadTrials picks up the trials an earlier run of this sweep recorded
// (after a restart): finished ones count as they ended, unfinished ones
// run again with the values they were given.
func (s *sweepRun) loadTrials() error {
	steps, err := s.r.e.cfg.Store.ListSteps(s.r.ctx, s.r.job.Workspace, s.r.job.Name)
	if err != nil {
		return fmt.Errorf("list trials: %w", err)
	}
	byName := map[string]store.Step{}
	for _, st := range steps {
		byName[st.Name] = st
	}
	for i := 0; ; i++ {
		st, ok := byName[s.r.trialName(s.ps.Name, i)]
		if !ok {
			return nil
		}
		t := &trial{name: st.Name, st: st}
		if err := json.Unmarshal([]byte(st.Outputs[SweepParamsKey]), &t.params); err != nil {
			return fmt.Errorf("trial %s: recorded values: %w", st.Name, err)
		}
		if Terminal(st.Status) {
			t.done = true
			if st.Status == StatusCompleted {
				t.values = s.history(t)
			}
		}
		s.trials = append(s.trials, t)
	}
}

// limits returns the total and concurrent trial counts in force.
func (s *sweepRun) limits() (total, concurrent int) {
	total = s.sw.MaxTotalTrials
	if n := s.source.size(); n > 0 && (total == 0 || n < total) {
		total = n
	}
	concurrent = s.sw.MaxConcurrent
	if concurrent <= 0 || concurrent > total {
		concurrent = total
	}
	return total, max(concurrent, 1)
}

// loop starts trials up to the limits and collects them until every trial
// has ended, the sweep's timeout passes or the job stops.
func (s *sweepRun) loop(ctx context.Context) error {
	total, concurrent := s.limits()
	var tick <-chan time.Time
	if s.policy != nil && s.tracker != nil {
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		if ctx.Err() == nil {
			if err := s.startTrials(ctx, total, concurrent); err != nil {
				return err
			}
		}
		if s.running == 0 {
			return nil
		}
		select {
		case d := <-s.results:
			s.ended(d)
		case <-tick:
			s.applyPolicy()
		case <-ctx.Done():
			if s.r.ctx.Err() == nil {
				s.cancelAll("the sweep reached limits.timeout")
			}
			s.drain()
			return nil
		}
	}
}

// startTrials starts unfinished recorded trials, then new ones, while
// slots are free.
func (s *sweepRun) startTrials(ctx context.Context, total, concurrent int) error {
	for _, t := range s.trials {
		if s.running >= concurrent {
			return nil
		}
		if !t.done && t.cancel == nil {
			s.start(ctx, t)
		}
	}
	free := min(concurrent-s.running, total-len(s.trials))
	if free <= 0 {
		return nil
	}
	configs, err := s.source.next(ctx, len(s.trials), free, s.finished())
	if err != nil {
		return fmt.Errorf("sample trials: %w", err)
	}
	var add []store.Step
	var fresh []*trial
	for _, c := range configs {
		t := &trial{name: s.r.trialName(s.ps.Name, len(s.trials)+len(fresh)), params: c}
		b, _ := json.Marshal(c)
		t.st = store.Step{Workspace: s.r.job.Workspace, Job: s.r.job.Name, Name: t.name, Status: StatusNotStarted,
			Outputs: map[string]string{SweepParamsKey: string(b)}}
		add = append(add, t.st)
		fresh = append(fresh, t)
	}
	if err := s.r.e.cfg.Store.AddSteps(context.WithoutCancel(ctx), add...); err != nil {
		return fmt.Errorf("record trials: %w", err)
	}
	for _, t := range fresh {
		s.trials = append(s.trials, t)
		s.start(ctx, t)
	}
	return nil
}

// start runs one trial as a step of the job, under a context of its own so
// that the policy can stop it alone.
func (s *sweepRun) start(ctx context.Context, t *trial) {
	tctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	s.running++
	child := &jobRun{e: s.r.e, job: s.r.job, plan: s.r.plan, byName: s.r.byName, steps: s.r.steps,
		ctx: tctx, cancel: cancel, held: s.r.held, release: s.r.release, done: s.r.done, parent: s.r.trialParent(s.ps.Name)}
	tps, first := s.trialStep(t), t.st
	go func() {
		info := child.info(t.name, first.Attempt+1)
		if s.tracker != nil {
			if err := s.tracker.TrialStarting(tctx, info, t.params); err != nil {
				s.r.e.cfg.Logger.Warn("record trial params", "job", s.r.job.Name, "trial", t.name, "err", err)
			}
		}
		st := child.runStep(tps, first)
		if obs := s.r.e.cfg.Observer; obs != nil && Terminal(st.Status) {
			obs.StepFinished(context.Background(), child.info(t.name, st.Attempt), st.Status)
		}
		// t belongs to the sweep's loop: it takes the record from here.
		s.results <- trialDone{t, st}
	}()
}

// trialStep is the step a trial runs: the sweep's template with the
// trial's values as inputs.
func (s *sweepRun) trialStep(t *trial) *PlanStep {
	tps := *s.ps
	tps.Name, tps.Sweep = t.name, nil
	tps.Inputs = maps.Clone(s.ps.Inputs)
	// Azure ML also gives a trial its values as AZUREML_SWEEP_<name>
	// environment variables, which scripts read instead of arguments.
	tps.EnvVars = make(map[string]string, len(s.ps.EnvVars)+len(t.params))
	maps.Copy(tps.EnvVars, s.ps.EnvVars)
	for k, v := range t.params {
		in := tps.Inputs[k]
		in.Value = &v
		tps.Inputs[k] = in
		tps.EnvVars["AZUREML_SWEEP_"+k] = v
	}
	// A nested parameter this trial's choices did not give is no input
	// at all, so the $[[ ]] that uses it drops out of the command.
	for k := range s.conditional {
		if _, given := t.params[k]; !given {
			delete(tps.Inputs, k)
		}
	}
	return &tps
}

// ended takes in a trial that stopped running.
func (s *sweepRun) ended(d trialDone) {
	t := d.t
	t.st = d.st
	s.running--
	t.cancel()
	t.done = Terminal(t.st.Status)
	if !t.done {
		return // the server is stopping; the trial resumes with the job
	}
	if t.stopped != "" && t.st.Status == StatusCanceled {
		t.st.Error = t.stopped
		s.r.e.rec.put(t.st, true)
	}
	if t.st.Status == StatusCompleted {
		t.values = s.history(t)
	}
}

// history reads a trial's primary metric as logged so far.
func (s *sweepRun) history(t *trial) []float64 {
	if s.tracker == nil {
		return nil
	}
	v, err := s.tracker.MetricHistory(context.WithoutCancel(s.r.ctx), s.r.info(t.name, 0).under(s.r.trialParent(s.ps.Name)), s.sw.PrimaryMetric)
	if err != nil {
		s.r.e.cfg.Logger.Warn("read trial metric", "job", s.r.job.Name, "trial", t.name, "err", err)
	}
	return v
}

// applyPolicy reads the running trials' metrics and cancels those the
// early termination policy stops.
func (s *sweepRun) applyPolicy() {
	var ms []sweep.TrialMetrics
	byName := map[string]*trial{}
	for _, t := range s.trials {
		if !t.done && t.cancel != nil && t.stopped == "" {
			t.values = s.history(t)
		}
		if len(t.values) == 0 && !t.done {
			continue
		}
		if t.st.Status == StatusCanceled || t.st.Status == StatusFailed {
			continue
		}
		byName[t.name] = t
		ms = append(ms, sweep.TrialMetrics{ID: t.name, Values: t.values, Done: t.done})
	}
	for _, name := range s.policy.Decide(sweep.Goal(s.sw.Goal), ms) {
		t := byName[name]
		if t == nil || t.done || t.stopped != "" {
			continue
		}
		t.stopped = fmt.Sprintf("canceled by the %s early termination policy after %d values of %s",
			s.sw.EarlyTermination.Type, len(t.values), s.sw.PrimaryMetric)
		t.cancel()
	}
}

// cancelAll stops every running trial, giving why as the reason.
func (s *sweepRun) cancelAll(why string) {
	for _, t := range s.trials {
		if !t.done && t.cancel != nil {
			if why != "" && t.stopped == "" {
				t.stopped = "canceled: " + why
			}
			t.cancel()
		}
	}
}

// drain waits for every running trial to end.
func (s *sweepRun) drain() {
	for s.running > 0 {
		s.ended(<-s.results)
	}
}

// finished lists the trials that have ended, for a sampler that learns
// from them.
func (s *sweepRun) finished() []trialResult {
	var out []trialResult
	for _, t := range s.trials {
		if !t.done {
			continue
		}
		res := trialResult{Params: t.params, Status: t.st.Status}
		if n := len(t.values); n > 0 && t.st.Status == StatusCompleted {
			v := t.values[n-1]
			res.Value = &v
		}
		out = append(out, res)
	}
	return out
}

// finish completes the sweep step with the best trial's outputs: the
// completed trial whose last value of the primary metric is best.
func (s *sweepRun) finish(st store.Step, timedOut bool) store.Step {
	var best *trial
	completed := 0
	for _, t := range s.trials {
		if t.st.Status != StatusCompleted {
			continue
		}
		completed++
		if len(t.values) == 0 {
			continue
		}
		if best == nil || sweep.Goal(s.sw.Goal).Better(t.values[len(t.values)-1], best.values[len(best.values)-1]) {
			best = t
		}
	}
	logPath := ""
	switch {
	case completed == 0 && timedOut:
		return s.r.fail(st, "the sweep reached limits.timeout before any trial completed", logPath)
	case completed == 0:
		return s.r.fail(st, fmt.Sprintf("no trial completed (%s)", s.summary()), logPath)
	case best == nil:
		return s.r.fail(st, fmt.Sprintf("no completed trial logged the primary metric %q (log it with mlflow.log_metric)", s.sw.PrimaryMetric), logPath)
	}
	value := best.values[len(best.values)-1]
	if s.tracker != nil {
		s.tracker.SweepFinished(context.WithoutCancel(s.r.ctx), s.r.info(s.ps.Name, st.Attempt),
			s.r.info(best.name, best.st.Attempt).under(s.r.trialParent(s.ps.Name)), value)
	}
	st.Outputs = map[string]string{SweepBestKey: best.name}
	for k, d := range best.st.Outputs {
		if k != SweepParamsKey {
			st.Outputs[k] = d
		}
	}
	now := time.Now().UTC()
	code := 0
	st.Status, st.EndedAt, st.ExitCode, st.PID = StatusCompleted, &now, &code, 0
	s.r.e.rec.put(st, true)
	return st
}

// summary counts the trials by status, for an error message.
func (s *sweepRun) summary() string {
	counts := map[string]int{}
	for _, t := range s.trials {
		counts[t.st.Status]++
	}
	var parts []string
	for _, k := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], strings.ToLower(k)))
	}
	return strings.Join(parts, ", ")
}
