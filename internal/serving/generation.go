package serving

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// launch is what every worker process of a generation runs.
type launch struct {
	python string   // the environment's python
	script string   // worker.py
	dir    string   // working directory: the code snapshot
	env    []string // the process environment
}

// generation is one set of worker processes running one plan with one set
// of settings: a deployment's instances between two updates. Its workers
// pull calls from the pool's queue once it is active, and stop pulling when
// it drains.
type generation struct {
	pool     *pool
	settings settings
	launch   launch
	logs     *logSink
	log      *slog.Logger

	active   chan struct{} // closed by activate: the workers may pull
	stopping chan struct{} // closed by drain: the workers stop pulling and end
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	startup chan error // one result per instance's first start

	mu      sync.Mutex
	workers []*worker // by instance; nil while one is (re)starting
	once    sync.Once
}

// newGeneration returns a generation that has started nothing yet.
func newGeneration(p *pool, s settings, l launch, logs *logSink, log *slog.Logger) *generation {
	ctx, cancel := context.WithCancel(context.Background())
	return &generation{
		pool: p, settings: s, launch: l, logs: logs, log: log,
		active: make(chan struct{}), stopping: make(chan struct{}), ctx: ctx, cancel: cancel,
		startup: make(chan error, s.instances), workers: make([]*worker, s.instances),
	}
}

// start starts every instance. With strict, an instance whose first start
// fails stops trying (provisioning fails); otherwise it is retried with
// backoff, as after a server restart.
func (g *generation) start(strict bool) {
	for i := range g.settings.instances {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.supervise(i, strict)
		}()
	}
}

// waitReady waits until every instance has loaded its model, or returns
// the first failure.
func (g *generation) waitReady(ctx context.Context) error {
	for range g.settings.instances {
		select {
		case err := <-g.startup:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// activate lets the generation's workers pull calls.
func (g *generation) activate() {
	select {
	case <-g.active:
	default:
		close(g.active)
	}
}

// supervise runs instance i: starts its worker, serves until it dies, and
// starts it again, until the generation drains.
func (g *generation) supervise(i int, strict bool) {
	backoff := 250 * time.Millisecond
	for first := true; ; first = false {
		w, err := g.spawn(i)
		if err == nil {
			s := g.settings.readiness
			err = w.awaitReady(g.ctx, time.Now().Add(s.delay+s.period*time.Duration(s.failures)))
		}
		if first {
			g.startup <- err
		}
		if err != nil {
			if strict && first || g.isStopping() {
				return
			}
			g.log.Warn("serving: worker did not start", "endpoint", g.pool.endpoint, "deployment", g.pool.name, "instance", i, "err", err)
			g.logs.printf("[ciel] instance-%d did not start: %v", i, err)
			if !g.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		g.setWorker(i, w)
		g.serve(w)
		g.setWorker(i, nil)
		if g.isStopping() {
			return
		}
		g.pool.metrics.restarts.Add(1)
		status := w.exitStatus()
		g.log.Warn("serving: worker exited; restarting", "endpoint", g.pool.endpoint, "deployment", g.pool.name,
			"instance", i, "pid", w.pid, "status", status)
		g.logs.printf("[ciel] instance-%d (pid %d) exited (%s); restarting", i, w.pid, status)
		if time.Since(w.startedAt) > 30*time.Second {
			backoff = 250 * time.Millisecond // it ran a while: no crash loop
			continue
		}
		if !g.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// sleep waits d, or reports false when the generation drains first.
func (g *generation) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-g.stopping:
		return false
	}
}

func (g *generation) isStopping() bool {
	select {
	case <-g.stopping:
		return true
	default:
		return false
	}
}

func (g *generation) setWorker(i int, w *worker) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.workers[i] = w
}

func (g *generation) config() settings { return g.settings }

func (g *generation) home() *pool { return g.pool }

// instances lists the generation's worker processes.
func (g *generation) instances() []Instance {
	var out []Instance
	for i, pid := range g.pids() {
		st := "Running"
		if pid == 0 {
			st = "Starting"
		}
		out = append(out, Instance{Index: i, PID: pid, State: st})
	}
	return out
}

// pids returns the process ids of the running workers by instance (0 for
// one that is starting).
func (g *generation) pids() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]int, len(g.workers))
	for i, w := range g.workers {
		if w != nil {
			out[i] = w.pid
		}
	}
	return out
}

// serve runs a ready worker until its process or connection ends, or the
// generation drains.
func (g *generation) serve(w *worker) {
	readerDone := make(chan error, 1)
	go func() { readerDone <- w.readLoop() }()
	stopPull := w.stop
	pullDone := make(chan struct{})
	go func() {
		defer close(pullDone)
		g.pull(w, stopPull)
	}()
	go g.probe(w, g.settings.liveness, stopPull, g.liveness(w))
	go g.probe(w, g.settings.readiness, stopPull, g.readiness(w))

	// pull may be blocked writing to a worker that stopped reading: each
	// path closes the connection before it waits for pull.
	select {
	case <-readerDone:
		close(stopPull)
		byUs := w.killedByUs.Load()
		select {
		case <-w.exited: // the usual case: the socket closed as the process ended
		case <-time.After(2 * time.Second):
			w.kill()
			<-w.exited
		}
		w.conn.Close()
		<-pullDone
		killGroup(w.pid) // what the worker started, if it left any
		g.failInflight(w, !byUs && w.signaled())
	case <-g.stopping:
		close(stopPull)
		g.finish(w, readerDone, pullDone)
	}
}

