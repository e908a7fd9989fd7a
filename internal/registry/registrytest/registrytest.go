// Package registrytest is the conformance suite every registry.Store
// backend runs: Run(t, open) checks the contract registry.Store documents.
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Open returns a fresh, empty store for one test and the name of a
// workspace that exists in it. The store is closed by the caller's cleanup.
type Open func(t *testing.T) (registry.Store, string)

// Run runs the suite against the stores open returns.
func Run(t *testing.T, open Open) {
	t.Run("Models", func(t *testing.T) { t.Parallel(); testModels(t, open) })
	t.Run("Rename", func(t *testing.T) { t.Parallel(); testRename(t, open) })
	t.Run("Versions", func(t *testing.T) { t.Parallel(); testVersions(t, open) })
	t.Run("UpdateVersion", func(t *testing.T) { t.Parallel(); testUpdateVersion(t, open) })
	t.Run("Aliases", func(t *testing.T) { t.Parallel(); testAliases(t, open) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testConcurrent(t, open) })
}

// must fails the test on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr checks err matches target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

func version(ws, name string) registry.Version {
	return registry.Version{Workspace: ws, Name: name, Type: registry.TypeCustom, Status: registry.StatusReady}
}

func testModels(t *testing.T, open Open) {
	ctx := context.Background()
	s, ws := open(t)
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	m := registry.Model{Workspace: ws, Name: "b_model", Description: "first", Tags: map[string]string{"team": "ml"}, CreatedAt: created}
	must(t, "create", s.CreateModel(ctx, m))
	must(t, "create a_model", s.CreateModel(ctx, registry.Model{Workspace: ws, Name: "a_model"}))
	wantErr(t, "create again", s.CreateModel(ctx, m), store.ErrConflict)
	wantErr(t, "create in missing workspace", s.CreateModel(ctx, registry.Model{Workspace: "nope", Name: "x"}), store.ErrNotFound)

	got, err := s.GetModel(ctx, ws, "b_model")
	must(t, "get", err)
	if got.Description != "first" || got.Tags["team"] != "ml" || !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(created) || got.LastVersion != 0 {
		t.Errorf("get = %+v", got)
	}
	_, err = s.GetModel(ctx, ws, "missing")
	wantErr(t, "get missing", err, store.ErrNotFound)

	list, err := s.ListModels(ctx, ws)
	must(t, "list", err)
	if len(list) != 2 || list[0].Name != "a_model" || list[1].Name != "b_model" {
		t.Errorf("list = %+v, want a_model, b_model", list)
	}
	_, err = s.ListModels(ctx, "nope")
	wantErr(t, "list missing workspace", err, store.ErrNotFound)

	up, err := s.UpdateModel(ctx, ws, "b_model", func(m *registry.Model) error {
		m.Description = "second"
		m.Tags["stage"] = "dev"
		return nil
	})
	must(t, "update", err)
	if up.Description != "second" || up.Tags["stage"] != "dev" || !up.UpdatedAt.After(created) {
		t.Errorf("update = %+v", up)
	}
	boom := errors.New("boom")
	_, err = s.UpdateModel(ctx, ws, "b_model", func(m *registry.Model) error { m.Description = "lost"; return boom })
	wantErr(t, "update whose fn fails", err, boom)
	if got, _ := s.GetModel(ctx, ws, "b_model"); got.Description != "second" {
		t.Errorf("a failed update changed the description to %q", got.Description)
	}
	_, err = s.UpdateModel(ctx, ws, "missing", func(*registry.Model) error { return nil })
	wantErr(t, "update missing", err, store.ErrNotFound)

	_, err = s.CreateVersion(ctx, version(ws, "b_model"))
	must(t, "create version", err)
	must(t, "delete", s.DeleteModel(ctx, ws, "b_model"))
	wantErr(t, "delete again", s.DeleteModel(ctx, ws, "b_model"), store.ErrNotFound)
	_, err = s.GetVersion(ctx, ws, "b_model", 1)
	wantErr(t, "version of a deleted model", err, store.ErrNotFound)
	// The name is free again, and numbering starts over with the model.
	must(t, "create after delete", s.CreateModel(ctx, registry.Model{Workspace: ws, Name: "b_model"}))
	v, err := s.CreateVersion(ctx, version(ws, "b_model"))
	must(t, "create version after delete", err)
	if v.Version != 1 {
		t.Errorf("first version of a re-created model = %d, want 1", v.Version)
	}
}

