package activity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/filestest"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/s3test"
	"github.com/ciel-mlops/ciel/internal/store"
)

// stores is a workspace's datastores for tests.
type stores map[string]datastore.Datastore

func (s stores) Get(ctx context.Context, ws, name string) (datastore.Datastore, error) {
	d, ok := s[name]
	if !ok {
		return d, fmt.Errorf("datastore %s: %w", name, store.ErrNotFound)
	}
	return d, nil
}

// backend is one kind of datastore the activity tests run on.
type backend struct {
	name string
	// env returns an Env whose workspaceblobstore is a fresh, empty
	// datastore of this kind, and that datastore as a files.FS.
	env func(t *testing.T) (*Env, files.FS)
}

func localEnv(t *testing.T) (*Env, files.FS) {
	dir := t.TempDir()
	d := datastore.Datastore{Name: "workspaceblobstore", Type: datastore.TypeLocal, Path: dir}
	fsys, closeFS, err := OpenDatastore(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeFS() })
	return &Env{Workspace: "ws", Datastores: stores{d.Name: d}}, fsys
}

func backends(t *testing.T) []backend {
	bs := []backend{{"local", localEnv}}
	if testing.Short() {
		return bs
	}
	var srv *s3test.Server
	return append(bs, backend{"s3", func(t *testing.T) (*Env, files.FS) {
		if srv == nil {
			srv = s3test.Start(t)
		}
		t.Setenv(s3test.KeyEnv, s3test.Getenv(s3test.KeyEnv))
		t.Setenv(s3test.SecretEnv, s3test.Getenv(s3test.SecretEnv))
		d := datastore.Datastore{Name: "workspaceblobstore", Type: datastore.TypeS3, Endpoint: srv.Endpoint, Bucket: srv.Bucket(t),
			Prefix: "ds", AccessKeyIDEnv: s3test.KeyEnv, SecretAccessKeyEnv: s3test.SecretEnv}
		fsys, _, err := OpenDatastore(d)
		if err != nil {
			t.Fatal(err)
		}
		return &Env{Workspace: "ws", Datastores: stores{d.Name: d}}, fsys
	}})
}

// blobDS is a dataset of type typ in container "data" of a blob linked
// service.
func blobDS(typ, folder, file string, props map[string]any) Dataset {
	p := map[string]any{"location": map[string]any{"type": "AzureBlobStorageLocation", "container": "data", "folderPath": folder, "fileName": file}}
	for k, v := range props {
		p[k] = v
	}
	return Dataset{Name: "ds_" + strings.ToLower(typ), Type: typ, Properties: p,
		LinkedService: LinkedService{Name: "blob", Type: "AzureBlobStorage",
			Properties: map[string]any{"connectionString": "DefaultEndpointsProtocol=https;AccountName=nosuchaccount;AccountKey=x"}}}
}

func TestDatastoreRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	mk := func(name string) datastore.Datastore {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return datastore.Datastore{Name: name, Type: datastore.TypeLocal, Path: p}
	}
	env := &Env{Workspace: "ws", Datastores: stores{"workspaceblobstore": mk("workspaceblobstore"), "explicit": mk("explicit"),
		"mylake": mk("mylake"), "acct1": mk("acct1"), "acct2": mk("acct2"), "share": mk("share")}}
	loc := map[string]any{"container": "c", "folderPath": "a/b", "fileName": "f.csv"}
	cases := []struct {
		name      string
		ls        LinkedService
		loc       map[string]any
		store     string
		path, err string
	}{
		{"ciel datastore property", LinkedService{Name: "x", Type: "AzureBlobStorage", Properties: map[string]any{"datastore": "explicit"}}, loc, "explicit", "c/a/b/f.csv", ""},
		{"named like the linked service", LinkedService{Name: "mylake", Type: "AzureBlobFS"}, map[string]any{"fileSystem": "fs", "folderPath": "x"}, "mylake", "fs/x", ""},
		{"account of the connection string", LinkedService{Name: "x", Type: "AzureBlobStorage", Properties: map[string]any{"connectionString": "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=k"}}, loc, "acct1", "c/a/b/f.csv", ""},
		{"account of the endpoint", LinkedService{Name: "x", Type: "AzureBlobStorage", Properties: map[string]any{"serviceEndpoint": "https://acct2.blob.core.windows.net/"}}, loc, "acct2", "c/a/b/f.csv", ""},
		{"workspaceblobstore", LinkedService{Name: "x", Type: "AmazonS3"}, map[string]any{"bucketName": "b", "fileName": "k.json"}, "workspaceblobstore", "b/k.json", ""},
		{"missing explicit datastore", LinkedService{Name: "x", Type: "AzureBlobStorage", Properties: map[string]any{"datastore": "nope"}}, loc, "", "", "not found"},
		{"file server inside", LinkedService{Name: "x", Type: "FileServer", Properties: map[string]any{"datastore": "share", "host": filepath.Join(dir, "share", "in")}}, map[string]any{"folderPath": "f"}, "share", "in/f", ""},
		{"file server UNC", LinkedService{Name: "x", Type: "FileServer", Properties: map[string]any{"datastore": "share", "host": `\\server\share`}}, map[string]any{"fileName": "a"}, "share", "a", ""},
		{"file server outside", LinkedService{Name: "x", Type: "FileServer", Properties: map[string]any{"datastore": "share", "host": "/etc"}}, loc, "", "", "outside"},
		{"dotdot folder", LinkedService{Name: "x", Type: "AzureBlobStorage"}, map[string]any{"container": "c", "folderPath": "../../etc"}, "", "", "out of the file system"},
		{"dotdot container", LinkedService{Name: "x", Type: "AzureBlobStorage"}, map[string]any{"container": ".."}, "", "", "out of the file system"},
		{"slash in file name", LinkedService{Name: "x", Type: "AzureBlobStorage"}, map[string]any{"fileName": "../passwd"}, "", "", "holds '/'"},
		{"unreachable type", LinkedService{Name: "x", Type: "Salesforce"}, loc, "", "", "cannot hold files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg, err := env.resolveFiles(ctx, Dataset{Name: "d", Type: "DelimitedText", LinkedService: c.ls, Properties: map[string]any{"location": c.loc}})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tg.close()
			if tg.datastore != c.store || tg.path() != c.path {
				t.Fatalf("got datastore %s path %q, want %s %q", tg.datastore, tg.path(), c.store, c.path)
			}
		})
	}
}

// drain reads every row of r.
func drain(t *testing.T, r tabular.Reader) [][]any {
	t.Helper()
	var out [][]any
	for {
		b, err := r.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range b {
			out = append(out, append([]any(nil), row...))
		}
	}
}

