package serving

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// followCheck is how often a followed log checks that its deployment
// still exists, so a stream of a deleted deployment ends.
const followCheck = 10 * time.Second

// maxFollowRead bounds what one wake-up of a follower reads, so a burst
// of output is sent in pieces rather than held in memory whole.
const maxFollowRead = 1 << 20

// FollowDeploymentLogs writes the last lines of a deployment's log (500
// when lines <= 0), as DeploymentLogs returns them, then what is appended
// to it as it is written, calling flush after each piece, until ctx ends,
// the deployment is deleted, or a write fails. Errors match
// store.ErrNotFound when there is no such deployment.
func (m *Manager) FollowDeploymentLogs(ctx context.Context, ws, endpoint, name string, lines int, w io.Writer, flush func()) error {
	if _, err := m.GetDeployment(ctx, ws, endpoint, name); err != nil {
		return err
	}
	if lines <= 0 {
		lines = 500
	}
	sink, err := m.logFor(ws, endpoint, name)
	if err != nil {
		return err
	}
	grew, stop := sink.subscribe()
	defer stop()
	f, err := os.Open(sink.path)
	if err != nil {
		return fmt.Errorf("follow deployment log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("follow deployment log: %w", err)
	}
	off := fi.Size()
	text, err := tailAt(f, off, lines)
	if err != nil {
		return fmt.Errorf("follow deployment log: %w", err)
	}
	if _, err := io.WriteString(w, text); err != nil {
		return err
	}
	flush()
	check := time.NewTicker(followCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-check.C:
			if _, err := m.GetDeployment(ctx, ws, endpoint, name); err != nil {
				return nil
			}
		case <-grew:
			if off, err = copyNew(f, off, w); err != nil {
				return err
			}
			flush()
		}
	}
}

// copyNew writes what f holds past off to w and returns the new offset;
// a file shorter than off (truncated) is read from its start.
func copyNew(f *os.File, off int64, w io.Writer) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return off, fmt.Errorf("follow deployment log: %w", err)
	}
	if fi.Size() < off {
		off = 0
	}
	for off < fi.Size() {
		n, err := io.Copy(w, io.NewSectionReader(f, off, min(fi.Size()-off, maxFollowRead)))
		off += n
		if err != nil {
			return off, err
		}
		if n == 0 {
			break
		}
	}
	return off, nil
}
