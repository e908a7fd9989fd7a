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
	f, err := os.Open(s.LogPath(id))
	if errors.Is(err, os.ErrNotExist) && follow {
		// Not started yet: wait for the log to appear.
		for errors.Is(err, os.ErrNotExist) {
			if done, derr := s.done(ctx, ws, id); derr != nil || done {
				return derr
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
			f, err = os.Open(s.LogPath(id))
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil // a run that never started has no log
	}
	if err != nil {
		return fmt.Errorf("open the log of run %d: %w", id, err)
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
		done, err := s.done(ctx, ws, id)
		if err != nil {
			return err
		}
		if done {
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
