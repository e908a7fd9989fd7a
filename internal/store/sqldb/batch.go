package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/batch"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Batch endpoints, deployments and their job records
// (0013_batch_endpoints.up.sql). Like the online endpoints', these
// statements are compiled per call: they are rare next to step updates.

var _ batch.Store = (*Store)(nil)

// callbackErr marks an error a caller's callback returned, so that it comes
// back unwrapped.
type callbackErr struct{ err error }

func (e callbackErr) Error() string { return e.err.Error() }

// unwrapCallback returns the callback's own error when err is one, else
// opErr(op, err).
func unwrapCallback(op string, err error) error {
	var cb callbackErr
	if errors.As(err, &cb) {
		return cb.err
	}
	return opErr(op, err)
}

// batchDeploymentNames returns the names of an endpoint's deployments.
func batchDeploymentNames(ctx context.Context, tx *sql.Tx, ws, endpoint string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM batch_deployments WHERE workspace = ? AND endpoint = ? ORDER BY name`, ws, endpoint)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc scanner) (string, error) {
		var n string
		return n, sc.Scan(&n)
	})
}

// putBatchEndpointRow writes e over its row (insert when created).
func putBatchEndpointRow(ctx context.Context, tx *sql.Tx, e batch.Endpoint, create bool) error {
	rec, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if create {
		_, err = tx.ExecContext(ctx, `INSERT INTO batch_endpoints (workspace, name, record, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			e.Workspace, e.Name, string(rec), timeArg(nowIfZero(e.CreatedAt)), timeArg(nowIfZero(e.UpdatedAt)))
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE batch_endpoints SET record = ?, updated_at = ? WHERE workspace = ? AND name = ?`,
		string(rec), timeArg(nowIfZero(e.UpdatedAt)), e.Workspace, e.Name)
	return err
}

// getBatchEndpointTx reads an endpoint inside a transaction.
func getBatchEndpointTx(ctx context.Context, tx *sql.Tx, ws, name string) (batch.Endpoint, error) {
	var e batch.Endpoint
	err := scanRecord(tx.QueryRowContext(ctx, `SELECT record FROM batch_endpoints WHERE workspace = ? AND name = ?`, ws, name), &e)
	return e, err
}

// PutBatchEndpoint creates e, or applies fn to the stored endpoint, in one
// transaction; store.ErrNotFound when the workspace does not exist.
func (s *Store) PutBatchEndpoint(ctx context.Context, e batch.Endpoint, fn func(*batch.Endpoint, bool, []string) error) (batch.Endpoint, error) {
	var out batch.Endpoint
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := getBatchEndpointTx(ctx, tx, e.Workspace, e.Name)
		existed := err == nil
		switch {
		case errors.Is(err, store.ErrNotFound):
			cur = e
		case err != nil:
			return err
		}
		deps, err := batchDeploymentNames(ctx, tx, e.Workspace, e.Name)
		if err != nil {
			return err
		}
		if err := fn(&cur, existed, deps); err != nil {
			return callbackErr{err}
		}
		cur.Workspace, cur.Name = e.Workspace, e.Name
		if err := putBatchEndpointRow(ctx, tx, cur, !existed); err != nil {
			return err
		}
		out = cur
		return nil
	})
	return out, unwrapCallback(fmt.Sprintf("put batch endpoint %q in workspace %q", e.Name, e.Workspace), err)
}

// GetBatchEndpoint returns one endpoint; store.ErrNotFound when absent.
func (s *Store) GetBatchEndpoint(ctx context.Context, ws, name string) (batch.Endpoint, error) {
	var e batch.Endpoint
	err := scanRecord(s.rdb.QueryRowContext(ctx, `SELECT record FROM batch_endpoints WHERE workspace = ? AND name = ?`, ws, name), &e)
	return e, opErr(fmt.Sprintf("get batch endpoint %q in workspace %q", name, ws), err)
}

// ListBatchEndpoints returns a workspace's endpoints by name;
// store.ErrNotFound when the workspace does not exist.
func (s *Store) ListBatchEndpoints(ctx context.Context, ws string) ([]batch.Endpoint, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT record FROM batch_endpoints WHERE workspace = ? ORDER BY name`, ws)
	if err != nil {
		return nil, fmt.Errorf("list batch endpoints: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (batch.Endpoint, error) {
		var e batch.Endpoint
		return e, scanRecord(sc, &e)
	})
	if err == nil && len(out) == 0 {
		err = s.requireWorkspace(ctx, ws)
	}
	if err != nil {
		return nil, fmt.Errorf("list batch endpoints: %w", err)
	}
	return out, nil
}

// DeleteBatchEndpoint deletes an endpoint, its deployments and job
// records.
func (s *Store) DeleteBatchEndpoint(ctx context.Context, ws, name string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM batch_endpoints WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete batch endpoint %q in workspace %q", name, ws), err)
}

