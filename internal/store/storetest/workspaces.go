package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
)

func testWorkspaces(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()

	want := store.Workspace{
		Name: "ws1", ResourceGroup: "rg", Location: "westeurope", DisplayName: "Workspace one",
		Description: "the first", Tags: map[string]string{"team": "ml", "env": "dev"}, CreatedAt: base,
	}
	noErr(t, s.CreateWorkspace(ctx, want), "create")
	got, err := s.GetWorkspace(ctx, "ws1")
	noErr(t, err, "get")
	same(t, "round trip", got, want)

	err = s.CreateWorkspace(ctx, store.Workspace{Name: "ws1", Location: "elsewhere"})
	isErr(t, err, store.ErrConflict, "create taken name")
	got, err = s.GetWorkspace(ctx, "ws1")
	noErr(t, err, "get after conflict")
	same(t, "unchanged by conflicting create", got, want)

	noErr(t, s.CreateWorkspace(ctx, store.Workspace{Name: "ws0"}), "create without CreatedAt")
	ws0, err := s.GetWorkspace(ctx, "ws0")
	noErr(t, err, "get ws0")
	if ws0.CreatedAt.IsZero() {
		t.Error("zero CreatedAt was not set by the store")
	}

	list, err := s.ListWorkspaces(ctx)
	noErr(t, err, "list")
	got1 := names(list, func(w store.Workspace) string { return w.Name })
	slices.Sort(got1)
	same(t, "listed workspaces", got1, []string{"ws0", "ws1"})

	for _, tc := range []struct {
		what string
		err  error
	}{
		{"get missing", func() error { _, err := s.GetWorkspace(ctx, "nope"); return err }()},
		{"delete missing", s.DeleteWorkspace(ctx, "nope")},
	} {
		isErr(t, tc.err, store.ErrNotFound, tc.what)
	}

	noErr(t, s.DeleteWorkspace(ctx, "ws0"), "delete")
	_, err = s.GetWorkspace(ctx, "ws0")
	isErr(t, err, store.ErrNotFound, "get deleted")
	isErr(t, s.DeleteWorkspace(ctx, "ws0"), store.ErrNotFound, "delete twice")
}

func testDeleteWorkspaceCascades(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	fixture(t, s, "doomed")
	fixture(t, s, "kept")
	for _, ws := range []string{"doomed", "kept"} {
		noErr(t, s.PutAsset(ctx, store.Asset{Workspace: ws, Kind: store.KindData, Name: "d", Version: "1",
			Spec: json.RawMessage(`{}`)}, false), "put asset")
		newJob(t, s, ws, "j", "a", "b")
		noErr(t, s.PutReuse(ctx, store.Reuse{Key: "k", Workspace: ws, Job: "j", Step: "a"}), "put reuse")
	}

	noErr(t, s.DeleteWorkspace(ctx, "doomed"), "delete")
	// Recreating the name must not resurrect anything.
	fixture(t, s, "doomed")
	_, err := s.GetAsset(ctx, "doomed", store.KindData, "d", "1")
	isErr(t, err, store.ErrNotFound, "asset after delete")
	_, err = s.GetJob(ctx, "doomed", "j")
	isErr(t, err, store.ErrNotFound, "job after delete")
	_, err = s.ListSteps(ctx, "doomed", "j")
	isErr(t, err, store.ErrNotFound, "steps after delete")
	_, err = s.GetReuse(ctx, "doomed", "k")
	isErr(t, err, store.ErrNotFound, "reuse after delete")
	assets, err := s.ListAssets(ctx, "doomed", store.KindData, "")
	noErr(t, err, "list assets")
	if len(assets) != 0 {
		t.Errorf("assets after delete: %v", assets)
	}
	jobs, err := s.ListJobs(ctx, "doomed", true)
	noErr(t, err, "list jobs")
	if len(jobs) != 0 {
		t.Errorf("jobs after delete: %v", jobs)
	}

	// The other workspace is untouched.
	_, err = s.GetAsset(ctx, "kept", store.KindData, "d", "1")
	noErr(t, err, "kept asset")
	steps, err := s.ListSteps(ctx, "kept", "j")
	noErr(t, err, "kept steps")
	same(t, "kept steps", names(steps, stepName), []string{"a", "b"})
	_, err = s.GetReuse(ctx, "kept", "k")
	noErr(t, err, "kept reuse")
}

