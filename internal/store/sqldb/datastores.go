package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/datastore"
)

// Datastores and fetched URLs (0012_datastores.up.sql).

var _ datastore.Store = (*Store)(nil)

// PutDatastore creates ds or replaces the one of the same name, keeping
// its created_at; store.ErrNotFound when the workspace does not exist.
func (s *Store) PutDatastore(ctx context.Context, ds datastore.Datastore) error {
	settings, err := datastoreSettings(ds)
	if err == nil {
		err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO datastores (workspace, name, type, settings, created_at)
				VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (workspace, name) DO UPDATE SET type = excluded.type, settings = excluded.settings`,
				ds.Workspace, ds.Name, ds.Type, settings, timeArg(nowIfZero(ds.CreatedAt)))
			return err
		})
	}
	return opErr(fmt.Sprintf("put datastore %q in workspace %q", ds.Name, ds.Workspace), err)
}

// datastoreSettings is what the settings column keeps: the datastore less
// the columns of its own.
func datastoreSettings(ds datastore.Datastore) (string, error) {
	ds.Workspace, ds.Name, ds.Type, ds.Default = "", "", "", false
	b, err := json.Marshal(ds)
	return string(b), err
}

const datastoreCols = `workspace, name, type, settings, created_at`

func scanDatastore(sc scanner) (datastore.Datastore, error) {
	var (
		ds               datastore.Datastore
		ws, name, typ, s string
		created          int64
	)
	if err := sc.Scan(&ws, &name, &typ, &s, &created); err != nil {
		return ds, err
	}
	if err := json.Unmarshal([]byte(s), &ds); err != nil {
		return ds, fmt.Errorf("decode stored datastore %q: %w", name, err)
	}
	ds.Workspace, ds.Name, ds.Type, ds.CreatedAt = ws, name, typ, timeCol(created)
	return ds, nil
}

// GetDatastore returns one datastore; store.ErrNotFound when absent.
func (s *Store) GetDatastore(ctx context.Context, ws, name string) (datastore.Datastore, error) {
	ds, err := scanDatastore(s.rdb.QueryRowContext(ctx,
		`SELECT `+datastoreCols+` FROM datastores WHERE workspace = ? AND name = ?`, ws, name))
	if err != nil {
		return datastore.Datastore{}, opErr(fmt.Sprintf("get datastore %q in workspace %q", name, ws), notFoundIfNone(err))
	}
	return ds, nil
}

// ListDatastores returns ws's datastores by name; store.ErrNotFound when
// the workspace does not exist.
func (s *Store) ListDatastores(ctx context.Context, ws string) ([]datastore.Datastore, error) {
	rows, err := s.rdb.QueryContext(ctx,
		`SELECT `+datastoreCols+` FROM datastores WHERE workspace = ? ORDER BY name`, ws)
	if err != nil {
		return nil, fmt.Errorf("list datastores of workspace %q: %w", ws, err)
	}
	out, err := collect(rows, scanDatastore)
	if err == nil && len(out) == 0 {
		err = s.requireWorkspace(ctx, ws)
	}
	if err != nil {
		return nil, fmt.Errorf("list datastores of workspace %q: %w", ws, err)
	}
	return out, nil
}

// DeleteDatastore removes one; store.ErrNotFound when absent.
func (s *Store) DeleteDatastore(ctx context.Context, ws, name string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM datastores WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete datastore %q in workspace %q", name, ws), err)
}

// GetFetched returns the cache entry of key; store.ErrNotFound when none.
func (s *Store) GetFetched(ctx context.Context, key string) (datastore.Fetched, error) {
	var (
		f       datastore.Fetched
		fetched int64
	)
	err := s.rdb.QueryRowContext(ctx, `SELECT key, digest, size, etag, last_modified, fetched_at
		FROM fetched_urls WHERE key = ?`, key).Scan(&f.Key, &f.Digest, &f.Size, &f.ETag, &f.LastModified, &fetched)
	if err != nil {
		return datastore.Fetched{}, opErr("get fetched URL", notFoundIfNone(err))
	}
	f.FetchedAt = timeCol(fetched)
	return f, nil
}

// PutFetched records or replaces a cache entry.
func (s *Store) PutFetched(ctx context.Context, f datastore.Fetched) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO fetched_urls (key, digest, size, etag, last_modified, fetched_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET digest = excluded.digest, size = excluded.size,
			etag = excluded.etag, last_modified = excluded.last_modified, fetched_at = excluded.fetched_at`, f.Key, f.Digest, f.Size, f.ETag, f.LastModified, timeArg(nowIfZero(f.FetchedAt)))
		return err
	})
	return opErr("put fetched URL", err)
}
