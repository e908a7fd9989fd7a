package sqldb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/serving/servingtest"
	"github.com/ciel-mlops/ciel/internal/store"
)

func TestServingStore(t *testing.T) {
	servingtest.Run(t, func(t *testing.T) serving.Store {
		s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
		for _, ws := range []string{"ws", "ws2"} {
			if err := s.CreateWorkspace(context.Background(), store.Workspace{Name: ws}); err != nil {
				t.Fatal(err)
			}
		}
		return s
	})
}

// TestServingDurable checks an acknowledged endpoint write is there after
// the store is reopened, and a deleted workspace takes its endpoints.
func TestServingDurable(t *testing.T) {
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
	if err := s.CreateEndpoint(ctx, serving.Endpoint{Workspace: "ws", Name: "ep", PrimaryKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDeployment(ctx, serving.Deployment{Workspace: "ws", Endpoint: "ep", Name: "blue", State: serving.StateSucceeded}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path)
	e, err := s2.GetEndpoint(ctx, "ws", "ep")
	if err != nil || e.PrimaryKey != "k" {
		t.Fatalf("after reopen: %+v, %v", e, err)
	}
	if err := s2.DeleteWorkspace(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
	if list, err := s2.ListDeployments(ctx, "", ""); err != nil || len(list) != 0 {
		t.Fatalf("deployments outlived their workspace: %v, %v", list, err)
	}
}
