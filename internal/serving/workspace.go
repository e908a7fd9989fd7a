package serving

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// DeleteWorkspace stops and deletes every endpoint of workspace ws (its
// scoring URIs stop answering, old keys included, and its workers stop),
// then closes and removes the deployments' logs. It is what deleting a
// workspace asks of serving; the workspace's records are the caller's.
func (m *Manager) DeleteWorkspace(ctx context.Context, ws string) error {
	if err := spec.CheckName("workspace", ws); err != nil {
		return err
	}
	es, err := m.ListEndpoints(ctx, ws)
	if err != nil {
		return fmt.Errorf("stop endpoints of workspace %s: %w", ws, err)
	}
	var errs []error
	for _, e := range es {
		if err := m.DeleteEndpoint(ctx, ws, e.Name); err != nil {
			errs = append(errs, fmt.Errorf("stop endpoint %s: %w", e.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m.mu.Lock()
	for k, l := range m.logs {
		if strings.HasPrefix(k, ws+"/") {
			_ = l.close()
			delete(m.logs, k)
		}
	}
	m.mu.Unlock()
	if err := os.RemoveAll(filepath.Join(m.dir, "logs", ws)); err != nil {
		return fmt.Errorf("remove endpoint logs of workspace %s: %w", ws, err)
	}
	return nil
}