func testRename(t *testing.T, open Open) {
	ctx := context.Background()
	s, ws := open(t)
	for _, n := range []string{"old", "taken"} {
		must(t, "create "+n, s.CreateModel(ctx, registry.Model{Workspace: ws, Name: n}))
	}
	for range 2 {
		_, err := s.CreateVersion(ctx, version(ws, "old"))
		must(t, "create version", err)
	}
	must(t, "set alias", s.SetAlias(ctx, ws, "old", "champion", 2))
	_, err := s.RenameModel(ctx, ws, "old", "taken")
	wantErr(t, "rename onto a taken name", err, store.ErrConflict)
	_, err = s.RenameModel(ctx, ws, "missing", "x")
	wantErr(t, "rename missing", err, store.ErrNotFound)

	m, err := s.RenameModel(ctx, ws, "old", "new")
	must(t, "rename", err)
	if m.Name != "new" || m.LastVersion != 2 || m.Aliases["champion"] != 2 {
		t.Errorf("renamed model = %+v", m)
	}
	vs, err := s.ListVersions(ctx, ws, "new")
	must(t, "list versions", err)
	if len(vs) != 2 || vs[1].Name != "new" || !slices.Equal(vs[1].Aliases, []string{"champion"}) {
		t.Errorf("versions after rename = %+v", vs)
	}
	_, err = s.GetModel(ctx, ws, "old")
	wantErr(t, "old name after rename", err, store.ErrNotFound)
}

func testVersions(t *testing.T, open Open) {
	ctx := context.Background()
	s, ws := open(t)
	_, err := s.CreateVersion(ctx, version(ws, "m"))
	wantErr(t, "version of a missing model", err, store.ErrNotFound)
	must(t, "create model", s.CreateModel(ctx, registry.Model{Workspace: ws, Name: "m"}))

	lin := registry.Lineage{Source: "azureml://jobs/j/outputs/model", Digest: "sha256:abc", Job: "j", Step: "train",
		Inputs: []registry.DataInput{{Step: "prep", Input: "raw", Asset: "azureml:training_data:1", Digest: "sha256:def"}}}
	tests := []struct {
		ask, want int
		err       error
	}{
		{ask: 0, want: 1},
		{ask: 0, want: 2},
		{ask: 5, want: 5},
		{ask: 0, want: 6},
		{ask: 2, err: store.ErrConflict},
		{ask: 3, want: 3},
		{ask: 0, want: 7},
	}
	for _, tt := range tests {
		v := version(ws, "m")
		v.Version, v.Lineage, v.Tags, v.Folder = tt.ask, lin, map[string]string{"k": "v"}, "model"
		got, err := s.CreateVersion(ctx, v)
		if tt.err != nil {
			wantErr(t, fmt.Sprintf("create version %d", tt.ask), err, tt.err)
			continue
		}
		must(t, fmt.Sprintf("create version %d", tt.ask), err)
		if got.Version != tt.want || got.Stage != registry.StageNone {
			t.Errorf("create version %d = %d (stage %q), want %d", tt.ask, got.Version, got.Stage, tt.want)
		}
	}
	must(t, "delete 7", s.DeleteVersion(ctx, ws, "m", 7))
	wantErr(t, "delete 7 again", s.DeleteVersion(ctx, ws, "m", 7), store.ErrNotFound)
	v, err := s.CreateVersion(ctx, version(ws, "m"))
	must(t, "create after delete", err)
	if v.Version != 8 {
		t.Errorf("version after deleting the last = %d, want 8 (numbers are not reused)", v.Version)
	}

	got, err := s.GetVersion(ctx, ws, "m", 5)
	must(t, "get 5", err)
	if got.Lineage.Inputs[0].Asset != "azureml:training_data:1" || got.Lineage.Job != "j" || got.Tags["k"] != "v" ||
		got.Folder != "model" {
		t.Errorf("get 5 = %+v", got)
	}
	list, err := s.ListVersions(ctx, ws, "m")
	must(t, "list", err)
	var nums []int
	for _, v := range list {
		nums = append(nums, v.Version)
	}
	if !slices.Equal(nums, []int{1, 2, 3, 5, 6, 8}) {
		t.Errorf("versions = %v", nums)
	}
	_, err = s.ListVersions(ctx, ws, "missing")
	wantErr(t, "list versions of a missing model", err, store.ErrNotFound)
	must(t, "create empty", s.CreateModel(ctx, registry.Model{Workspace: ws, Name: "empty"}))
	if list, err := s.ListVersions(ctx, ws, "empty"); err != nil || len(list) != 0 {
		t.Errorf("versions of a model with none = %v, %v", list, err)
	}
	if all, err := s.ListVersions(ctx, ws, ""); err != nil || len(all) != 6 {
		t.Errorf("every version = %d, %v; want 6", len(all), err)
	}
	m, err := s.GetModel(ctx, ws, "m")
	must(t, "get model", err)
	if m.LastVersion != 8 {
		t.Errorf("LastVersion = %d, want 8", m.LastVersion)
	}
}

