package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
	"github.com/ciel-mlops/ciel/internal/dataflow/expr"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// maxOutputBytes bounds an activity's output, as ADF's 4 MB limit does:
// a bigger one fails the activity rather than the store.
const maxOutputBytes = 4 << 20

// defaultTimeout is ADF's default activity timeout (12 hours).
const defaultTimeout = 12 * time.Hour

// call is one attempt of one activity: what its handler sees.
type call struct {
	ex    *execution
	f     *frame
	act   factory.Activity
	runID string
	// props is the activity's typeProperties evaluated in the pipeline
	// scope, except for containers (rawProps) whose inner activities
	// are evaluated when they run.
	props map[string]any
}

func (c *call) scope() *expr.Scope { return c.ex.scope(c.f) }

// handler runs one activity type and returns its output.
type handler func(ctx context.Context, c *call) (any, error)

// activityError is a failure with ADF's error code and failure type; Fail
// and the control activities return it.
type activityError struct{ info ErrorInfo }

func (e *activityError) Error() string { return e.info.Message }

func userError(code, format string, args ...any) error {
	return &activityError{ErrorInfo{ErrorCode: code, Message: fmt.Sprintf(format, args...), FailureType: "UserError"}}
}

// runActivity runs an activity under its policy: inactive ones are
// marked without running; a failed attempt is tried again up to
// policy.retry times, retryIntervalInSeconds apart; each attempt is
// bounded by policy.timeout.
func (ex *execution) runActivity(ctx context.Context, f *frame, a factory.Activity) *result {
	if strings.EqualFold(a.State, "Inactive") {
		return ex.inactive(ctx, f, a)
	}
	timeout, retries, interval, err := ex.policy(f, a)
	if err != nil {
		ar := ex.newActivityRun(f, a, newID(), ex.r.cfg.Now().UTC(), 0)
		return ex.end(ctx, a, ar, nil, err)
	}
	for attempt := 0; ; attempt++ {
		r := ex.attempt(ctx, f, a, attempt, timeout)
		if r.status != StatusFailed || attempt >= retries || ctx.Err() != nil {
			return r
		}
		select {
		case <-ctx.Done():
			return r
		case <-time.After(interval):
		}
	}
}

// policy evaluates an activity's policy (timeout and retry may be
// expressions).
func (ex *execution) policy(f *frame, a factory.Activity) (timeout time.Duration, retries int, interval time.Duration, err error) {
	timeout = defaultTimeout
	if a.Policy == nil {
		return timeout, 0, 0, nil
	}
	s := ex.scope(f)
	if len(a.Policy.Timeout) > 0 {
		v, err := ex.r.evalRaw(a.Policy.Timeout, s)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("policy timeout: %w", err)
		}
		str, ok := v.(string)
		if !ok {
			return 0, 0, 0, fmt.Errorf("policy timeout: want a TimeSpan string such as \"0.12:00:00\", got %v", v)
		}
		if timeout, err = ParseTimeSpan(str); err != nil {
			return 0, 0, 0, fmt.Errorf("policy timeout: %w", err)
		}
	}
	if len(a.Policy.Retry) > 0 {
		v, err := ex.r.evalRaw(a.Policy.Retry, s)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("policy retry: %w", err)
		}
		n, ok := toInt(v)
		if !ok || n < 0 {
			return 0, 0, 0, fmt.Errorf("policy retry: want a count >= 0, got %v", v)
		}
		retries = int(n)
	}
	return timeout, retries, time.Duration(a.Policy.RetryIntervalInSeconds) * time.Second, nil
}

// attempt runs one try of an activity: its record is written InProgress
// with its input before the activity runs, and again when it ends.
func (ex *execution) attempt(ctx context.Context, f *frame, a factory.Activity, attempt int, timeout time.Duration) *result {
	start := ex.r.cfg.Now().UTC()
	c := &call{ex: ex, f: f, act: a, runID: newID()}
	h, known := ex.handlerFor(a.Type)
	var input any
	var err error
	if !known {
		err = fmt.Errorf("unknown activity type %q", a.Type)
	} else if !rawProps[a.Type] {
		c.props, err = ex.r.evalProps(a.TypeProperties, ex.scope(f))
		if err == nil {
			input = c.props
		}
	}
	secureIn := a.Policy != nil && a.Policy.SecureInput
	if secureIn {
		input = nil
	}
	ar := ex.newActivityRun(f, a, c.runID, start, attempt)
	ar.Input = input
	if err != nil {
		return ex.end(ctx, a, ar, nil, err)
	}
	if perr := ex.r.cfg.Store.PutActivityRun(context.WithoutCancel(ctx), ar); perr != nil {
		return ex.end(ctx, a, ar, nil, fmt.Errorf("record activity run: %w", perr))
	}
	actx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	out, err := h(actx, c)
	if err != nil && actx.Err() != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errTimeout) {
		err = &activityError{ErrorInfo{ErrorCode: "ActivityTimeout", FailureType: "UserError",
			Message: fmt.Sprintf("Activity %s timed out after %s (policy timeout)", a.Name, timeout)}}
	}
	return ex.end(ctx, a, ar, out, err)
}

var errTimeout = errors.New("activity timed out")

