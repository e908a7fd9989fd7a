package serving

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pingBit marks the ids of probe frames, so they never collide with the
// ids of requests.
const pingBit = uint64(1) << 63

// flight is a call sent to a worker and not yet answered. The last call of
// a batch holds the worker's concurrency slot.
type flight struct {
	c        *call
	holdSlot bool
}

// worker is one running worker process and its connection.
type worker struct {
	g     *generation
	index int
	cmd   *exec.Cmd
	pid   int
	conn  net.Conn
	br    *bufio.Reader

	wmu sync.Mutex // guards bw and the order of frames on the wire
	bw  *bufio.Writer

	mu       sync.Mutex
	inflight map[uint64]flight
	pings    map[uint64]chan struct{}
	nextID   uint64

	slots   chan struct{} // one per concurrent request the worker may hold
	stop    chan struct{} // closed when the worker must stop taking calls
	exited  chan struct{} // closed when the process has been reaped
	exitErr error         // set before exited is closed

	probeOK     atomic.Bool // readiness
	killedByUs  atomic.Bool // liveness kill or forced stop: do not retry its calls
	startedAt   time.Time
	pullingFlag atomic.Bool
}

// spawn starts a worker process for instance i with a socket pair on fd 3.
func (g *generation) spawn(i int) (*worker, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket pair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "ciel-worker"), os.NewFile(uintptr(fds[1]), "ciel-worker-child")
	defer child.Close()
	conn, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, fmt.Errorf("socket pair: %w", err)
	}
	l := g.launch
	cmd := exec.Command(l.python, l.script)
	cmd.Dir = l.dir
	cmd.Env = l.env
	cmd.ExtraFiles = []*os.File{child}
	out := g.logs.writer(fmt.Sprintf("[instance-%d] ", i))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = workerProcAttr()
	if err := cmd.Start(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("start %s: %w", l.python, err)
	}
	w := &worker{
		g: g, index: i, cmd: cmd, pid: cmd.Process.Pid, conn: conn,
		br: bufio.NewReaderSize(conn, 64<<10), bw: bufio.NewWriterSize(conn, 64<<10),
		inflight: map[uint64]flight{}, pings: map[uint64]chan struct{}{},
		slots: make(chan struct{}, g.settings.concurrency), stop: make(chan struct{}), exited: make(chan struct{}), startedAt: time.Now(),
	}
	w.probeOK.Store(true)
	go func() {
		w.exitErr = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// awaitReady reads the worker's first frame: READY, or INIT_FAILED with
// the traceback, or the end of the process. deadline bounds init().
func (w *worker) awaitReady(ctx context.Context, deadline time.Time) error {
	stop := context.AfterFunc(ctx, func() { w.conn.SetReadDeadline(time.Now()) })
	defer stop()
	w.conn.SetReadDeadline(deadline)
	defer w.conn.SetReadDeadline(time.Time{})
	f, err := readFrame(w.br)
	switch {
	case err == nil && f.Type == frameReady:
		return nil
	case err == nil && f.Type == frameInitFailed:
		w.kill()
		return fmt.Errorf("init failed:\n%s", strings.TrimSpace(string(f.Payload)))
	case err == nil:
		w.kill()
		return fmt.Errorf("worker sent frame type %d before READY", f.Type)
	case ctx.Err() != nil:
		w.kill()
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.kill()
		return fmt.Errorf("the model did not load within %s (readiness_probe initial_delay + period x failure_threshold)",
			deadline.Sub(w.startedAt).Round(time.Second))
	}
	w.kill()
	return fmt.Errorf("worker exited while loading the model (%s)", w.exitStatus())
}

// exitStatus waits briefly for the process and describes how it ended.
func (w *worker) exitStatus() string {
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		return "still running"
	}
	if w.exitErr == nil {
		return "exit status 0"
	}
	return w.exitErr.Error()
}

