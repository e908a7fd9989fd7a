package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/ciel-mlops/ciel/internal/registry"
)

// The registry's statements are not prepared up front like the engine's:
// registry writes are rare next to step updates, and SQLite compiles these
// in microseconds.

var _ registry.Store = (*Store)(nil)

const (
	selectRegModel   = `SELECT ` + regModelCols + ` FROM registered_models WHERE workspace = ? AND name = ?`
	selectRegVersion = `SELECT ` + regVersionCols + ` FROM model_versions
		WHERE workspace = ? AND name = ? AND version = ?`
)

// CreateModel creates m; store.ErrConflict when the name is taken,
// store.ErrNotFound when the workspace does not exist.
func (s *Store) CreateModel(ctx context.Context, m registry.Model) error {
	tags, err := mapArg(m.Tags)
	if err == nil {
		created := nowIfZero(m.CreatedAt)
		updated := m.UpdatedAt
		if updated.IsZero() {
			updated = created
		}
		err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO registered_models (`+regModelCols+`)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				m.Workspace, m.Name, m.Description, tags, m.LastVersion, timeArg(created), timeArg(updated))
			return err
		})
	}
	return opErr(fmt.Sprintf("create registered model %q in workspace %q", m.Name, m.Workspace), err)
}

// GetModel returns a model with its aliases; store.ErrNotFound when absent.
func (s *Store) GetModel(ctx context.Context, ws, name string) (registry.Model, error) {
	var m registry.Model
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if m, err = scanRegModel(tx.QueryRowContext(ctx, selectRegModel, ws, name)); err != nil {
			return notFoundIfNone(err)
		}
		aliases, err := loadAliases(ctx, tx, ws, name)
		m.Aliases = aliasMaps(aliases)[name]
		return err
	})
	if err != nil {
		return registry.Model{}, opErr(fmt.Sprintf("get registered model %q in workspace %q", name, ws), err)
	}
	return m, nil
}

// ListModels returns a workspace's models ordered by name.
func (s *Store) ListModels(ctx context.Context, ws string) ([]registry.Model, error) {
	var out []registry.Model
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+regModelCols+` FROM registered_models
			WHERE workspace = ? ORDER BY name`, ws)
		if err != nil {
			return err
		}
		if out, err = collect(rows, scanRegModel); err != nil {
			return err
		}
		if len(out) == 0 {
			return s.requireWorkspace(ctx, ws)
		}
		aliases, err := loadAliases(ctx, tx, ws, "")
		byModel := aliasMaps(aliases)
		for i := range out {
			out[i].Aliases = byModel[out[i].Name]
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list registered models in workspace %q: %w", ws, err)
	}
	return out, nil
}

// UpdateModel applies fn to the stored model inside the write transaction
// and stores Description, Tags and UpdatedAt (now when fn leaves it
// unchanged).
func (s *Store) UpdateModel(ctx context.Context, ws, name string, fn func(*registry.Model) error) (registry.Model, error) {
	var out registry.Model
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		m, err := scanRegModel(tx.QueryRowContext(ctx, selectRegModel, ws, name))
		if err != nil {
			return notFoundIfNone(err)
		}
		before := m.UpdatedAt
		if err := fn(&m); err != nil {
			return err
		}
		if m.UpdatedAt.Equal(before) {
			m.UpdatedAt = time.Now()
		}
		tags, err := mapArg(m.Tags)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE registered_models SET description = ?, tags = ?, updated_at = ?
			WHERE workspace = ? AND name = ?`, m.Description, tags, timeArg(m.UpdatedAt), ws, name); err != nil {
			return err
		}
		aliases, err := loadAliases(ctx, tx, ws, name)
		m.Aliases = aliasMaps(aliases)[name]
		out = m
		return err
	})
	if err != nil {
		return registry.Model{}, opErr(fmt.Sprintf("update registered model %q in workspace %q", name, ws), err)
	}
	return out, nil
}

// RenameModel renames a model; versions and aliases follow by cascade.
func (s *Store) RenameModel(ctx context.Context, ws, name, newName string) (registry.Model, error) {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE registered_models SET name = ?, updated_at = ?
			WHERE workspace = ? AND name = ?`, newName, timeArg(time.Now()), ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return registry.Model{}, opErr(fmt.Sprintf("rename registered model %q to %q in workspace %q", name, newName, ws), err)
	}
	return s.GetModel(ctx, ws, newName)
}

// DeleteModel deletes a model with its versions and aliases.
func (s *Store) DeleteModel(ctx context.Context, ws, name string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM registered_models WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete registered model %q in workspace %q", name, ws), err)
}

// CreateVersion stores v, taking the next version number when v.Version
// is 0, and moves the model's LastVersion and UpdatedAt.
func (s *Store) CreateVersion(ctx context.Context, v registry.Version) (registry.Version, error) {
	v.CreatedAt = nowIfZero(v.CreatedAt)
	if v.UpdatedAt.IsZero() {
		v.UpdatedAt = v.CreatedAt
	}
	if v.Stage == "" {
		v.Stage = registry.StageNone
	}
	v.Aliases = nil
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var last int
		err := tx.QueryRowContext(ctx, `SELECT last_version FROM registered_models
			WHERE workspace = ? AND name = ?`, v.Workspace, v.Name).Scan(&last)
		if err != nil {
			return notFoundIfNone(err)
		}
		if v.Version == 0 {
			v.Version = last + 1
		}
		args, err := versionArgs(v)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_versions (`+regVersionCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE registered_models SET last_version = CASE WHEN last_version > ?1 THEN last_version ELSE ?1 END,
			updated_at = ?2 WHERE workspace = ?3 AND name = ?4`, v.Version, timeArg(v.UpdatedAt), v.Workspace, v.Name)
		return err
	})
	if err != nil {
		return registry.Version{}, opErr(fmt.Sprintf("create version of registered model %q in workspace %q", v.Name, v.Workspace), err)
	}
	return v, nil
}