// copyRows is what Copy does: source to sink, then the source's
// after-commit work.
func copyRows(t *testing.T, env *Env, src Dataset, source map[string]any, dst Dataset, sink map[string]any) (tabular.Writer, int) {
	t.Helper()
	ctx := context.Background()
	r, err := env.OpenSource(ctx, src, source)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := env.OpenSink(ctx, dst, sink, r.Schema())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		b, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n += len(b)
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if ac, ok := r.(afterCommitter); ok {
		if err := ac.AfterCommit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return w, n
}

func TestCopyFiles(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			env, fsys := b.env(t)
			ctx := context.Background()
			filestest.Put(t, fsys, "data/in/2026/11/a.csv", "id,name\n1,x\n2,y\n")
			filestest.Put(t, fsys, "data/in/2026/12/b.csv", "id,name\n3,z\n")
			filestest.Put(t, fsys, "data/in/2026/12/skip.txt", "not,csv\n")
			filestest.Put(t, fsys, "data/in/2025/c.csv", "id,name\n9,old\n")

			// CSV files picked by wildcards -> Parquet part files of 2 rows.
			csv := blobDS("DelimitedText", "in", "", map[string]any{"firstRowAsHeader": true})
			csv.Schema = []any{map[string]any{"name": "id", "type": "Int64"}}
			pq := blobDS("Parquet", "out", "orders.parquet", nil)
			source := map[string]any{"storeSettings": map[string]any{"wildcardFolderPath": "in/2026/*", "wildcardFileName": "*.csv", "deleteFilesAfterCompletion": true}}
			w, n := copyRows(t, env, csv, source, pq, map[string]any{"formatSettings": map[string]any{"maxRowsPerFile": 2.0}})
			if n != 3 || w.(fileCounter).Files() != 2 {
				t.Fatalf("copied %d rows into %d files, want 3 into 2", n, w.(fileCounter).Files())
			}
			kids, err := fsys.List(ctx, "data/out")
			if err != nil || len(kids) != 2 || kids[0].Name != "orders_00000.parquet" || kids[1].Name != "orders_00001.parquet" {
				t.Fatalf("sink folder holds %+v (%v), want orders_00000.parquet and orders_00001.parquet", kids, err)
			}
			for _, p := range []string{"data/in/2026/11/a.csv", "data/in/2026/12/b.csv"} {
				if _, err := fsys.Stat(ctx, p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s not deleted after the copy: %v", p, err)
				}
			}
			if _, err := fsys.Stat(ctx, "data/in/2026/12/skip.txt"); err != nil {
				t.Errorf("a file the wildcard left out was deleted: %v", err)
			}

			// The Parquet folder reads back, typed.
			r, err := env.OpenSource(ctx, blobDS("Parquet", "out", "", nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			rows := drain(t, r)
			if cur := r.(FilePather).FilePath(); cur != "orders_00001.parquet" {
				t.Errorf("FilePath after the last batch = %q, want orders_00001.parquet", cur)
			}
			r.Close()
			want := [][]any{{int64(1), "x"}, {int64(2), "y"}, {int64(3), "z"}}
			if !reflect.DeepEqual(rows, want) || r.Schema()[0].Type != tabular.Int64 {
				t.Fatalf("read back %v (%v), want %v", rows, r.Schema(), want)
			}

			// Binary copy keeps each file and its folders.
			filestest.Put(t, fsys, "data/bin/x/one.bin", "first")
			filestest.Put(t, fsys, "data/bin/two.bin", "")
			copyRows(t, env, blobDS("Binary", "bin", "", nil), nil, blobDS("Binary", "bincopy", "", nil), nil)
			if filestest.Get(t, fsys, "data/bincopy/x/one.bin") != "first" || filestest.Get(t, fsys, "data/bincopy/two.bin") != "" {
				t.Fatal("binary copy did not keep the files")
			}
		})
	}
}

// TestSinkAbortLeavesNothing writes part files and aborts: none remain.
func TestSinkAbortLeavesNothing(t *testing.T) {
	t.Parallel()
	env, fsys := localEnv(t)
	ctx := context.Background()
	schema := tabular.Schema{{Name: "a", Type: tabular.Int64}}
	w, err := env.OpenSink(ctx, blobDS("DelimitedText", "out", "", nil), map[string]any{"formatSettings": map[string]any{"maxRowsPerFile": 1.0, "fileNamePrefix": "p"}}, schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, [][]any{{int64(1)}, {int64(2)}, {int64(3)}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	kids, err := fsys.List(ctx, "data/out")
	if err != nil || len(kids) != 0 {
		t.Fatalf("after Abort the sink folder holds %+v (%v)", kids, err)
	}
}

func TestHTTPSource(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/data.csv" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "a,b\n1,2\n")
	}))
	defer srv.Close()
	env := &Env{HTTP: srv.Client()}
	ds := Dataset{Name: "web", Type: "DelimitedText", Properties: map[string]any{"firstRowAsHeader": true,
		"location": map[string]any{"type": "HttpServerLocation", "relativeUrl": "data.csv"}},
		LinkedService: LinkedService{Name: "h", Type: "HttpServer", Properties: map[string]any{"url": srv.URL + "/api"}}}
	r, err := env.OpenSource(context.Background(), ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rows := drain(t, r); !reflect.DeepEqual(rows, [][]any{{"1", "2"}}) {
		t.Fatalf("rows %v", rows)
	}
	if _, err := env.OpenSink(context.Background(), ds, nil, r.Schema()); err == nil || !strings.Contains(err.Error(), "read only") {
		t.Fatalf("HTTP sink: %v, want read only", err)
	}
	ds.Properties["location"] = map[string]any{"relativeUrl": "http://169.254.169.254/latest"}
	if _, err := env.OpenSource(context.Background(), ds, nil); err == nil || !strings.Contains(err.Error(), "relative") {
		t.Fatalf("absolute relativeUrl: %v, want refused", err)
	}
}

