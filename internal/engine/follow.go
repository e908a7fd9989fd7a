package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
// the logs (ReadStepLog, with remote for the live logs of a job another
// server runs), so it works for jobs run before a restart, or elsewhere, as
// well. flush, when set, is called after each batch of lines.
func (e *Engine) Follow(ctx context.Context, ws, name string, w io.Writer, flush func(), remote RemoteLog) error {
	return e.follow(ctx, ws, name, "", w, flush, remote)
}

// FollowStep writes one step's log to w as it grows, unprefixed and
// without state lines, until the step (or its job) is terminal and its log
// drained, or ctx ends. store.ErrNotFound when the job has no such step.
func (e *Engine) FollowStep(ctx context.Context, ws, name, step string, w io.Writer, flush func(), remote RemoteLog) error {
	return e.follow(ctx, ws, name, step, w, flush, remote)
}

func (e *Engine) follow(ctx context.Context, ws, name, only string, w io.Writer, flush func(), remote RemoteLog) error {
	return e.newFollower(ctx, w, remote).run(ws, name, only, flush)
}

func (e *Engine) newFollower(ctx context.Context, w io.Writer, remote RemoteLog) *follower {
	return &follower{e: e, ctx: ctx, remote: remote, w: w, readLog: e.ReadStepLog, offsets: map[string]int64{},
		partial: map[string][]byte{}, status: map[string]string{}, drained: map[string]bool{}, read: map[string]logRead{}}
}

