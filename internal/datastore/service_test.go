package datastore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/datastore/folder"
	"github.com/ciel-mlops/ciel/internal/store"
)

// memStore is an in-memory datastore.Store with one workspace, "ws".
type memStore struct {
	mu      sync.Mutex
	stores  map[string]datastore.Datastore
	fetched map[string]datastore.Fetched
}

func (m *memStore) PutDatastore(_ context.Context, ds datastore.Datastore) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stores[ds.Name] = ds
	return nil
}

func (m *memStore) GetDatastore(_ context.Context, ws, name string) (datastore.Datastore, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ds, ok := m.stores[name]
	if !ok || ws != "ws" {
		return ds, store.ErrNotFound
	}
	return ds, nil
}

func (m *memStore) ListDatastores(_ context.Context, ws string) ([]datastore.Datastore, error) {
	if ws != "ws" {
		return nil, store.ErrNotFound
	}
	return nil, nil
}

func (m *memStore) DeleteDatastore(_ context.Context, ws, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.stores[name]; !ok {
		return store.ErrNotFound
	}
	delete(m.stores, name)
	return nil
}

func (m *memStore) GetFetched(_ context.Context, key string) (datastore.Fetched, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.fetched[key]
	if !ok {
		return f, store.ErrNotFound
	}
	return f, nil
}

func (m *memStore) PutFetched(_ context.Context, f datastore.Fetched) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fetched[f.Key] = f
	return nil
}

// fakeJobs has one job, "j", whose output "out" is a tree.
type fakeJobs struct{ digest string }

func (f fakeJobs) JobOutput(_ context.Context, ws, job, output string) (string, error) {
	if ws != "ws" || job != "j" || output != "out" {
		return "", fmt.Errorf("job %s output %s: %w", job, output, store.ErrNotFound)
	}
	return f.digest, nil
}

type testBundle struct {
	svc   *datastore.Service
	blobs blob.Store
	mem   *memStore
	home  string
}

func setup(t *testing.T, http datastore.HTTPConfig) testBundle {
	t.Helper()
	home := t.TempDir()
	blobs, err := bloblocal.Open(bloblocal.Config{Dir: filepath.Join(home, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	mem := &memStore{stores: map[string]datastore.Datastore{}, fetched: map[string]datastore.Fetched{}}
	open := func(ds datastore.Datastore) (datastore.Backend, error) { return folder.New(ds.Path) }
	svc := datastore.New(datastore.Config{Store: mem, Blobs: blobs, Open: open, Home: home,
		DefaultRoot: filepath.Join(home, "datastores"), HTTP: http})
	return testBundle{svc: svc, blobs: blobs, mem: mem, home: home}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPutValidates(t *testing.T) {
	t.Parallel()
	b := setup(t, datastore.HTTPConfig{})
	dir := t.TempDir()
	write(t, filepath.Join(dir, "f.txt"), "x")
	ok := func(ds datastore.Datastore) datastore.Datastore { ds.Workspace = "ws"; return ds }
	for _, c := range []struct {
		ds    datastore.Datastore
		field string
	}{
		{ok(datastore.Datastore{Name: "lake", Type: "local", Path: dir}), ""},
		{ok(datastore.Datastore{Name: "lake2", Type: "local", Path: dir + "/"}), ""},
		{ok(datastore.Datastore{Name: "b", Type: "s3", Endpoint: "http://127.0.0.1:9000", Bucket: "data", Prefix: "team/a/",
			AccessKeyIDEnv: "KEY", SecretAccessKeyEnv: "SECRET"}), ""},
		{ok(datastore.Datastore{Name: "anon", Type: "s3", Endpoint: "https://s3.amazonaws.com", Bucket: "public-data"}), ""},
		{ok(datastore.Datastore{Name: "../x", Type: "local", Path: dir}), "name"},
		{ok(datastore.Datastore{Name: "workspaceblobstore", Type: "local", Path: dir}), "name"},
		{ok(datastore.Datastore{Name: "x", Type: "azure_blob"}), "type"},
		{ok(datastore.Datastore{Name: "x", Type: "nfs"}), "type"},
		{ok(datastore.Datastore{Name: "x"}), "type"},
		{ok(datastore.Datastore{Name: "x", Type: "local"}), "path"},
		{ok(datastore.Datastore{Name: "x", Type: "local", Path: "rel/dir"}), "path"},
		{ok(datastore.Datastore{Name: "x", Type: "local", Path: filepath.Join(dir, "nope")}), "path"},
		{ok(datastore.Datastore{Name: "x", Type: "local", Path: filepath.Join(dir, "f.txt")}), "path"},
		{ok(datastore.Datastore{Name: "x", Type: "local", Path: b.home}), "path"},
		{ok(datastore.Datastore{Name: "x", Type: "local", Path: filepath.Join(b.home, "blobs")}), "path"},
		{ok(datastore.Datastore{Name: "x", Type: "local", Path: dir, Bucket: "b"}), "type"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Bucket: "data"}), "endpoint"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Endpoint: "ftp://h", Bucket: "data"}), "endpoint"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Endpoint: "http://u:p@h", Bucket: "data"}), "endpoint"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Endpoint: "http://h/path", Bucket: "data"}), "endpoint"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Endpoint: "http://h", Bucket: "Data_Bad"}), "bucket"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Endpoint: "http://h", Bucket: "data", Prefix: "../up"}), "prefix"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Endpoint: "http://h", Bucket: "data", AccessKeyIDEnv: "KEY"}), "credentials"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Endpoint: "http://h", Bucket: "data",
			AccessKeyIDEnv: "AKIAIOSFODNN7EXAMPLE/x", SecretAccessKeyEnv: "S"}), "credentials"},
		{ok(datastore.Datastore{Name: "x", Type: "s3", Endpoint: "http://h", Bucket: "data", Path: dir}), "path"},
	} {
		_, err := b.svc.Put(context.Background(), c.ds)
		var ie *datastore.InvalidError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("Put(%+v) = %v; want it accepted", c.ds, err)
		case c.field != "" && (!errors.As(err, &ie) || ie.Field != c.field):
			t.Errorf("Put(%+v) = %v; want an InvalidError on %s", c.ds, err, c.field)
		}
	}
	if got := b.mem.stores["lake2"].Path; got != dir {
		t.Errorf("path kept as %q; want it cleaned to %q", got, dir)
	}
}

