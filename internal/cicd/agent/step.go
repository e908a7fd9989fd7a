package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// outcome is what executing a step produced.
type outcome struct {
	exitCode int
	err      error  // why the step failed; nil on success
	complete string // result from ##vso[task.complete], "" when none
}

// runStep decides whether step i runs, runs it and records its result.
func (r *jobRun) runStep(ctx, jobCtx context.Context, i int, s *azp.Step) {
	res := &r.steps[i]
	if !s.Enabled {
		res.Status = StatusSkipped
		r.notify(i)
		return
	}
	env := &azp.Env{Named: azp.NewMap(), Status: stepStatus{r: r, upTo: i}}
	env.Named.Set("variables", r.vars.exprMap())
	ok, err := azp.EvalCondition(s.Condition, env)
	if err != nil {
		now := time.Now()
		res.Start, res.End = now, now
		r.finish(i, s, StatusFailed, fmt.Errorf("evaluate condition %q: %w", s.Condition, err))
		return
	}
	if !ok {
		res.Status = StatusSkipped
		r.notify(i)
		return
	}

	// A step that runs after the job was canceled (always(), canceled())
	// gets the job's cancel timeout, as in Azure.
	base := jobCtx
	if r.isCanceled() {
		ct := r.job.Spec.CancelTimeout
		if ct <= 0 {
			ct = 5
		}
		var cancel context.CancelFunc
		base, cancel = context.WithTimeout(context.WithoutCancel(ctx), time.Duration(ct)*r.a.cfg.Minute)
		defer cancel()
	}
	stepCtx := base
	if s.TimeoutInMinutes > 0 {
		var cancel context.CancelFunc
		stepCtx, cancel = context.WithTimeout(base, time.Duration(s.TimeoutInMinutes)*r.a.cfg.Minute)
		defer cancel()
	}

	res.Status = StatusInProgress
	res.Start = time.Now()
	r.notify(i)
	r.out.line("##[section]Starting: " + res.DisplayName)
	var oc outcome
	for attempt := 0; ; attempt++ {
		oc = r.execute(stepCtx, i, s)
		if oc.err == nil || stepCtx.Err() != nil || attempt >= s.RetryCount {
			break
		}
		r.out.line(fmt.Sprintf("##[warning]Retrying %d/%d: %v", attempt+1, s.RetryCount, oc.err))
	}
	res.End = time.Now()
	res.ExitCode = oc.exitCode

	status := StatusSucceeded
	err = oc.err
	switch {
	case base.Err() != nil:
		status, err = StatusCanceled, errors.New("the operation was canceled")
	case stepCtx.Err() != nil:
		status, err = StatusFailed, errors.New("the task has timed out")
	case err != nil || oc.complete == "failed":
		status = StatusFailed
		if err == nil {
			err = errors.New("the step reported result Failed")
		}
	case oc.complete == "succeededwithissues":
		status = StatusSucceededWithIssues
	}
	if status == StatusFailed && (s.ContinueOnError || r.job.Spec.ContinueOnError) {
		status = StatusSucceededWithIssues
	}
	r.finish(i, s, status, err)
}

// finish records the end of step i and logs it.
func (r *jobRun) finish(i int, s *azp.Step, status string, err error) {
	res := &r.steps[i]
	if err != nil {
		msg := r.out.mask(err.Error())
		res.Error = msg
		typ := "error"
		if status == StatusSucceededWithIssues {
			typ = "warning"
		}
		res.Issues = append(res.Issues, Issue{Type: typ, Message: msg})
		r.out.line("##[" + typ + "]" + msg)
	}
	if status == StatusFailed && !r.isCanceled() {
		r.vars.set("Agent.JobStatus", "Failed", false)
	}
	res.Status = status
	r.out.line("##[section]Finishing: " + res.DisplayName)
	r.notify(i)
}

// stepStatus answers succeeded(), failed(), ... for a step's condition
// from the steps before it.
type stepStatus struct {
	r    *jobRun
	upTo int
}

var _ azp.StatusContext = stepStatus{}

var errStepDeps = errors.New("a step condition cannot name dependencies; status functions take no arguments here")

func (st stepStatus) anyFailed() bool {
	for _, s := range st.r.steps[:st.upTo] {
		if s.Status == StatusFailed {
			return true
		}
	}
	return false
}

// Succeeded reports whether no earlier step failed and the job is not canceled.
func (st stepStatus) Succeeded(deps ...string) (bool, error) {
	if len(deps) > 0 {
		return false, errStepDeps
	}
	return !st.r.isCanceled() && !st.anyFailed(), nil
}

// Failed reports whether an earlier step failed and the job is not canceled.
func (st stepStatus) Failed(deps ...string) (bool, error) {
	if len(deps) > 0 {
		return false, errStepDeps
	}
	return !st.r.isCanceled() && st.anyFailed(), nil
}

// SucceededOrFailed reports whether the job is not canceled.
func (st stepStatus) SucceededOrFailed(deps ...string) (bool, error) {
	if len(deps) > 0 {
		return false, errStepDeps
	}
	return !st.r.isCanceled(), nil
}

// Canceled reports whether the job was canceled or timed out.
func (st stepStatus) Canceled() (bool, error) { return st.r.isCanceled(), nil }
