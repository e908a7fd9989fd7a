package e2e

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The probe's requests to the MLflow artifact proxy and the upload routes
// (issue 9, items 3, 7, 10 and 11), sent to the real server.

const artifactsPath = "/api/2.0/mlflow-artifacts/artifacts/"

// send sends a request with a body of the given type to the env's server
// and returns the status and the decoded JSON answer. length, when not
// negative, is the Content-Length to declare, whatever the body holds.
func (e *env) send(method, path, ctype string, body io.Reader, length int64) (int, map[string]any) {
	e.t.Helper()
	url, _ := e.server()
	req, err := http.NewRequest(method, url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if length >= 0 {
		req.ContentLength = length
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &m) != nil {
		m = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, m
}

// artifactURL is the proxy's URL of rel in workspace ws.
func artifactURL(rel string) string { return "/ws/ws" + artifactsPath + rel }

// leftovers lists the files under the artifact and blob stores' trees and
// temporary folders that are temporary files.
func (e *env) leftovers() []string {
	var out []string
	for _, dir := range []string{"mlartifacts", "mlartifacts.tmp", "blobs/tmp"} {
		root := filepath.Join(e.home, dir)
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(e.home, p)
			if dir != "mlartifacts" || strings.Contains(d.Name(), ".tmp-") || strings.Contains(rel, "/.mpu/") {
				out = append(out, rel)
			}
			return nil
		})
	}
	return out
}

func TestArtifactProbeIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keep := "0/r1/artifacts/model.pkl"
	if s, out := e.send("PUT", artifactURL(keep), "application/octet-stream", strings.NewReader("weights"), -1); s != 200 {
		t.Fatalf("put: %d %v", s, out)
	}
	probes := []struct{ method, rel string }{
		{"DELETE", "%2e"},
		{"DELETE", "..%2f.."},
		{"DELETE", "0"},
		{"PUT", "%2e"},
		{"PUT", "..%2f..%2fescape.txt"},
		{"GET", "..%2f..%2f..%2fciel.db"},
	}
	for _, p := range probes {
		s, out := e.send(p.method, artifactURL(p.rel), "application/octet-stream", strings.NewReader("x"), -1)
		if s != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" || out["message"] == nil {
			t.Errorf("%s %s: %d %v, want 400 INVALID_PARAMETER_VALUE", p.method, p.rel, s, out)
		}
		if msg := fmt.Sprint(out["message"]); strings.Contains(msg, e.home) {
			t.Errorf("%s %s: the answer names the server's home: %s", p.method, p.rel, msg)
		}
	}
	// Nothing changed: the artifact is there, and uploads still work.
	if s, out := e.send("GET", artifactURL(keep), "", nil, -1); s != 200 || out["raw"] != "weights" {
		t.Errorf("get after the probes: %d %v", s, out)
	}
	if s, out := e.send("PUT", artifactURL("0/r2/artifacts/a.txt"), "application/octet-stream", strings.NewReader("a"), -1); s != 200 {
		t.Errorf("put after the probes: %d %v", s, out)
	}
	if _, err := os.Stat(filepath.Join(e.home, "escape.txt")); err == nil {
		t.Error("PUT ..%2f.. wrote outside the artifact root")
	}
}

// stalledBody sends n bytes and then nothing for 20 s, when it breaks.
func stalledBody(t *testing.T, n int) io.Reader {
	pr, pw := io.Pipe()
	stop := time.AfterFunc(20*time.Second, func() { pw.CloseWithError(errors.New("the server never answered")) })
	t.Cleanup(func() { stop.Stop(); pw.Close() })
	go func() { _, _ = pw.Write(make([]byte, n)) }()
	return pr
}

func TestBodiesOverTheCapAreRefusedAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Declared lengths just over the default caps (5 GiB and 10 GiB): the
	// server answers before reading, and holds nothing; a server that
	// reads on waits for bytes that never come.
	start := time.Now()
	s, out := e.send("PUT", artifactURL("0/r/artifacts/huge.bin"), "application/octet-stream", stalledBody(t, 1024), 5<<30+1)
	if s != http.StatusRequestEntityTooLarge || out["error_code"] == nil || out["message"] == nil {
		t.Errorf("artifact PUT over the cap: %d %v, want 413 in MLflow's shape", s, out)
	}
	s, out = e.send("POST", "/api/v1/workspaces/ws/uploads", "application/x-tar", stalledBody(t, 1024), 10<<30+1)
	body, _ := out["error"].(map[string]any)
	if s != http.StatusRequestEntityTooLarge || body["message"] == nil {
		t.Errorf("upload over the cap: %d %v, want 413 in ciel's shape", s, out)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the refusals took %s", d)
	}
	if left := e.leftovers(); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestMetricTimestampOutOfRangeIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s, out := e.send("POST", "/ws/ws/api/2.0/mlflow/runs/create", "application/json", strings.NewReader(`{"experiment_id": "0"}`), -1)
	if s != 200 {
		t.Fatalf("create run: %d %v", s, out)
	}
	run := out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	for _, body := range []string{
		`{"run_id": "%s", "key": "m", "value": 1, "timestamp": 1e23}`,
		`{"run_id": "%s", "key": "m", "value": 1, "timestamp": 1, "step": 1e19}`,
	} {
		s, out := e.send("POST", "/ws/ws/api/2.0/mlflow/runs/log-metric", "application/json", strings.NewReader(fmt.Sprintf(body, run)), -1)
		if s != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" {
			t.Errorf("%s: %d %v, want 400 INVALID_PARAMETER_VALUE", body, s, out)
		}
	}
	_, got := e.send("GET", "/ws/ws/api/2.0/mlflow/runs/get?run_id="+run, "", nil, -1)
	if m := got["run"].(map[string]any)["data"].(map[string]any)["metrics"]; m != nil {
		t.Errorf("the refused metric was stored: %v", m)
	}
}

func TestKill9MidUploadLeavesNothingServed(t *testing.T) {
	t.Parallel()
	homeStoresOnly(t) // counts the partial files in the home's blob store
	e := newEnv(t)
	url, pid := e.server()
	rel := "0/r/artifacts/big.bin"
	// Two uploads in flight: an artifact PUT and a tar upload, each with
	// part of its body sent.
	started := make(chan struct{}, 2)
	for _, up := range []struct{ method, path, ctype string }{
		{"PUT", artifactURL(rel), "application/octet-stream"},
		{"POST", "/api/v1/workspaces/ws/uploads", "application/x-tar"},
	} {
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() })
		req, err := http.NewRequest(up.method, url+up.path, pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", up.ctype)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
		go func() {
			// A tar entry for a 1 MiB file, and 64 KiB of it.
			tw := tar.NewWriter(pw)
			if err := tw.WriteHeader(&tar.Header{Name: "big.bin", Size: 1 << 20, Mode: 0o600}); err == nil {
				_, _ = tw.Write(make([]byte, 64<<10))
			}
			started <- struct{}{}
		}()
	}
	<-started
	<-started
	waitFor(t, "both uploads to reach the disk", 20*time.Second, func() bool { return len(e.leftovers()) >= 2 })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server to die", 10*time.Second, func() bool { return !alive(pid) })

	// Any command starts a new server, which sweeps what the uploads left.
	e.ok("workspace", "show", "--name", "ws")
	if _, newPID := e.server(); newPID == pid {
		t.Fatal("server was not restarted")
	}
	if left := e.leftovers(); len(left) > 0 {
		t.Errorf("left after the restart: %v", left)
	}
	if s, out := e.send("GET", artifactURL(rel), "", nil, -1); s != 404 {
		t.Errorf("GET of the interrupted upload: %d %v, want 404", s, out)
	}
	_, list := e.send("GET", "/ws/ws/api/2.0/mlflow-artifacts/artifacts?path=0/r/artifacts", "", nil, -1)
	if files := list["files"]; files != nil {
		t.Errorf("list shows %v", files)
	}
}

func TestUploadBrokenOffIsNoServerError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	url, _ := e.server()
	for _, up := range []struct{ method, path, ctype string }{
		{"PUT", artifactURL("0/r/artifacts/model.pkl"), "application/octet-stream"},
		{"POST", "/api/v1/workspaces/ws/uploads", "application/x-tar"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: 100000\r\n\r\n%s",
			up.method, up.path, up.ctype, strings.Repeat("x", 1000))
		time.Sleep(200 * time.Millisecond)
		conn.Close()
	}
	// The server answers a request even after its client left; a log line
	// about one would come at once.
	time.Sleep(time.Second)
	b, err := os.ReadFile(filepath.Join(e.home, "logs", "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("a client's broken upload logged as an error: %s", line)
		}
	}
	if left := e.leftovers(); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
