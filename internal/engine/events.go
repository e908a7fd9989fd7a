package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// Change is a new state of a job or of one of its steps, told to
// subscribers once the store holds it.
type Change struct {
	// Seq numbers the changes this engine told, from 1, in order.
	Seq       uint64 `json:"seq"`
	Workspace string `json:"workspace"`
	Job       string `json:"job"`
	// Step is the step's name; "" for the job itself.
	Step       string     `json:"step,omitempty"`
	Status     string     `json:"status"`
	Attempt    int        `json:"attempt,omitempty"`
	ReusedFrom string     `json:"reused_from,omitempty"`
	Error      string     `json:"error,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
}

// JobChange is the Change that says what j is now.
func JobChange(j store.Job) Change {
	return Change{Workspace: j.Workspace, Job: j.Name, Status: j.Status, Error: j.Error, StartedAt: j.StartedAt, EndedAt: j.EndedAt}
}

// StepChange is the Change that says what s is now.
func StepChange(s store.Step) Change {
	return Change{Workspace: s.Workspace, Job: s.Job, Step: s.Name, Status: s.Status, Attempt: s.Attempt,
		ReusedFrom: s.ReusedFrom, Error: s.Error, StartedAt: s.StartedAt, EndedAt: s.EndedAt}
}

// subscriptionBuffer is how many changes a subscriber may fall behind
// before it is dropped (and told so by Lagged).
const subscriptionBuffer = 1024

// Subscription receives the changes of one workspace (of one job in it,
// when it was asked for one) from Subscribe until Close.
type Subscription struct {
	ws, job string
	ch      chan Change
	lagged  atomic.Bool
	hub     *hub
}

// C delivers the changes in the order they were recorded. It is closed
// when the subscriber fell too far behind (Lagged) or the engine closed.
func (s *Subscription) C() <-chan Change { return s.ch }

// Lagged reports whether C was closed because the subscriber did not keep
// up; it should read the current state again and subscribe anew.
func (s *Subscription) Lagged() bool { return s.lagged.Load() }

// Close ends the subscription. It may be called more than once.
func (s *Subscription) Close() { s.hub.remove(s) }

// hub hands changes to subscriptions without ever waiting on one.
type hub struct {
	mu     sync.Mutex
	seq    uint64
	subs   map[*Subscription]struct{}
	closed bool
}

func (h *hub) add(ws, job string) *Subscription {
	s := &Subscription{ws: ws, job: job, ch: make(chan Change, subscriptionBuffer), hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.ch)
		return s
	}
	if h.subs == nil {
		h.subs = map[*Subscription]struct{}{}
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// publish numbers changes and hands each to the subscriptions that want
// it; a subscription whose buffer is full is dropped rather than waited
// for, so a slow browser never holds up a job.
func (h *hub) publish(changes ...Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range changes {
		h.seq++
		c.Seq = h.seq
		for s := range h.subs {
			if s.ws != c.Workspace || (s.job != "" && s.job != c.Job) {
				continue
			}
			select {
			case s.ch <- c:
			default:
				s.lagged.Store(true)
				delete(h.subs, s)
				close(s.ch)
			}
		}
	}
}

// close ends every subscription.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Subscribe returns a subscription to the changes of workspace ws, or of
// its job job when job is not "". Changes are told once durable: a
// subscriber that reads a job after a change sees at least that state.
// Subscribe before reading the current state, so that no change falls in
// between; a change may then repeat what was read.
func (e *Engine) Subscribe(ws, job string) *Subscription { return e.hub.add(ws, job) }

// publishSteps tells the steps' new states.
func (e *Engine) publishSteps(steps []store.Step) {
	changes := make([]Change, len(steps))
	for i, s := range steps {
		changes[i] = StepChange(s)
	}
	e.hub.publish(changes...)
}
