package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

const artifactsURL = "/ws/ws/api/2.0/mlflow-artifacts/artifacts/"

// send sends a request with a body and returns the status and the decoded
// JSON answer; it fails the test when the answer is not JSON.
func (b *testBundle) send(t *testing.T, method, path string, body io.Reader) (int, map[string]any) {
	t.Helper()
	url := path
	if strings.HasPrefix(path, "/") {
		url = b.srv.URL + path
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// files lists the regular files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func (b *testBundle) artifactRoot() string { return filepath.Join(b.dir, "mlartifacts") }

func TestArtifactPathsThatNameTheRootAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	keep := "0/r1/artifacts/model.pkl"
	if s, out := b.send(t, "PUT", artifactsURL+keep, strings.NewReader("weights")); s != 200 {
		t.Fatalf("put: %d %v", s, out)
	}
	mpu := "/ws/ws/api/2.0/mlflow-artifacts/mpu/"
	ml := "/ws/ws/api/2.0/mlflow/"
	cases := []struct{ method, path, body string }{
		{"DELETE", artifactsURL + "%2e", ""},
		{"DELETE", artifactsURL + "%2E/", ""},
		{"DELETE", artifactsURL + "..%2f..", ""},
		{"DELETE", artifactsURL + "0", ""},
		{"DELETE", artifactsURL + "0/r1", ""},
		{"DELETE", artifactsURL + "0/r1/artifacts/..%2f..%2f..", ""},
		{"PUT", artifactsURL + "%2e", "x"},
		{"PUT", artifactsURL + "..%2f..%2fescape", "x"},
		{"PUT", artifactsURL + "0/r1/artifacts/%2e%2e/%2e%2e/%2e%2e/x", "x"},
		{"PUT", artifactsURL + "0/r1/artifacts/model.pkl%00", "x"},
		{"GET", artifactsURL + "%2e", ""},
		{"GET", artifactsURL + "..%2f..%2fetc%2fpasswd", ""},
		{"GET", "/ws/ws/api/2.0/mlflow-artifacts/artifacts?path=..%2f..", ""},
		{"POST", mpu + "create/%2e", `{"path": "..", "num_parts": 1}`},
		{"POST", mpu + "create/0/r1/artifacts", `{"path": "/", "num_parts": 1}`},
		{"POST", mpu + "create/..%2f..", `{"path": "x.bin", "num_parts": 1}`},
		{"POST", mpu + "complete/..%2f..", `{"upload_id": "x"}`},
		{"POST", mpu + "abort/..%2f..", `{"upload_id": "x"}`},
	}
	for _, tc := range cases {
		s, out := b.send(t, tc.method, tc.path, strings.NewReader(tc.body))
		if s != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" || out["message"] == "" {
			t.Errorf("%s %s: %d %v, want 400 INVALID_PARAMETER_VALUE", tc.method, tc.path, s, out)
		}
	}
	run := b.newRun(t)
	_, got := b.call(t, "GET", "runs/get?run_id="+run, nil)
	_ = got
	if s, out := b.call(t, "GET", "artifacts/list?run_id="+run+"&path=..%2f..%2f..", nil); s != 400 {
		t.Errorf("list a run's artifacts above its root: %d %v", s, out)
	}
	code, model := b.call(t, "POST", ml+"logged-models", map[string]any{"experiment_id": "0"})
	if code != 200 {
		t.Fatalf("create logged model: %d %v", code, model)
	}
	id := model["model"].(map[string]any)["info"].(map[string]any)["model_id"].(string)
	for _, q := range []string{"artifacts/files?artifact_file_path=..%2f..%2f..%2fr1%2fartifacts%2fmodel.pkl",
		"artifacts/files?artifact_file_path=.", "artifacts/directories?artifact_directory_path=..%2f.."} {
		if s, out := b.call(t, "GET", "logged-models/"+id+"/"+q, nil); s != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" {
			t.Errorf("logged model %s: %d %v, want 400", q, s, out)
		}
	}
	if got := files(t, b.artifactRoot()); len(got) != 1 || got[0] != "ws/"+keep {
		t.Errorf("artifacts after the refused requests: %v, want only ws/%s", got, keep)
	}
	// What mlflow gc deletes: a run's artifact root.
	if s, out := b.send(t, "DELETE", artifactsURL+"0/r1/artifacts", nil); s != 200 {
		t.Errorf("delete a run's artifacts: %d %v", s, out)
	}
	if got := files(t, b.artifactRoot()); len(got) != 0 {
		t.Errorf("after deleting the run's artifacts: %v", got)
	}
	// The workspace's folder is still a folder: uploads work.
	if s, out := b.send(t, "PUT", artifactsURL+"0/r2/artifacts/a.txt", strings.NewReader("a")); s != 200 {
		t.Errorf("put after the probes: %d %v", s, out)
	}
}

func TestArtifactPutOverAFolderIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	if s, out := b.send(t, "PUT", artifactsURL+"0/r/artifacts/d/f.txt", strings.NewReader("f")); s != 200 {
		t.Fatalf("put: %d %v", s, out)
	}
	for _, p := range []string{"0/r/artifacts/d", "0/r/artifacts/d/f.txt/g"} {
		if s, out := b.send(t, "PUT", artifactsURL+p, strings.NewReader("x")); s != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" {
			t.Errorf("put %s: %d %v, want 400", p, s, out)
		}
	}
	if got := files(t, filepath.Join(b.dir, "mlartifacts.tmp")); len(got) != 0 {
		t.Errorf("temporary files left: %v", got)
	}
}

// slowReader is a body of unknown length: n bytes, then EOF.
type slowReader struct{ n int }

func (r *slowReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, 3)
	for i := range k {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

func TestUploadCap(t *testing.T) {
	t.Parallel()
	b := setupConfig(t, t.TempDir(), func(c *tracking.Config) { c.MaxUploadBytes = 10 })
	tooBig := []struct {
		name string
		body io.Reader
	}{
		{"declared length", strings.NewReader(strings.Repeat("x", 11))},
		{"chunked", &slowReader{n: 11}},
	}
	for _, tc := range tooBig {
		s, out := b.send(t, "PUT", artifactsURL+"0/r/artifacts/big.bin", tc.body)
		if s != http.StatusRequestEntityTooLarge || out["error_code"] != tracking.CodeResourceExhausted || !strings.Contains(fmt.Sprint(out["message"]), "10 bytes") {
			t.Errorf("%s: %d %v, want 413 naming the limit", tc.name, s, out)
		}
	}
	if s, out := b.send(t, "PUT", artifactsURL+"0/r/artifacts/ok.bin", &slowReader{n: 10}); s != 200 {
		t.Errorf("a body at the cap: %d %v", s, out)
	}
	// A multipart part is capped the same; the whole file is not.
	_, created := b.call(t, "POST", "/ws/ws/api/2.0/mlflow-artifacts/mpu/create/0/r/artifacts", map[string]any{"path": "big.bin", "num_parts": 2})
	creds, _ := created["credentials"].([]any)
	if len(creds) != 2 {
		t.Fatalf("create: %v", created)
	}
	partURL := func(i int) string {
		u := creds[i].(map[string]any)["url"].(string)
		return u[strings.Index(u, "/ws/"):]
	}
	if s, out := b.send(t, "PUT", partURL(0), &slowReader{n: 11}); s != http.StatusRequestEntityTooLarge {
		t.Errorf("part over the cap: %d %v", s, out)
	}
	for i := range 2 {
		if s, out := b.send(t, "PUT", partURL(i), &slowReader{n: 10}); s != 200 {
			t.Fatalf("part %d: %d %v", i+1, s, out)
		}
	}
	if s, out := b.call(t, "POST", "/ws/ws/api/2.0/mlflow-artifacts/mpu/complete/0/r/artifacts", map[string]any{"path": "big.bin", "upload_id": created["upload_id"]}); s != 200 {
		t.Fatalf("complete: %d %v", s, out)
	}
	got := files(t, b.artifactRoot())
	if strings.Join(got, ",") != "ws/0/r/artifacts/big.bin,ws/0/r/artifacts/ok.bin" {
		t.Errorf("artifacts: %v", got)
	}
	if fi, err := os.Stat(filepath.Join(b.artifactRoot(), "ws/0/r/artifacts/big.bin")); err != nil || fi.Size() != 20 {
		t.Errorf("joined file: %v %v", fi, err)
	}
	if left := files(t, filepath.Join(b.dir, "mlartifacts.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestWorkspaceQuota(t *testing.T) {
	t.Parallel()
	b := setupConfig(t, t.TempDir(), func(c *tracking.Config) { c.WorkspaceQuotaBytes = 20 })
	put := func(p string, n int) (int, map[string]any) {
		return b.send(t, "PUT", artifactsURL+p, &slowReader{n: n})
	}
	if s, out := put("0/r/artifacts/a", 15); s != 200 {
		t.Fatalf("put within the quota: %d %v", s, out)
	}
	if s, out := put("0/r/artifacts/b", 10); s != http.StatusRequestEntityTooLarge || out["error_code"] != tracking.CodeResourceExhausted {
		t.Errorf("put past the quota: %d %v", s, out)
	}
	s, out := b.send(t, "PUT", artifactsURL+"0/r/artifacts/b", bytes.NewReader(make([]byte, 10)))
	if s != http.StatusRequestEntityTooLarge {
		t.Errorf("declared length past the quota: %d %v", s, out)
	}
	if s, out := put("0/r/artifacts/a", 4); s != 200 {
		t.Errorf("replacing a file: %d %v", s, out)
	}
	if s, out := put("0/r/artifacts/b", 16); s != 200 {
		t.Errorf("a replaced file counts with its new size only: %d %v", s, out)
	}
	if s, out := b.send(t, "DELETE", artifactsURL+"0/r/artifacts", nil); s != 200 {
		t.Fatalf("delete: %d %v", s, out)
	}
	if s, out := put("0/r2/artifacts/b", 20); s != 200 {
		t.Errorf("put after a deletion freed the quota: %d %v", s, out)
	}
	if got := files(t, b.artifactRoot()); strings.Join(got, ",") != "ws/0/r2/artifacts/b" {
		t.Errorf("artifacts: %v", got)
	}
	if left := files(t, filepath.Join(b.dir, "mlartifacts.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// logRecorder is a slog.Handler keeping every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) find(msg string) (slog.Record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if strings.Contains(r.Message, msg) {
			return r, true
		}
	}
	return slog.Record{}, false
}

func (l *logRecorder) above(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level > level {
			out = append(out, r.Level.String()+" "+r.Message)
		}
	}
	return out
}

func TestUploadBrokenOffByTheClientIsNoServerError(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	b := setupConfig(t, t.TempDir(), func(c *tracking.Config) { c.Logger = slog.New(logs) })
	for _, path := range []string{artifactsURL + "0/r/artifacts/model.pkl"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(b.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n%s", path, strings.Repeat("x", 1000))
		time.Sleep(50 * time.Millisecond)
		conn.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := logs.find("broken off"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log of the broken upload; logs: %v", logs.above(slog.LevelDebug-1))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r, _ := logs.find("broken off"); r.Level > slog.LevelInfo {
		t.Errorf("a client's broken upload logged at %v", r.Level)
	}
	if loud := logs.above(slog.LevelInfo); len(loud) > 0 {
		t.Errorf("logged above info: %v", loud)
	}
	if got := files(t, b.dir); strings.Join(got, ",") != "ciel.db,ciel.db-shm,ciel.db-wal" && strings.Join(got, ",") != "ciel.db" {
		for _, f := range got {
			if !strings.HasPrefix(f, "ciel.db") {
				t.Errorf("left behind: %s", f)
			}
		}
	}
}

func TestTemporaryFilesAreSweptAndNeverServed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := artifacts.Root{Dir: filepath.Join(dir, "mlartifacts")}
	write := func(rel, data string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// What a kill -9 leaves: an upload in the temporary folder, parts of a
	// multipart upload, and what earlier versions left in the tree.
	write("mlartifacts.tmp/upload-123", "half")
	write("mlartifacts.tmp/mpu/abc/1", "part")
	write("mlartifacts/ws/.mpu/abc/1", "part")
	write("mlartifacts/ws/0/r/artifacts/.model.pkl.tmp-0123456789ab", "half")
	write("mlartifacts/ws/0/r/artifacts/kept.txt", "kept")

	b := setupConfig(t, dir, func(*tracking.Config) {})
	srv := b.srv

	if _, err := os.Stat(root.TempDir()); !os.IsNotExist(err) {
		t.Errorf("temporary folder survived the start: %v (%v)", files(t, root.TempDir()), err)
	}
	if _, err := os.Stat(filepath.Join(root.Dir, "ws", ".mpu")); !os.IsNotExist(err) {
		t.Errorf("old multipart parts survived the start: %v", err)
	}
	for _, p := range []string{"0/r/artifacts/.model.pkl.tmp-0123456789ab", ".mpu/abc/1"} {
		req, _ := http.NewRequest("GET", srv.URL+artifactsURL+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("GET %s served a temporary file", p)
		}
	}
	_, list := b.call(t, "GET", "/ws/ws/api/2.0/mlflow-artifacts/artifacts?path=0/r/artifacts", nil)
	if fmt.Sprint(list["files"]) != "[map[file_size:4 is_dir:false path:kept.txt]]" {
		t.Errorf("list shows %v", list["files"])
	}
}

// TestRegistryFolderIsReadOnly: the registry's versions are served by the
// proxy but never rewritten or deleted through it, so what was registered
// (and deployed) stays what it was.
func TestRegistryFolderIsReadOnly(t *testing.T) {
	t.Parallel()
	b := setupConfig(t, t.TempDir(), func(c *tracking.Config) { c.ReadOnly = []string{"models"} })
	file := filepath.Join(b.artifactRoot(), "ws", "models", "m", "1", "model.pkl")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("registered"), 0o600); err != nil {
		t.Fatal(err)
	}
	mpu := "/ws/ws/api/2.0/mlflow-artifacts/mpu/"
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", artifactsURL + "models/m/1/model.pkl", "tampered"},
		{"PUT", artifactsURL + "models/m/2/model.pkl", "new"},
		{"PUT", artifactsURL + "0/r/..%2f..%2fmodels/m/1/model.pkl", "tampered"},
		{"DELETE", artifactsURL + "models/m/1", ""},
		{"DELETE", artifactsURL + "models/m/1/model.pkl", ""},
		{"POST", mpu + "create/models/m/1", `{"path": "model.pkl", "num_parts": 1}`},
	} {
		if s, out := b.send(t, tc.method, tc.path, strings.NewReader(tc.body)); s != 400 {
			t.Errorf("%s %s: %d %v, want 400", tc.method, tc.path, s, out)
		}
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != "registered" {
		t.Fatalf("registered file is now %q (%v)", got, err)
	}
	req, _ := http.NewRequest("GET", b.srv.URL+artifactsURL+"models/m/1/model.pkl", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(got) != "registered" {
		t.Errorf("GET of a registered file: %d %q", resp.StatusCode, got)
	}
	if s, out := b.send(t, "PUT", artifactsURL+"0/r/artifacts/modelsx/a.txt", strings.NewReader("ok")); s != 200 {
		t.Errorf("a run's artifact beside the registry: %d %v", s, out)
	}
}
