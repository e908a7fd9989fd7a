package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/artifacts/local"
	arts3 "github.com/ciel-mlops/ciel/internal/artifacts/s3"
	"github.com/ciel-mlops/ciel/internal/s3client"
	"github.com/ciel-mlops/ciel/internal/s3test"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// The backends are what the handler takes; the bucket's is direct.
var (
	_ tracking.ArtifactStore = (*local.Store)(nil)
	_ tracking.ArtifactStore = (*arts3.Store)(nil)
	_ tracking.DirectUploads = (*arts3.Store)(nil)
)

// backend is one artifact store the proxy tests run on, with a way to see
// everything it holds (to check that an attack wrote nothing).
type backend struct {
	name string
	// setup starts a handler on a fresh store, its Config edited by edit.
	setup func(t *testing.T, edit func(*tracking.Config)) *testBundle
	// stored lists every file the store holds, as "<ws>/<rel>", and
	// anything written outside the workspaces' roots with a "!" first.
	stored func(t *testing.T, b *testBundle) []string
	// direct is true when multipart parts go straight to the store.
	direct bool
}

// backends are the folder and, when an S3 server is installed
// (scripts/s3server.sh), a bucket of one.
func backends(t *testing.T) []backend {
	folder := backend{
		name:  "local",
		setup: func(t *testing.T, edit func(*tracking.Config)) *testBundle { return setupConfig(t, t.TempDir(), edit) },
		stored: func(t *testing.T, b *testBundle) []string {
			var out []string
			for _, f := range files(t, b.dir) {
				switch {
				case strings.HasPrefix(f, "ciel.db"):
				case strings.HasPrefix(f, "mlartifacts/"):
					out = append(out, strings.TrimPrefix(f, "mlartifacts/"))
				default:
					out = append(out, "!"+f)
				}
			}
			return out
		},
	}
	srv := s3test.Start(t)
	bucket := func(b *testBundle) string { return filepath.Base(b.dir) }
	bucketed := backend{
		name:   "s3",
		direct: true,
		setup: func(t *testing.T, edit func(*tracking.Config)) *testBundle {
			name := srv.Bucket(t)
			st, err := arts3.Open(context.Background(), arts3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, Bucket: name, Prefix: "team/mlartifacts", AccessKeyID: "testing", SecretAccessKey: "testing-secret"}})
			if err != nil {
				t.Fatal(err)
			}
			// The bundle's dir is named for the bucket, so stored finds it.
			dir := filepath.Join(t.TempDir(), name)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			return setupConfig(t, dir, func(c *tracking.Config) {
				edit(c)
				c.Artifacts, c.PartsDir = st, ""
			})
		},
		stored: func(t *testing.T, b *testBundle) []string {
			var out []string
			for o := range srv.Client().ListObjects(context.Background(), bucket(b), minio.ListObjectsOptions{Recursive: true}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				if rel, ok := strings.CutPrefix(o.Key, "team/mlartifacts/"); ok {
					out = append(out, rel)
				} else {
					out = append(out, "!"+o.Key)
				}
			}
			for _, f := range files(t, b.dir) {
				if !strings.HasPrefix(f, "ciel.db") {
					out = append(out, "!local:"+f)
				}
			}
			return out
		},
	}
	return []backend{folder, bucketed}
}

