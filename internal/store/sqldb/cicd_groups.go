package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/cicd"
)

// Variable groups (0008_cicd_variable_groups.up.sql).

// CreateVariableGroup stores g (a zero CreatedAt is set to now) and returns
// it with its ID; store.ErrConflict when ws has a group of that name,
// store.ErrNotFound when the workspace does not exist.
func (c *CICDStore) CreateVariableGroup(ctx context.Context, g cicd.VariableGroup) (cicd.VariableGroup, error) {
	g.CreatedAt = nowIfZero(g.CreatedAt).UTC().Round(0)
	if g.Variables == nil {
		g.Variables = map[string]string{}
	}
	vars, err := json.Marshal(g.Variables)
	if err == nil {
		err = c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `INSERT INTO cicd_variable_groups (workspace, name, description, variables, created_at)
				VALUES (?, ?, ?, ?, ?) RETURNING id`, g.Workspace, g.Name, g.Description, string(vars), timeArg(g.CreatedAt),
			).Scan(&g.ID)
		})
	}
	if err != nil {
		return cicd.VariableGroup{}, opErr(fmt.Sprintf("create variable group %q in workspace %q", g.Name, g.Workspace), err)
	}
	return g, nil
}

const cicdGroupCols = `id, workspace, name, description, variables, created_at`

func scanVariableGroup(sc scanner) (cicd.VariableGroup, error) {
	var (
		g       cicd.VariableGroup
		vars    string
		created int64
	)
	if err := sc.Scan(&g.ID, &g.Workspace, &g.Name, &g.Description, &vars, &created); err != nil {
		return g, err
	}
	if err := json.Unmarshal([]byte(vars), &g.Variables); err != nil {
		return g, fmt.Errorf("decode stored variable group %q: %w", g.Name, err)
	}
	g.CreatedAt = timeCol(created)
	return g, nil
}

// GetVariableGroup returns the group ws/name; store.ErrNotFound when absent.
func (c *CICDStore) GetVariableGroup(ctx context.Context, ws, name string) (cicd.VariableGroup, error) {
	g, err := scanVariableGroup(c.s.rdb.QueryRowContext(ctx,
		`SELECT `+cicdGroupCols+` FROM cicd_variable_groups WHERE workspace = ? AND name = ?`, ws, name))
	if err != nil {
		return cicd.VariableGroup{}, opErr(fmt.Sprintf("get variable group %q in workspace %q", name, ws), notFoundIfNone(err))
	}
	return g, nil
}

// ListVariableGroups returns ws's groups by name; store.ErrNotFound when
// the workspace does not exist.
func (c *CICDStore) ListVariableGroups(ctx context.Context, ws string) ([]cicd.VariableGroup, error) {
	rows, err := c.s.rdb.QueryContext(ctx,
		`SELECT `+cicdGroupCols+` FROM cicd_variable_groups WHERE workspace = ? ORDER BY name`, ws)
	if err != nil {
		return nil, fmt.Errorf("list variable groups of workspace %q: %w", ws, err)
	}
	out, err := collect(rows, scanVariableGroup)
	if err == nil && len(out) == 0 {
		err = c.s.requireWorkspace(ctx, ws)
	}
	if err != nil {
		return nil, fmt.Errorf("list variable groups of workspace %q: %w", ws, err)
	}
	return out, nil
}

// DeleteVariableGroup deletes the group ws/name; store.ErrNotFound when
// absent.
func (c *CICDStore) DeleteVariableGroup(ctx context.Context, ws, name string) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM cicd_variable_groups WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete variable group %q in workspace %q", name, ws), err)
}
