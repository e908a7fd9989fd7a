// Package sqlite is the single-file store.Store backend, built on the pure-Go
// modernc.org/sqlite driver so ciel needs no cgo.
//
// Every acknowledged write is durable: the database runs in WAL mode with
// synchronous=FULL, so each commit is fsynced. To keep that affordable when
// the engine records thousands of step changes, all writes go through one
// writer goroutine on one connection, which applies every write waiting at
// that moment in a single transaction (group commit: one fsync for many
// callers). Reads use a separate pool of read-only connections, which WAL
// lets run alongside the writer.
//
// The schema is created and upgraded on Open by numbered migrations embedded
// in the binary. The package is not meant for many processes writing one file
// at once; SQLite's locking keeps that correct, but only one writer is fast.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/ciel-mlops/ciel/internal/store"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ store.Store = (*Store)(nil)

// Config says where the database lives.
type Config struct {
	// Path is the database file; it is created if missing, readable by its
	// owner only (0600), and its directory must exist. SQLite keeps Path-wal
	// and Path-shm beside it, with the database file's mode.
	Path string
}

// Store is a store.Store kept in one SQLite file. It is safe for concurrent
// use; Close releases it.
type Store struct {
	wdb  *sql.DB // one connection, used only by the writer goroutine
	rdb  *sql.DB // read-only pool
	w    *groupWriter
	ws   *writeStmts
	rs   *readStmts
	runs *runCache
	// noDrive makes searches by key never start from a filter clause
	// (tests compare both plans).
	noDrive bool
	closed  sync.Once
	err     error
}

// busyTimeoutMS is how long a connection waits for a lock held by another
// process (or, for a reader, a checkpoint) before failing.
const busyTimeoutMS = 10000

// Open opens (creating if needed) the database at cfg.Path and brings its
// schema up to date.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	path := filepath.Clean(cfg.Path)
	// SQLite would create the file 0644 (less the umask); created here
	// first, it is private, and SQLite gives the WAL and shm files it makes
	// the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	f.Close()

	wdb, err := sql.Open("sqlite", dsn(path,
		"_txlock=immediate",
		"_pragma=foreign_keys(1)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
	))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	s := &Store{wdb: wdb, runs: newRunCache()}
	fail := func(err error) (*Store, error) {
		s.closeHandles()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := migrate(ctx, wdb); err != nil {
		return fail(err)
	}

	// Readers open after the writer has switched the file to WAL.
	s.rdb, err = sql.Open("sqlite", dsn(path, "_pragma=query_only(1)"))
	if err != nil {
		return fail(err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(readers)
	s.rdb.SetMaxIdleConns(readers)

	if s.ws, err = prepareWriteStmts(ctx, wdb); err != nil {
		return fail(err)
	}
	if s.rs, err = prepareReadStmts(ctx, s.rdb); err != nil {
		return fail(err)
	}
	s.w = newGroupWriter(wdb, s.ws)
	return s, nil
}

// Close waits for queued writes to commit, then closes the database. Writes
// submitted afterwards fail. Calling Close again returns the first result.
func (s *Store) Close() error {
	s.closed.Do(func() {
		s.w.stop()
		s.err = s.closeHandles()
	})
	return s.err
}

func (s *Store) closeHandles() error {
	var errs []error
	if s.ws != nil {
		errs = append(errs, s.ws.close())
	}
	if s.rs != nil {
		errs = append(errs, s.rs.close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	errs = append(errs, s.wdb.Close())
	return errors.Join(errs...)
}

// dsn builds a driver DSN: a file: URI (so paths with '?' or '#' work) with
// a busy timeout first, then params.
func dsn(path string, params ...string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := append([]string{fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeoutMS)}, params...)
	return "file:" + escaped + "?" + strings.Join(q, "&")
}

// constraint reports which sentinel a constraint violation stands for:
// store.ErrConflict for a duplicate key, store.ErrNotFound for a missing
// parent (foreign key), nil for anything else.
func constraint(err error) error {
	var se *sqlitedrv.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return store.ErrConflict
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return store.ErrNotFound
	}
	return nil
}

// notFoundIfNone turns "no rows" into store.ErrNotFound.
func notFoundIfNone(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// mustAffect returns store.ErrNotFound when res changed no row.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