// get fetches url (this server's path, or a full URL) with optional
// headers and returns the status and body.
func (b *testBundle) get(t *testing.T, url string, header ...string) (int, []byte) {
	t.Helper()
	if strings.HasPrefix(url, "/") {
		url = b.srv.URL + url
	}
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestArtifactProxyOnEveryBackend(t *testing.T) {
	t.Parallel()
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := be.setup(t, func(*tracking.Config) {})
			run := b.newRun(t)
			_, got := b.call(t, "GET", "runs/get?run_id="+run, nil)
			uri := got["run"].(map[string]any)["info"].(map[string]any)["artifact_uri"].(string)
			root := strings.TrimPrefix(uri, "mlflow-artifacts:/")
			for p, data := range map[string]string{"model/model.pkl": "0123456789", "model/MLmodel": "flavors: {}", "notes.txt": "hi"} {
				if s, out := b.send(t, "PUT", artifactsURL+root+"/"+p, strings.NewReader(data)); s != 200 {
					t.Fatalf("put %s: %d %v", p, s, out)
				}
			}
			// A Range request (the studio's file viewer) reads a slice.
			if s, body := b.get(t, artifactsURL+root+"/model/model.pkl", "Range", "bytes=2-5"); s != 206 || string(body) != "2345" {
				t.Errorf("range read: %d %q", s, body)
			}
			if s, body := b.get(t, artifactsURL+root+"/notes.txt"); s != 200 || string(body) != "hi" {
				t.Errorf("read: %d %q", s, body)
			}
			// A folder is no file; a missing file is MLflow's not-found.
			for _, p := range []string{"model", "missing.txt"} {
				if s, _ := b.get(t, artifactsURL+root+"/"+p); s != 404 {
					t.Errorf("GET %s: %d, want 404", p, s)
				}
			}
			_, list := b.call(t, "GET", "artifacts/list?run_id="+run, nil)
			if fmt.Sprint(list["files"]) != "[map[is_dir:true path:model] map[file_size:2 is_dir:false path:notes.txt]]" {
				t.Errorf("run's artifacts: %v", list["files"])
			}
			_, list = b.call(t, "GET", "artifacts/list?run_id="+run+"&path=model", nil)
			if fmt.Sprint(list["files"]) != "[map[file_size:11 is_dir:false path:model/MLmodel] map[file_size:10 is_dir:false path:model/model.pkl]]" {
				t.Errorf("model folder: %v", list["files"])
			}
			if s, out := b.send(t, "DELETE", artifactsURL+root+"/model", nil); s != 200 {
				t.Fatalf("delete: %d %v", s, out)
			}
			if got := strings.Join(be.stored(t, b), ","); got != "ws/"+root+"/notes.txt" {
				t.Errorf("after deleting the folder the store holds %s", got)
			}
		})
	}
}

// TestArtifactPathAttacksOnEveryBackend: no name a request gives reaches
// a file or key outside the workspace's root, on either backend.
func TestArtifactPathAttacksOnEveryBackend(t *testing.T) {
	t.Parallel()
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := be.setup(t, func(*tracking.Config) {})
			if s, out := b.send(t, "PUT", artifactsURL+"0/r/artifacts/kept.txt", strings.NewReader("kept")); s != 200 {
				t.Fatalf("put: %d %v", s, out)
			}
			mpu := "/ws/ws/api/2.0/mlflow-artifacts/mpu/"
			attacks := []struct{ method, path, body string }{
				{"PUT", artifactsURL + "..%2fother%2fx.txt", "evil"},
				{"PUT", artifactsURL + "0/..%2f..%2f..%2fx.txt", "evil"},
				{"PUT", artifactsURL + "a/%2e%2e/%2e%2e/x.txt", "evil"},
				{"PUT", artifactsURL + "a/%00/x.txt", "evil"},
				{"PUT", artifactsURL + "..", "evil"},
				{"PUT", "/ws/..%2fother/api/2.0/mlflow-artifacts/artifacts/x.txt", "evil"},
				{"PUT", "/ws/.hidden/api/2.0/mlflow-artifacts/artifacts/x.txt", "evil"},
				{"GET", artifactsURL + "..%2f..%2fciel.db", ""},
				{"GET", "/ws/ws/api/2.0/mlflow-artifacts/artifacts?path=..%2f..", ""},
				{"GET", "/ws/ws/api/2.0/mlflow-artifacts/presigned/..%2fother%2fx.txt", ""},
				{"DELETE", artifactsURL + "0/r/artifacts/..%2f..%2f..", ""},
				{"DELETE", artifactsURL + "0/r/..%2f..%2f..%2fother", ""},
				{"POST", mpu + "create/..%2f..%2fother", `{"path": "x.bin", "num_parts": 1}`},
				{"POST", mpu + "create/0/r", `{"path": "..", "num_parts": 1}`},
				{"POST", mpu + "create/0/r", `{"path": "/tmp/", "num_parts": 1}`},
				{"POST", mpu + "create/0/r", `{"path": "x.bin", "num_parts": 100000}`},
				{"POST", mpu + "complete/..%2f..%2fother", `{"path": "x.bin", "upload_id": "u", "parts": [{"part_number": 1, "etag": "e"}]}`},
				{"POST", mpu + "abort/0/r", `{"path": "..", "upload_id": "u"}`},
			}
			for _, a := range attacks {
				s, out := b.send(t, a.method, a.path, strings.NewReader(a.body))
				if s < 400 || s >= 500 {
					t.Errorf("%s %s: %d %v, want a 4xx", a.method, a.path, s, out)
				}
			}
			if got := strings.Join(be.stored(t, b), ","); got != "ws/0/r/artifacts/kept.txt" {
				t.Errorf("after the attacks the store holds %s", got)
			}
		})
	}
}

