package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/store"
)

// openCICD opens a fresh store with workspaces ws and ws2 and returns its
// cicd view with the store.
func openCICD(t *testing.T) (*CICDStore, *Store) {
	t.Helper()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	for _, ws := range []string{"ws", "ws2"} {
		if err := s.CreateWorkspace(t.Context(), store.Workspace{Name: ws}); err != nil {
			t.Fatal(err)
		}
	}
	return s.CICD(), s
}

func mustPipeline(t *testing.T, c *CICDStore, ws, name string) cicd.Pipeline {
	t.Helper()
	p, err := c.CreatePipeline(t.Context(), cicd.Pipeline{Workspace: ws, Name: name, Repository: "repo", YAMLPath: "azure-pipelines.yml"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRun(t *testing.T, c *CICDStore, ws, pipeline, status string) cicd.Run {
	t.Helper()
	r, err := c.CreateRun(t.Context(), cicd.Run{Workspace: ws, Pipeline: pipeline, Status: status, Reason: cicd.ReasonManual})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func runIDs(runs []cicd.Run) []int64 {
	ids := []int64{}
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestCICDPipelines(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, _ := openCICD(t)

	created := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600))
	a, err := c.CreatePipeline(ctx, cicd.Pipeline{Workspace: "ws", Name: "b-build", Repository: "repo", YAMLPath: "ci/build.yml", CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || !a.CreatedAt.Equal(created) {
		t.Fatalf("created %+v", a)
	}
	b := mustPipeline(t, c, "ws", "a-test")
	other := mustPipeline(t, c, "ws2", "b-build") // same name, other workspace
	if b.ID == a.ID || other.ID == a.ID || other.ID == b.ID {
		t.Fatalf("pipeline IDs not unique: %d %d %d", a.ID, b.ID, other.ID)
	}
	if b.CreatedAt.IsZero() {
		t.Error("zero CreatedAt not set to now")
	}

	got, err := c.GetPipeline(ctx, "ws", "b-build")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Repository != "repo" || got.YAMLPath != "ci/build.yml" || !got.CreatedAt.Equal(created) ||
		got.CreatedAt.Location() != time.UTC {
		t.Errorf("get: %+v, want %+v in UTC", got, a)
	}

	errTests := []struct {
		name string
		call func() error
		want error
	}{
		{"create taken name", func() error {
			_, err := c.CreatePipeline(ctx, cicd.Pipeline{Workspace: "ws", Name: "a-test"})
			return err
		}, store.ErrConflict},
		{"create in missing workspace", func() error {
			_, err := c.CreatePipeline(ctx, cicd.Pipeline{Workspace: "nope", Name: "p"})
			return err
		}, store.ErrNotFound},
		{"get missing", func() error { _, err := c.GetPipeline(ctx, "ws", "nope"); return err }, store.ErrNotFound},
		{"get from other workspace", func() error { _, err := c.GetPipeline(ctx, "ws2", "a-test"); return err }, store.ErrNotFound},
		{"list missing workspace", func() error { _, err := c.ListPipelines(ctx, "nope"); return err }, store.ErrNotFound},
		{"delete missing", func() error { return c.DeletePipeline(ctx, "ws", "nope") }, store.ErrNotFound},
		{"delete from other workspace", func() error { return c.DeletePipeline(ctx, "ws2", "a-test") }, store.ErrNotFound},
	}
	for _, tt := range errTests {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}

	list, err := c.ListPipelines(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "a-test" || list[1].Name != "b-build" {
		t.Errorf("list ws: %+v, want a-test, b-build", list)
	}

	if err := c.DeletePipeline(ctx, "ws", "b-build"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPipeline(ctx, "ws", "b-build"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := c.GetPipeline(ctx, "ws2", "b-build"); err != nil {
		t.Errorf("other workspace's pipeline went with it: %v", err)
	}
	// The name is free again; the ID is not reused.
	again := mustPipeline(t, c, "ws", "b-build")
	if again.ID <= other.ID {
		t.Errorf("recreated pipeline ID %d, want above %d", again.ID, other.ID)
	}

	if err := c.DeletePipeline(ctx, "ws", "a-test"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePipeline(ctx, "ws", "b-build"); err != nil {
		t.Fatal(err)
	}
	if list, err := c.ListPipelines(ctx, "ws"); err != nil || len(list) != 0 {
		t.Errorf("empty workspace: %v, %v; want [], nil", list, err)
	}
}

func TestCICDRuns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, _ := openCICD(t)
	mustPipeline(t, c, "ws", "build")
	mustPipeline(t, c, "ws", "deploy")
	mustPipeline(t, c, "ws2", "build")

	// Created in this order: IDs increase across pipelines and workspaces.
	r1 := mustRun(t, c, "ws", "build", cicd.StatusCompleted)
	r2 := mustRun(t, c, "ws", "deploy", cicd.StatusInProgress)
	r3 := mustRun(t, c, "ws2", "build", cicd.StatusNotStarted)
	r4 := mustRun(t, c, "ws", "build", cicd.StatusNotStarted)
	r5 := mustRun(t, c, "ws", "build", cicd.StatusCancelling)
	for i, ids := 1, []int64{r1.ID, r2.ID, r3.ID, r4.ID, r5.ID}; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("run IDs not increasing: %v", ids)
		}
	}
	if r1.QueueTime.IsZero() {
		t.Error("zero QueueTime not set to now")
	}

	if _, err := c.CreateRun(ctx, cicd.Run{Workspace: "ws", Pipeline: "nope", Status: cicd.StatusNotStarted}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("run of a missing pipeline: %v, want not found", err)
	}

	listTests := []struct {
		name     string
		ws, pipe string
		limit    int
		want     []int64
		wantErr  error
	}{
		{"workspace", "ws", "", 0, []int64{r5.ID, r4.ID, r2.ID, r1.ID}, nil},
		{"workspace limited", "ws", "", 2, []int64{r5.ID, r4.ID}, nil},
		{"pipeline", "ws", "build", 0, []int64{r5.ID, r4.ID, r1.ID}, nil},
		{"pipeline limited", "ws", "build", 1, []int64{r5.ID}, nil},
		{"limit above count", "ws", "deploy", 10, []int64{r2.ID}, nil},
		{"other workspace", "ws2", "", 0, []int64{r3.ID}, nil},
		{"other workspace's pipeline", "ws2", "deploy", 0, nil, store.ErrNotFound},
		{"missing workspace", "nope", "", 0, nil, store.ErrNotFound},
	}
	for _, tt := range listTests {
		got, err := c.ListRuns(ctx, tt.ws, tt.pipe, tt.limit)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(runIDs(got), tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.name, runIDs(got), err, tt.want)
		}
	}

	unfinished, err := c.ListUnfinishedRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{r2.ID, r3.ID, r4.ID, r5.ID}; !reflect.DeepEqual(runIDs(unfinished), want) {
		t.Errorf("unfinished: %v, want %v", runIDs(unfinished), want)
	}

	getTests := []struct {
		name string
		ws   string
		id   int64
		err  error
	}{
		{"own workspace", "ws", r2.ID, nil},
		{"other workspace", "ws2", r2.ID, store.ErrNotFound},
		{"missing", "ws", r5.ID + 100, store.ErrNotFound},
	}
	for _, tt := range getTests {
		got, err := c.GetRun(ctx, tt.ws, tt.id)
		if !errors.Is(err, tt.err) || (err == nil && (got.ID != tt.id || got.Pipeline != "deploy" || got.Workspace != "ws")) {
			t.Errorf("get %s: %+v, %v; want err %v", tt.name, got, err, tt.err)
		}
	}

	// Deleting a pipeline takes its runs and no others.
	if err := c.DeletePipeline(ctx, "ws", "build"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{r1.ID, r4.ID, r5.ID} {
		if _, err := c.GetRun(ctx, "ws", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("run %d outlived its pipeline: %v", id, err)
		}
	}
	if got, err := c.ListRuns(ctx, "ws", "", 0); err != nil || !reflect.DeepEqual(runIDs(got), []int64{r2.ID}) {
		t.Errorf("after delete: %v, %v; want [%d]", runIDs(got), err, r2.ID)
	}
	if got, err := c.ListRuns(ctx, "ws2", "build", 0); err != nil || !reflect.DeepEqual(runIDs(got), []int64{r3.ID}) {
		t.Errorf("other workspace's build after delete: %v, %v", runIDs(got), err)
	}
	if r6 := mustRun(t, c, "ws", "deploy", cicd.StatusNotStarted); r6.ID <= r5.ID {
		t.Errorf("run ID %d after deletes, want above %d", r6.ID, r5.ID)
	}
}

func TestCICDUpdateRun(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, _ := openCICD(t)
	mustPipeline(t, c, "ws", "build")
	mustPipeline(t, c, "ws", "other")
	r := mustRun(t, c, "ws", "build", cicd.StatusNotStarted)

	zone := time.FixedZone("EST", -5*3600)
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, zone)
	full := r
	full.Status, full.Result = cicd.StatusCompleted, cicd.ResultPartiallySucceeded
	full.SourceBranch, full.SourceVersion = "refs/heads/main", "0123abcd"
	full.Parameters = map[string]string{"env": "prod", "n": "3"}
	full.StartTime, full.FinishTime = t0, t0.Add(time.Minute)
	full.Error = "one job failed"
	full.Jobs = []cicd.RunJob{{
		Stage: "Build", Name: "compile", DisplayName: "Compile", Status: "completed", Result: cicd.ResultFailed,
		StartTime: t0, FinishTime: t0.Add(30 * time.Second),
		Steps: []cicd.RunStep{
			{Name: "checkout", Status: "succeeded", StartTime: t0, FinishTime: t0.Add(time.Second)},
			{Name: "make", DisplayName: "make all", Status: "failed", StartTime: t0.Add(time.Second),
				FinishTime: t0.Add(29 * time.Second), ExitCode: 2, Error: "exit status 2"},
		},
	}, {Stage: "Build", Name: "lint", Status: "completed", Result: cicd.ResultSucceeded}}
	full.Artifacts = []cicd.Artifact{{Name: "drop", Digest: "sha256:abc", Files: 3, Size: 1 << 20}}
	if err := c.UpdateRun(ctx, full); err != nil {
		t.Fatal(err)
	}
	if full.StartTime.Location() != zone || full.Jobs[0].Steps[0].StartTime.Location() != zone {
		t.Error("UpdateRun changed the caller's times")
	}

	got, err := c.GetRun(ctx, "ws", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !runsEqual(got, full) {
		t.Errorf("after update:\n got %+v\nwant %+v", got, full)
	}
	if got.StartTime.Location() != time.UTC || got.Jobs[0].Steps[1].FinishTime.Location() != time.UTC {
		t.Error("times not read back in UTC")
	}
	if u, err := c.ListUnfinishedRuns(ctx); err != nil || len(u) != 0 {
		t.Errorf("completed run still unfinished: %v, %v", runIDs(u), err)
	}

	// The whole record is replaced: what the update leaves out is gone.
	bare := cicd.Run{Workspace: "ws", Pipeline: "build", ID: r.ID, Status: cicd.StatusInProgress}
	if err := c.UpdateRun(ctx, bare); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetRun(ctx, "ws", r.ID); err != nil || !runsEqual(got, bare) {
		t.Errorf("after replacing with a bare run: %+v, %v", got, err)
	}
	if u, err := c.ListUnfinishedRuns(ctx); err != nil || !reflect.DeepEqual(runIDs(u), []int64{r.ID}) {
		t.Errorf("unfinished after status change: %v, %v", runIDs(u), err)
	}

	errTests := []struct {
		name string
		r    cicd.Run
	}{
		{"missing id", cicd.Run{Workspace: "ws", Pipeline: "build", ID: r.ID + 1}},
		{"other workspace", cicd.Run{Workspace: "ws2", Pipeline: "build", ID: r.ID}},
		{"other pipeline", cicd.Run{Workspace: "ws", Pipeline: "other", ID: r.ID}},
	}
	for _, tt := range errTests {
		if err := c.UpdateRun(ctx, tt.r); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update %s: %v, want not found", tt.name, err)
		}
	}
}

// runsEqual compares runs with time.Equal for their times.
func runsEqual(a, b cicd.Run) bool {
	a, b = utcRun(a), utcRun(b)
	return reflect.DeepEqual(a, b)
}

// TestCICDDurable checks a run is there after the store is reopened, and a
// deleted workspace takes its pipelines and runs.
func TestCICDDurable(t *testing.T) {
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
	c := s.CICD()
	mustPipeline(t, c, "ws", "build")
	r, err := c.CreateRun(ctx, cicd.Run{Workspace: "ws", Pipeline: "build", Status: cicd.StatusInProgress,
		Parameters: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openTest(t, path)
	c2 := s2.CICD()
	got, err := c2.GetRun(ctx, "ws", r.ID)
	if err != nil || !runsEqual(got, r) {
		t.Fatalf("after reopen: %+v, %v; want %+v", got, err, r)
	}
	if next := mustRun(t, c2, "ws", "build", cicd.StatusNotStarted); next.ID <= r.ID {
		t.Errorf("run ID %d after reopen, want above %d", next.ID, r.ID)
	}
	if err := s2.DeleteWorkspace(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
	if u, err := c2.ListUnfinishedRuns(ctx); err != nil || len(u) != 0 {
		t.Errorf("runs outlived their workspace: %v, %v", runIDs(u), err)
	}
	var n int
	if err := s2.rdb.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM cicd_pipelines) + (SELECT COUNT(*) FROM cicd_runs)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d pipeline and run rows outlived their workspace (%v)", n, err)
	}
}

// TestCICDConcurrentRuns checks concurrent creators get distinct IDs and
// every run is stored.
func TestCICDConcurrentRuns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, _ := openCICD(t)
	mustPipeline(t, c, "ws", "build")

	const goroutines, each = 8, 10
	var (
		mu  sync.Mutex
		ids = map[int64]bool{}
		wg  sync.WaitGroup
	)
	for range goroutines {
		wg.Go(func() {
			for range each {
				r, err := c.CreateRun(ctx, cicd.Run{Workspace: "ws", Pipeline: "build", Status: cicd.StatusNotStarted})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if ids[r.ID] {
					t.Errorf("ID %d handed out twice", r.ID)
				}
				ids[r.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(ids) != goroutines*each {
		t.Fatalf("%d distinct IDs, want %d", len(ids), goroutines*each)
	}
	list, err := c.ListRuns(ctx, "ws", "build", 0)
	if err != nil || len(list) != goroutines*each {
		t.Fatalf("listed %d runs (%v), want %d", len(list), err, goroutines*each)
	}
	for i := 1; i < len(list); i++ {
		if list[i].ID >= list[i-1].ID {
			t.Fatalf("list not newest first at %d: %d after %d", i, list[i].ID, list[i-1].ID)
		}
	}
}
