package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
)

// errClosed is returned by writes submitted after Close.
var errClosed = errors.New("sqlite store: closed")

// maxBatch bounds how many queued writes share one transaction, so a flood of
// writers cannot hold the write lock (and readers' view of new data) forever.
const maxBatch = 512

// Request states. A request moves from pending to exactly one of taken (the
// writer goroutine will apply it and report the outcome) or abandoned (its
// caller gave up first and the writer must skip it). That single transition
// is what lets a cancelled caller report "not written" truthfully.
const (
	reqPending int32 = iota
	reqTaken
	reqAbandoned
)

// txFunc applies one caller's write inside the batch transaction. It runs on
// the writer goroutine only and must not keep tx.
type txFunc func(ctx context.Context, tx *sql.Tx) error

// writeReq is one caller's write waiting for the writer goroutine.
type writeReq struct {
	apply txFunc
	state atomic.Int32
	done  chan error // buffered 1: the writer never blocks on a caller
}

// groupWriter owns the single write connection. Callers queue writes; the
// writer goroutine applies everything pending in one transaction, commits
// once (one fsync for the whole batch), and then releases every caller with
// its own result. A write that fails rolls back to its savepoint and fails
// only its caller; a commit that fails fails the whole batch.
type groupWriter struct {
	db      *sql.DB
	stmts   *writeStmts
	reqs    chan *writeReq
	quit    chan struct{} // closed by stop
	exited  chan struct{} // closed when the writer goroutine has returned
	stopped atomic.Bool

	// commits and writes count transactions and the writes they carried;
	// their ratio is how well group commit is working.
	commits, writes atomic.Int64
}

func newGroupWriter(db *sql.DB, stmts *writeStmts) *groupWriter {
	w := &groupWriter{
		db:     db,
		stmts:  stmts,
		reqs:   make(chan *writeReq, maxBatch),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go w.loop()
	return w
}

// do queues apply and waits until it is durable or has failed. If ctx ends
// before the writer picks the request up, do returns ctx's error and the
// write is guaranteed not to happen; once picked up, do waits for the commit
// (bounded by one batch), so a nil return always means durable.
func (w *groupWriter) do(ctx context.Context, apply txFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.stopped.Load() {
		return errClosed
	}
	r := &writeReq{apply: apply, done: make(chan error, 1)}
	select {
	case w.reqs <- r:
	case <-w.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	var giveUp error
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		giveUp = ctx.Err()
	case <-w.exited:
		giveUp = errClosed
	}
	if r.state.CompareAndSwap(reqPending, reqAbandoned) {
		return giveUp
	}
	return <-r.done // taken: the outcome is at most one commit away
}

// stop makes the writer apply what is already queued, then return. It waits
// for that and is safe to call more than once.
func (w *groupWriter) stop() {
	if w.stopped.CompareAndSwap(false, true) {
		close(w.quit)
	}
	<-w.exited
}

func (w *groupWriter) loop() {
	defer close(w.exited)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case r := <-w.reqs:
			batch = w.fill(append(batch[:0], r))
			w.commit(batch)
		case <-w.quit:
			for {
				batch = w.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				w.commit(batch)
			}
		}
	}
}

// fill appends every request already queued, up to maxBatch, without waiting.
func (w *groupWriter) fill(batch []*writeReq) []*writeReq {
	for len(batch) < maxBatch {
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit applies batch in one transaction and reports each outcome.
func (w *groupWriter) commit(batch []*writeReq) {
	taken := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			taken = append(taken, r)
		}
	}
	if len(taken) == 0 {
		return
	}
	errs := w.apply(taken)
	w.commits.Add(1)
	w.writes.Add(int64(len(taken)))
	for i, r := range taken {
		r.done <- errs[i]
	}
}

// apply runs the requests in one transaction and returns one error each. The
// writer's own context is used for statements: a caller's cancellation must
// not interrupt a connection the rest of the batch shares.
func (w *groupWriter) apply(reqs []*writeReq) []error {
	ctx := context.Background()
	errs := make([]error, len(reqs))
	fail := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(fmt.Errorf("begin: %w", err))
	}
	if len(reqs) == 1 {
		// Alone in the batch: the transaction itself is the savepoint.
		if err := reqs[0].apply(ctx, tx); err != nil {
			_ = tx.Rollback()
			return fail(err)
		}
	} else {
		save := tx.StmtContext(ctx, w.stmts.savepoint)
		undo := tx.StmtContext(ctx, w.stmts.rollbackTo)
		release := tx.StmtContext(ctx, w.stmts.release)
		for i, r := range reqs {
			if _, err := save.ExecContext(ctx); err != nil {
				_ = tx.Rollback()
				return fail(fmt.Errorf("savepoint: %w", err))
			}
			if errs[i] = r.apply(ctx, tx); errs[i] != nil {
				if _, err := undo.ExecContext(ctx); err != nil {
					_ = tx.Rollback()
					return fail(fmt.Errorf("rollback to savepoint: %w", err))
				}
			}
			if _, err := release.ExecContext(ctx); err != nil {
				_ = tx.Rollback()
				return fail(fmt.Errorf("release savepoint: %w", err))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	return errs
}
