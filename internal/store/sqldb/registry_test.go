package sqldb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/registry/registrytest"
	"github.com/ciel-mlops/ciel/internal/store"
)

func TestRegistryStore(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) (registry.Store, string) {
		s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
		if err := s.CreateWorkspace(context.Background(), store.Workspace{Name: "ws"}); err != nil {
			t.Fatal(err)
		}
		return s, "ws"
	})
}

// TestRegistryDurable checks an acknowledged registry write is there after
// the store is reopened.
func TestRegistryDurable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ciel.db")
	s, err := Open(ctx, testConfig(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateModel(ctx, registry.Model{Workspace: "ws", Name: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateVersion(ctx, registry.Version{Workspace: "ws", Name: "m", Status: registry.StatusReady}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias(ctx, "ws", "m", "champion", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path)
	v, err := s2.GetVersion(ctx, "ws", "m", 1)
	if err != nil || len(v.Aliases) != 1 || v.Aliases[0] != "champion" {
		t.Fatalf("after reopen: %+v, %v", v, err)
	}
}
