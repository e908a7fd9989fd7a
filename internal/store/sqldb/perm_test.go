package sqldb

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
)

// The database, its WAL and its shm file hold secrets (endpoint keys), so
// no other local user may read them, whatever the umask.
func TestFilesArePrivate(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	path := filepath.Join(t.TempDir(), "ciel.db")
	s := openTest(t, path)
	if err := s.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}
