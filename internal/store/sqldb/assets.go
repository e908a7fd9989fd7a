package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/store"
)

// PutAsset creates an asset version. Identical Spec bytes are a no-op; a
// different Spec is store.ErrConflict unless replace, which rewrites the
// Spec in place and keeps the version's creation order, CreatedAt and
// Archived flag. store.ErrNotFound if the workspace does not exist.
func (s *Store) PutAsset(ctx context.Context, a store.Asset, replace bool) error {
	spec := string(a.Spec)
	created := timeArg(nowIfZero(a.CreatedAt))
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var old string
		err := tx.StmtContext(ctx, s.ws.assetSpec).QueryRowContext(ctx,
			a.Workspace, a.Kind, a.Name, a.Version).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.StmtContext(ctx, s.ws.insertAsset).ExecContext(ctx,
				a.Workspace, a.Kind, a.Name, a.Version, spec, a.Archived, created)
			return err
		case err != nil:
			return err
		case old == spec:
			return nil
		case !replace:
			return store.ErrConflict
		}
		_, err = tx.StmtContext(ctx, s.ws.replaceAssetSpec).ExecContext(ctx,
			spec, a.Workspace, a.Kind, a.Name, a.Version)
		return err
	})
	return opErr(fmt.Sprintf("put %s %q version %q in workspace %q", a.Kind, a.Name, a.Version, a.Workspace), err)
}

// GetAsset returns one version; version "" means the latest non-archived
// version by creation order. store.ErrNotFound when absent.
func (s *Store) GetAsset(ctx context.Context, ws, kind, name, version string) (store.Asset, error) {
	var row *sql.Row
	if version == "" {
		row = s.rs.latestAsset.QueryRowContext(ctx, ws, kind, name)
	} else {
		row = s.rs.getAsset.QueryRowContext(ctx, ws, kind, name, version)
	}
	a, err := scanAsset(row)
	if err != nil {
		return store.Asset{}, opErr(
			fmt.Sprintf("get %s %q version %q in workspace %q", kind, name, version, ws), notFoundIfNone(err))
	}
	return a, nil
}

// ListAssets lists a workspace's assets of a kind, newest first: every
// version (archived ones included) when name is set, else the latest
// non-archived version of each name, the one GetAsset with version ""
// returns. store.ErrNotFound when the workspace does not exist.
func (s *Store) ListAssets(ctx context.Context, ws, kind, name string) ([]store.Asset, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if name != "" {
		rows, err = s.rs.listAssetVersions.QueryContext(ctx, ws, kind, name)
	} else {
		rows, err = s.rs.listLatestAssets.QueryContext(ctx, ws, kind)
	}
	if err == nil {
		var out []store.Asset
		if out, err = collect(rows, scanAsset); err == nil && len(out) == 0 {
			err = s.requireWorkspace(ctx, ws)
		}
		if err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list %s assets in workspace %q: %w", kind, ws, err)
}

// ArchiveAsset sets Archived on one version, or on all versions when version
// is "". store.ErrNotFound when no such version exists.
func (s *Store) ArchiveAsset(ctx context.Context, ws, kind, name, version string, archived bool) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.ws.archiveAsset).ExecContext(ctx, archived, ws, kind, name, version)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("archive %s %q version %q in workspace %q", kind, name, version, ws), err)
}

// DeleteAsset removes one version, or all versions when version is "".
// store.ErrNotFound when there was nothing to remove.
func (s *Store) DeleteAsset(ctx context.Context, ws, kind, name, version string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.ws.deleteAsset).ExecContext(ctx, ws, kind, name, version)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete %s %q version %q in workspace %q", kind, name, version, ws), err)
}
