package sqldb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/storetest"
)

// openTest opens a store at path, closed when t ends.
func openTest(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), testConfig(t, path))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	// One database file per subtest; opening again in the same subtest
	// reopens that file, which the suite's durability check relies on.
	var (
		mu    sync.Mutex
		paths = map[*testing.T]string{}
	)
	storetest.Run(t, func(t *testing.T) store.Store {
		mu.Lock()
		path, ok := paths[t]
		if !ok {
			path = filepath.Join(t.TempDir(), "ciel.db")
			paths[t] = path
		}
		mu.Unlock()
		return openTest(t, path)
	})
}

func TestOpenSettings(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	// A directory with characters that mean something in a URI.
	dir := filepath.Join(t.TempDir(), "odd ?#% dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ciel.db")
	s := openTest(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
	for _, tc := range []struct {
		pragma, want string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"temp_store", "2"}, // MEMORY: the savepoints' statement journals
	} {
		var got string
		if err := s.wdb.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatalf("pragma %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("writer pragma %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	if _, err := s.rdb.Exec("DELETE FROM workspaces"); err == nil {
		t.Error("read pool accepted a write")
	}
}

// TestOpenSynchronous: Config.Synchronous sets the writer's synchronous
// pragma (full by default, normal on request) and anything else is
// refused before the file is touched.
func TestOpenSynchronous(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	for _, tc := range []struct{ give, want string }{{"", "2"}, {"full", "2"}, {"FULL", "2"}, {"normal", "1"}} {
		s, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "ciel.db"), Synchronous: tc.give})
		if err != nil {
			t.Fatalf("open with synchronous %q: %v", tc.give, err)
		}
		var got string
		if err := s.wdb.QueryRow("PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got != tc.want {
			t.Errorf("synchronous %q: pragma %s, want %s", tc.give, got, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "ciel.db")
	_, err := Open(context.Background(), Config{Path: path, Synchronous: "off"})
	if err == nil || !strings.Contains(err.Error(), `synchronous "off": want full or normal`) {
		t.Errorf("synchronous off: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a refused setting left %s behind: %v", path, err)
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ciel.db")
	d := sqliteDialect
	if onPostgres {
		d = postgresDialect
	}
	all, err := migrations(d.migrations)
	if err != nil {
		t.Fatal(err)
	}
	latest := all[len(all)-1].version

	for range 2 { // the second open must find nothing to do
		s, err := Open(t.Context(), testConfig(t, path))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		var n, v int
		if err := s.rdb.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		if n != len(all) || v != latest {
			t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d", n, v, len(all), latest)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// A database written by a newer binary is refused.
	s := openTest(t, path)
	if _, err := s.wdb.Exec(`INSERT INTO schema_migrations VALUES (?, 'future', 0)`, latest+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(t.Context(), testConfig(t, path)); err == nil {
		s2.Close()
		t.Fatal("opened a database with a newer schema")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: unexpected error %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"empty path", Config{}},
		{"missing directory", Config{Path: filepath.Join(t.TempDir(), "no", "such", "dir", "ciel.db")}},
		{"both", Config{Path: filepath.Join(t.TempDir(), "ciel.db"), URL: "postgres://127.0.0.1:1/ciel"}},
		{"bad URL", Config{URL: "postgres://%zz"}},
		{"no server", Config{URL: "postgres://ciel:secret@127.0.0.1:1/ciel?connect_timeout=2"}},
	} {
		s, err := Open(t.Context(), tc.cfg)
		if err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", tc.name)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", tc.name, err)
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWorkspace(t.Context(), store.Workspace{Name: "late"}); err == nil {
		t.Error("write after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
