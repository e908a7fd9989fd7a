package sqldb

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/store"
)

func TestCICDVariableGroups(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, _ := openCICD(t)

	g, err := c.CreateVariableGroup(ctx, cicd.VariableGroup{Workspace: "ws", Name: "shared",
		Description: "d", Variables: map[string]string{"region": "eu", "tier": "gold"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID == 0 || g.CreatedAt.IsZero() {
		t.Fatalf("created %+v", g)
	}
	empty, err := c.CreateVariableGroup(ctx, cicd.VariableGroup{Workspace: "ws", Name: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateVariableGroup(ctx, cicd.VariableGroup{Workspace: "ws2", Name: "shared"}); err != nil {
		t.Fatalf("same name in another workspace: %v", err)
	}
	if _, err := c.CreateVariableGroup(ctx, cicd.VariableGroup{Workspace: "ws", Name: "shared"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate: err = %v, want ErrConflict", err)
	}
	if _, err := c.CreateVariableGroup(ctx, cicd.VariableGroup{Workspace: "nope", Name: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing workspace: err = %v, want ErrNotFound", err)
	}

	got, err := c.GetVariableGroup(ctx, "ws", "shared")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, g) {
		t.Fatalf("get = %+v, want %+v", got, g)
	}
	if _, err := c.GetVariableGroup(ctx, "ws2", "empty"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other workspace's group: err = %v, want ErrNotFound", err)
	}
	list, err := c.ListVariableGroups(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "empty" || list[1].Name != "shared" || len(list[0].Variables) != 0 || list[0].ID != empty.ID {
		t.Fatalf("list = %+v", list)
	}
	if _, err := c.ListVariableGroups(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("list of a missing workspace: err = %v", err)
	}

	if err := c.DeleteVariableGroup(ctx, "ws", "shared"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVariableGroup(ctx, "ws", "shared"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: err = %v, want ErrNotFound", err)
	}
	if _, err := c.GetVariableGroup(ctx, "ws2", "shared"); err != nil {
		t.Fatalf("the other workspace's group went too: %v", err)
	}
}