// GetVersion returns one version with its aliases.
func (s *Store) GetVersion(ctx context.Context, ws, name string, version int) (registry.Version, error) {
	var v registry.Version
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if v, err = scanRegVersion(tx.QueryRowContext(ctx, selectRegVersion, ws, name, version)); err != nil {
			return notFoundIfNone(err)
		}
		aliases, err := loadAliases(ctx, tx, ws, name)
		v.Aliases = versionAliases(aliases, name, version)
		return err
	})
	if err != nil {
		return registry.Version{}, opErr(fmt.Sprintf("get version %d of registered model %q in workspace %q", version, name, ws), err)
	}
	return v, nil
}

// ListVersions returns the versions of one model, or of every model when
// name is "", ordered by name and version.
func (s *Store) ListVersions(ctx context.Context, ws, name string) ([]registry.Version, error) {
	var out []registry.Version
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+regVersionCols+` FROM model_versions
			WHERE workspace = ?1 AND (?2 = '' OR name = ?2) ORDER BY name, version`, ws, name)
		if err != nil {
			return err
		}
		if out, err = collect(rows, scanRegVersion); err != nil {
			return err
		}
		if len(out) == 0 {
			if name == "" {
				return s.requireWorkspace(ctx, ws)
			}
			var one int
			return notFoundIfNone(tx.QueryRowContext(ctx,
				`SELECT 1 FROM registered_models WHERE workspace = ? AND name = ?`, ws, name).Scan(&one))
		}
		aliases, err := loadAliases(ctx, tx, ws, name)
		for i := range out {
			out[i].Aliases = versionAliases(aliases, out[i].Name, out[i].Version)
		}
		return err
	})
	if err != nil {
		return nil, opErr(fmt.Sprintf("list versions of registered model %q in workspace %q", name, ws), err)
	}
	return out, nil
}

// UpdateVersion applies fn to the stored version inside the write
// transaction and stores its mutable fields; UpdatedAt becomes now when fn
// leaves it unchanged.
func (s *Store) UpdateVersion(ctx context.Context, ws, name string, version int, fn func(*registry.Version) error) (registry.Version, error) {
	var out registry.Version
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		v, err := scanRegVersion(tx.QueryRowContext(ctx, selectRegVersion, ws, name, version))
		if err != nil {
			return notFoundIfNone(err)
		}
		before := v.UpdatedAt
		if err := fn(&v); err != nil {
			return err
		}
		if v.UpdatedAt.Equal(before) {
			v.UpdatedAt = time.Now()
		}
		// The key columns cannot change: fn's copy is written back to the
		// row it was read from.
		v.Workspace, v.Name, v.Version = ws, name, version
		args, err := versionArgs(v)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE model_versions SET type = ?4, description = ?5, source = ?6,
			storage = ?7, run_id = ?8, model_id = ?9, status = ?10, status_message = ?11, stage = ?12,
			tags = ?13, archived = ?14, lineage = ?15, updated_at = ?16, folder = ?17
			WHERE workspace = ?1 AND name = ?2 AND version = ?3`, slices.Delete(args, 15, 16)...); err != nil { // not created_at
			return err
		}
		aliases, err := loadAliases(ctx, tx, ws, name)
		v.Aliases = versionAliases(aliases, name, version)
		out = v
		return err
	})
	if err != nil {
		return registry.Version{}, opErr(fmt.Sprintf("update version %d of registered model %q in workspace %q", version, name, ws), err)
	}
	return out, nil
}

// DeleteVersion deletes a version and the aliases pointing at it.
func (s *Store) DeleteVersion(ctx context.Context, ws, name string, version int) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM model_versions WHERE workspace = ? AND name = ? AND version = ?`,
			ws, name, version)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return touchModel(ctx, tx, ws, name)
	})
	return opErr(fmt.Sprintf("delete version %d of registered model %q in workspace %q", version, name, ws), err)
}

// SetAlias points alias at a version, moving it if it pointed elsewhere.
func (s *Store) SetAlias(ctx context.Context, ws, name, alias string, version int) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM model_versions WHERE workspace = ? AND name = ? AND version = ?`,
			ws, name, version).Scan(&one); err != nil {
			return notFoundIfNone(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_aliases (workspace, name, alias, version)
			VALUES (?, ?, ?, ?) ON CONFLICT (workspace, name, alias) DO UPDATE SET version = excluded.version`,
			ws, name, alias, version); err != nil {
			return err
		}
		return touchModel(ctx, tx, ws, name)
	})
	return opErr(fmt.Sprintf("set alias %q of registered model %q in workspace %q", alias, name, ws), err)
}

// DeleteAlias removes an alias; store.ErrNotFound when there is none.
func (s *Store) DeleteAlias(ctx context.Context, ws, name, alias string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM model_aliases WHERE workspace = ? AND name = ? AND alias = ?`,
			ws, name, alias)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return touchModel(ctx, tx, ws, name)
	})
	return opErr(fmt.Sprintf("delete alias %q of registered model %q in workspace %q", alias, name, ws), err)
}

// touchModel sets a model's updated_at to now.
func touchModel(ctx context.Context, tx *sql.Tx, ws, name string) error {
	_, err := tx.ExecContext(ctx, `UPDATE registered_models SET updated_at = ? WHERE workspace = ? AND name = ?`,
		timeArg(time.Now()), ws, name)
	return err
}
