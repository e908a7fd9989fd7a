package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/client"
)

// pollEvery is how often a job is polled once its log stream has ended.
const pollEvery = 500 * time.Millisecond

// follow prints what `az ml job stream` prints: the run id and web view,
// the logs as they arrive, then an execution summary. It returns nil when
// the job completed, an *ExitError with ExitFailure when it failed or was
// canceled, and ExitInterrupted when ctx ended first (the job runs on).
func (b *base) follow(ctx context.Context, cl *client.Client, ws string, j client.Job) error {
	fmt.Fprintf(b.out, "RunId: %s\n", j.Name)
	if s, ok := j.Services["Studio"]; ok && s.Endpoint != "" {
		fmt.Fprintf(b.out, "Web View: %s\n", s.Endpoint)
	}
	fmt.Fprintln(b.out)
	streamErr := b.copyStream(ctx, cl, ws, j.Name)
	if ctx.Err() != nil {
		return interrupted(j.Name)
	}
	if streamErr != nil {
		fmt.Fprintf(b.errOut, "WARNING: log stream ended early (%v); waiting for job %s to end\n", streamErr, j.Name)
	}
	final, err := cl.WaitJob(ctx, ws, j.Name, pollEvery)
	if ctx.Err() != nil {
		return interrupted(j.Name)
	}
	if err != nil {
		return fmt.Errorf("wait for job %q: %w", j.Name, err)
	}
	writeSummary(b.out, final)
	return jobOutcome(final)
}

// copyStream copies the job's log stream to out as it arrives.
func (b *base) copyStream(ctx context.Context, cl *client.Client, ws, name string) error {
	body, err := cl.StreamJob(ctx, ws, name)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(b.out, body)
	return err
}

func interrupted(name string) error {
	return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf(
		"stopped following job %s; it keeps running (follow it with `ciel job stream --name %s`, stop it with `ciel job cancel --name %s`)",
		name, name, name)}
}

// writeSummary prints the execution summary: the job's status, then each
// step's status and, for a reused step, the run it reused.
func writeSummary(w io.Writer, j client.Job) {
	fmt.Fprintf(w, "\nExecution Summary\n=================\nRunId: %s\n", j.Name)
	if s, ok := j.Services["Studio"]; ok && s.Endpoint != "" {
		fmt.Fprintf(w, "Web View: %s\n", s.Endpoint)
	}
	fmt.Fprintf(w, "Status: %s\n", j.Status)
	if len(j.Jobs) == 0 {
		return
	}
	fmt.Fprintln(w)
	t := newTable("Step", "Status", "Reused from")
	for _, s := range orderedSteps(j) {
		t.Row(s.name, s.Status, s.ReusedFrom)
	}
	_ = t.write(w)
}

type namedStep struct {
	name string
	*client.Step
}

// orderedSteps returns a pipeline's steps in the order they started, those
// that never started last, ties by name.
func orderedSteps(j client.Job) []namedStep {
	steps := make([]namedStep, 0, len(j.Jobs))
	for _, name := range slices.Sorted(maps.Keys(j.Jobs)) {
		if s := j.Jobs[name]; s != nil {
			steps = append(steps, namedStep{name, s})
		}
	}
	slices.SortStableFunc(steps, func(a, b namedStep) int {
		switch {
		case a.StartTime == nil && b.StartTime == nil:
			return 0
		case a.StartTime == nil:
			return 1
		case b.StartTime == nil:
			return -1
		}
		return a.StartTime.Compare(*b.StartTime)
	})
	return steps
}

// jobOutcome is nil for a completed job and an ExitFailure error that says
// what went wrong otherwise.
func jobOutcome(j client.Job) error {
	if j.Status == "Completed" {
		return nil
	}
	msg := j.Error
	if msg == "" {
		var parts []string
		for _, s := range orderedSteps(j) {
			if s.Error != "" {
				parts = append(parts, fmt.Sprintf("step %s: %s", s.name, s.Error))
			}
		}
		msg = strings.Join(parts, "\n")
	}
	text := fmt.Sprintf("job %s %s", j.Name, strings.ToLower(j.Status))
	if msg != "" {
		text += ": " + msg
	}
	return &ExitError{Code: ExitFailure, Err: errors.New(text)}
}
