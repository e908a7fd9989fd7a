package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// writeAt creates a file (and its folders) at an absolute path.
func writeAt(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readAt reads a file the test expects to exist.
func readAt(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("expected file: %v", err)
	}
	return string(b)
}

// datastoreView is the part of `ciel datastore show -o json` tests read.
type datastoreView struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Path      string `json:"path"`
	IsDefault bool   `json:"is_default"`
}

// TestDatastoreLocalFolder drives a local folder datastore end to end:
// create/list/show, a job reading azureml://datastores/lake/paths/... and
// writing an output there, an output registered as a data asset, a second
// job reading the first's outputs through azureml://jobs/..., the asset and
// a data asset whose path is a datastore URI, and a model registered from a
// datastore path with `model create --file`.
func TestDatastoreLocalFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lake := t.TempDir()
	writeAt(t, filepath.Join(lake, "sub", "file.csv"), "a,b\n1,2\n")
	e.write("lake.yml", "name: lake\ntype: local\ndescription: raw files\npath: "+lake+"\n")

	var ds datastoreView
	mustJSON(t, e.ok("datastore", "create", "--file", "lake.yml").out, &ds)
	if ds.Name != "lake" || ds.Type != "local" || ds.Path != lake {
		t.Fatalf("datastore create answered %+v", ds)
	}
	var list []datastoreView
	mustJSON(t, e.ok("datastore", "list", "-o", "json").out, &list)
	names := map[string]bool{}
	for _, d := range list {
		names[d.Name] = true
	}
	if !names["lake"] || !names["workspaceblobstore"] || !names["workspaceartifactstore"] {
		t.Fatalf("datastore list: %+v", list)
	}
	mustJSON(t, e.ok("datastore", "show", "--name", "lake").out, &ds)
	if ds.Path != lake {
		t.Fatalf("datastore show: %+v", ds)
	}
	if r := e.run("datastore", "show", "--name", "nope"); r.code == 0 || !strings.Contains(r.err, "not found") {
		t.Fatalf("show of a missing datastore: exit %d, %s", r.code, r.err)
	}

	e.write("first.yml", `type: command
inputs:
  raw:
    type: uri_file
    path: azureml://datastores/lake/paths/sub/file.csv
outputs:
  result:
    type: uri_folder
    path: azureml://datastores/lake/paths/results/${{name}}/
  table:
    type: uri_folder
    name: cleaned
    version: "3"
command: >-
  tr a-z A-Z < ${{inputs.raw}} > ${{outputs.result}}/upper.csv &&
  cp ${{inputs.raw}} ${{outputs.table}}/rows.csv
`)
	first := e.submit("first.yml")
	if j := e.wait(first, 2*time.Minute); j.Status != "Completed" {
		t.Fatalf("first job %s: %s", j.Status, j.Error)
	}
	if got := readAt(t, filepath.Join(lake, "results", first, "upper.csv")); got != "A,B\n1,2\n" {
		t.Fatalf("output written to the datastore: %q", got)
	}
	var data struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Type    string `json:"type"`
		Path    string `json:"path"`
	}
	mustJSON(t, e.ok("data", "show", "--name", "cleaned", "--version", "3", "-o", "json").out, &data)
	if data.Type != "uri_folder" || !strings.HasPrefix(data.Path, "blob:sha256:") {
		t.Fatalf("registered output: %+v", data)
	}

	// A data asset may name a datastore path; it is read when used.
	e.ok("data", "create", "--name", "lakefile", "--version", "1", "--type", "uri_file",
		"--path", "azureml://datastores/lake/paths/sub/file.csv")
	mustJSON(t, e.ok("data", "show", "--name", "lakefile", "--version", "1", "-o", "json").out, &data)
	if data.Path != "azureml://datastores/lake/paths/sub/file.csv" {
		t.Fatalf("data asset path: %+v", data)
	}

	e.write("second.yml", fmt.Sprintf(`type: command
inputs:
  prev:
    type: uri_folder
    path: azureml://jobs/%[1]s/outputs/table
  one:
    type: uri_file
    path: azureml://jobs/%[1]s/outputs/result/paths/upper.csv
  asset:
    type: uri_folder
    path: azureml:cleaned:3
  lakefile:
    type: uri_file
    path: azureml:lakefile:1
outputs:
  all:
    type: uri_file
    path: azureml://datastores/lake/paths/merged/all.txt
command: cat ${{inputs.prev}}/rows.csv ${{inputs.one}} ${{inputs.asset}}/rows.csv ${{inputs.lakefile}} > ${{outputs.all}}
`, first))
	second := e.submit("second.yml")
	if j := e.wait(second, 2*time.Minute); j.Status != "Completed" {
		t.Fatalf("second job %s: %s", j.Status, j.Error)
	}
	want := "a,b\n1,2\nA,B\n1,2\na,b\n1,2\na,b\n1,2\n"
	if got := readAt(t, filepath.Join(lake, "merged", "all.txt")); got != want {
		t.Fatalf("second job's uri_file output: %q, want %q", got, want)
	}

	// az ml model create --file, from a datastore folder.
	e.write("model.yml", fmt.Sprintf("name: upper\nversion: 1\npath: azureml://datastores/lake/paths/results/%s/\ntags:\n  src: lake\n", first))
	e.ok("model", "create", "--file", "model.yml")
	e.ok("model", "download", "--name", "upper", "--version", "1", "--download-path", "dl")
	found := ""
	_ = filepath.Walk(filepath.Join(e.dir, "dl"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == "upper.csv" {
			found = p
		}
		return nil
	})
	if found == "" || readAt(t, found) != "A,B\n1,2\n" {
		t.Fatalf("model from a datastore path: upper.csv not downloaded (found %q)", found)
	}
}

