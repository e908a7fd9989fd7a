package registry_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	artlocal "github.com/ciel-mlops/ciel/internal/artifacts/local"
	"github.com/ciel-mlops/ciel/internal/blob"
	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

const ws = "ws"

// fakeJobs is a JobResolver over fixed outputs.
type fakeJobs struct {
	outputs map[string]string // "job/output" -> digest
}

func (f fakeJobs) JobOutput(_ context.Context, _, job, name string) (string, registry.Lineage, error) {
	d, ok := f.outputs[job+"/"+name]
	if !ok {
		return "", registry.Lineage{}, fmt.Errorf("job %s has no output %s: %w", job, name, store.ErrNotFound)
	}
	return d, registry.Lineage{Job: job, Step: "train", Code: "sha256:code",
		Inputs: []registry.DataInput{{Step: "prep", Input: "raw", Asset: "azureml:training_data:1", Digest: "sha256:data"}}}, nil
}

func (f fakeJobs) StepLineage(_ context.Context, _, job, step string) (registry.Lineage, error) {
	return registry.Lineage{Job: job, Step: step, Code: "sha256:code"}, nil
}

// fakeTracking knows one run and one logged model.
type fakeTracking struct{}

func (fakeTracking) RunArtifactURI(_ context.Context, _, runID string) (string, error) {
	if runID != "r1" {
		return "", fmt.Errorf("run %s: %w", runID, store.ErrNotFound)
	}
	return artifacts.Location("1/r1/artifacts"), nil
}

func (fakeTracking) LoggedModel(_ context.Context, _, id string) (string, string, error) {
	if id != "m-1" {
		return "", "", fmt.Errorf("logged model %s: %w", id, store.ErrNotFound)
	}
	return artifacts.Location("1/models/m-1/artifacts"), "r1", nil
}

func (fakeTracking) StepRunID(context.Context, string, string, string) (string, error) {
	return "r-step", nil
}

func (fakeTracking) RunStep(_ context.Context, _, runID string) (string, string, error) {
	return "job_of_" + runID, "train", nil
}

// bundle is what setup gives a test.
type bundle struct {
	svc   *registry.Service
	root  artifacts.Root
	blobs blob.Store
	jobs  fakeJobs
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupWith(t, nil)
}

