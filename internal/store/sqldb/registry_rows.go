package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/registry"
)

// Column lists of the registry tables (0003_registry.up.sql), shared by the
// statements in registry.go and the scan functions here; the two must agree
// in order.
const (
	regModelCols   = `workspace, name, description, tags, last_version, created_at, updated_at`
	regVersionCols = `workspace, name, version, type, description, source, storage, run_id, model_id,
		status, status_message, stage, tags, archived, lineage, created_at, updated_at, folder`
)

func scanRegModel(sc scanner) (registry.Model, error) {
	var (
		m                registry.Model
		tags             sql.NullString
		created, updated int64
	)
	if err := sc.Scan(&m.Workspace, &m.Name, &m.Description, &tags, &m.LastVersion, &created, &updated); err != nil {
		return m, err
	}
	m.CreatedAt, m.UpdatedAt = timeCol(created), timeCol(updated)
	var err error
	m.Tags, err = mapCol(tags)
	return m, err
}

func scanRegVersion(sc scanner) (registry.Version, error) {
	var (
		v                registry.Version
		tags, lineage    sql.NullString
		created, updated int64
	)
	if err := sc.Scan(&v.Workspace, &v.Name, &v.Version, &v.Type, &v.Description, &v.Source, &v.Storage,
		&v.RunID, &v.ModelID, &v.Status, &v.StatusMessage, &v.Stage, &tags, &v.Archived, &lineage,
		&created, &updated, &v.Folder); err != nil {
		return v, err
	}
	v.CreatedAt, v.UpdatedAt = timeCol(created), timeCol(updated)
	var err error
	if v.Tags, err = mapCol(tags); err != nil {
		return v, err
	}
	if lineage.Valid && lineage.String != "" {
		if err := json.Unmarshal([]byte(lineage.String), &v.Lineage); err != nil {
			return v, fmt.Errorf("decode stored lineage: %w", err)
		}
	}
	return v, nil
}

// versionArgs are the values of regVersionCols for v.
func versionArgs(v registry.Version) ([]any, error) {
	tags, err := mapArg(v.Tags)
	if err != nil {
		return nil, err
	}
	var lineage any
	b, err := json.Marshal(v.Lineage)
	if err != nil {
		return nil, err
	}
	if string(b) != "{}" { // every Lineage field is omitempty
		lineage = string(b)
	}
	return []any{v.Workspace, v.Name, v.Version, v.Type, v.Description, v.Source, v.Storage, v.RunID,
		v.ModelID, v.Status, v.StatusMessage, v.Stage, tags, v.Archived, lineage,
		timeArg(v.CreatedAt), timeArg(v.UpdatedAt), v.Folder}, nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// aliasRow is one row of model_aliases.
type aliasRow struct {
	name, alias string
	version     int
}

// loadAliases returns the aliases of one model, or of every model of the
// workspace when name is "".
func loadAliases(ctx context.Context, q querier, ws, name string) ([]aliasRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, alias, version FROM model_aliases
		WHERE workspace = ?1 AND (?2 = '' OR name = ?2) ORDER BY name, alias`, ws, name)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc scanner) (aliasRow, error) {
		var a aliasRow
		err := sc.Scan(&a.name, &a.alias, &a.version)
		return a, err
	})
}

// aliasMaps groups alias rows by model: name -> alias -> version.
func aliasMaps(rows []aliasRow) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, a := range rows {
		if out[a.name] == nil {
			out[a.name] = map[string]int{}
		}
		out[a.name][a.alias] = a.version
	}
	return out
}

// versionAliases returns the aliases of model name pointing at version.
func versionAliases(rows []aliasRow, name string, version int) []string {
	var out []string
	for _, a := range rows {
		if a.name == name && a.version == version {
			out = append(out, a.alias)
		}
	}
	return out
}

// readTx runs fn in one read transaction, so what it reads is one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}
