package engine

import (
	"context"
	"log/slog"
	"sync"

	"github.com/ciel-mlops/ciel/internal/store"
)

// recorder writes step state changes to the store from one goroutine, in
// order, many per transaction. A change that must be durable before the
// caller goes on (a step completing, which unblocks its dependants) waits for
// its commit; progress changes (Queued, Running) do not, so a fast step costs
// about one commit, shared with whatever else finished meanwhile.
type recorder struct {
	st  store.Store
	log *slog.Logger
	// written, when set, hears each batch of states once committed, before
	// a waiting put or flush returns.
	onWritten func([]store.Step)

	mu      sync.Mutex
	cond    *sync.Cond
	pending map[string]store.Step
	order   []string
	reuses  []store.Reuse
	queued  uint64 // sequence number of the last put
	written uint64 // sequence number covered by the last commit
	closed  bool
	done    chan struct{}
}

func newRecorder(st store.Store, log *slog.Logger, onWritten func([]store.Step)) *recorder {
	r := &recorder{st: st, log: log, onWritten: onWritten, pending: map[string]store.Step{}, done: make(chan struct{})}
	r.cond = sync.NewCond(&r.mu)
	go r.loop()
	return r
}

// put queues a step's new state, replacing any queued older state of the
// same step; with wait it returns once the state is durable.
func (r *recorder) put(s store.Step, wait bool) {
	key := s.Workspace + "/" + s.Job + "/" + s.Name
	r.mu.Lock()
	if _, ok := r.pending[key]; !ok {
		r.order = append(r.order, key)
	}
	r.pending[key] = s
	r.queued++
	seq := r.queued
	r.cond.Broadcast()
	if wait {
		for r.written < seq && !r.closed {
			r.cond.Wait()
		}
	}
	r.mu.Unlock()
}

// putReuse queues a reuse entry; it is written with the next batch, so a
// waiting put queued after it returns only once both are durable.
func (r *recorder) putReuse(e store.Reuse) {
	r.mu.Lock()
	r.reuses = append(r.reuses, e)
	r.queued++
	r.cond.Broadcast()
	r.mu.Unlock()
}

// flush returns once everything queued so far is durable.
func (r *recorder) flush() {
	r.mu.Lock()
	seq := r.queued
	for r.written < seq && !r.closed {
		r.cond.Wait()
	}
	r.mu.Unlock()
}

func (r *recorder) loop() {
	defer close(r.done)
	for {
		r.mu.Lock()
		for len(r.order) == 0 && len(r.reuses) == 0 && !r.closed {
			r.cond.Wait()
		}
		if len(r.order) == 0 && len(r.reuses) == 0 && r.closed {
			r.mu.Unlock()
			return
		}
		batch := make([]store.Step, 0, len(r.order))
		for _, k := range r.order {
			batch = append(batch, r.pending[k])
		}
		reuses := r.reuses
		r.pending, r.order, r.reuses = map[string]store.Step{}, nil, nil
		seq := r.queued
		r.mu.Unlock()

		// Issued together so the store commits them in one transaction.
		var wg sync.WaitGroup
		var stepsErr error
		if len(batch) > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if stepsErr = r.st.UpdateSteps(context.Background(), batch...); stepsErr != nil {
					r.log.Error("record step states", "steps", len(batch), "err", stepsErr)
				}
			}()
		}
		for _, e := range reuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.st.PutReuse(context.Background(), e); err != nil {
					r.log.Warn("record reuse", "step", e.Step, "err", err)
				}
			}()
		}
		wg.Wait()
		if stepsErr == nil && len(batch) > 0 && r.onWritten != nil {
			r.onWritten(batch)
		}

		r.mu.Lock()
		r.written = seq
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// close writes what is pending and stops the goroutine.
func (r *recorder) close() {
	r.flush()
	r.mu.Lock()
	r.closed = true
	r.cond.Broadcast()
	r.mu.Unlock()
	<-r.done
}