// setupWith is setup over the artifact root arts, or a folder when nil.
func setupWith(t *testing.T, arts registry.ArtifactFiles) *bundle {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqldb.Open(ctx, sqldb.Config{Path: filepath.Join(dir, "ciel.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.CreateWorkspace(ctx, store.Workspace{Name: ws}); err != nil {
		t.Fatal(err)
	}
	blobs, err := bloblocal.Open(bloblocal.Config{Dir: filepath.Join(dir, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{blobs: blobs, jobs: fakeJobs{outputs: map[string]string{}}}
	if arts == nil {
		folder, err := artlocal.New(filepath.Join(dir, "mlartifacts"))
		if err != nil {
			t.Fatal(err)
		}
		arts, b.root = folder, folder.Root()
	}
	b.svc = registry.New(registry.Config{Store: st, Blobs: blobs, Artifacts: arts, Jobs: b.jobs, Tracking: fakeTracking{},
		CacheDir: filepath.Join(dir, "cache")})
	return b
}

// writeFiles writes files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// upload stores files as a tree and returns its digest.
func (b *bundle) upload(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	d, err := blob.IngestDir(context.Background(), b.blobs, dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// files lists the files of a version's folder.
func (b *bundle) files(t *testing.T, v registry.Version) []string {
	t.Helper()
	dir, err := b.root.Path(ws, v.Storage)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateVersionSources(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	mlflowModel := map[string]string{"MLmodel": "flavors: {}", "model.pkl": "pickle"}
	b.jobs.outputs["j1/model"] = b.upload(t, mlflowModel)
	b.jobs.outputs["j1/artifacts"] = b.upload(t, map[string]string{"outputs/model/MLmodel": "x", "outputs/model/m.pkl": "y", "logs/a.txt": "z"})
	writeFiles(t, filepath.Join(b.root.Dir, ws, "1/r1/artifacts/model"), mlflowModel)
	writeFiles(t, filepath.Join(b.root.Dir, ws, "1/models/m-1/artifacts"), mlflowModel)
	if err := os.MkdirAll(filepath.Join(b.root.Dir, ws, "1/r1/artifacts/empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	custom := b.upload(t, map[string]string{"weights.bin": "w"})

	tests := []struct {
		name, source string
		folder       string // given with an upload
		wantFolder   string
		wantFiles    []string
		wantType     string
		wantRun      string
		wantModelID  string
		wantJob      string
		wantErr      error
	}{
		{name: "upload", source: "blob:" + custom, wantFiles: []string{"weights.bin"}, wantType: registry.TypeCustom},
		{name: "upload of a folder", source: "blob:" + custom, folder: "weights", wantFolder: "weights",
			wantFiles: []string{"weights.bin"}, wantType: registry.TypeCustom},
		{name: "job output", source: "azureml://jobs/j1/outputs/model", wantFiles: []string{"MLmodel", "model.pkl"},
			wantFolder: "model", wantType: registry.TypeMLflow, wantRun: "r-step", wantJob: "j1"},
		{name: "job artifacts path", source: "azureml://jobs/j1/outputs/artifacts/paths/outputs/model/",
			wantFolder: "model", wantFiles: []string{"MLmodel", "m.pkl"}, wantType: registry.TypeMLflow, wantRun: "r-step", wantJob: "j1"},
		{name: "job artifacts file", source: "azureml://jobs/j1/outputs/artifacts/paths/logs/a.txt",
			wantFiles: []string{"a.txt"}, wantType: registry.TypeCustom, wantRun: "r-step", wantJob: "j1"},
		{name: "run", source: "runs:/r1/model", wantFiles: []string{"MLmodel", "model.pkl"}, wantType: registry.TypeMLflow,
			wantFolder: "model", wantRun: "r1", wantJob: "job_of_r1"},
		{name: "logged model", source: "models:/m-1", wantFiles: []string{"MLmodel", "model.pkl"}, wantType: registry.TypeMLflow,
			wantRun: "r1", wantModelID: "m-1", wantJob: "job_of_r1"},
		{name: "artifact uri", source: "mlflow-artifacts:/1/r1/artifacts/model", wantFiles: []string{"MLmodel", "model.pkl"},
			wantFolder: "model", wantType: registry.TypeMLflow},
		{name: "registered version", source: "models:/src/1", wantFiles: []string{"weights.bin"}, wantType: registry.TypeCustom,
			wantFolder: "src-files"},
		{name: "latest version", source: "models:/src/latest", wantFiles: []string{"weights.bin"}, wantType: registry.TypeCustom,
			wantFolder: "src-files"},
		{name: "folder with a slash", source: "blob:" + custom, folder: "a/b", wantErr: registry.ErrInvalid},
		{name: "folder dot-dot", source: "blob:" + custom, folder: "..", wantErr: registry.ErrInvalid},
		{name: "missing job", source: "azureml://jobs/nope/outputs/model", wantErr: store.ErrNotFound},
		{name: "missing job output", source: "azureml://jobs/j1/outputs/nope", wantErr: store.ErrNotFound},
		{name: "missing path in output", source: "azureml://jobs/j1/outputs/artifacts/paths/nope", wantErr: store.ErrNotFound},
		{name: "bad job uri", source: "azureml://jobs/j1", wantErr: registry.ErrInvalid},
		{name: "missing run", source: "runs:/r9/model", wantErr: store.ErrNotFound},
		{name: "missing run path", source: "runs:/r1/nope", wantErr: store.ErrNotFound},
		{name: "empty run folder", source: "runs:/r1/empty", wantErr: registry.ErrInvalid},
		{name: "missing logged model", source: "models:/m-9", wantErr: store.ErrNotFound},
		{name: "missing version", source: "models:/src/9", wantErr: store.ErrNotFound},
		{name: "escaping artifact uri", source: "mlflow-artifacts:/../other/x", wantErr: registry.ErrInvalid},
		{name: "missing upload", source: "blob:sha256:" + fmt.Sprintf("%064d", 0), wantErr: store.ErrNotFound},
		{name: "unknown scheme", source: "s3://bucket/model", wantErr: registry.ErrInvalid},
		{name: "empty source", source: "", wantErr: registry.ErrInvalid},
	}
	if _, err := b.svc.CreateVersion(ctx, registry.NewVersion{Workspace: ws, Name: "src", Source: "blob:" + custom,
		Folder: "src-files", CreateModel: true}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := b.svc.CreateVersion(ctx, registry.NewVersion{Workspace: ws, Name: "m", Source: tt.source,
				Folder: tt.folder, CreateModel: true})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.files(t, v); !slices.Equal(got, tt.wantFiles) {
				t.Errorf("files = %v, want %v", got, tt.wantFiles)
			}
			if v.Status != registry.StatusReady || v.Type != tt.wantType || v.RunID != tt.wantRun ||
				v.ModelID != tt.wantModelID || v.Lineage.Job != tt.wantJob || v.Lineage.Source != tt.source {
				t.Errorf("version = %+v", v)
			}
			if got, err := b.svc.GetVersion(ctx, ws, "m", v.Version); err != nil || got.Folder != tt.wantFolder || v.Folder != tt.wantFolder {
				t.Errorf("folder %q, stored %q (%v), want %q", v.Folder, got.Folder, err, tt.wantFolder)
			}
			if want := artifacts.Location(v.Storage); v.Source != want || v.Storage != fmt.Sprintf("models/m/%d", v.Version) {
				t.Errorf("source %q storage %q, want %q and models/m/%d", v.Source, v.Storage, want, v.Version)
			}
		})
	}
}

func TestCreateVersionRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	src := "blob:" + b.upload(t, map[string]string{"MLmodel": "x"})
	plain := "blob:" + b.upload(t, map[string]string{"sub/MLmodel": "x"})
	tests := []struct {
		name    string
		req     registry.NewVersion
		want    int
		wantErr error
	}{
		{name: "model must exist", req: registry.NewVersion{Name: "m", Source: src}, wantErr: store.ErrNotFound},
		{name: "created with the model", req: registry.NewVersion{Name: "m", Source: src, CreateModel: true}, want: 1},
		{name: "explicit version", req: registry.NewVersion{Name: "m", Source: src, Version: 3}, want: 3},
		{name: "next after explicit", req: registry.NewVersion{Name: "m", Source: src}, want: 4},
		{name: "taken version", req: registry.NewVersion{Name: "m", Source: src, Version: 3}, wantErr: store.ErrConflict},
		{name: "bad type", req: registry.NewVersion{Name: "m", Source: src, Type: "onnx"}, wantErr: registry.ErrInvalid},
		{name: "bad name", req: registry.NewVersion{Name: "a/b", Source: src, CreateModel: true}, wantErr: registry.ErrInvalid},
		{name: "colon in name", req: registry.NewVersion{Name: "a:b", Source: src, CreateModel: true}, wantErr: registry.ErrInvalid},
		{name: "empty tag key", req: registry.NewVersion{Name: "m", Source: src, Tags: map[string]string{"": "x"}}, wantErr: registry.ErrInvalid},
		{name: "type given wins", req: registry.NewVersion{Name: "m", Source: src, Type: registry.TypeCustom}, want: 5},
		{name: "mlflow type needs MLmodel", req: registry.NewVersion{Name: "m", Source: plain, Type: registry.TypeMLflow}, wantErr: registry.ErrInvalid},
	}
	for _, tt := range tests { // in order: each builds on the last
		tt.req.Workspace = ws
		v, err := b.svc.CreateVersion(ctx, tt.req)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || v.Version != tt.want {
			t.Errorf("%s: version %d, %v; want %d", tt.name, v.Version, err, tt.want)
		}
		if want := orDefault(tt.req.Type, registry.TypeMLflow); err == nil && v.Type != want {
			t.Errorf("%s: type %q, want %q", tt.name, v.Type, want)
		}
	}
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func TestFilesFollowTheVersion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	src := "blob:" + b.upload(t, map[string]string{"w.bin": "1"})
	create := func(name string) registry.Version {
		t.Helper()
		v, err := b.svc.CreateVersion(ctx, registry.NewVersion{Workspace: ws, Name: name, Source: src, CreateModel: true})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	old := create("a")
	if _, err := b.svc.RenameModel(ctx, ws, "a", "b"); err != nil {
		t.Fatal(err)
	}
	renamed, err := b.svc.GetVersion(ctx, ws, "b", 1)
	if err != nil || renamed.Storage != old.Storage || renamed.Source != old.Source {
		t.Fatalf("after rename: %+v, %v (files must stay where they were)", renamed, err)
	}
	// A new "a" gets a folder of its own beside the renamed model's.
	fresh := create("a")
	if fresh.Storage == old.Storage || len(b.files(t, fresh)) != 1 || len(b.files(t, renamed)) != 1 {
		t.Fatalf("new version of a re-used name shares or lost files: %q vs %q", fresh.Storage, old.Storage)
	}
	if err := b.svc.DeleteVersion(ctx, ws, "b", 1); err != nil {
		t.Fatal(err)
	}
	if dir, _ := b.root.Path(ws, old.Storage); exists(dir) {
		t.Errorf("files of a deleted version are still at %s", dir)
	}
	if err := b.svc.DeleteModel(ctx, ws, "a"); err != nil {
		t.Fatal(err)
	}
	if dir, _ := b.root.Path(ws, fresh.Storage); exists(dir) {
		t.Errorf("files of a deleted model are still at %s", dir)
	}
	if _, err := b.svc.GetModel(ctx, ws, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted model: %v", err)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestAliases(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	src := "blob:" + b.upload(t, map[string]string{"w.bin": "1"})
	for range 2 {
		if _, err := b.svc.CreateVersion(ctx, registry.NewVersion{Workspace: ws, Name: "m", Source: src, CreateModel: true}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		alias   string
		version int
		wantErr error
	}{
		{"champion", 1, nil},
		{"champion", 2, nil},
		{"challenger-2_b", 1, nil},
		{"3", 1, nil},
		{"latest", 1, registry.ErrInvalid},
		{"LATEST", 1, registry.ErrInvalid},
		{"v3", 1, registry.ErrInvalid},
		{"with space", 1, registry.ErrInvalid},
		{"", 1, registry.ErrInvalid},
		{"orphan", 9, store.ErrNotFound},
	}
	for _, tt := range tests {
		err := b.svc.SetAlias(ctx, ws, "m", tt.alias, tt.version)
		if !errors.Is(err, tt.wantErr) && (tt.wantErr != nil || err != nil) {
			t.Errorf("SetAlias(%q, %d) = %v, want %v", tt.alias, tt.version, err, tt.wantErr)
		}
	}
	v, err := b.svc.VersionByAlias(ctx, ws, "m", "champion")
	if err != nil || v.Version != 2 {
		t.Fatalf("champion = %d, %v; want 2", v.Version, err)
	}
	if _, err := b.svc.VersionByAlias(ctx, ws, "m", "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing alias: %v", err)
	}
	if err := b.svc.DeleteAlias(ctx, ws, "m", "champion"); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.DeleteAlias(ctx, ws, "m", "champion"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete missing alias: %v", err)
	}
}

func TestUpdateVersionAndStages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	src := "blob:" + b.upload(t, map[string]string{"w.bin": "1"})
	for range 3 {
		if _, err := b.svc.CreateVersion(ctx, registry.NewVersion{Workspace: ws, Name: "m", Source: src, CreateModel: true,
			Tags: map[string]string{"keep": "1", "drop": "1"}}); err != nil {
			t.Fatal(err)
		}
	}
	desc, archived := "good", true
	v, err := b.svc.UpdateVersion(ctx, ws, "m", 1, registry.VersionUpdate{
		Description: &desc, SetTags: map[string]string{"new": "2"}, RemoveTags: []string{"drop"}, Archived: &archived,
	})
	if err != nil || v.Description != "good" || !v.Archived || v.Tags["new"] != "2" || v.Tags["keep"] != "1" || len(v.Tags) != 2 {
		t.Fatalf("update = %+v, %v", v, err)
	}
	bad := "Shipping"
	if _, err := b.svc.UpdateVersion(ctx, ws, "m", 1, registry.VersionUpdate{Stage: &bad}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("bad stage: %v", err)
	}
	if _, err := b.svc.TransitionStage(ctx, ws, "m", 2, "production", false); err != nil {
		t.Fatal(err)
	}
	v3, err := b.svc.TransitionStage(ctx, ws, "m", 3, "Production", true)
	if err != nil || v3.Stage != registry.StageProduction {
		t.Fatalf("transition 3 = %+v, %v", v3, err)
	}
	if v2, _ := b.svc.GetVersion(ctx, ws, "m", 2); v2.Stage != registry.StageArchived {
		t.Errorf("version 2 stage = %q, want Archived (archive_existing_versions)", v2.Stage)
	}
	// Version 1 is archived (Azure ML's flag), so latest is 3.
	if l, err := b.svc.LatestVersion(ctx, ws, "m"); err != nil || l.Version != 3 {
		t.Errorf("latest = %d, %v; want 3", l.Version, err)
	}
}
