package storetest

import (
	"encoding/json"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
)

// data returns a data asset in workspace "ws" with spec {"v":"<spec>"}.
func data(name, version, spec string) store.Asset {
	return store.Asset{Workspace: "ws", Kind: store.KindData, Name: name, Version: version,
		Spec: json.RawMessage(`{"v":"` + spec + `"}`), CreatedAt: base}
}

func testAssetVersions(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")

	v1 := data("iris", "1", "first")
	noErr(t, s.PutAsset(ctx, v1, false), "put v1")
	got, err := s.GetAsset(ctx, "ws", store.KindData, "iris", "1")
	noErr(t, err, "get v1")
	same(t, "round trip", got, v1)

	tests := []struct {
		name    string
		put     store.Asset
		replace bool
		wantErr error
		want    string // spec stored afterwards
	}{
		{"identical is a no-op", data("iris", "1", "first"), false, nil, `{"v":"first"}`},
		{"identical with replace is a no-op", data("iris", "1", "first"), true, nil, `{"v":"first"}`},
		{"different conflicts", data("iris", "1", "second"), false, store.ErrConflict, `{"v":"first"}`},
		{"same JSON, other bytes, conflicts", store.Asset{Workspace: "ws", Kind: store.KindData, Name: "iris",
			Version: "1", Spec: json.RawMessage(`{ "v": "first" }`)}, false, store.ErrConflict, `{"v":"first"}`},
		{"replace rewrites", data("iris", "1", "third"), true, nil, `{"v":"third"}`},
	}
	for _, tc := range tests {
		err := s.PutAsset(ctx, tc.put, tc.replace)
		if tc.wantErr != nil {
			isErr(t, err, tc.wantErr, tc.name)
		} else {
			noErr(t, err, tc.name)
		}
		got, err := s.GetAsset(ctx, "ws", store.KindData, "iris", "1")
		noErr(t, err, tc.name+": get")
		same(t, tc.name+": stored spec", string(got.Spec), tc.want)
	}
	versions, err := s.ListAssets(ctx, "ws", store.KindData, "iris")
	noErr(t, err, "list versions")
	same(t, "still one version", names(versions, assetID), []string{"iris:1"})

	// Kinds are separate namespaces.
	env := store.Asset{Workspace: "ws", Kind: store.KindEnvironment, Name: "iris", Version: "1",
		Spec: json.RawMessage(`{"image":"python"}`)}
	noErr(t, s.PutAsset(ctx, env, false), "same name, other kind")
	got, err = s.GetAsset(ctx, "ws", store.KindEnvironment, "iris", "1")
	noErr(t, err, "get environment")
	same(t, "environment spec", string(got.Spec), `{"image":"python"}`)
	if got.CreatedAt.IsZero() {
		t.Error("zero CreatedAt was not set by the store")
	}

	// Computes are unversioned: Version "" and replace to update.
	c := store.Asset{Workspace: "ws", Kind: store.KindCompute, Name: "cpu", Spec: json.RawMessage(`{"size":1}`)}
	noErr(t, s.PutAsset(ctx, c, false), "put compute")
	c.Spec = json.RawMessage(`{"size":2}`)
	isErr(t, s.PutAsset(ctx, c, false), store.ErrConflict, "put changed compute")
	noErr(t, s.PutAsset(ctx, c, true), "replace compute")
	got, err = s.GetAsset(ctx, "ws", store.KindCompute, "cpu", "")
	noErr(t, err, "get compute")
	same(t, "compute spec", string(got.Spec), `{"size":2}`)
}

func testAssetLatest(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")

	// Creation order decides, not version text nor timestamps: every
	// version here has the same CreatedAt and "9" sorts after "10".
	for _, v := range []string{"1", "10", "9"} {
		noErr(t, s.PutAsset(ctx, data("iris", v, v), false), "put "+v)
	}
	latest := func(want string) {
		t.Helper()
		got, err := s.GetAsset(ctx, "ws", store.KindData, "iris", "")
		if want == "" {
			isErr(t, err, store.ErrNotFound, "latest of all-archived")
			return
		}
		noErr(t, err, "get latest")
		same(t, "latest version", got.Version, want)
	}
	latest("9")
	// Replacing an old version does not make it the latest.
	noErr(t, s.PutAsset(ctx, data("iris", "1", "changed"), true), "replace v1")
	latest("9")
	noErr(t, s.ArchiveAsset(ctx, "ws", store.KindData, "iris", "9", true), "archive 9")
	latest("10")
	noErr(t, s.ArchiveAsset(ctx, "ws", store.KindData, "iris", "", true), "archive all")
	latest("")
	noErr(t, s.ArchiveAsset(ctx, "ws", store.KindData, "iris", "1", false), "restore 1")
	latest("1")
	// An archived version stays readable by its version.
	got, err := s.GetAsset(ctx, "ws", store.KindData, "iris", "9")
	noErr(t, err, "get archived 9")
	same(t, "archived flag", got.Archived, true)
	noErr(t, s.DeleteAsset(ctx, "ws", store.KindData, "iris", "1"), "delete 1")
	latest("")
	noErr(t, s.PutAsset(ctx, data("iris", "2", "2"), false), "put 2 after deletes")
	latest("2")
}

