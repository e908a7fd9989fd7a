package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/filestest"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/local"
)

func newFS(t *testing.T) files.FS {
	l, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	t.Parallel()
	filestest.TestFS(t, newFS)
}

// TestSymlinkEscape checks that links out of the folder reach nothing,
// while a link inside it is followed.
func TestSymlinkEscape(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(dir, "out")))
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "secret")))
	must(t, os.WriteFile(filepath.Join(dir, "in.txt"), []byte("ok"), 0o600))
	must(t, os.Symlink("in.txt", filepath.Join(dir, "alias")))
	l, err := local.New(dir)
	must(t, err)
	defer l.Close()
	for _, p := range []string{"out/secret", "secret"} {
		if _, err := l.Open(ctx, p); !errors.Is(err, files.ErrEscape) {
			t.Errorf("Open(%s) = %v, want ErrEscape", p, err)
		}
		if _, err := l.Stat(ctx, p); !errors.Is(err, files.ErrEscape) {
			t.Errorf("Stat(%s) = %v, want ErrEscape", p, err)
		}
	}
	if _, err := l.Create(ctx, "out/new"); !errors.Is(err, files.ErrEscape) {
		t.Errorf("Create through a link out = %v, want ErrEscape", err)
	}
	if _, err := l.List(ctx, "out"); !errors.Is(err, files.ErrEscape) {
		t.Errorf("List through a link out = %v, want ErrEscape", err)
	}
	if err := l.Delete(ctx, "out/secret", true); !errors.Is(err, files.ErrEscape) {
		t.Errorf("Delete through a link out = %v, want ErrEscape", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Fatalf("the file outside is gone: %v", err)
	}
	if got := filestest.Get(t, l, "alias"); got != "ok" {
		t.Fatalf("link inside read %q", got)
	}
	kids, err := l.List(ctx, "")
	must(t, err)
	for _, k := range kids {
		if k.Name == "out" || k.Name == "secret" {
			t.Errorf("List shows a link out: %+v", k)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