func testUpdateVersion(t *testing.T, open Open) {
	ctx := context.Background()
	s, ws := open(t)
	must(t, "create model", s.CreateModel(ctx, registry.Model{Workspace: ws, Name: "m"}))
	v := version(ws, "m")
	v.Status = registry.StatusPending
	v, err := s.CreateVersion(ctx, v)
	must(t, "create version", err)

	got, err := s.UpdateVersion(ctx, ws, "m", v.Version, func(v *registry.Version) error {
		v.Status, v.Source, v.Storage, v.Type = registry.StatusReady, "mlflow-artifacts:/models/m/1", "models/m/1", registry.TypeMLflow
		v.Description, v.Stage, v.Archived = "good", registry.StageProduction, true
		v.Tags = map[string]string{"a": "1"}
		v.Lineage.Digest, v.Folder = "sha256:x", "weights"
		v.Name, v.Version = "other", 99 // ignored: keys cannot change
		return nil
	})
	must(t, "update", err)
	again, err := s.GetVersion(ctx, ws, "m", 1)
	must(t, "get", err)
	for _, g := range []registry.Version{got, again} {
		if g.Name != "m" || g.Version != 1 || g.Status != registry.StatusReady || g.Source != "mlflow-artifacts:/models/m/1" ||
			g.Storage != "models/m/1" || g.Type != registry.TypeMLflow || g.Description != "good" ||
			g.Stage != registry.StageProduction || !g.Archived || g.Tags["a"] != "1" || g.Lineage.Digest != "sha256:x" ||
			g.Folder != "weights" || !g.UpdatedAt.After(v.UpdatedAt) {
			t.Errorf("updated version = %+v", g)
		}
	}
	_, err = s.UpdateVersion(ctx, ws, "m", 42, func(*registry.Version) error { return nil })
	wantErr(t, "update missing", err, store.ErrNotFound)
}

func testAliases(t *testing.T, open Open) {
	ctx := context.Background()
	s, ws := open(t)
	must(t, "create model", s.CreateModel(ctx, registry.Model{Workspace: ws, Name: "m"}))
	for range 3 {
		_, err := s.CreateVersion(ctx, version(ws, "m"))
		must(t, "create version", err)
	}
	must(t, "set champion", s.SetAlias(ctx, ws, "m", "champion", 1))
	must(t, "set challenger", s.SetAlias(ctx, ws, "m", "challenger", 2))
	must(t, "move champion", s.SetAlias(ctx, ws, "m", "champion", 2))
	wantErr(t, "alias to a missing version", s.SetAlias(ctx, ws, "m", "x", 9), store.ErrNotFound)
	wantErr(t, "alias of a missing model", s.SetAlias(ctx, ws, "nope", "x", 1), store.ErrNotFound)

	m, err := s.GetModel(ctx, ws, "m")
	must(t, "get model", err)
	if want := map[string]int{"champion": 2, "challenger": 2}; !maps.Equal(m.Aliases, want) {
		t.Errorf("aliases = %v, want %v", m.Aliases, want)
	}
	v, err := s.GetVersion(ctx, ws, "m", 2)
	must(t, "get version", err)
	if !slices.Equal(v.Aliases, []string{"challenger", "champion"}) {
		t.Errorf("version 2 aliases = %v", v.Aliases)
	}
	if list, _ := s.ListModels(ctx, ws); len(list) != 1 || list[0].Aliases["champion"] != 2 {
		t.Errorf("list models = %+v", list)
	}

	must(t, "delete challenger", s.DeleteAlias(ctx, ws, "m", "challenger"))
	wantErr(t, "delete challenger again", s.DeleteAlias(ctx, ws, "m", "challenger"), store.ErrNotFound)
	must(t, "delete version 2", s.DeleteVersion(ctx, ws, "m", 2))
	if m, _ := s.GetModel(ctx, ws, "m"); len(m.Aliases) != 0 {
		t.Errorf("aliases after deleting their version = %v", m.Aliases)
	}
}

func testConcurrent(t *testing.T, open Open) {
	ctx := context.Background()
	s, ws := open(t)
	must(t, "create model", s.CreateModel(ctx, registry.Model{Workspace: ws, Name: "m"}))
	const n = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		nums []int
		errs []error
	)
	for i := range n {
		wg.Go(func() {
			v, err := s.CreateVersion(ctx, version(ws, "m"))
			_, terr := s.UpdateModel(ctx, ws, "m", func(m *registry.Model) error {
				if m.Tags == nil {
					m.Tags = map[string]string{}
				}
				m.Tags[fmt.Sprint("k", i)] = "v"
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			nums = append(nums, v.Version)
			errs = append(errs, err, terr)
		})
	}
	wg.Wait()
	must(t, "concurrent writes", errors.Join(errs...))
	slices.Sort(nums)
	for i, v := range nums {
		if v != i+1 {
			t.Fatalf("concurrent versions = %v, want 1..%d each once", nums, n)
		}
	}
	m, err := s.GetModel(ctx, ws, "m")
	must(t, "get", err)
	if len(m.Tags) != n {
		t.Errorf("after %d concurrent tag updates, %d tags: %v", n, len(m.Tags), m.Tags)
	}
}