// mpuCall posts a multipart upload call and decodes the answer.
func (b *testBundle) mpuCall(t *testing.T, op, folder string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	return b.send(t, "POST", "/ws/ws/api/2.0/mlflow-artifacts/mpu/"+op+"/"+folder, bytes.NewReader(raw))
}

// putPart PUTs data to a part URL and returns the ETag the answer gives.
func putPart(t *testing.T, url string, data []byte) string {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT part: %d %s", resp.StatusCode, msg)
	}
	return resp.Header.Get("ETag")
}

// TestMultipartUploadOnEveryBackend runs MLflow's multipart upload as its
// client does: on a bucket the part URLs are the bucket's own, presigned,
// and the parts never reach the server; on a folder they are the
// server's. Complete joins them, abort forgets them.
func TestMultipartUploadOnEveryBackend(t *testing.T) {
	t.Parallel()
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := be.setup(t, func(*tracking.Config) {})
			_, info := b.call(t, "GET", "/ws/ws/api/3.0/mlflow/server-info", nil)
			if info["multipart_uploads_enabled"] != true || info["multipart_downloads_enabled"] != be.direct {
				t.Errorf("server-info: %v", info)
			}
			// S3's smallest part but the last is 5 MiB.
			data := bytes.Repeat([]byte("0123456789abcdef"), (5<<20+1000)/16)
			parts := [][]byte{data[:5<<20], data[5<<20:]}
			s, created := b.mpuCall(t, "create", "0/r/artifacts/model", map[string]any{"path": "/home/me/weights.bin", "num_parts": 2})
			if s != 200 {
				t.Fatalf("create: %d %v", s, created)
			}
			creds := created["credentials"].([]any)
			var done []map[string]any
			for i, c := range creds {
				u := c.(map[string]any)["url"].(string)
				if onServer := strings.HasPrefix(u, b.srv.URL); onServer == be.direct {
					t.Errorf("part %d goes to %s", i+1, u)
				}
				done = append(done, map[string]any{"part_number": i + 1, "etag": putPart(t, u, parts[i]), "url": u})
			}
			s, out := b.mpuCall(t, "complete", "0/r/artifacts/model", map[string]any{
				"path": "/home/me/weights.bin", "upload_id": created["upload_id"], "parts": done})
			if s != 200 {
				t.Fatalf("complete: %d %v", s, out)
			}
			if s, body := b.get(t, artifactsURL+"0/r/artifacts/model/weights.bin"); s != 200 || !bytes.Equal(body, data) {
				t.Errorf("joined file: %d, %d bytes, want %d", s, len(body), len(data))
			}
			// A presigned download reads the same bytes from the bucket.
			s, pre := b.call(t, "GET", "/ws/ws/api/2.0/mlflow-artifacts/presigned/0/r/artifacts/model/weights.bin", nil)
			if be.direct {
				if s != 200 || pre["file_size"] != float64(len(data)) {
					t.Fatalf("presigned: %d %v", s, pre)
				}
				if s, body := b.get(t, pre["url"].(string), "Range", "bytes=0-15"); s != 206 || string(body) != "0123456789abcdef" {
					t.Errorf("presigned range read: %d %q", s, body)
				}
			} else if s != 501 || pre["error_code"] != "NOT_IMPLEMENTED" {
				t.Errorf("presigned on a folder: %d %v", s, pre)
			}
			// Abort forgets an upload: completing it then is not-found.
			_, created = b.mpuCall(t, "create", "0/r/artifacts", map[string]any{"path": "other.bin", "num_parts": 1})
			id := created["upload_id"]
			if s, out := b.mpuCall(t, "abort", "0/r/artifacts", map[string]any{"path": "other.bin", "upload_id": id}); s != 200 {
				t.Fatalf("abort: %d %v", s, out)
			}
			// Aborting it again is not-found: the store forgot it. (moto
			// answers 500 to completing an unknown upload, where S3 says
			// NoSuchUpload, so completing is not what shows it.)
			s, out = b.mpuCall(t, "abort", "0/r/artifacts", map[string]any{"path": "other.bin", "upload_id": id})
			if s != 404 || out["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
				t.Errorf("abort of an aborted upload: %d %v", s, out)
			}
			if got := strings.Join(be.stored(t, b), ","); got != "ws/0/r/artifacts/model/weights.bin" {
				t.Errorf("the store holds %s", got)
			}
		})
	}
}

