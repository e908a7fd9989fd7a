package cicd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// StopWorkspace cancels workspace ws's unfinished runs, waits until they
// have stopped (or ctx ends), and removes the logs of all its runs. It is
// what deleting a workspace asks of CI/CD; the runs' records go with the
// workspace's.
func (s *Service) StopWorkspace(ctx context.Context, ws string) error {
	runs, err := s.cfg.Store.ListRuns(ctx, ws, "", 0)
	if err != nil {
		return fmt.Errorf("stop pipeline runs of workspace %s: %w", ws, err)
	}
	var ids []int64
	for _, r := range runs {
		if r.Status == StatusCompleted {
			continue
		}
		if _, err := s.Cancel(ctx, ws, r.ID); err != nil {
			return fmt.Errorf("cancel pipeline run %d: %w", r.ID, err)
		}
		ids = append(ids, r.ID)
	}
	if err := s.waitInactive(ctx, ids); err != nil {
		return fmt.Errorf("stop pipeline runs of workspace %s: %w", ws, err)
	}
	var errs []error
	for _, r := range runs {
		if err := os.Remove(s.LogPath(r.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		for i := range r.Jobs {
			if err := os.Remove(s.JobLogPath(r.ID, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// waitInactive waits until none of the runs ids is running here.
func (s *Service) waitInactive(ctx context.Context, ids []int64) error {
	for {
		s.mu.Lock()
		busy := 0
		for _, id := range ids {
			if s.active[id] != nil {
				busy++
			}
		}
		s.mu.Unlock()
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d run(s) still stopping: %w", busy, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