// finish ends a draining worker: it waits for the calls it holds (at most
// the request timeout), closes its socket so worker.py returns, and kills
// it if it does not.
func (g *generation) finish(w *worker, readerDone <-chan error, pullDone <-chan struct{}) {
	deadline := time.Now().Add(g.settings.requestTimeout + time.Second)
	for w.pending() > 0 && time.Now().Before(deadline) {
		select {
		case <-readerDone:
			deadline = time.Now()
		case <-g.ctx.Done():
			deadline = time.Now()
		case <-time.After(5 * time.Millisecond):
		}
	}
	w.conn.Close()
	<-pullDone
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		w.kill()
		<-w.exited
	}
	killGroup(w.pid)
	g.failInflight(w, true)
}

// failInflight answers the calls a dead worker held: retried once on
// another worker when retry is set (the process was killed from outside),
// failed otherwise.
func (g *generation) failInflight(w *worker, retry bool) {
	for _, fl := range w.takeInflight() {
		if retry && g.pool.requeue(fl.c) {
			continue
		}
		fl.c.done <- errorReply(500, "WorkerCrashed",
			fmt.Sprintf("instance-%d of deployment %s exited while scoring the request (%s); see ciel online-deployment get-logs",
				w.index, g.pool.name, w.exitStatus()))
	}
}

// pull takes calls from the pool's queue while the worker has a free slot,
// and sends them (in batches when batching is on), until stop.
func (g *generation) pull(w *worker, stop <-chan struct{}) {
	select {
	case <-g.active:
	case <-stop:
		return
	}
	defer w.setPulling(false)
	q := g.pool.queue
	for {
		w.setPulling(w.probeOK.Load())
		select {
		case w.slots <- struct{}{}:
		case <-stop:
			return
		}
		if !w.probeOK.Load() {
			<-w.slots
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		var c *call
		select {
		case c = <-q:
		case <-stop:
			<-w.slots
			return
		}
		if !c.take() {
			<-w.slots
			continue
		}
		batch := g.fill([]*call{c}, stop)
		if err := w.send(batch); err != nil {
			return // the reader sees the broken connection and fails the calls
		}
	}
}

// fill adds waiting calls to a batch up to max_batch_size, waiting at most
// max_batch_wait_ms after the first call arrived for more to come.
func (g *generation) fill(batch []*call, stop <-chan struct{}) []*call {
	s := g.settings
	if s.batchMax <= 1 {
		return batch
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(batch) < s.batchMax {
		select {
		case c := <-g.pool.queue:
			if c.take() {
				batch = append(batch, c)
			}
			continue
		default:
		}
		left := s.batchWait - time.Since(batch[0].arrived)
		if left <= 0 {
			return batch
		}
		if timer == nil {
			timer = time.NewTimer(left)
		} else {
			timer.Reset(left)
		}
		select {
		case c := <-g.pool.queue:
			if c.take() {
				batch = append(batch, c)
			}
		case <-timer.C:
			return batch
		case <-stop:
			return batch
		}
	}
	return batch
}

// probe pings the worker every period after the initial delay and passes
// each outcome to result, until stop.
func (g *generation) probe(w *worker, p probe, stop <-chan struct{}, result func(ok bool)) {
	t := time.NewTimer(p.delay)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-stop:
			return
		}
		result(w.ping(p.timeout, stop))
		t.Reset(p.period)
	}
}

// liveness returns the handler of liveness outcomes: after failure_threshold
// failures in a row the worker is killed, and supervise starts another.
func (g *generation) liveness(w *worker) func(bool) {
	failures := 0
	return func(ok bool) {
		if ok {
			failures = 0
			return
		}
		failures++
		if failures >= g.settings.liveness.failures {
			g.logs.printf("[ciel] instance-%d failed its liveness probe %d times; restarting it", w.index, failures)
			w.kill()
		}
	}
}

// readiness returns the handler of readiness outcomes: after
// failure_threshold failures in a row the worker stops taking requests,
// after success_threshold successes it takes them again.
func (g *generation) readiness(w *worker) func(bool) {
	failures, successes := 0, 0
	return func(ok bool) {
		if ok {
			failures, successes = 0, successes+1
			if !w.probeOK.Load() && successes >= g.settings.readiness.successes {
				w.probeOK.Store(true)
			}
			return
		}
		failures, successes = failures+1, 0
		if w.probeOK.Load() && failures >= g.settings.readiness.failures {
			g.logs.printf("[ciel] instance-%d failed its readiness probe %d times; no longer routing to it", w.index, failures)
			w.probeOK.Store(false)
		}
	}
}

// drain stops the generation: its workers stop taking calls, finish the
// ones they hold and exit. It returns when they have, or when ctx ends
// (then they are killed).
func (g *generation) drain(ctx context.Context) {
	g.once.Do(func() { close(g.stopping) })
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		g.cancel()
		for _, pid := range g.pids() {
			if pid != 0 {
				killGroup(pid)
			}
		}
		<-done
	}
	g.cancel()
}