// TestMultipartUploadUnsupportedAnswersAsMLflow: a folder store with no
// parts folder refuses multipart uploads with MLflow's own error, which
// its client takes as "send one PUT".
func TestMultipartUploadUnsupportedAnswersAsMLflow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := local.New(filepath.Join(dir, "mlartifacts"))
	if err != nil {
		t.Fatal(err)
	}
	b := setupConfig(t, dir, func(c *tracking.Config) { c.Artifacts, c.PartsDir = st, "" })
	s, out := b.mpuCall(t, "create", "0/r/artifacts", map[string]any{"path": "big.bin", "num_parts": 3})
	if s != 501 || out["error_code"] != "NOT_IMPLEMENTED" ||
		!strings.HasPrefix(fmt.Sprint(out["message"]), "Multipart upload is not supported for the current artifact repository") {
		t.Errorf("create: %d %v", s, out)
	}
	if _, info := b.call(t, "GET", "/ws/ws/api/3.0/mlflow/server-info", nil); info["multipart_uploads_enabled"] != false {
		t.Errorf("server-info: %v", info)
	}
}

// TestMultipartUploadQuotaOnEveryBackend: the workspace quota holds for
// multipart uploads too. Through the proxy the parts count as they come;
// parts that went straight to a bucket are measured once complete, and a
// file that overfills the workspace is removed.
func TestMultipartUploadQuotaOnEveryBackend(t *testing.T) {
	t.Parallel()
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := be.setup(t, func(c *tracking.Config) { c.WorkspaceQuotaBytes = 8 << 20 })
			data := bytes.Repeat([]byte("q"), 5<<20+100)
			upload := func(name string) (int, map[string]any) {
				folder := "0/r/artifacts"
				s, created := b.mpuCall(t, "create", folder, map[string]any{"path": name, "num_parts": 2})
				if s != 200 {
					return s, created
				}
				var done []map[string]any
				for i, c := range created["credentials"].([]any) {
					part := data[:5<<20]
					if i == 1 {
						part = data[5<<20:]
					}
					req, _ := http.NewRequest("PUT", c.(map[string]any)["url"].(string), bytes.NewReader(part))
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						return resp.StatusCode, nil // the proxy refuses a part past the quota
					}
					done = append(done, map[string]any{"part_number": i + 1, "etag": resp.Header.Get("ETag")})
				}
				return b.mpuCall(t, "complete", folder, map[string]any{"path": name, "upload_id": created["upload_id"], "parts": done})
			}
			if s, out := upload("first.bin"); s != 200 {
				t.Fatalf("first upload: %d %v", s, out)
			}
			if s, out := upload("second.bin"); s != 413 {
				t.Errorf("upload past the quota: %d %v, want 413", s, out)
			}
			if got := strings.Join(be.stored(t, b), ","); got != "ws/0/r/artifacts/first.bin" {
				t.Errorf("the store holds %s", got)
			}
		})
	}
}
