package triggers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// maxNewWindows bounds the windows one pass records, so that a start years
// back is recorded over a few passes rather than in one huge transaction.
const maxNewWindows = 500

// maxWaitingLook bounds the waiting windows one pass considers, oldest
// first: a later window's dependencies are met only after earlier ones'.
const maxWaitingLook = 100

// Pipeline run statuses the service acts on.
const (
	pipelineSucceeded = "Succeeded"
	pipelineFailed    = "Failed"
	pipelineCancelled = "Cancelled"
)

// tickWindows moves a tumbling window trigger on: it follows its running
// windows (a stopped trigger's too, so they finish) and, while it is
// started, records the windows that have come due and runs waiting ones
// whose dependencies have succeeded, oldest first, at most maxConcurrency
// at once.
func (s *Service) tickWindows(ctx context.Context, st State, c *compiled, now time.Time) error {
	running, err := s.cfg.Store.ListWindows(ctx, st.Workspace, st.Name, []string{WindowRunning}, 0)
	if err != nil {
		return err
	}
	busy := 0
	for _, w := range running {
		still, err := s.followWindow(ctx, st, c, w, now)
		if err != nil {
			return err
		}
		if still {
			busy++
		}
	}
	if st.RuntimeState != Started {
		return nil
	}
	if err := s.recordWindows(ctx, st, c.tumbling, now); err != nil {
		return err
	}
	free := c.tumbling.concurrency - busy
	if free <= 0 {
		return nil
	}
	waiting, err := s.cfg.Store.ListWindows(ctx, st.Workspace, st.Name, []string{WindowWaiting}, maxWaitingLook)
	if err != nil {
		return err
	}
	for _, w := range waiting {
		if free == 0 {
			break
		}
		if w.NotBefore.After(now) {
			continue
		}
		ok, err := s.dependenciesMet(ctx, st, c.tumbling, w)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := s.runWindow(ctx, st, c, w, now); err != nil {
			return err
		}
		free--
	}
	return nil
}

// recordWindows records, as waiting, the windows that have come due (their
// end plus the delay is past) since the last one recorded.
func (s *Service) recordWindows(ctx context.Context, st State, tw *tumbling, now time.Time) error {
	next := st.Next
	if next.IsZero() {
		return nil
	}
	var windows []Window
	for k := tw.index(next); len(windows) < maxNewWindows; k++ {
		start, end := tw.window(k)
		if end.Add(tw.delay).After(now) || (!tw.end.IsZero() && end.After(tw.end)) {
			break
		}
		windows = append(windows, Window{Workspace: st.Workspace, Trigger: st.Name, Start: start, End: end, Status: WindowWaiting})
		next = end
	}
	if len(windows) == 0 {
		return nil
	}
	return s.cfg.Store.AdvanceTrigger(ctx, st, next, nil, windows)
}

// windowScope is @trigger() for a window's run.
func windowScope(w Window, tw *tumbling) (map[string]string, map[string]any) {
	props := map[string]string{"WindowStartTime": fmtSecond(w.Start), "WindowEndTime": fmtSecond(w.End),
		"Attempt": strconv.Itoa(w.Attempt)}
	scope := map[string]any{"scheduledTime": fmtSecond(w.End.Add(tw.delay)),
		"outputs": map[string]any{"windowStartTime": fmtSecond(w.Start), "windowEndTime": fmtSecond(w.End)}}
	return props, scope
}

// runWindow starts an attempt at waiting window w: it records the window
// running with a new trigger run, then starts the pipeline.
func (s *Service) runWindow(ctx context.Context, st State, c *compiled, w Window, now time.Time) error {
	next := w
	next.Status, next.Attempt, next.RunID, next.NotBefore, next.Message = WindowRunning, w.Attempt+1, "", time.Time{}, ""
	props, scope := windowScope(next, c.tumbling)
	r := newRun(st, now, props, scope)
	next.TriggerRunID = r.ID
	if err := s.cfg.Store.UpdateWindow(ctx, w, next, &r); err != nil {
		return err
	}
	s.log.Info("tumbling window started", "workspace", st.Workspace, "trigger", st.Name, "window", w.Start, "attempt", next.Attempt)
	_, err := s.startWindowRun(ctx, st, c, next, r, now)
	return err
}

// startWindowRun starts the pipeline of running window w's attempt r
// (again, after a restart: the Starter returns the run it already
// started) and records its run id, or the attempt's failure.
func (s *Service) startWindowRun(ctx context.Context, st State, c *compiled, w Window, r Run, now time.Time) (bool, error) {
	r, err := s.startPipelines(ctx, r, st.Definition)
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	if err != nil {
		return false, s.endAttempt(ctx, c, w, r, pipelineFailed, err.Error(), now)
	}
	next := w
	for _, id := range r.TriggeredPipelines {
		next.RunID = id
	}
	return true, s.cfg.Store.UpdateWindow(ctx, w, next, &r)
}