func TestLocalReadWrite(t *testing.T) {
	t.Parallel()
	b := setup(t, datastore.HTTPConfig{})
	ctx := context.Background()
	dir, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "in", "a.csv"), "a\n")
	write(t, filepath.Join(dir, "in", "deep", "b.csv"), "b\n")
	write(t, filepath.Join(outside, "secret"), "s\n")
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Put(ctx, datastore.Datastore{Workspace: "ws", Name: "lake", Type: "local", Path: dir}); err != nil {
		t.Fatal(err)
	}

	res, err := b.svc.Fetch(ctx, "ws", "azureml://datastores/lake/paths/in/a.csv")
	if err != nil || res.Dir {
		t.Fatalf("fetch a file: %+v, %v", res, err)
	}
	tree, _ := blob.GetTree(ctx, b.blobs, res.Digest)
	if len(tree.Entries) != 1 || tree.Entries[0].Path != "a.csv" {
		t.Fatalf("file tree: %+v", tree)
	}
	res, err = b.svc.Fetch(ctx, "ws", "azureml://datastores/lake/paths/in/")
	if err != nil || !res.Dir {
		t.Fatalf("fetch a folder: %+v, %v", res, err)
	}
	if tree, _ = blob.GetTree(ctx, b.blobs, res.Digest); len(tree.Entries) != 2 || tree.Entries[1].Path != "deep/b.csv" {
		t.Fatalf("folder tree: %+v", tree)
	}
	if _, err := b.svc.Fetch(ctx, "ws", "azureml://datastores/lake/paths/out/secret"); !errors.Is(err, datastore.ErrEscape) {
		t.Fatalf("read through a link out: %v; want ErrEscape", err)
	}
	if _, err := b.svc.Fetch(ctx, "ws", "azureml://datastores/lake/paths/none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read of nothing: %v; want ErrNotFound", err)
	}
	if err := b.svc.Check(ctx, "ws", "azureml://datastores/lake/paths/out/new/x", true); err == nil {
		t.Fatal("Check let an output through a link out")
	}
	if err := b.svc.Check(ctx, "other", "azureml://subscriptions/s/resourcegroups/g/workspaces/ws/datastores/lake/paths/a", false); err == nil {
		t.Fatal("Check let a URI naming another workspace through")
	}

	// Write a folder, then one file.
	src, _ := b.svc.Fetch(ctx, "ws", "azureml://datastores/lake/paths/in")
	if err := b.svc.Write(ctx, "ws", "azureml://datastores/lake/paths/copy/", src.Digest, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "copy", "deep", "b.csv")); string(got) != "b\n" {
		t.Fatalf("written folder: %q", got)
	}
	one, _ := b.svc.Fetch(ctx, "ws", "azureml://datastores/lake/paths/in/a.csv")
	if err := b.svc.Write(ctx, "ws", "azureml://datastores/lake/paths/single/renamed.txt", one.Digest, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "single", "renamed.txt")); string(got) != "a\n" {
		t.Fatalf("written file: %q", got)
	}
	if err := b.svc.Write(ctx, "ws", "azureml://datastores/lake/paths/out/new", src.Digest, false); !errors.Is(err, datastore.ErrEscape) {
		t.Fatalf("write through a link out: %v; want ErrEscape", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Fatal("a file was written outside the datastore")
	}
	if err := b.svc.Write(ctx, "ws", "https://example.com/x", src.Digest, false); err == nil {
		t.Fatal("Write to a URL was accepted")
	}

	// The default datastores are folders made on first use.
	if err := b.svc.Write(ctx, "ws", "azureml://datastores/workspaceblobstore/paths/x/", src.Digest, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.home, "datastores", "ws", "workspaceblobstore", "x", "a.csv")); err != nil {
		t.Fatal(err)
	}
}