func TestGetMetadataAndDelete(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			env, fsys := b.env(t)
			ctx := context.Background()
			filestest.Put(t, fsys, "data/land/a.csv", "id,name,price\n1,x,2.5\n")
			filestest.Put(t, fsys, "data/land/b.csv", "id\n2\n")
			filestest.Put(t, fsys, "data/land/keep.txt", "t")
			filestest.Put(t, fsys, "data/land/sub/c.csv", "id\n3\n")
			gm, _ := For("GetMetadata")
			call := func(folder, file string, fields ...any) (map[string]any, error) {
				return gm(ctx, env, Call{Name: "meta", Type: "GetMetadata", TypeProperties: map[string]any{"fieldList": fields},
					Inputs: []Dataset{blobDS("DelimitedText", folder, file, map[string]any{"firstRowAsHeader": true})}})
			}
			out, err := call("land", "", "itemName", "itemType", "childItems", "exists", "lastModified")
			if err != nil {
				t.Fatal(err)
			}
			items := out["childItems"].([]any)
			var names []string
			for _, it := range items {
				m := it.(map[string]any)
				names = append(names, m["name"].(string)+":"+m["type"].(string))
			}
			sort.Strings(names)
			if out["itemName"] != "land" || out["itemType"] != "Folder" || out["exists"] != true ||
				strings.Join(names, ",") != "a.csv:File,b.csv:File,keep.txt:File,sub:Folder" {
				t.Fatalf("folder metadata %v", out)
			}
			out, err = call("land", "a.csv", "size", "contentMD5", "structure", "columnCount", "itemType")
			if err != nil {
				t.Fatal(err)
			}
			if out["size"] != int64(22) || out["columnCount"] != 3 || out["itemType"] != "File" || out["contentMD5"] != "nOTVQ5kMssNNbDnWRZWcWQ==" ||
				!reflect.DeepEqual(out["structure"], []any{map[string]any{"name": "id", "type": "String"}, map[string]any{"name": "name", "type": "String"}, map[string]any{"name": "price", "type": "String"}}) {
				t.Fatalf("file metadata %v", out)
			}
			if out, err := call("land", "nope.csv", "exists", "size"); err != nil || !reflect.DeepEqual(out, map[string]any{"exists": false}) {
				t.Fatalf("missing file with exists: %v, %v", out, err)
			}
			var ae *Error
			if _, err := call("nofolder", "", "childItems"); !errors.As(err, &ae) || ae.Code != "PathNotFound" {
				t.Fatalf("missing folder without exists: %v, want PathNotFound", err)
			}

			del, _ := For("Delete")
			out, err = del(ctx, env, Call{Name: "clean up", Type: "Delete", Inputs: []Dataset{blobDS("DelimitedText", "land", "", nil)},
				TypeProperties: map[string]any{"enableLogging": true, "logStorageSettings": map[string]any{"path": "logs/delete"},
					"storeSettings": map[string]any{"wildcardFileName": "*.csv", "recursive": true, "maxConcurrentConnections": 4.0}}})
			if err != nil {
				t.Fatal(err)
			}
			if out["filesDeleted"] != 3 {
				t.Fatalf("Delete output %v, want 3 files deleted", out)
			}
			if filestest.Get(t, fsys, "data/land/keep.txt") != "t" {
				t.Fatal("Delete removed a file the wildcard left out")
			}
			logPath := strings.TrimPrefix(out["logPath"].(string), "workspaceblobstore/")
			log := filestest.Get(t, fsys, logPath)
			if !strings.HasPrefix(log, "Name,Category,Status,Error\n") || !strings.Contains(log, "data/land/sub/c.csv,File,Deleted,") || strings.Count(log, "\n") != 4 {
				t.Fatalf("delete log %s:\n%s", logPath, log)
			}
			// The whole folder, recursively.
			if _, err := del(ctx, env, Call{Name: "all", Inputs: []Dataset{blobDS("DelimitedText", "land", "", nil)}, TypeProperties: map[string]any{"recursive": true}}); err != nil {
				t.Fatal(err)
			}
			if out, err := call("land", "", "exists"); err != nil || out["exists"] != false {
				t.Fatalf("folder after a recursive Delete: %v %v", out, err)
			}
		})
	}
}