// TestDatastorePathEscapes checks nothing outside a datastore's folder is
// reached: "..", absolute paths and links leading out are refused when the
// job is submitted, a link out inside a folder that is read is left out,
// and bad datastore definitions are refused with their reason.
func TestDatastorePathEscapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lake, outside := t.TempDir(), t.TempDir()
	writeAt(t, filepath.Join(outside, "secret.txt"), "secret\n")
	writeAt(t, filepath.Join(lake, "in", "ok.txt"), "fine\n")
	if err := os.Symlink(outside, filepath.Join(lake, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(lake, "in", "link.txt")); err != nil {
		t.Fatal(err)
	}
	e.write("lake.yml", "name: lake\ntype: local\npath: "+lake+"\n")
	e.ok("datastore", "create", "--file", "lake.yml")

	for _, c := range []struct{ path, want string }{
		{"azureml://datastores/lake/paths/../" + filepath.Base(outside) + "/secret.txt", "'..'"},
		{"azureml://datastores/lake/paths/in/../../secret.txt", "'..'"},
		{"azureml://datastores/lake/paths/" + outside + "/secret.txt", "absolute"},
		{"azureml://datastores/lake/paths/out/secret.txt", "leads out"},
		{"azureml://datastores/nope/paths/x.txt", "not found"},
	} {
		e.write("escape.yml", "type: command\ninputs:\n  f:\n    type: uri_file\n    path: "+c.path+"\ncommand: cat ${{inputs.f}}\n")
		r := e.run("job", "create", "--file", "escape.yml")
		if r.code == 0 || !strings.Contains(r.err, c.want) {
			t.Errorf("input %s: exit %d, stderr %q; want a refusal saying %q", c.path, r.code, r.err, c.want)
		}
	}
	e.write("escape-out.yml", "type: command\noutputs:\n  o:\n    type: uri_folder\n    path: azureml://datastores/lake/paths/out/new/\ncommand: echo x > ${{outputs.o}}/x\n")
	if r := e.run("job", "create", "--file", "escape-out.yml"); r.code == 0 || !strings.Contains(r.err, "leads out") {
		t.Errorf("output through a link out: exit %d, stderr %q", r.code, r.err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Error("a file was written outside the datastore")
	}

	// Reading a folder leaves out a link to a file outside it.
	e.write("list.yml", `type: command
inputs:
  d:
    type: uri_folder
    path: azureml://datastores/lake/paths/in/
outputs:
  o:
    type: uri_folder
    path: azureml://datastores/lake/paths/listing/
command: ls ${{inputs.d}} > ${{outputs.o}}/ls.txt
`)
	name := e.submit("list.yml")
	if j := e.wait(name, 2*time.Minute); j.Status != "Completed" {
		t.Fatalf("list job %s: %s", j.Status, j.Error)
	}
	if got := readAt(t, filepath.Join(lake, "listing", "ls.txt")); got != "ok.txt\n" {
		t.Fatalf("folder read through a datastore: %q, want only ok.txt", got)
	}

	for _, c := range []struct{ file, want string }{
		{"name: home\ntype: local\npath: " + e.home + "\n", "inside the server's home"},
		{"name: gone\ntype: local\npath: " + filepath.Join(lake, "missing") + "\n", "no such file"},
		{"name: az\ntype: azure_blob\naccount_name: a\ncontainer_name: c\n", "ds.yml:2"},
		{"name: workspaceblobstore\ntype: local\npath: " + lake + "\n", "default datastore"},
		{"name: keys\ntype: s3\nendpoint: http://127.0.0.1:9\nbucket: data\ncredentials:\n  access_key_id: AKIA\n", "keeps no secrets"},
	} {
		e.write("ds.yml", c.file)
		r := e.run("datastore", "create", "--file", "ds.yml")
		if r.code == 0 || !strings.Contains(r.err, c.want) {
			t.Errorf("datastore %q: exit %d, stderr %q; want %q", c.file, r.code, r.err, c.want)
		}
	}
	if r := e.run("datastore", "delete", "--name", "workspaceblobstore", "--yes"); r.code == 0 {
		t.Error("a default datastore was deleted")
	}
}

// TestHTTPInputFetchedOnce checks an http input is downloaded once into
// the blob store: a second job naming the same URL only asks whether it
// changed (a 304), and a job after the file changed reads the new one. It
// also writes to the workspace's default datastore.
func TestHTTPInputFetchedOnce(t *testing.T) {
	t.Parallel()
	var hits, notModified atomic.Int64
	var version atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/files/iris.csv" {
			http.NotFound(w, r)
			return
		}
		etag := fmt.Sprintf(`"v%d"`, version.Load())
		if r.Header.Get("If-None-Match") == etag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		hits.Add(1)
		w.Header().Set("ETag", etag)
		if version.Load() > 0 {
			fmt.Fprint(w, "sepal,petal\n6.3,4.9\n")
			return
		}
		fmt.Fprint(w, "sepal,petal\n5.1,1.4\n4.9,1.4\n")
	}))
	defer srv.Close()
	e := newEnv(t)
	e.write("http.yml", `type: command
inputs:
  iris:
    type: uri_file
    path: `+srv.URL+`/files/iris.csv
outputs:
  copy:
    type: uri_folder
    path: azureml://datastores/workspaceblobstore/paths/http/${{name}}/
command: cp ${{inputs.iris}} ${{outputs.copy}}/
`)
	var names []string
	for range 2 {
		name := e.submit("http.yml")
		if j := e.wait(name, 2*time.Minute); j.Status != "Completed" {
			t.Fatalf("job %s: %s", j.Status, j.Error)
		}
		names = append(names, name)
	}
	if n, nm := hits.Load(), notModified.Load(); n != 1 || nm != 1 {
		t.Fatalf("two jobs downloaded the URL %d times and were told %d times it had not changed; want 1 and 1", n, nm)
	}
	for _, name := range names {
		p := filepath.Join(e.home, "datastores", "ws", "workspaceblobstore", "http", name, "iris.csv")
		if got := readAt(t, p); got != "sepal,petal\n5.1,1.4\n4.9,1.4\n" {
			t.Fatalf("job %s read %q", name, got)
		}
	}
	version.Store(1)
	name := e.submit("http.yml")
	if j := e.wait(name, 2*time.Minute); j.Status != "Completed" {
		t.Fatalf("job %s: %s", j.Status, j.Error)
	}
	if got := readAt(t, filepath.Join(e.home, "datastores", "ws", "workspaceblobstore", "http", name, "iris.csv")); got != "sepal,petal\n6.3,4.9\n" {
		t.Fatalf("after the file changed, job %s read %q", name, got)
	}

	// mode: direct hands the job the URL itself: the job reads it, each
	// run anew, and ciel keeps no copy.
	e.write("direct.yml", `type: command
inputs:
  iris:
    type: uri_file
    path: `+srv.URL+`/files/iris.csv
    mode: direct
outputs:
  got:
command: >-
  python -c "import sys, urllib.request as u; open(sys.argv[2] + '/got.txt', 'w').write(sys.argv[1] + '|' + u.urlopen(sys.argv[1]).read().decode())"
  ${{inputs.iris}} ${{outputs.got}}
`)
	before := hits.Load()
	for range 2 {
		name := e.submit("direct.yml")
		if j := e.wait(name, 2*time.Minute); j.Status != "Completed" {
			t.Fatalf("direct job %s: %s", j.Status, j.Error)
		}
		e.ok("job", "download", "--name", name, "--output-name", "got", "--download-path", "direct-"+name)
		if got, want := readAt(t, filepath.Join(e.dir, "direct-"+name, "named-outputs", "got", "got.txt")), srv.URL+"/files/iris.csv|sepal,petal\n6.3,4.9\n"; got != want {
			t.Fatalf("a direct input: the job got %q, want %q", got, want)
		}
	}
	if n := hits.Load() - before; n != 2 {
		t.Fatalf("two jobs with a direct input fetched the URL %d times themselves, want 2 (ciel fetches nothing)", n)
	}
	// A direct URL is checked at submit like any other.
	e.write("direct-bad.yml", "type: command\ninputs:\n  f:\n    type: uri_file\n    path: http:///nohost.csv\n    mode: direct\ncommand: echo ${{inputs.f}}\n")
	if r := e.run("job", "create", "--file", "direct-bad.yml"); r.code == 0 || !strings.Contains(r.err, "expected http(s)://<host>/<path>") {
		t.Fatalf("a direct input with no host: exit %d, %q", r.code, r.err)
	}

	e.write("missing.yml", "type: command\ninputs:\n  f:\n    type: uri_file\n    path: "+srv.URL+"/nope.csv\ncommand: cat ${{inputs.f}}\n")
	name = e.submit("missing.yml")
	if j := e.wait(name, 2*time.Minute); j.Status != "Failed" || !strings.Contains(j.Error, "404") {
		t.Fatalf("a missing URL: %s, %q; want Failed naming 404", j.Status, j.Error)
	}
	e.write("ftp.yml", "type: command\ninputs:\n  f:\n    type: uri_file\n    path: ftp://127.0.0.1/x.csv\ncommand: cat ${{inputs.f}}\n")
	if r := e.run("job", "create", "--file", "ftp.yml"); r.code == 0 || !strings.Contains(r.err, "ftp://") {
		t.Fatalf("an ftp:// input: exit %d, %q", r.code, r.err)
	}

	// Deleting the workspace removes its default datastores' folders.
	e.ok("workspace", "delete", "--name", "ws", "--yes")
	if _, err := os.Stat(filepath.Join(e.home, "datastores", "ws")); !os.IsNotExist(err) {
		t.Fatalf("default datastores of a deleted workspace: %v", err)
	}
}

// mustJSON decodes a command's JSON output.
func mustJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
}
