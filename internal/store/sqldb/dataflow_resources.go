package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// Data Factory resources and secrets (0015_dataflow_resources.up.sql).

var _ dataflow.Store = (*DataflowStore)(nil)

// DataflowStore is the dataflow.Store kept in a Store's database: a view
// sharing the Store's writer and readers, closed with it.
type DataflowStore struct {
	s *Store
}

// Dataflow returns the dataflow.Store view of s.
func (s *Store) Dataflow() *DataflowStore { return &DataflowStore{s: s} }

// runtime_state (0015) is no longer used: the trigger scheduler
// (dataflow_triggers) keeps a trigger's runtime state; it is written "".
const resourceCols = `kind, name, properties, etag, runtime_state, created_at, updated_at`

func scanResource(sc scanner) (dataflow.Resource, error) {
	var (
		r                dataflow.Resource
		kind, props      string
		unused           string
		created, updated int64
	)
	if err := sc.Scan(&kind, &r.Name, &props, &r.ETag, &unused, &created, &updated); err != nil {
		return r, err
	}
	r.Kind, r.Properties = factory.Kind(kind), []byte(props)
	r.CreatedAt, r.UpdatedAt = timeCol(created), timeCol(updated)
	return r, nil
}

// newETag returns a fresh opaque etag.
func newETag() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PutResources creates or replaces rs in one transaction (see
// dataflow.Store).
func (c *DataflowStore) PutResources(ctx context.Context, ws string, rs []dataflow.Resource) ([]dataflow.Resource, error) {
	now := time.Now().UTC().Round(0)
	out := make([]dataflow.Resource, len(rs))
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := requireWorkspaceTx(ctx, tx, ws); err != nil {
			return err
		}
		for i, r := range rs {
			w, err := putResource(ctx, tx, ws, r, now)
			if err != nil {
				return err
			}
			out[i] = w
		}
		// References are checked once all are written, so that resources
		// imported together may name each other in any order.
		for _, r := range rs {
			if err := checkReferences(ctx, tx, ws, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, opErr(fmt.Sprintf("put %d factory resources in workspace %q", len(rs), ws), err)
	}
	return out, nil
}

// putResource writes one resource and its references within tx.
func putResource(ctx context.Context, tx *sql.Tx, ws string, r dataflow.Resource, now time.Time) (dataflow.Resource, error) {
	self := dataflow.Ref{Kind: r.Kind, Name: r.Name}
	old, err := scanResource(tx.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM dataflow_resources
		WHERE workspace = ? AND kind = ? AND name = ?`, ws, string(r.Kind), r.Name))
	exists := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return r, err
	}
	if r.ETag != "" && (!exists || old.ETag != r.ETag) {
		return r, &dataflow.PreconditionError{Ref: self, ETag: r.ETag}
	}
	r.CreatedAt, r.UpdatedAt, r.ETag = now, now, newETag()
	if exists {
		r.CreatedAt = old.CreatedAt
		if _, err := tx.ExecContext(ctx, `DELETE FROM dataflow_references WHERE workspace = ? AND kind = ? AND name = ?`,
			ws, string(r.Kind), r.Name); err != nil {
			return r, err
		}
	}
	// The name is written as this write spells it: renaming a resource's
	// case is a write like any other.
	if _, err := tx.ExecContext(ctx, `INSERT INTO dataflow_resources (workspace, `+resourceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace, kind, name) DO UPDATE SET name = excluded.name, properties = excluded.properties,
		etag = excluded.etag, runtime_state = excluded.runtime_state, updated_at = excluded.updated_at`,
		ws, string(r.Kind), r.Name, string(r.Properties), r.ETag, "", timeArg(r.CreatedAt), timeArg(now)); err != nil {
		return r, err
	}
	for _, ref := range r.References {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dataflow_references (workspace, kind, name, ref_kind, ref_name)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, ws, string(r.Kind), r.Name, string(ref.Kind), ref.Name); err != nil {
			return r, err
		}
	}
	return r, nil
}

// checkReferences reports the first reference of r that names no
// resource.
func checkReferences(ctx context.Context, tx *sql.Tx, ws string, r dataflow.Resource) error {
	for _, ref := range r.References {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM dataflow_resources WHERE workspace = ? AND kind = ? AND name = ?`,
			ws, string(ref.Kind), ref.Name).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return &dataflow.MissingReferenceError{From: dataflow.Ref{Kind: r.Kind, Name: r.Name}, To: ref}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// requireWorkspaceTx returns store.ErrNotFound when ws does not exist.
func requireWorkspaceTx(ctx context.Context, tx *sql.Tx, ws string) error {
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM workspaces WHERE name = ?`, ws).Scan(&one); err != nil {
		return fmt.Errorf("workspace %q: %w", ws, notFoundIfNone(err))
	}
	return nil
}

// GetResource returns store.ErrNotFound when absent.
func (c *DataflowStore) GetResource(ctx context.Context, ws string, kind factory.Kind, name string) (dataflow.Resource, error) {
	r, err := scanResource(c.s.rdb.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM dataflow_resources
		WHERE workspace = ? AND kind = ? AND name = ?`, ws, string(kind), name))
	if err != nil {
		return r, opErr(fmt.Sprintf("get %s %q in workspace %q", kind, name, ws), notFoundIfNone(err))
	}
	return r, nil
}

// ListResources returns a workspace's resources of kind by name;
// store.ErrNotFound when the workspace does not exist.
func (c *DataflowStore) ListResources(ctx context.Context, ws string, kind factory.Kind) ([]dataflow.Resource, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT `+resourceCols+` FROM dataflow_resources
		WHERE workspace = ? AND kind = ? ORDER BY name`, ws, string(kind))
	if err == nil {
		var out []dataflow.Resource
		if out, err = collect(rows, scanResource); err == nil && len(out) == 0 {
			err = c.s.requireWorkspace(ctx, ws)
		}
		if err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list %ss in workspace %q: %w", kind, ws, err)
}

// DeleteResource deletes a resource no other references (see
// dataflow.Store).
func (c *DataflowStore) DeleteResource(ctx context.Context, ws string, kind factory.Kind, name string) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		r, err := scanResource(tx.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM dataflow_resources
			WHERE workspace = ? AND kind = ? AND name = ?`, ws, string(kind), name))
		if err != nil {
			return notFoundIfNone(err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT kind, name FROM dataflow_references
			WHERE workspace = ? AND ref_kind = ? AND ref_name = ? AND NOT (kind = ? AND name = ?) ORDER BY kind, name`,
			ws, string(kind), name, string(kind), name)
		if err != nil {
			return err
		}
		users, err := collect(rows, func(sc scanner) (dataflow.Ref, error) {
			var ref dataflow.Ref
			var k string
			err := sc.Scan(&k, &ref.Name)
			ref.Kind = factory.Kind(k)
			return ref, err
		})
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return &dataflow.InUseError{Ref: dataflow.Ref{Kind: r.Kind, Name: r.Name}, UsedBy: users}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM dataflow_resources WHERE workspace = ? AND kind = ? AND name = ?`, ws, string(kind), name)
		return err
	})
	return opErr(fmt.Sprintf("delete %s %q in workspace %q", kind, name, ws), err)
}

// PutSecret creates or replaces a secret; store.ErrNotFound when the
// workspace does not exist.
func (c *DataflowStore) PutSecret(ctx context.Context, ws, name, value string) (dataflow.SecretInfo, error) {
	now := time.Now().UTC().Round(0)
	info := dataflow.SecretInfo{Name: name, CreatedAt: now, UpdatedAt: now}
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT created_at FROM dataflow_secrets WHERE workspace = ? AND name = ?`, ws, name).Scan(&created)
		switch {
		case err == nil:
			info.CreatedAt = timeCol(created)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO dataflow_secrets (workspace, name, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (workspace, name) DO UPDATE SET name = excluded.name, value = excluded.value, updated_at = excluded.updated_at`,
			ws, name, value, timeArg(info.CreatedAt), timeArg(now))
		return err
	})
	if err != nil {
		return dataflow.SecretInfo{}, opErr(fmt.Sprintf("set secret %q in workspace %q", name, ws), err)
	}
	return info, nil
}

// SecretValue returns a secret's value; store.ErrNotFound when absent.
func (c *DataflowStore) SecretValue(ctx context.Context, ws, name string) (string, error) {
	var v string
	err := c.s.rdb.QueryRowContext(ctx, `SELECT value FROM dataflow_secrets WHERE workspace = ? AND name = ?`, ws, name).Scan(&v)
	if err != nil {
		return "", opErr(fmt.Sprintf("get secret %q in workspace %q", name, ws), notFoundIfNone(err))
	}
	return v, nil
}

// ListSecrets returns a workspace's secrets by name, without values.
func (c *DataflowStore) ListSecrets(ctx context.Context, ws string) ([]dataflow.SecretInfo, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT name, created_at, updated_at FROM dataflow_secrets WHERE workspace = ? ORDER BY name`, ws)
	if err == nil {
		var out []dataflow.SecretInfo
		out, err = collect(rows, func(sc scanner) (dataflow.SecretInfo, error) {
			var x dataflow.SecretInfo
			var created, updated int64
			err := sc.Scan(&x.Name, &created, &updated)
			x.CreatedAt, x.UpdatedAt = timeCol(created), timeCol(updated)
			return x, err
		})
		if err == nil && len(out) == 0 {
			err = c.s.requireWorkspace(ctx, ws)
		}
		if err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list secrets in workspace %q: %w", ws, err)
}

// DeleteSecret deletes a secret; store.ErrNotFound when absent.
func (c *DataflowStore) DeleteSecret(ctx context.Context, ws, name string) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dataflow_secrets WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete secret %q in workspace %q", name, ws), err)
}
