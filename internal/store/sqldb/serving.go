package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/serving"
)

// Online endpoints and deployments (0004_serving.up.sql). Like the
// registry's, these statements are compiled per call: endpoint changes are
// rare next to step updates.

var _ serving.Store = (*Store)(nil)

// CreateEndpoint stores e; store.ErrConflict when the name is taken in any
// workspace, store.ErrNotFound when the workspace does not exist.
func (s *Store) CreateEndpoint(ctx context.Context, e serving.Endpoint) error {
	rec, err := json.Marshal(e)
	if err == nil {
		err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO online_endpoints (workspace, name, record, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?)`, e.Workspace, e.Name, string(rec), timeArg(nowIfZero(e.CreatedAt)), timeArg(nowIfZero(e.UpdatedAt)))
			return err
		})
	}
	return opErr(fmt.Sprintf("create online endpoint %q in workspace %q", e.Name, e.Workspace), err)
}

// GetEndpoint returns one endpoint; store.ErrNotFound when absent.
func (s *Store) GetEndpoint(ctx context.Context, ws, name string) (serving.Endpoint, error) {
	var e serving.Endpoint
	err := scanRecord(s.rdb.QueryRowContext(ctx, `SELECT record FROM online_endpoints WHERE workspace = ? AND name = ?`, ws, name), &e)
	return e, opErr(fmt.Sprintf("get online endpoint %q in workspace %q", name, ws), err)
}

// ListEndpoints returns a workspace's endpoints (every workspace's when ws
// is "") ordered by name; store.ErrNotFound when the workspace does not
// exist.
func (s *Store) ListEndpoints(ctx context.Context, ws string) ([]serving.Endpoint, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT record FROM online_endpoints WHERE ?1 = '' OR workspace = ?1 ORDER BY name`, ws)
	if err != nil {
		return nil, fmt.Errorf("list online endpoints: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (serving.Endpoint, error) {
		var e serving.Endpoint
		return e, scanRecord(sc, &e)
	})
	if err == nil && len(out) == 0 && ws != "" {
		err = s.requireWorkspace(ctx, ws)
	}
	if err != nil {
		return nil, fmt.Errorf("list online endpoints: %w", err)
	}
	return out, nil
}

// UpdateEndpoint applies fn to the stored endpoint inside the write
// transaction and stores the result. An error from fn is returned as it is.
func (s *Store) UpdateEndpoint(ctx context.Context, ws, name string, fn func(*serving.Endpoint) error) (serving.Endpoint, error) {
	var out serving.Endpoint
	var fnErr error
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var e serving.Endpoint
		if err := scanRecord(tx.QueryRowContext(ctx, `SELECT record FROM online_endpoints WHERE workspace = ? AND name = ?`, ws, name), &e); err != nil {
			return err
		}
		if fnErr = fn(&e); fnErr != nil {
			return fnErr
		}
		e.Workspace, e.Name = ws, name
		rec, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE online_endpoints SET record = ?, updated_at = ? WHERE workspace = ? AND name = ?`,
			string(rec), timeArg(nowIfZero(e.UpdatedAt)), ws, name); err != nil {
			return err
		}
		out = e
		return nil
	})
	if fnErr != nil {
		return serving.Endpoint{}, fnErr
	}
	return out, opErr(fmt.Sprintf("update online endpoint %q in workspace %q", name, ws), err)
}

// DeleteEndpoint deletes an endpoint and its deployments.
func (s *Store) DeleteEndpoint(ctx context.Context, ws, name string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM online_endpoints WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete online endpoint %q in workspace %q", name, ws), err)
}

// CreateDeployment stores d; store.ErrConflict when the endpoint has one of
// that name, store.ErrNotFound when the endpoint does not exist.
func (s *Store) CreateDeployment(ctx context.Context, d serving.Deployment) error {
	rec, err := json.Marshal(d)
	if err == nil {
		err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO online_deployments
				(workspace, endpoint, name, state, record, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				d.Workspace, d.Endpoint, d.Name, d.State, string(rec), timeArg(nowIfZero(d.CreatedAt)), timeArg(nowIfZero(d.UpdatedAt)))
			return err
		})
	}
	return opErr(fmt.Sprintf("create online deployment %q of endpoint %q", d.Name, d.Endpoint), err)
}

// GetDeployment returns one deployment; store.ErrNotFound when absent.
func (s *Store) GetDeployment(ctx context.Context, ws, endpoint, name string) (serving.Deployment, error) {
	var d serving.Deployment
	err := scanRecord(s.rdb.QueryRowContext(ctx, `SELECT record FROM online_deployments
		WHERE workspace = ? AND endpoint = ? AND name = ?`, ws, endpoint, name), &d)
	return d, opErr(fmt.Sprintf("get online deployment %q of endpoint %q", name, endpoint), err)
}

// ListDeployments returns an endpoint's deployments by name; an empty
// endpoint lists the workspace's, an empty ws every workspace's.
func (s *Store) ListDeployments(ctx context.Context, ws, endpoint string) ([]serving.Deployment, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT record FROM online_deployments
		WHERE (?1 = '' OR workspace = ?1) AND (?2 = '' OR endpoint = ?2) ORDER BY workspace, endpoint, name`, ws, endpoint)
	if err != nil {
		return nil, fmt.Errorf("list online deployments: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (serving.Deployment, error) {
		var d serving.Deployment
		return d, scanRecord(sc, &d)
	})
	if err != nil {
		return nil, fmt.Errorf("list online deployments: %w", err)
	}
	return out, nil
}

// UpdateDeployment applies fn to the stored deployment inside the write
// transaction and stores the result. An error from fn is returned as it is.
func (s *Store) UpdateDeployment(ctx context.Context, ws, endpoint, name string, fn func(*serving.Deployment) error) (serving.Deployment, error) {
	var out serving.Deployment
	var fnErr error
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var d serving.Deployment
		if err := scanRecord(tx.QueryRowContext(ctx, `SELECT record FROM online_deployments
			WHERE workspace = ? AND endpoint = ? AND name = ?`, ws, endpoint, name), &d); err != nil {
			return err
		}
		if fnErr = fn(&d); fnErr != nil {
			return fnErr
		}
		d.Workspace, d.Endpoint, d.Name = ws, endpoint, name
		rec, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE online_deployments SET state = ?, record = ?, updated_at = ?
			WHERE workspace = ? AND endpoint = ? AND name = ?`,
			d.State, string(rec), timeArg(nowIfZero(d.UpdatedAt)), ws, endpoint, name); err != nil {
			return err
		}
		out = d
		return nil
	})
	if fnErr != nil {
		return serving.Deployment{}, fnErr
	}
	return out, opErr(fmt.Sprintf("update online deployment %q of endpoint %q", name, endpoint), err)
}

// DeleteDeployment deletes one deployment.
func (s *Store) DeleteDeployment(ctx context.Context, ws, endpoint, name string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM online_deployments WHERE workspace = ? AND endpoint = ? AND name = ?`, ws, endpoint, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete online deployment %q of endpoint %q", name, endpoint), err)
}

// scanRecord reads a JSON record column into v; "no rows" is
// store.ErrNotFound.
func scanRecord(sc scanner, v any) error {
	var rec string
	if err := sc.Scan(&rec); err != nil {
		return notFoundIfNone(err)
	}
	if err := json.Unmarshal([]byte(rec), v); err != nil {
		return fmt.Errorf("decode stored record: %w", err)
	}
	return nil
}