// followWindow looks at a running window's pipeline run and records its
// end; it reports whether the window is still running.
func (s *Service) followWindow(ctx context.Context, st State, c *compiled, w Window, now time.Time) (bool, error) {
	r, err := s.windowRun(ctx, w)
	if err != nil {
		return true, err
	}
	if w.RunID == "" { // recorded running, pipeline not yet started
		return s.startWindowRun(ctx, st, c, w, r, now)
	}
	status, err := s.cfg.Starter.RunStatus(ctx, st.Workspace, w.RunID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		status, err = pipelineFailed, fmt.Errorf("pipeline run %s is gone", w.RunID)
	case err != nil:
		return true, fmt.Errorf("window %s: pipeline run %s: %w", fmtSecond(w.Start), w.RunID, err)
	}
	switch status {
	case pipelineSucceeded:
		return false, s.endAttempt(ctx, c, w, r, status, "", now)
	case pipelineFailed, pipelineCancelled:
		msg := fmt.Sprintf("pipeline run %s %s", w.RunID, map[string]string{pipelineFailed: "failed", pipelineCancelled: "was cancelled"}[status])
		if err != nil {
			msg = err.Error()
		}
		return false, s.endAttempt(ctx, c, w, r, status, msg, now)
	}
	return true, nil
}

// windowRun returns the trigger run of a running window's attempt.
func (s *Service) windowRun(ctx context.Context, w Window) (Run, error) {
	runs, err := s.cfg.Store.ListRuns(ctx, RunQuery{Workspace: w.Workspace, Trigger: w.Trigger, Status: RunInProgress})
	if err != nil {
		return Run{}, err
	}
	for _, r := range runs {
		if r.ID == w.TriggerRunID {
			return r, nil
		}
	}
	return Run{}, fmt.Errorf("window %s: its trigger run %s is not in progress", fmtSecond(w.Start), w.TriggerRunID)
}

// endAttempt records the end of a window's attempt: succeeded; failed
// with a retry left (the window waits retryPolicy.intervalInSeconds and
// runs again); or failed for good. A cancelled run is not retried.
func (s *Service) endAttempt(ctx context.Context, c *compiled, w Window, r Run, status, msg string, now time.Time) error {
	next := w
	next.Message = msg
	r.Message = msg
	switch {
	case status == pipelineSucceeded:
		next.Status, r.Status = WindowSucceeded, RunSucceeded
	case status == pipelineFailed && w.Attempt <= c.tumbling.retries:
		next.Status, r.Status = WindowWaiting, RunFailed
		next.NotBefore = now.Add(c.tumbling.retryWait)
	default:
		next.Status, r.Status = WindowFailed, RunFailed
	}
	s.log.Info("tumbling window attempt ended", "workspace", w.Workspace, "trigger", w.Trigger, "window", w.Start,
		"attempt", w.Attempt, "status", status, "window_status", next.Status)
	return s.cfg.Store.UpdateWindow(ctx, w, next, &r)
}

// dependenciesMet reports whether every window w depends on has
// succeeded: for each dependency, the windows of its trigger that overlap
// [w.Start+offset, +size). Windows before that trigger's start (or after
// its end) do not exist and are not waited for; windows not yet recorded
// are.
func (s *Service) dependenciesMet(ctx context.Context, st State, tw *tumbling, w Window) (bool, error) {
	for _, d := range tw.deps {
		ref, refName := tw, st.Name
		if !d.self {
			refName = d.trigger
			other, err := s.cfg.Store.GetTrigger(ctx, st.Workspace, d.trigger)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil // never started: nothing of it has succeeded
			}
			if err != nil {
				return false, err
			}
			oc, err := compile(other.Definition)
			if err != nil || oc.tumbling == nil {
				return false, nil
			}
			ref = oc.tumbling
		}
		size := d.size
		if size == 0 {
			size = w.End.Sub(w.Start)
		}
		from, to := w.Start.Add(d.offset), w.Start.Add(d.offset+size)
		if from.Before(ref.start) {
			from = ref.start
		}
		if !ref.end.IsZero() && to.After(ref.end) {
			to = ref.end
		}
		if !from.Before(to) {
			continue
		}
		want := ref.index(to.Add(-time.Nanosecond)) - ref.index(from) + 1
		got, err := s.cfg.Store.CountWindows(ctx, st.Workspace, refName, WindowSucceeded, from, to)
		if err != nil {
			return false, err
		}
		if got < want {
			return false, nil
		}
	}
	return true, nil
}
