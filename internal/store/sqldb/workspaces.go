package sqldb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/store"
)

// opErr wraps err with what was being done, first turning a constraint
// violation into the store sentinel it means. It returns nil for nil.
func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if k := constraint(err); k != nil {
		err = k
	}
	return fmt.Errorf("%s: %w", op, err)
}

// CreateWorkspace creates w; store.ErrConflict if the name is taken. A zero
// CreatedAt is set to now.
func (s *Store) CreateWorkspace(ctx context.Context, w store.Workspace) error {
	tags, err := mapArg(w.Tags)
	if err != nil {
		return fmt.Errorf("create workspace %q: %w", w.Name, err)
	}
	created := timeArg(nowIfZero(w.CreatedAt))
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, s.ws.insertWorkspace).ExecContext(ctx,
			w.Name, w.ResourceGroup, w.Location, w.DisplayName, w.Description, tags, created)
		return err
	})
	return opErr(fmt.Sprintf("create workspace %q", w.Name), err)
}

// GetWorkspace returns store.ErrNotFound when there is no such workspace.
func (s *Store) GetWorkspace(ctx context.Context, name string) (store.Workspace, error) {
	w, err := scanWorkspace(s.rs.getWorkspace.QueryRowContext(ctx, name))
	if err != nil {
		return store.Workspace{}, opErr(fmt.Sprintf("get workspace %q", name), notFoundIfNone(err))
	}
	return w, nil
}

// ListWorkspaces returns every workspace, ordered by name.
func (s *Store) ListWorkspaces(ctx context.Context) ([]store.Workspace, error) {
	rows, err := s.rs.listWorkspaces.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	out, err := collect(rows, scanWorkspace)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	return out, nil
}

// DeleteWorkspace removes the workspace with its assets, jobs, steps and
// reuse entries (foreign keys cascade); store.ErrNotFound if absent.
func (s *Store) DeleteWorkspace(ctx context.Context, name string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.ws.deleteWorkspace).ExecContext(ctx, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete workspace %q", name), err)
}

// requireWorkspace returns store.ErrNotFound unless workspace ws exists. The
// list methods call it only when they found nothing, to tell "empty" from
// "no such workspace" without a query on the common path.
func (s *Store) requireWorkspace(ctx context.Context, ws string) error {
	var one int
	if err := s.rs.workspaceExists.QueryRowContext(ctx, ws).Scan(&one); err != nil {
		return fmt.Errorf("workspace %q: %w", ws, notFoundIfNone(err))
	}
	return nil
}