func TestJobOutputPaths(t *testing.T) {
	t.Parallel()
	b := setup(t, datastore.HTTPConfig{})
	ctx := context.Background()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "m", "model.pkl"), "weights")
	write(t, filepath.Join(dir, "m", "conf", "c.json"), "{}")
	d, err := blob.IngestDir(ctx, b.blobs, dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := datastore.New(datastore.Config{Store: b.mem, Blobs: b.blobs, Jobs: fakeJobs{digest: d}})
	for uri, want := range map[string]string{
		"azureml://jobs/j/outputs/out":                       "m/conf/c.json,m/model.pkl",
		"azureml://jobs/j/outputs/out/paths/m/":              "conf/c.json,model.pkl",
		"azureml://jobs/j/outputs/out/paths/m/model.pkl":     "model.pkl",
		"azureml://jobs/j/outputs/out/paths/m/conf/c.json":   "c.json",
		"azureml://jobs/j/outputs/out/paths/m/conf/missing/": "",
	} {
		res, err := svc.Fetch(ctx, "ws", uri)
		if want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %v; want ErrNotFound", uri, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", uri, err)
			continue
		}
		tree, _ := blob.GetTree(ctx, b.blobs, res.Digest)
		var paths []string
		for _, e := range tree.Entries {
			paths = append(paths, e.Path)
		}
		if got := strings.Join(paths, ","); got != want {
			t.Errorf("%s: files %s; want %s", uri, got, want)
		}
	}
	if err := svc.Check(ctx, "ws", "azureml://jobs/other/outputs/out", false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Check of a missing job: %v", err)
	}
}

func TestFetchURLOnce(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/big":
			// No Content-Length: the cap must stop the read itself.
			for range 64 {
				fmt.Fprint(w, strings.Repeat("x", 1024))
				w.(http.Flusher).Flush()
			}
		case "/redirect":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/fail":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/":
			fmt.Fprint(w, "root")
		default:
			fmt.Fprint(w, "data of "+r.URL.Path)
		}
	}))
	defer srv.Close()
	b := setup(t, datastore.HTTPConfig{MaxBytes: 16 << 10})
	ctx := context.Background()

	var wg sync.WaitGroup
	digests := make([]string, 4)
	for i := range digests {
		wg.Go(func() {
			res, err := b.svc.Fetch(ctx, "ws", srv.URL+"/data/iris.csv?sig=secret")
			if err != nil {
				t.Error(err)
			}
			digests[i] = res.Digest
		})
	}
	wg.Wait()
	if n := hits.Load(); n != 1 {
		t.Fatalf("4 fetches of one URL made %d requests; want 1", n)
	}
	tree, _ := blob.GetTree(ctx, b.blobs, digests[0])
	if len(tree.Entries) != 1 || tree.Entries[0].Path != "iris.csv" || digests[3] != digests[0] {
		t.Fatalf("fetched tree %+v, digests %v", tree, digests)
	}
	for key := range b.mem.fetched {
		if strings.Contains(key, "secret") || strings.Contains(key, "iris") {
			t.Fatalf("cache key %q holds the URL", key)
		}
	}
	res, err := b.svc.Fetch(ctx, "ws", srv.URL+"/")
	if tree, _ = blob.GetTree(ctx, b.blobs, res.Digest); err != nil || tree.Entries[0].Path != "download" {
		t.Fatalf("a URL without a file name: %+v, %v", tree, err)
	}

	for path, want := range map[string]string{
		"/big": "larger than the server's limit", "/redirect": "only http and https", "/fail": "500",
	} {
		_, err := b.svc.Fetch(ctx, "ws", srv.URL+path+"?token=hush")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("fetch %s: %v; want an error saying %q", path, err, want)
		} else if strings.Contains(err.Error(), "hush") {
			t.Errorf("fetch %s: error %q shows the query", path, err)
		}
	}
	if len(b.mem.fetched) != 2 {
		t.Errorf("cache holds %d entries; failed downloads must not be cached", len(b.mem.fetched))
	}
}
