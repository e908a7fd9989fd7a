// Package sqldb is ciel's metadata store (store.Store and the stores of
// tracking, the registry, endpoints, CI/CD, schedules and Data Factory) on a
// SQL database: a SQLite file, the embedded default, built on the pure-Go
// modernc.org/sqlite driver so ciel needs no cgo; or PostgreSQL (pgx), the
// team server that several ciel servers share. One implementation serves
// both, its queries written once in the SQL both accept, so the two pass the
// same tests by construction; dialect.go holds what differs.
//
// Every acknowledged write is durable: SQLite runs in WAL mode with
// synchronous=FULL, PostgreSQL commits synchronously, so each commit is
// fsynced. (Config.Synchronous "normal" trades that for speed on SQLite:
// a killed server still loses nothing, a power cut may lose the last
// commits.) To keep that affordable when the engine records thousands of step
// changes, all writes go through one writer goroutine on one connection,
// which applies every write waiting at that moment in a single transaction
// (group commit: one fsync for many callers). Reads use a separate pool of
// read-only connections.
//
// The schema is created and upgraded on Open by numbered migrations embedded
// in the binary, one folder per dialect.
package sqldb

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
)

var _ store.Store = (*Store)(nil)

// Config says where the database lives: Path (SQLite) or URL (PostgreSQL).
type Config struct {
	// Path is the SQLite database file; it is created if missing, readable
	// by its owner only (0600), and its directory must exist. SQLite keeps
	// Path-wal and Path-shm beside it, with the database file's mode.
	Path string
	// URL is a PostgreSQL connection URL (postgres://user@host/db?...) or
	// key=value string; the database must exist, its schema is made here.
	URL string
	// Replica, when set, names this server among several sharing the
	// database: the CI/CD and Data Factory runs it starts are its own, and
	// those left open are closed only by their own server or once it has
	// stopped its Heartbeat (replicas.go).
	Replica string
	// Synchronous is SQLite's synchronous setting: "full" (or "", the
	// default) fsyncs every commit, so an acknowledged write survives a
	// power cut; "normal" fsyncs only when the WAL is checkpointed, so a
	// killed server loses nothing but an OS crash or power cut may take
	// back the last commits (SQLite's own WAL guarantee; the setting
	// FastTrackML and most SQLite apps run with). PostgreSQL ignores it.
	Synchronous string
}

// CheckSynchronous reports whether v is a Config.Synchronous, so a caller
// can refuse a bad setting before it opens anything.
func CheckSynchronous(v string) error {
	_, err := synchronousPragma(v)
	return err
}

// synchronousPragma is the PRAGMA value for Config.Synchronous.
func synchronousPragma(v string) (string, error) {
	switch strings.ToLower(v) {
	case "", "full":
		return "FULL", nil
	case "normal":
		return "NORMAL", nil
	}
	return "", fmt.Errorf("synchronous %q: want full or normal", v)
}

// Store is a store.Store kept in one SQLite file. It is safe for concurrent
// use; Close releases it.
type Store struct {
	d       *dialect
	replica string
	wdb     *sql.DB // one connection, used only by the writer goroutine
	rdb     *sql.DB // read-only pool
	w       *groupWriter
	ws      *writeStmts
	rs      *readStmts
	runs    *runCache
	// noDrive makes searches by key never start from a filter clause
	// (tests compare both plans).
	noDrive bool
	closed  sync.Once
	err     error
}

// busyTimeoutMS is how long a connection waits for a lock held by another
// process (or, for a reader, a checkpoint) before failing.
const busyTimeoutMS = 10000

// Open opens the database cfg names (creating a SQLite file if needed) and
// brings its schema up to date.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	var s *Store
	var err error
	switch {
	case cfg.Path != "" && cfg.URL != "":
		return nil, errors.New("open store: both a SQLite path and a PostgreSQL URL")
	case cfg.URL != "":
		s, err = openPostgres(ctx, cfg.URL)
	case cfg.Path == "":
		return nil, errors.New("open sqlite store: empty path")
	default:
		s, err = openSQLite(ctx, cfg)
	}
	if err == nil {
		s.replica = cfg.Replica
	}
	return s, err
}

// openSQLite opens (creating if needed) the SQLite file at cfg.Path.
func openSQLite(ctx context.Context, cfg Config) (*Store, error) {
	path := filepath.Clean(cfg.Path)
	syncMode, err := synchronousPragma(cfg.Synchronous)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	// SQLite would create the file 0644 (less the umask); created here
	// first, it is private, and SQLite gives the WAL and shm files it makes
	// the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	f.Close()

	// Each write of a group commit runs in a savepoint, so SQLite copies
	// the pages it changes to a statement journal, a temporary file once
	// it outgrows 64 KiB: that was a tenth of the server's CPU running a
	// wide pipeline. In memory it is never spilled; the writer runs no
	// large sorts that temp_store would also keep in memory.
	wdb, err := sql.Open("sqlite", dsn(path,
		"_txlock=immediate",
		"_pragma=foreign_keys(1)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous("+syncMode+")",
		"_pragma=temp_store(MEMORY)",
	))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	s := &Store{d: sqliteDialect, wdb: wdb, runs: newRunCache()}
	fail := func(err error) (*Store, error) {
		s.closeHandles()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := migrate(ctx, wdb, s.d); err != nil {
		return fail(err)
	}

	// Readers open after the writer has switched the file to WAL.
	s.rdb, err = sql.Open("sqlite", dsn(path, "_pragma=query_only(1)"))
	if err != nil {
		return fail(err)
	}
	if err := s.start(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// start sizes the read pool and prepares the statements once the schema is
// current, then starts the writer.
func (s *Store) start(ctx context.Context) error {
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(readers)
	s.rdb.SetMaxIdleConns(readers)
	var err error
	if s.ws, err = prepareWriteStmts(ctx, s.wdb, s.d); err != nil {
		return err
	}
	if s.rs, err = prepareReadStmts(ctx, s.rdb); err != nil {
		return err
	}
	s.w = newGroupWriter(s.wdb, s.ws)
	return nil
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