// TestCopyActivityFiles runs the Copy activity itself from CSV files to
// Parquet with a $$FILEPATH column, deleting the sources once copied.
func TestCopyActivityFiles(t *testing.T) {
	t.Parallel()
	env, fsys := localEnv(t)
	ctx := context.Background()
	filestest.Put(t, fsys, "data/in/a.csv", "id,name\n1,x\n2,y\n")
	filestest.Put(t, fsys, "data/in/sub/b.csv", "id,name\n3,z\n")
	cp, ok := For("Copy")
	if !ok {
		t.Fatal("no Copy activity")
	}
	out, err := cp(ctx, env, Call{Name: "copy", Type: "Copy",
		Inputs:  []Dataset{blobDS("DelimitedText", "in", "", map[string]any{"firstRowAsHeader": true})},
		Outputs: []Dataset{blobDS("Parquet", "out", "all.parquet", nil)},
		TypeProperties: map[string]any{
			"source": map[string]any{"storeSettings": map[string]any{"recursive": true, "wildcardFileName": "*.csv", "deleteFilesAfterCompletion": true},
				"additionalColumns": []any{map[string]any{"name": "src", "value": "$$FILEPATH"}}},
			"sink": map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	if out["rowsCopied"] != int64(3) || out["filesRead"] != 2 || out["filesWritten"] != 1 {
		t.Fatalf("output %v, want 3 rows copied", out)
	}
	r, err := env.OpenSource(ctx, blobDS("Parquet", "out", "all.parquet", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := [][]any{{"1", "x", "a.csv"}, {"2", "y", "a.csv"}, {"3", "z", "sub/b.csv"}}
	if rows := drain(t, r); !reflect.DeepEqual(rows, want) {
		t.Fatalf("copied %v, want %v", rows, want)
	}
	if kids, err := fsys.List(ctx, "data/in"); err != nil || len(kids) != 1 || !kids[0].Dir {
		t.Fatalf("sources left after deleteFilesAfterCompletion: %+v %v", kids, err)
	}
}

// TestGetMetadataTable reads a SQLite table's structure and asks about
// one that is not there.
func TestGetMetadataTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lite := LinkedService{Name: "lite", Type: "Sqlite", Properties: map[string]any{"path": t.TempDir() + "/m.db"}}
	d, err := OpenDatabase(ctx, lite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "CREATE TABLE orders (id INTEGER, name TEXT, price REAL)", nil); err != nil {
		t.Fatal(err)
	}
	d.Close()
	gm, _ := For("GetMetadata")
	call := func(table string, fields ...any) (map[string]any, error) {
		return gm(ctx, &Env{}, Call{Name: "m", Type: "GetMetadata", TypeProperties: map[string]any{"fieldList": fields},
			Inputs: []Dataset{{Name: "t", Type: "SqliteTable", Properties: map[string]any{"table": table}, LinkedService: lite}}})
	}
	out, err := call("orders", "exists", "columnCount", "structure")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := out["structure"].([]any)
	if out["exists"] != true || out["columnCount"] != 3 || len(st) != 3 || st[1].(map[string]any)["name"] != "name" {
		t.Fatalf("table metadata %v", out)
	}
	if out, err := call("nope", "exists", "structure"); err != nil || !reflect.DeepEqual(out, map[string]any{"exists": false}) {
		t.Fatalf("missing table: %v %v", out, err)
	}
	if _, err := call("orders", "size"); err == nil {
		t.Fatal("size of a table: no error")
	}
}