// run follows job name of ws (only its step only, when not empty).
func (f *follower) run(ws, name, only string, flush func()) error {
	e, ctx := f.e, f.ctx
	// While the job runs in this engine its changes are told to a
	// subscription, so the states are kept here and the store is read
	// again only when the subscription cannot be trusted (it lagged, a
	// step is new, the job ended); otherwise (a job of an engine before a
	// restart) the store is read every interval. Logs are read from their
	// files every interval either way.
	sub := e.Subscribe(ws, name)
	defer sub.Close()
	changes := sub.C()
	st := &followState{}
	reload := true
	for {
		if reload {
			if err := st.load(ctx, e, ws, name); err != nil {
				return err
			}
			reload = false
		}
		f.pipeline = st.job.Type != spec.JobCommand && st.job.Type != spec.JobParallel && only == ""
		terminal := Terminal(st.job.Status)
		found := false
		for _, s := range st.steps {
			if only != "" && s.Name != only {
				continue
			}
			found = true
			if err := f.step(st.job, s, terminal); err != nil {
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
		running := e.finished(ws, name)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-running:
			reload = true
		case c, ok := <-changes:
			if !ok {
				changes, reload = nil, true
				break
			}
			reload = !st.apply(c)
			for more := true; more && !reload; {
				select {
				case c, ok := <-changes:
					if !ok {
						changes, reload = nil, true
					} else {
						reload = !st.apply(c)
					}
				default:
					more = false
				}
			}
		case <-time.After(FollowInterval):
			reload = running == nil || changes == nil
		}
	}
}

// followState is what a follower knows of a job and its steps, in plan
// order.
type followState struct {
	job   store.Job
	steps []store.Step
	index map[string]int // step name -> place in steps
	order map[string]int // step name -> place in the plan
}

// load reads the job and its steps from the store.
func (st *followState) load(ctx context.Context, e *Engine, ws, name string) error {
	j, err := e.cfg.Store.GetJob(ctx, ws, name)
	if err != nil {
		return err
	}
	steps, err := e.cfg.Store.ListSteps(ctx, ws, name)
	if err != nil {
		return err
	}
	if st.order == nil {
		st.order = planOrder(j.Plan)
	}
	sort.SliceStable(steps, func(a, b int) bool { return st.order[steps[a].Name] < st.order[steps[b].Name] })
	st.job, st.steps, st.index = j, steps, make(map[string]int, len(steps))
	for i, s := range steps {
		st.index[s.Name] = i
	}
	return nil
}

// apply takes in a told change; false when the store must be read instead
// (a step not known yet, or the job's end, whose last state the store has
// in full). A change older than what is known (one told before the state
// was read, and delivered after) is ignored.
func (st *followState) apply(c Change) bool {
	if c.Step == "" {
		st.job.Status, st.job.Error = c.Status, c.Error
		return !Terminal(c.Status)
	}
	i, ok := st.index[c.Step]
	if !ok {
		return false
	}
	s := &st.steps[i]
	if c.Attempt < s.Attempt || (c.Attempt == s.Attempt && statusRank(c.Status) < statusRank(s.Status)) {
		return true
	}
	s.Status, s.Attempt, s.ReusedFrom, s.Error, s.StartedAt, s.EndedAt = c.Status, c.Attempt, c.ReusedFrom, c.Error, c.StartedAt, c.EndedAt
	return true
}

// statusRank orders a step's states within one attempt.
func statusRank(status string) int {
	switch status {
	case StatusNotStarted:
		return 0
	case StatusQueued:
		return 1
	case StatusPreparing:
		return 2
	case StatusRunning:
		return 3
	}
	if Terminal(status) {
		return 4
	}
	return 0
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
	ctx      context.Context
	remote   RemoteLog
	readLog  func(ctx context.Context, j store.Job, s store.Step, offset, limit int64, remote RemoteLog) ([]byte, error)
	w        io.Writer
	pipeline bool
	offsets  map[string]int64
	partial  map[string][]byte
	status   map[string]string
	drained  map[string]bool    // terminal steps whose log is fully printed
	read     map[string]logRead // step -> its last read
}

// logRead is what a follower knows of its last read of a step's log.
type logRead struct {
	owner   string    // the server that ran the job then
	attempt int       // the step's attempt then
	remote  time.Time // when the server running it was last asked
	local   time.Time // when it was last read here
}

// remoteInterval is how often a follower asks another server for the new
// lines of a step's log: less often than it reads a file.
const remoteInterval = 500 * time.Millisecond

// maxChunksPerDrain bounds the pieces (MaxLogChunk) of a growing log one
// drain prints, so that the other steps' lines and states interleave.
const maxChunksPerDrain = 8

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

// step prints what is new about one step of job j.
func (f *follower) step(j store.Job, s store.Step, final bool) error {
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
	// A step waiting for its turn has no log yet: in a wide pipeline
	// hundreds wait, and looking for their files on every change was most
	// of what following a job cost.
	if s.Status == StatusNotStarted || s.Status == StatusQueued || f.drained[s.Name] {
		return nil
	}
	last := final || Terminal(s.Status)
	if !last && time.Since(f.read[s.Name].local) < FollowInterval {
		// Changes wake the follower far more often than a log needs
		// reading; a running step's new lines wait at most an interval.
		return nil
	}
	if err := f.drain(j, s, prefix, last); err != nil {
		return err
	}
	f.drained[s.Name] = Terminal(s.Status)
	return nil
}

// drain prints the complete new lines of a step's log; at the end it also
// prints a last line with no newline.
func (f *follower) drain(j store.Job, s store.Step, prefix string, last bool) error {
	step := s.Name
	prev, seen := f.read[step]
	if seen && prev.owner != j.Owner && prev.attempt != s.Attempt {
		// Another server took the job over and runs the step again: its
		// log there starts from the beginning.
		f.offsets[step], f.partial[step] = 0, nil
	}
	cur := logRead{owner: j.Owner, attempt: s.Attempt, remote: prev.remote, local: time.Now()}
	defer func() { f.read[step] = cur }()
	var remote RemoteLog
	if f.remote != nil {
		remote = func(ctx context.Context, owner, ws, job, step string, offset, limit int64) ([]byte, error) {
			if !last && time.Since(cur.remote) < remoteInterval {
				return nil, nil
			}
			cur.remote = time.Now()
			return f.remote(ctx, owner, ws, job, step, offset, limit)
		}
	}
	buf := f.partial[step]
	for n := 1; ; n++ {
		data, err := f.readLog(f.ctx, j, s, f.offsets[step], 0, remote)
		if err != nil {
			break // no log yet, or none to read now
		}
		f.offsets[step] += int64(len(data))
		buf = append(buf, data...)
		if len(data) < MaxLogChunk || (!last && n >= maxChunksPerDrain) {
			break
		}
	}
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
