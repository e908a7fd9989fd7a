package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/artifacts/artifactstest"
	"github.com/ciel-mlops/ciel/internal/artifacts/local"
)

func newStore(t *testing.T) *local.Store {
	s, err := local.New(filepath.Join(t.TempDir(), "mlartifacts"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	artifactstest.Run(t, func(t *testing.T) artifactstest.Store { return newStore(t) })
}

// TestPathTaken: a folder has no room for a file, nor a file for a folder.
func TestPathTaken(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "ws", "a/b/c.txt", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"a/b", "a/b/c.txt/d"} {
		if _, err := s.Put(ctx, "ws", rel, strings.NewReader("y"), 1); !errors.Is(err, artifacts.ErrPathTaken) {
			t.Errorf("put %s: %v, want ErrPathTaken", rel, err)
		}
	}
	if left, _ := os.ReadDir(s.Root().TempDir()); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