func testListAssets(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")

	empty, err := s.ListAssets(ctx, "ws", store.KindData, "")
	noErr(t, err, "list empty workspace")
	if len(empty) != 0 {
		t.Errorf("empty workspace lists %v", empty)
	}
	for _, a := range []store.Asset{
		data("a", "1", ""), data("b", "1", ""), data("a", "2", ""), data("c", "1", ""),
		data("b", "2", ""), data("c", "2", ""),
	} {
		noErr(t, s.PutAsset(ctx, a, false), "put "+assetID(a))
	}
	noErr(t, s.ArchiveAsset(ctx, "ws", store.KindData, "c", "2", true), "archive c:2")
	noErr(t, s.PutAsset(ctx, store.Asset{Workspace: "ws", Kind: store.KindModel, Name: "m", Version: "1"},
		false), "put model")

	tests := []struct {
		name, asset string
		want        []string
	}{
		{"latest of each name, newest first", "", []string{"b:2", "c:1", "a:2"}},
		{"every version of a, newest first", "a", []string{"a:2", "a:1"}},
		{"archived versions are listed by name", "c", []string{"c:2", "c:1"}},
		{"unknown name", "zzz", []string{}},
	}
	for _, tc := range tests {
		got, err := s.ListAssets(ctx, "ws", store.KindData, tc.asset)
		noErr(t, err, tc.name)
		same(t, tc.name, names(got, assetID), tc.want)
	}
	models, err := s.ListAssets(ctx, "ws", store.KindModel, "")
	noErr(t, err, "list models")
	same(t, "other kinds are not listed", names(models, assetID), []string{"m:1"})
}

func testArchiveAndDeleteAssets(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")
	for _, v := range []string{"1", "2", "3"} {
		noErr(t, s.PutAsset(ctx, data("d", v, v), false), "put "+v)
	}
	noErr(t, s.PutAsset(ctx, data("other", "1", ""), false), "put other")

	noErr(t, s.ArchiveAsset(ctx, "ws", store.KindData, "d", "", true), "archive all versions")
	all, err := s.ListAssets(ctx, "ws", store.KindData, "d")
	noErr(t, err, "list d")
	for _, a := range all {
		if !a.Archived {
			t.Errorf("%s not archived by archive-all", assetID(a))
		}
	}
	other, err := s.GetAsset(ctx, "ws", store.KindData, "other", "1")
	noErr(t, err, "get other")
	same(t, "other name untouched by archive", other.Archived, false)

	noErr(t, s.DeleteAsset(ctx, "ws", store.KindData, "d", "2"), "delete one version")
	_, err = s.GetAsset(ctx, "ws", store.KindData, "d", "2")
	isErr(t, err, store.ErrNotFound, "get deleted version")
	all, err = s.ListAssets(ctx, "ws", store.KindData, "d")
	noErr(t, err, "list after delete")
	same(t, "versions left", names(all, assetID), []string{"d:3", "d:1"})

	noErr(t, s.DeleteAsset(ctx, "ws", store.KindData, "d", ""), "delete all versions")
	all, err = s.ListAssets(ctx, "ws", store.KindData, "d")
	noErr(t, err, "list after delete all")
	same(t, "versions left", names(all, assetID), []string{})
	_, err = s.GetAsset(ctx, "ws", store.KindData, "other", "1")
	noErr(t, err, "other survives delete-all of d")

	// Delete then re-create the same version: a fresh start, no conflict.
	noErr(t, s.PutAsset(ctx, data("d", "1", "new"), false), "re-create deleted version")
}

func testAssetNotFound(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "ws")
	noErr(t, s.PutAsset(ctx, data("d", "1", ""), false), "put")

	for _, tc := range []struct {
		name string
		err  error
	}{
		{"get missing version", func() error { _, err := s.GetAsset(ctx, "ws", store.KindData, "d", "2"); return err }()},
		{"get missing name", func() error { _, err := s.GetAsset(ctx, "ws", store.KindData, "x", ""); return err }()},
		{"get in other kind", func() error { _, err := s.GetAsset(ctx, "ws", store.KindModel, "d", "1"); return err }()},
		{"archive missing version", s.ArchiveAsset(ctx, "ws", store.KindData, "d", "2", true)},
		{"archive missing name", s.ArchiveAsset(ctx, "ws", store.KindData, "x", "", true)},
		{"delete missing version", s.DeleteAsset(ctx, "ws", store.KindData, "d", "2")},
		{"delete missing name", s.DeleteAsset(ctx, "ws", store.KindData, "x", "")},
	} {
		isErr(t, tc.err, store.ErrNotFound, tc.name)
	}
}
