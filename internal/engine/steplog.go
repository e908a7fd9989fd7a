package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ciel-mlops/ciel/internal/store"
)

// Where a step's log is read from. A step writes its log to a file on the
// disk of the server that runs it (StepLogPath), which serves it from
// there, live, as it always has. Servers sharing a store (Config.Leases)
// serve every job, so two more places are read, in this order, when the
// file is not here:
//
//   - once the step has ended, the blob store, where the server that ran it
//     put the finished log (store.Step.Log; S3 on a team server): it
//     survives that server, and reading it needs nothing of it;
//   - while the step runs, the server that runs it (the job's Owner),
//     through a RemoteLog the caller gives, which asks that server with the
//     caller's own credentials.
//
// A server alone writes no blob per step: its files are the logs.

// MaxLogChunk bounds the bytes one read of a log returns from the blob
// store or another server, so that a large log is read in pieces.
const MaxLogChunk = 1 << 20

// RemoteLog reads up to limit bytes of a step's log from offset from the
// server named owner, which runs the step. It returns store.ErrNotFound
// when that server is gone or has no such log (yet).
type RemoteLog func(ctx context.Context, owner, ws, job, step string, offset, limit int64) ([]byte, error)

// ReadStepLog returns up to limit bytes (limit <= 0: all, for a log on
// this server's disk or in the blob store) of step s of job j from offset:
// from this server's disk when it ran the step, else from the blob store
// once the step has ended, else through remote (when not nil) from the
// server that runs it. store.ErrNotFound when there is no log to read
// (yet). The bytes a remote read returns are bounded by MaxLogChunk.
func (e *Engine) ReadStepLog(ctx context.Context, j store.Job, s store.Step, offset, limit int64, remote RemoteLog) ([]byte, error) {
	b, err := readLogFile(e.StepLogPath(j.Workspace, j.Name, s.Name), offset, limit)
	if !errors.Is(err, os.ErrNotExist) {
		return b, err
	}
	if s.Log != "" {
		return e.readLogBlob(ctx, s.Log, offset, limit)
	}
	if remote == nil || j.Owner == "" || j.Owner == e.cfg.Replica {
		return nil, fmt.Errorf("log of step %s of job %s: %w", s.Name, j.Name, store.ErrNotFound)
	}
	if limit <= 0 || limit > MaxLogChunk {
		limit = MaxLogChunk
	}
	b, err = remote(ctx, j.Owner, j.Workspace, j.Name, s.Name, offset, limit)
	if int64(len(b)) > limit {
		b = b[:limit]
	}
	return b, err
}

// readLogFile reads up to limit bytes (limit <= 0: all) of the file at
// path from offset; an error wrapping os.ErrNotExist when there is none.
func readLogFile(path string, offset, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read log %s: %w", path, err)
	}
	return readUpTo(f, limit)
}

// readLogBlob reads up to limit bytes (limit <= 0: all) of the log blob
// digest from offset.
func (e *Engine) readLogBlob(ctx context.Context, digest string, offset, limit int64) ([]byte, error) {
	rc, err := e.cfg.Blobs.Open(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", digest, err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // the whole log was read already
		}
		return nil, fmt.Errorf("read log %s: %w", digest, err)
	}
	b, err := readUpTo(rc, limit)
	if err != nil {
		return nil, fmt.Errorf("read log %s: %w", digest, err)
	}
	return b, nil
}

// readUpTo reads up to limit bytes of r (limit <= 0: all).
func readUpTo(r io.Reader, limit int64) ([]byte, error) {
	if limit > 0 {
		r = io.LimitReader(r, limit)
	}
	return io.ReadAll(r)
}

// keepLog, on servers sharing a store, puts the log of the step st ends
// into the blob store and records its digest in st.Log, so that every
// server serves it after this one has gone. A log that cannot be kept is
// logged and left: the step's result stands.
func (r *jobRun) keepLog(st *store.Step) {
	if r.e.cfg.Leases == nil {
		return
	}
	f, err := os.Open(r.e.StepLogPath(r.job.Workspace, r.job.Name, st.Name))
	if errors.Is(err, os.ErrNotExist) {
		return // the step ended before it had a log
	}
	if err == nil {
		defer f.Close()
		st.Log, _, err = r.e.cfg.Blobs.Put(context.WithoutCancel(r.ctx), f)
	}
	if err != nil {
		r.e.cfg.Logger.Warn("keep a finished step's log in the blob store", "job", r.job.Name, "step", st.Name, "err", err)
	}
}