func testWorkspaceIsolation(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	for _, ws := range []string{"a", "b"} {
		fixture(t, s, ws)
		spec := json.RawMessage(`{"ws":"` + ws + `"}`)
		// Same kind, name and version in both: neither conflicts.
		noErr(t, s.PutAsset(ctx, store.Asset{Workspace: ws, Kind: store.KindEnvironment, Name: "env",
			Version: "1", Spec: spec}, false), "put asset in "+ws)
		noErr(t, s.CreateJob(ctx, store.Job{Workspace: ws, Name: "job", Status: "Running", Spec: spec},
			[]store.Step{{Name: "only-in-" + ws}}), "create job in "+ws)
		noErr(t, s.PutReuse(ctx, store.Reuse{Key: "key", Workspace: ws, Job: "job", Step: ws}), "put reuse in "+ws)
	}
	for _, ws := range []string{"a", "b"} {
		spec := `{"ws":"` + ws + `"}`
		a, err := s.GetAsset(ctx, ws, store.KindEnvironment, "env", "1")
		noErr(t, err, "get asset")
		same(t, "asset spec in "+ws, string(a.Spec), spec)
		j, err := s.GetJob(ctx, ws, "job")
		noErr(t, err, "get job")
		same(t, "job spec in "+ws, string(j.Spec), spec)
		steps, err := s.ListSteps(ctx, ws, "job")
		noErr(t, err, "list steps")
		same(t, "steps in "+ws, names(steps, stepName), []string{"only-in-" + ws})
		r, err := s.GetReuse(ctx, ws, "key")
		noErr(t, err, "get reuse")
		same(t, "reuse step in "+ws, r.Step, ws)
	}

	// Updating or archiving in one workspace leaves the other alone.
	noErr(t, s.UpdateJob(ctx, store.Job{Workspace: "a", Name: "job", Status: "Completed"}), "update job a")
	noErr(t, s.ArchiveAsset(ctx, "a", store.KindEnvironment, "env", "", true), "archive a")
	j, err := s.GetJob(ctx, "b", "job")
	noErr(t, err, "get job b")
	same(t, "job b status", j.Status, "Running")
	a, err := s.GetAsset(ctx, "b", store.KindEnvironment, "env", "")
	noErr(t, err, "get latest env in b")
	same(t, "env in b archived", a.Archived, false)

	// An operation naming a workspace that does not exist finds nothing.
	_, err = s.GetAsset(ctx, "c", store.KindEnvironment, "env", "1")
	isErr(t, err, store.ErrNotFound, "asset in missing workspace")
	_, err = s.ListAssets(ctx, "c", store.KindEnvironment, "")
	isErr(t, err, store.ErrNotFound, "list assets in missing workspace")
	_, err = s.ListJobs(ctx, "c", true)
	isErr(t, err, store.ErrNotFound, "list jobs in missing workspace")
	err = s.PutAsset(ctx, store.Asset{Workspace: "c", Kind: store.KindData, Name: "d", Version: "1",
		Spec: json.RawMessage(`{}`)}, false)
	isErr(t, err, store.ErrNotFound, "put asset in missing workspace")
	err = s.CreateJob(ctx, store.Job{Workspace: "c", Name: "job"}, nil)
	isErr(t, err, store.ErrNotFound, "create job in missing workspace")
	err = s.PutReuse(ctx, store.Reuse{Key: "key", Workspace: "c"})
	isErr(t, err, store.ErrNotFound, "put reuse in missing workspace")
}
