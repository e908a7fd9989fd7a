package sqldb

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ciel-mlops/ciel/internal/store"
)

// dialect is what differs between the two databases the store runs on. The
// queries are written once, in the SQL both accept (SQLite's ?-parameters,
// which the PostgreSQL driver wrapper renumbers); what cannot be written
// once is here.
type dialect struct {
	name string
	// migrations is the folder of migrationFS with this dialect's schema.
	migrations string
	// migrationsTable creates schema_migrations if it is missing.
	migrationsTable string
	// lockMigrations, when set, runs first in the migration transaction so
	// that servers opening one database at once apply each migration once
	// (SQLite's BEGIN IMMEDIATE does that by itself).
	lockMigrations string
	// like is a case-sensitive LIKE of col against a ? parameter, with the
	// LIKE pattern turned into what that parameter must be.
	like func(col, pattern string) (string, any)
	// jsonText is the text at a path of object keys inside the JSON in col.
	jsonText func(col string, path ...string) string
	// skipLocked ends a SELECT of rows to claim so that servers claiming at
	// once each take others ("": SQLite's one writer needs nothing).
	skipLocked string
	// keyShare ends the SELECT of a run that a transaction then adds
	// metrics to: metrics keep no foreign key to their run on PostgreSQL
	// (a key check per row was a fifth of a log_batch), so the run is
	// locked against deletion once, until the transaction commits.
	keyShare string
	// metricArrays: a batch's metrics go in as one array per column,
	// unnested by one statement (PostgreSQL), instead of a ladder of
	// multi-row INSERTs (SQLite, whose statements are compiled once).
	metricArrays bool
}

var sqliteDialect = &dialect{
	name:       "sqlite",
	migrations: "migrations/sqlite",
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`,
	// SQLite's LIKE ignores case; GLOB is its case-sensitive match.
	like: func(col, pattern string) (string, any) { return col + " GLOB ?", likeToGlob(pattern) },
	jsonText: func(col string, path ...string) string {
		return "json_extract(" + col + ", '$." + strings.Join(path, ".") + "')"
	},
}

var postgresDialect = &dialect{
	name:       "postgres",
	migrations: "migrations/postgres",
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL
	)`,
	// Any constant; two ciel servers starting on a new database at once
	// take turns.
	lockMigrations: `SELECT pg_advisory_xact_lock(7417512390)`,
	skipLocked:     ` FOR UPDATE SKIP LOCKED`,
	keyShare:       ` FOR KEY SHARE`,
	metricArrays:   true,
	like:           func(col, pattern string) (string, any) { return col + " LIKE ?", pattern },
	jsonText: func(col string, path ...string) string {
		return "(" + col + "::json #>> '{" + strings.Join(path, ",") + "}')"
	},
}

// constraint reports which sentinel a constraint violation stands for:
// store.ErrConflict for a duplicate key, store.ErrNotFound for a missing
// parent (foreign key), nil for anything else. The error's type says which
// database it came from.
func constraint(err error) error {
	var se *sqlitedrv.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return store.ErrConflict
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return store.ErrNotFound
		}
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return store.ErrConflict
		case "23503": // foreign_key_violation
			return store.ErrNotFound
		}
	}
	return nil
}