// signaled reports whether the process was killed by SIGKILL or SIGTERM,
// as the OOM killer or an operator does, rather than ending by itself.
func (w *worker) signaled() bool {
	var ee *exec.ExitError
	if !errors.As(w.exitErr, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && (ws.Signal() == syscall.SIGKILL || ws.Signal() == syscall.SIGTERM)
}

// kill kills the worker's process group and closes its connection.
func (w *worker) kill() {
	w.killedByUs.Store(true)
	killGroup(w.pid)
	w.conn.Close()
}

// send registers and writes a batch of calls (one call when batching is
// off) and flushes them.
func (w *worker) send(batch []*call) error {
	ids := make([]uint64, len(batch))
	w.mu.Lock()
	if w.inflight == nil {
		w.mu.Unlock()
		return net.ErrClosed
	}
	for i, c := range batch {
		w.nextID++
		ids[i] = w.nextID
		w.inflight[ids[i]] = flight{c: c, holdSlot: i == len(batch)-1}
	}
	w.mu.Unlock()
	w.wmu.Lock()
	defer w.wmu.Unlock()
	for i, c := range batch {
		f := frame{Type: frameRequest, ID: ids[i], Payload: c.body}
		if i < len(batch)-1 {
			f.Flags = flagMore
		}
		if err := writeFrame(w.bw, f); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

// readLoop delivers the worker's replies and pongs until the connection
// ends, and returns why it ended.
func (w *worker) readLoop() error {
	for {
		f, err := readFrame(w.br)
		if err != nil {
			return err
		}
		switch f.Type {
		case frameReply:
			w.mu.Lock()
			fl, ok := w.inflight[f.ID]
			delete(w.inflight, f.ID)
			w.mu.Unlock()
			if !ok {
				continue
			}
			status := int(f.Status)
			if status < 100 || status > 599 {
				status = 500
			}
			fl.c.done <- reply{status: status, body: f.Payload, instance: w.index}
			if fl.holdSlot && !w.handOff() {
				<-w.slots
			}
		case framePong:
			w.mu.Lock()
			ch := w.pings[f.ID]
			delete(w.pings, f.ID)
			w.mu.Unlock()
			if ch != nil {
				close(ch)
			}
		}
	}
}

// handOff sends the next waiting call, if any, on the slot a reply just
// freed, from the reader itself: the worker gets its next request without
// waiting for the pull goroutine to wake. It reports whether the slot was
// taken. Batching deployments leave this to pull, which gathers batches.
func (w *worker) handOff() bool {
	if w.g.settings.batchMax > 1 || !w.probeOK.Load() {
		return false
	}
	select {
	case <-w.stop:
		return false
	default:
	}
	for {
		select {
		case c := <-w.g.pool.queue:
			if !c.take() {
				continue
			}
			_ = w.send([]*call{c}) // a failed send surfaces as the connection's end
			return true
		default:
			return false
		}
	}
}

// ping sends a probe and reports whether the answer came within timeout.
func (w *worker) ping(timeout time.Duration, stop <-chan struct{}) bool {
	ch := make(chan struct{})
	w.mu.Lock()
	w.nextID++
	id := w.nextID | pingBit
	w.pings[id] = ch
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.pings, id)
		w.mu.Unlock()
	}()
	w.wmu.Lock()
	err := writeFrame(w.bw, frame{Type: framePing, ID: id})
	if err == nil {
		err = w.bw.Flush()
	}
	w.wmu.Unlock()
	if err != nil {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	case <-stop:
		return true
	}
}

// pending returns how many calls the worker holds.
func (w *worker) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.inflight)
}

// takeInflight removes and returns the calls the worker holds; later sends
// fail.
func (w *worker) takeInflight() []flight {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]flight, 0, len(w.inflight))
	for _, fl := range w.inflight {
		out = append(out, fl)
	}
	w.inflight = nil
	return out
}

// setPulling counts the worker in its pool's ready workers, or out.
func (w *worker) setPulling(on bool) {
	if w.pullingFlag.Swap(on) == on {
		return
	}
	if on {
		w.g.pool.ready.Add(1)
	} else {
		w.g.pool.ready.Add(-1)
	}
}