// newActivityRun starts an activity run's record.
func (ex *execution) newActivityRun(f *frame, a factory.Activity, id string, start time.Time, attempt int) ActivityRun {
	return ActivityRun{
		Workspace: ex.run.Workspace, PipelineRunID: ex.run.RunID, PipelineName: ex.run.PipelineName,
		ActivityRunID: id, ActivityName: a.Name, ActivityType: a.Type, Status: StatusInProgress,
		ActivityRunStart: &start, RetryAttempt: attempt, ParentActivityRunID: f.parentRun, Iteration: f.iteration,
	}
}

// end records how an attempt ended and returns its result: Cancelled when
// the run was cancelled under it, Failed with err, else Succeeded with
// out (a too-large output fails it).
func (ex *execution) end(ctx context.Context, a factory.Activity, ar ActivityRun, out any, err error) *result {
	now := ex.r.cfg.Now().UTC()
	ar.ActivityRunEnd = &now
	if ar.ActivityRunStart != nil {
		d := now.Sub(*ar.ActivityRunStart).Milliseconds()
		ar.DurationInMs = &d
	}
	if err == nil {
		if b, merr := json.Marshal(out); merr != nil {
			err = fmt.Errorf("activity output is not JSON: %w", merr)
		} else if len(b) > maxOutputBytes {
			err = userError("ActivityOutputTooLarge", "activity output is %d bytes, over the limit of %d", len(b), maxOutputBytes)
		}
	}
	switch {
	case ctx.Err() != nil:
		ar.Status = StatusCancelled
		ar.Error = &ErrorInfo{ErrorCode: "ActivityCancelled", Message: context.Cause(ctx).Error(), FailureType: "UserError", Target: ar.ActivityName}
	case err != nil:
		ar.Status = StatusFailed
		ar.Error = errorInfo(err, ar.ActivityName)
	default:
		ar.Status, ar.Output = StatusSucceeded, out
	}
	r := newResult(ar.Status, ar.Output, ar.Error, ar.ActivityRunID)
	if ar.Status == StatusFailed {
		// A failed activity's output is still what activity() shows.
		r = newResult(ar.Status, out, ar.Error, ar.ActivityRunID)
		ar.Output = out
	}
	if a.Policy != nil && a.Policy.SecureOutput {
		ar.Output = nil
	}
	if perr := ex.r.cfg.Store.PutActivityRun(context.WithoutCancel(ctx), ar); perr != nil {
		ex.r.cfg.Logger.Error("record activity run", "activity", ar.ActivityName, "err", perr)
	}
	return r
}

// errorInfo turns an activity's error into ADF's error object.
func errorInfo(err error, target string) *ErrorInfo {
	var ae *activityError
	var de *activity.Error
	switch {
	case errors.As(err, &ae):
		e := ae.info
		e.Target = target
		return &e
	case errors.As(err, &de):
		msg := de.Msg
		if de.Row > 0 {
			msg = fmt.Sprintf("%s (row %d", msg, de.Row)
			if de.Column != "" {
				msg += ", column " + de.Column
			}
			msg += ")"
		}
		code := de.Code
		if code == "" {
			code = "ActivityFailed"
		}
		return &ErrorInfo{ErrorCode: code, Message: msg, FailureType: "UserError", Target: target}
	}
	return &ErrorInfo{ErrorCode: "ActivityFailed", Message: err.Error(), FailureType: "UserError", Target: target}
}

// inactive marks an activity whose state is Inactive with its
// onInactiveMarkAs (Succeeded by default) without running it.
func (ex *execution) inactive(ctx context.Context, f *frame, a factory.Activity) *result {
	st := StatusSucceeded
	switch {
	case strings.EqualFold(a.OnInactiveMarkAs, "Failed"):
		st = StatusFailed
	case strings.EqualFold(a.OnInactiveMarkAs, "Skipped"):
		st = StatusSkipped
	}
	now := ex.r.cfg.Now().UTC()
	ar := ex.newActivityRun(f, a, newID(), now, 0)
	ar.Status, ar.ActivityRunEnd = st, &now
	d := int64(0)
	ar.DurationInMs = &d
	if st == StatusFailed {
		ar.Error = &ErrorInfo{ErrorCode: "ActivityInactive", Message: "activity is inactive and marked Failed", FailureType: "UserError", Target: a.Name}
	}
	if err := ex.r.cfg.Store.PutActivityRun(context.WithoutCancel(ctx), ar); err != nil {
		ex.r.cfg.Logger.Error("record activity run", "activity", a.Name, "err", err)
	}
	return newResult(st, nil, ar.Error, ar.ActivityRunID)
}

// skip records an activity whose dependency conditions cannot be met.
func (ex *execution) skip(ctx context.Context, f *frame, a factory.Activity) *result {
	now := ex.r.cfg.Now().UTC()
	ar := ex.newActivityRun(f, a, newID(), now, 0)
	ar.Status, ar.ActivityRunEnd = StatusSkipped, &now
	d := int64(0)
	ar.DurationInMs = &d
	if err := ex.r.cfg.Store.PutActivityRun(context.WithoutCancel(ctx), ar); err != nil {
		ex.r.cfg.Logger.Error("record activity run", "activity", a.Name, "err", err)
	}
	return newResult(StatusSkipped, nil, nil, ar.ActivityRunID)
}
