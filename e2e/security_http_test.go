package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// foreground is a `ciel server run` started by a test, with its output.
type foreground struct {
	url    string
	cmd    *exec.Cmd
	stderr *syncBuffer
}

// syncBuffer is a buffer the server's output is copied into while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runServer starts `ciel server run args...` on a fresh home and waits until
// it says where it listens; the test's end stops it.
func runServer(t *testing.T, env []string, args ...string) *foreground {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(cielBin, append([]string{"server", "run"}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"CIEL_HOME=" + home, "CIEL_URL=", "CIEL_TOKEN="}, env...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	fg := &foreground{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = fg.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case fg.url = <-urls:
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start: %s", fg.stderr)
	}
	return fg
}

// send makes one request and returns its status and body.
func send(t *testing.T, method, url string, body io.Reader, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCrossSitePagesChangeNothing is the probe of a web page (and a DNS
// rebinding page) posting a job to the local server, which has no token by
// default: every shape a browser can send without a CORS preflight, or from
// another origin or Host, is refused and no command runs. The control, the
// same job sent as the CLI sends it, runs.
func TestCrossSitePagesChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base, _ := e.server()
	host := strings.TrimPrefix(base, "http://")
	marker := filepath.Join(e.dir, "pwned")
	job := fmt.Sprintf(`{"type": "command", "command": "touch %s"}`, marker)
	jobs := base + "/api/v1/workspaces/ws/jobs"
	attacks := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"text/plain from another site through a rebinding name",
			map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example", "Host": "evil.example:" + strings.Split(host, ":")[1]}, 403},
		{"text/plain from another site", map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://evil.example"}, 403},
		{"text/plain with no Origin", map[string]string{"Content-Type": "text/plain"}, 415},
		{"form with no Origin", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"no content type", map[string]string{}, 415},
		{"JSON from another origin", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403},
		{"JSON through a rebinding name", map[string]string{"Content-Type": "application/json", "Host": "attacker.example"}, 403},
		{"JSON from a sandboxed page", map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403},
	}
	for _, a := range attacks {
		code, body := send(t, "POST", jobs, strings.NewReader(job), a.hdr)
		if code != a.want {
			t.Errorf("%s: status %d, want %d: %s", a.name, code, a.want, body)
		}
		var eb struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal([]byte(body), &eb) != nil || eb.Error.Message == "" {
			t.Errorf("%s: answer is not a JSON error body: %s", a.name, body)
		}
	}
	// Reading the user's data from another site's page: a <script> tag
	// sends no Origin, but says where it comes from.
	if code, body := send(t, "GET", jobs, nil, map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors",
		"Sec-Fetch-Dest": "script"}); code != 403 {
		t.Errorf("another site's script tag read the job list: %d %s", code, body)
	}
	code, list := send(t, "GET", jobs, nil, nil)
	if code != 200 || strings.TrimSpace(list) != "[]" {
		t.Fatalf("jobs after the attacks: %d %s", code, list)
	}
	time.Sleep(time.Second)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a cross-site request ran its command")
	}
	// The control: the API's own shape is served, and the command runs.
	if code, body := send(t, "POST", jobs, strings.NewReader(job),
		map[string]string{"Content-Type": "application/json", "Origin": base}); code != 201 {
		t.Fatalf("same-origin JSON job: %d %s", code, body)
	}
	waitFor(t, "the control job's command", 2*time.Minute, func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
}

// TestTokenIsRequiredEverywhere starts a server with a token and profiling:
// the token counts only as "Bearer <token>", on ciel's API, MLflow's, the
// profiler and the scoring listener's metrics.
func TestTokenIsRequiredEverywhere(t *testing.T) {
	t.Parallel()
	scoring := freePort(t)
	fg := runServer(t, []string{"CIEL_PPROF=1"}, "--addr", "127.0.0.1:0", "--token", "s3cret", "--scoring-addr", scoring)
	cases := []struct {
		name, method, url, body string
	}{
		{"ciel API", "GET", fg.url + "/api/v1/workspaces", ""},
		{"mlflow API", "POST", fg.url + "/ws/ws/api/2.0/mlflow/experiments/create", `{"name": "x"}`},
		{"profiler", "GET", fg.url + "/debug/pprof/goroutine?debug=2", ""},
		{"profiler index", "GET", fg.url + "/debug/pprof/", ""},
		{"scoring metrics", "GET", "http://" + scoring + "/metrics", ""},
	}
	for _, c := range cases {
		for _, auth := range []string{"", "s3cret", "Bearer wrong", "Basic s3cret"} {
			code, body := send(t, c.method, c.url, strings.NewReader(c.body), map[string]string{"Authorization": auth, "Content-Type": "application/json"})
			if code != http.StatusUnauthorized {
				t.Errorf("%s with Authorization %q: %d, want 401: %.200s", c.name, auth, code, body)
			}
			if strings.Contains(body, "goroutine") {
				t.Errorf("%s with Authorization %q leaked stacks", c.name, auth)
			}
		}
		code, body := send(t, c.method, c.url, strings.NewReader(c.body), map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json"})
		if code == http.StatusUnauthorized || code == http.StatusForbidden {
			t.Errorf("%s with the token: %d: %.200s", c.name, code, body)
		}
	}
}

// TestNoTokenOnTheNetworkRefused: a server reachable from other machines
// with no token would run anyone's commands; it refuses to start unless told
// --insecure-no-auth, and then says so loudly.
func TestNoTokenOnTheNetworkRefused(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cielBin, "server", "run", "--addr", "0.0.0.0:0")
	cmd.Env = append(os.Environ(), "CIEL_HOME="+home, "CIEL_URL=", "CIEL_TOKEN=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("server on 0.0.0.0 with no token started:\n%s", out)
	}
	if !strings.Contains(string(out), "--insecure-no-auth") || !strings.Contains(string(out), "token") {
		t.Errorf("refusal does not say what to do:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(home, "server.json")); err == nil {
		t.Error("a refused server left server.json")
	}
	fg := runServer(t, nil, "--addr", "0.0.0.0:0", "--insecure-no-auth")
	if !strings.Contains(fg.stderr.String(), "INSECURE") {
		t.Errorf("an exposed server without a token does not say so: %s", fg.stderr)
	}
	if code, body := send(t, "GET", fg.url+"/api/v1/health", nil, nil); code != 200 {
		t.Errorf("health on the loopback address of a 0.0.0.0 server: %d %s", code, body)
	}
}

// TestSlowAndHugeBodiesAreCut: a client trickling a body is cut off soon
// after the grace period, and a 200 MB body to MLflow's log-batch is
// refused with 413 without the server reading it into memory.
func TestSlowAndHugeBodiesAreCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base, pid := e.server()
	host := strings.TrimPrefix(base, "http://")
	t.Run("trickle", func(t *testing.T) {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/workspaces/ws/jobs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", host)
		answer := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(conn)
			answer <- string(b)
		}()
		start := time.Now()
		for {
			select {
			case a := <-answer:
				if !strings.HasPrefix(a, "HTTP/1.1 408") || !strings.Contains(a, `"message"`) {
					t.Fatalf("answer to a trickled body: %q", a)
				}
				t.Logf("trickled body cut after %s", time.Since(start).Round(100*time.Millisecond))
				return
			case <-time.After(500 * time.Millisecond):
				if time.Since(start) > 30*time.Second {
					t.Fatal("a body trickled at 2 B/s is still being read after 30 s")
				}
				_, _ = conn.Write([]byte(" "))
			}
		}
	})
	t.Run("200 MB log-batch", func(t *testing.T) {
		before := rssKB(t, pid)
		const size = 200 << 20
		for _, chunked := range []bool{false, true} {
			body := io.MultiReader(strings.NewReader(`{"run_id": "x", "metrics": [`), io.LimitReader(zeros{}, size))
			req, _ := http.NewRequest("POST", base+"/ws/ws/api/2.0/mlflow/runs/log-batch", body)
			req.Header.Set("Content-Type", "application/json")
			if !chunked {
				req.ContentLength = size + 28
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("chunked=%v: %v", chunked, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "error_code") {
				t.Errorf("chunked=%v: %d %s, want 413 with MLflow's error body", chunked, resp.StatusCode, b)
			}
		}
		// Reading either body whole would add 400 MB; the guard reads at
		// most 8 MiB of the chunked one, which the -race build's shadow
		// memory multiplies.
		if grew := rssKB(t, pid) - before; grew > 160<<10 {
			t.Errorf("server memory grew by %d MB answering two 200 MB bodies", grew>>10)
		}
	})
}

// TestMultipartURLsUseTheServersAddress: the part URLs MLflow's client
// PUTs to are built from the server's address, not the Host the request
// named.
func TestMultipartURLsUseTheServersAddress(t *testing.T) {
	t.Parallel()
	if onS3 {
		// The parts then go to the bucket's presigned URLs, which name its
		// endpoint (internal/artifacts/s3's tests).
		t.Skip("on an S3 blob store, part URLs are the bucket's")
	}
	e := newEnv(t)
	base, _ := e.server()
	code, body := send(t, "POST", base+"/ws/ws/api/2.0/mlflow-artifacts/mpu/create/0/r/artifacts/big.bin",
		strings.NewReader(`{"path": "big.bin", "num_parts": 2}`),
		map[string]string{"Content-Type": "application/json", "Host": "localhost:1"})
	if code != 200 {
		t.Fatalf("create multipart upload: %d %s", code, body)
	}
	var out struct {
		Credentials []struct{ URL string } `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Credentials) != 2 {
		t.Fatalf("answer %s: %v", body, err)
	}
	for _, c := range out.Credentials {
		if !strings.HasPrefix(c.URL, base+"/") {
			t.Errorf("part URL %s does not start with the server's %s", c.URL, base)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

// rssKB is a process's resident memory in KiB.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// freePort returns a loopback address no one listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
