// Package storetest is the conformance suite for store.Store backends: every
// backend's tests call Run, so they all honour one contract (not-found and
// conflict errors, ordering, workspace isolation, concurrency, durability).
//
// It is test support only; nothing outside _test files should import it.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// Run runs the suite against the backend that open creates.
//
// open must return a store over fresh, empty storage for each distinct t,
// and arrange (with t.Cleanup) for it to be closed. Called again with the
// same t after that store was closed, it must return a store over the same
// storage: that is how the suite checks that acknowledged writes survive a
// reopen. Close must therefore tolerate being called twice. Subtests run in
// parallel, each on its own storage.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"Workspaces", testWorkspaces},
		{"DeleteWorkspaceCascades", testDeleteWorkspaceCascades},
		{"WorkspaceIsolation", testWorkspaceIsolation},
		{"AssetVersions", testAssetVersions},
		{"AssetLatest", testAssetLatest},
		{"ListAssets", testListAssets},
		{"ArchiveAndDeleteAssets", testArchiveAndDeleteAssets},
		{"AssetNotFound", testAssetNotFound},
		{"Jobs", testJobs},
		{"ListJobs", testListJobs},
		{"ListActiveJobs", testListActiveJobs},
		{"Steps", testSteps},
		{"UpdateStepsAtomic", testUpdateStepsAtomic},
		{"ConcurrentUpdateSteps", testConcurrentUpdateSteps},
		{"Reuse", testReuse},
		{"CancelledWrite", testCancelledWrite},
		{"Durability", testDurability},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

// base is a fixed instant with microsecond precision, the finest every
// backend (PostgreSQL included) keeps.
var base = time.Date(2024, 5, 1, 12, 30, 0, 123456000, time.UTC)

func at(d time.Duration) *time.Time {
	t := base.Add(d)
	return &t
}

func intp(v int) *int { return &v }

// noErr fails the test now if err is not nil.
func noErr(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// isErr reports an error unless err wraps target.
func isErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

// same reports a difference between got and want after normalising both:
// times to UTC, empty maps and JSON to nil.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := normalize(got), normalize(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, show(g), show(w))
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func normalize(v any) any {
	switch v := v.(type) {
	case store.Workspace:
		v.CreatedAt = v.CreatedAt.UTC()
		v.Tags = normMap(v.Tags)
		return v
	case store.Asset:
		v.CreatedAt = v.CreatedAt.UTC()
		v.Spec = normRaw(v.Spec)
		return v
	case store.Job:
		v.CreatedAt = v.CreatedAt.UTC()
		v.StartedAt, v.EndedAt = normTime(v.StartedAt), normTime(v.EndedAt)
		v.Spec, v.Plan = normRaw(v.Spec), normRaw(v.Plan)
		v.Outputs = normMap(v.Outputs)
		return v
	case store.Step:
		v.StartedAt, v.EndedAt = normTime(v.StartedAt), normTime(v.EndedAt)
		v.Outputs = normMap(v.Outputs)
		return v
	case store.Reuse:
		v.CreatedAt = v.CreatedAt.UTC()
		v.Outputs = normMap(v.Outputs)
		return v
	case []store.Workspace:
		return normSlice(v)
	case []store.Asset:
		return normSlice(v)
	case []store.Job:
		return normSlice(v)
	case []store.Step:
		return normSlice(v)
	}
	return v
}

func normSlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = normalize(v)
	}
	return out
}

func normTime(p *time.Time) *time.Time {
	if p == nil {
		return nil
	}
	t := p.UTC()
	return &t
}

func normMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func normRaw(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return nil
	}
	return r
}

// fixture creates workspace ws in s, failing the test on error.
func fixture(t *testing.T, s store.Store, ws string) store.Workspace {
	t.Helper()
	w := store.Workspace{Name: ws, Location: "local", CreatedAt: base}
	noErr(t, s.CreateWorkspace(t.Context(), w), "create workspace "+ws)
	return w
}

// newJob creates job name in ws with steps named stepNames, all NotStarted.
func newJob(t *testing.T, s store.Store, ws, name string, stepNames ...string) (store.Job, []store.Step) {
	t.Helper()
	j := store.Job{
		Workspace: ws, Name: name, Type: "pipeline", Status: "NotStarted",
		Spec: json.RawMessage(`{"type":"pipeline"}`), Plan: json.RawMessage(`{"steps":[]}`),
		CreatedAt: base,
	}
	steps := make([]store.Step, len(stepNames))
	for i, n := range stepNames {
		steps[i] = store.Step{Workspace: ws, Job: name, Name: n, Status: "NotStarted"}
	}
	noErr(t, s.CreateJob(t.Context(), j, steps), "create job "+name)
	return j, steps
}

// names returns the Name of each element, for order checks.
func names[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}

func stepName(s store.Step) string { return s.Name }
func jobName(j store.Job) string   { return j.Name }

func assetID(a store.Asset) string { return a.Name + ":" + a.Version }