// PutBatchDeployment creates or replaces d and lets fn change its endpoint,
// in one transaction; store.ErrNotFound when the endpoint does not exist.
func (s *Store) PutBatchDeployment(ctx context.Context, d batch.Deployment, fn func(*batch.Endpoint, bool) error) (batch.Endpoint, error) {
	var out batch.Endpoint
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		e, err := getBatchEndpointTx(ctx, tx, d.Workspace, d.Endpoint)
		if err != nil {
			return err
		}
		var created int64
		err = tx.QueryRowContext(ctx, `SELECT created_at FROM batch_deployments WHERE workspace = ? AND endpoint = ? AND name = ?`,
			d.Workspace, d.Endpoint, d.Name).Scan(&created)
		existed := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		before := e
		if err := fn(&e, existed); err != nil {
			return callbackErr{err}
		}
		if existed {
			d.CreatedAt = timeCol(created) // a replaced deployment keeps its birth
		}
		rec, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO batch_deployments (workspace, endpoint, name, record, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, endpoint, name) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at`,
			d.Workspace, d.Endpoint, d.Name, string(rec), timeArg(nowIfZero(d.CreatedAt)), timeArg(nowIfZero(d.UpdatedAt))); err != nil {
			return err
		}
		if e.DefaultDeployment != before.DefaultDeployment || e.UpdatedAt != before.UpdatedAt {
			if err := putBatchEndpointRow(ctx, tx, e, false); err != nil {
				return err
			}
		}
		out = e
		return nil
	})
	return out, unwrapCallback(fmt.Sprintf("put batch deployment %q of endpoint %q", d.Name, d.Endpoint), err)
}

// GetBatchDeployment returns one deployment; store.ErrNotFound when absent.
func (s *Store) GetBatchDeployment(ctx context.Context, ws, endpoint, name string) (batch.Deployment, error) {
	var d batch.Deployment
	err := scanRecord(s.rdb.QueryRowContext(ctx, `SELECT record FROM batch_deployments
		WHERE workspace = ? AND endpoint = ? AND name = ?`, ws, endpoint, name), &d)
	return d, opErr(fmt.Sprintf("get batch deployment %q of endpoint %q", name, endpoint), err)
}

// ListBatchDeployments returns an endpoint's deployments by name.
func (s *Store) ListBatchDeployments(ctx context.Context, ws, endpoint string) ([]batch.Deployment, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT record FROM batch_deployments WHERE workspace = ? AND endpoint = ? ORDER BY name`, ws, endpoint)
	if err != nil {
		return nil, fmt.Errorf("list batch deployments: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (batch.Deployment, error) {
		var d batch.Deployment
		return d, scanRecord(sc, &d)
	})
	if err != nil {
		return nil, fmt.Errorf("list batch deployments: %w", err)
	}
	return out, nil
}

// DeleteBatchDeployment deletes a deployment once fn agrees, in one
// transaction; store.ErrNotFound when it does not exist.
func (s *Store) DeleteBatchDeployment(ctx context.Context, ws, endpoint, name string, fn func(*batch.Endpoint, []string) error) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		e, err := getBatchEndpointTx(ctx, tx, ws, endpoint)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM batch_deployments WHERE workspace = ? AND endpoint = ? AND name = ?`, ws, endpoint, name)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		remaining, err := batchDeploymentNames(ctx, tx, ws, endpoint)
		if err != nil {
			return err
		}
		before := e
		if err := fn(&e, remaining); err != nil {
			return callbackErr{err}
		}
		if e.DefaultDeployment != before.DefaultDeployment || e.UpdatedAt != before.UpdatedAt {
			return putBatchEndpointRow(ctx, tx, e, false)
		}
		return nil
	})
	return unwrapCallback(fmt.Sprintf("delete batch deployment %q of endpoint %q", name, endpoint), err)
}

// AddBatchJob records a job an invocation started; store.ErrNotFound when
// the endpoint does not exist.
func (s *Store) AddBatchJob(ctx context.Context, r batch.JobRecord) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO batch_jobs (workspace, endpoint, deployment, job, created_at) VALUES (?, ?, ?, ?, ?)`,
			r.Workspace, r.Endpoint, r.Deployment, r.Job, timeArg(nowIfZero(r.CreatedAt)))
		return err
	})
	return opErr(fmt.Sprintf("record job %q of batch endpoint %q", r.Job, r.Endpoint), err)
}

// RemoveBatchJob removes a job record; store.ErrNotFound when there is
// none.
func (s *Store) RemoveBatchJob(ctx context.Context, ws, job string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM batch_jobs WHERE workspace = ? AND job = ?`, ws, job)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("remove record of batch job %q", job), err)
}

// ListBatchJobs returns the job records of an endpoint (of one deployment
// when deployment is set), newest first.
func (s *Store) ListBatchJobs(ctx context.Context, ws, endpoint, deployment string) ([]batch.JobRecord, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT workspace, endpoint, deployment, job, created_at FROM batch_jobs
		WHERE workspace = ?1 AND endpoint = ?2 AND (?3 = '' OR deployment = ?3) ORDER BY created_at DESC, job DESC`, ws, endpoint, deployment)
	if err != nil {
		return nil, fmt.Errorf("list batch jobs: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (batch.JobRecord, error) {
		var r batch.JobRecord
		var created int64
		err := sc.Scan(&r.Workspace, &r.Endpoint, &r.Deployment, &r.Job, &created)
		r.CreatedAt = timeCol(created)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list batch jobs: %w", err)
	}
	return out, nil
}
