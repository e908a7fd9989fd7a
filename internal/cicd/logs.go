package cicd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// StreamLog writes run id's log to w; with follow it keeps writing what
// the run adds until the run completes or ctx ends. flush, when not nil, is
// called after each write so a client sees lines as they come.
func (s *Service) StreamLog(ctx context.Context, ws string, id int64, w io.Writer, flush func(), follow bool) error {
	if _, err := s.cfg.Store.GetRun(ctx, ws, id); err != nil {
		return err
	}
	return s.streamFile(ctx, s.LogPath(id), w, flush, follow, func() (bool, error) { return s.done(ctx, ws, id) })
}

// StreamJobLog is StreamLog for the job at index job of the run's
// timeline alone; following ends when that job (or the run) completes.
// A job index the run does not have is an error wrapping ErrInvalid.
func (s *Service) StreamJobLog(ctx context.Context, ws string, id int64, job int, w io.Writer, flush func(), follow bool) error {
	r, err := s.cfg.Store.GetRun(ctx, ws, id)
	if err != nil {
		return err
	}
	if job < 0 || (r.Status == StatusCompleted && job >= len(r.Jobs)) {
		return fmt.Errorf("run %d has no job %d: %w", id, job, ErrInvalid)
	}
	return s.streamFile(ctx, s.JobLogPath(id, job), w, flush, follow, func() (bool, error) {
		r, err := s.cfg.Store.GetRun(ctx, ws, id)
		if err != nil {
			return false, err
		}
		return r.Status == StatusCompleted || (job < len(r.Jobs) && r.Jobs[job].Status == "completed"), nil
	})
}

// streamFile copies path to w, and with follow what is added to it until
// done says the writer finished (waiting for the file while it is absent).
func (s *Service) streamFile(ctx context.Context, path string, w io.Writer, flush func(), follow bool, done func() (bool, error)) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && follow {
		// Not started yet: wait for the log to appear.
		for errors.Is(err, os.ErrNotExist) {
			if over, derr := done(); derr != nil || over {
				return derr
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
			f, err = os.Open(path)
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil // a run or job that never started has no log
	}
	if err != nil {
		return fmt.Errorf("open the log %s: %w", path, err)
	}
	defer f.Close()
	for {
		n, err := io.Copy(w, f)
		if err != nil {
			return nil // the client went away
		}
		if n > 0 && flush != nil {
			flush()
		}
		if !follow {
			return nil
		}
		over, err := done()
		if err != nil {
			return err
		}
		if over {
			_, _ = io.Copy(w, f) // what was written before completion
			if flush != nil {
				flush()
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// done reports whether run id has completed.
func (s *Service) done(ctx context.Context, ws string, id int64) (bool, error) {
	r, err := s.cfg.Store.GetRun(ctx, ws, id)
	return err == nil && r.Status == StatusCompleted, err
}
