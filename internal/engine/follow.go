package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// FollowInterval is how often Follow looks for new log lines and states.
const FollowInterval = 100 * time.Millisecond

// Follow writes a job's step logs and step state changes to w as they
// happen, each line prefixed with "[step] " for pipelines, until the job is
// terminal and every log is drained or ctx ends. It reads only the store and
// the log files, so it works for jobs run before a restart as well. flush,
// when set, is called after each batch of lines.
func (e *Engine) Follow(ctx context.Context, ws, name string, w io.Writer, flush func()) error {
	return e.follow(ctx, ws, name, "", w, flush)
}

// FollowStep writes one step's log to w as it grows, unprefixed and
// without state lines, until the step (or its job) is terminal and its log
// drained, or ctx ends. store.ErrNotFound when the job has no such step.
func (e *Engine) FollowStep(ctx context.Context, ws, name, step string, w io.Writer, flush func()) error {
	return e.follow(ctx, ws, name, step, w, flush)
}

func (e *Engine) follow(ctx context.Context, ws, name, only string, w io.Writer, flush func()) error {
	f := &follower{e: e, ws: ws, job: name, w: w, offsets: map[string]int64{}, partial: map[string][]byte{},
		status: map[string]string{}, drained: map[string]bool{}}
	var order map[string]int
	for {
		j, err := e.cfg.Store.GetJob(ctx, ws, name)
		if err != nil {
			return err
		}
		steps, err := e.cfg.Store.ListSteps(ctx, ws, name)
		if err != nil {
			return err
		}
		f.pipeline = j.Type != spec.JobCommand && j.Type != spec.JobParallel && only == ""
		if order == nil {
			order = planOrder(j.Plan)
		}
		sort.SliceStable(steps, func(a, b int) bool { return order[steps[a].Name] < order[steps[b].Name] })
		terminal := Terminal(j.Status)
		found := false
		for _, s := range steps {
			if only != "" && s.Name != only {
				continue
			}
			found = true
			if err := f.step(s, terminal); err != nil {
				return err
			}
		}
		if only != "" && !found {
			return fmt.Errorf("follow step %q of job %s: %w", only, name, store.ErrNotFound)
		}
		if flush != nil {
			flush()
		}
		if terminal || (only != "" && f.drained[only]) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.finished(ws, name):
		case <-time.After(FollowInterval):
		}
	}
}

// finished returns a channel closed when the job stops running in this
// engine (nil, which never fires, when it is not running here).
func (e *Engine) finished(ws, name string) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.running[ws+"/"+name]; r != nil {
		return r.done
	}
	return nil
}

type follower struct {
	e        *Engine
	ws, job  string
	w        io.Writer
	pipeline bool
	offsets  map[string]int64
	partial  map[string][]byte
	status   map[string]string
	drained  map[string]bool // terminal steps whose log is fully printed
}

// planOrder maps step names to their place in the plan (dependencies
// first), so streams print steps in the order they run.
func planOrder(raw []byte) map[string]int {
	var p Plan
	_ = json.Unmarshal(raw, &p)
	m := make(map[string]int, len(p.Steps))
	for i, s := range p.Steps {
		m[s.Name] = i
	}
	return m
}

// step prints what is new about one step.
func (f *follower) step(s store.Step, final bool) error {
	prefix := ""
	if f.pipeline {
		prefix = "[" + s.Name + "] "
	}
	if s.Status != f.status[s.Name] {
		f.status[s.Name] = s.Status
		if line := statusLine(s); line != "" && f.pipeline {
			if _, err := fmt.Fprintf(f.w, "%s%s\n", prefix, line); err != nil {
				return err
			}
		}
	}
	if s.Status == StatusNotStarted || f.drained[s.Name] {
		return nil
	}
	last := final || Terminal(s.Status)
	if err := f.drain(s.Name, prefix, last); err != nil {
		return err
	}
	f.drained[s.Name] = Terminal(s.Status)
	return nil
}

// drain prints the complete new lines of a step's log; at the end it also
// prints a last line with no newline.
func (f *follower) drain(step, prefix string, last bool) error {
	file, err := os.Open(f.e.StepLogPath(f.ws, f.job, step))
	if err != nil {
		return nil // not created yet
	}
	defer file.Close()
	if _, err := file.Seek(f.offsets[step], io.SeekStart); err != nil {
		return nil
	}
	data, err := io.ReadAll(file)
	if err != nil {
		return nil
	}
	f.offsets[step] += int64(len(data))
	buf := append(f.partial[step], data...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(f.w, "%s%s\n", prefix, buf[:i]); err != nil {
			return err
		}
		buf = buf[i+1:]
	}
	if last && len(buf) > 0 {
		if _, err := fmt.Fprintf(f.w, "%s%s\n", prefix, buf); err != nil {
			return err
		}
		buf = nil
	}
	f.partial[step] = append([]byte(nil), buf...)
	return nil
}

// statusLine describes a state change worth a line in a stream.
func statusLine(s store.Step) string {
	switch s.Status {
	case StatusRunning:
		return "status: Running"
	case StatusCompleted:
		if s.ReusedFrom != "" {
			return "status: Completed (reused from " + s.ReusedFrom + ")"
		}
		return "status: Completed"
	case StatusFailed:
		return "status: Failed"
	case StatusCanceled:
		return "status: Canceled"
	}
	return ""
}
