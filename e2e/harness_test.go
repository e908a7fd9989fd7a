// Package e2e holds integration tests that build the real ciel binary and
// drive it through its CLI and over HTTP, each test with its own CIEL_HOME
// and its own background server.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cielBin is the binary built once for the whole package.
var cielBin string

func TestMain(m *testing.M) {
	// The race runtime sleeps a second before an instrumented binary exits;
	// the tests run hundreds of short ciel commands.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	dir, err := os.MkdirTemp("", "ciel-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cielBin = filepath.Join(dir, "ciel")
	build := exec.Command("go", "build", "-race", "-o", cielBin, "../cmd/ciel")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ciel:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's ciel installation: a CIEL_HOME and a work directory.
type env struct {
	t    *testing.T
	home string
	dir  string
	vars []string // KEY=VALUE added to every command's environment
	// runArgs are the arguments of the last startServerRun.
	runArgs []string
}

// result is what a ciel command did.
type result struct {
	out, err string
	code     int
}

// newEnv makes a fresh CIEL_HOME with a workspace "ws" set as default, and
// stops its server when the test ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t)
}

// newEnvWith is newEnv with KEY=VALUE variables added to the environment
// of every ciel command, and so of the background server.
func newEnvWith(t *testing.T, vars ...string) *env {
	t.Helper()
	e := &env{t: t, home: t.TempDir(), dir: t.TempDir(), vars: append(teamStores(t), vars...)}
	e.startServer()
	e.ok("workspace", "create", "--name", "ws", "--resource-group", "rg", "--location", "eastus")
	e.ok("configure", "--defaults", "workspace=ws")
	return e
}

// startServer starts the env's server on a free port, which its home then
// remembers: the tests run side by side, and each server must keep its own
// port across restarts rather than share ciel's default one. It stops the
// server when the test ends.
func (e *env) startServer() {
	e.t.Helper()
	e.t.Cleanup(func() { e.run("server", "stop") })
	e.ok("server", "start", "--addr", "127.0.0.1:0")
}

// run runs ciel with args in the work directory.
func (e *env) run(args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cielBin, args...)
	cmd.Dir, cmd.Env = e.dir, e.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out: out.String(), err: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("run ciel %v: %v", args, err)
	}
	return r
}

// environ is the environment ciel runs in: this env's home, no shared
// server, no token.
func (e *env) environ() []string {
	return append(append(os.Environ(), "CIEL_HOME="+e.home, "CIEL_URL=", "CIEL_TOKEN="), e.vars...)
}

// ok runs ciel and fails the test unless it exits 0.
func (e *env) ok(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("ciel %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

// write creates a file under the work directory.
func (e *env) write(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// job is the part of `ciel job show -o json` tests look at.
type job struct {
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	ExperimentName string            `json:"experiment_name"`
	Tags           map[string]string `json:"tags"`
	Status         string            `json:"status"`
	Error          string            `json:"error"`
	Outputs        map[string]struct {
		Digest string `json:"digest"`
	} `json:"outputs"`
	Jobs map[string]struct {
		Status     string `json:"status"`
		ReusedFrom string `json:"reused_from"`
		Attempt    int    `json:"attempt"`
		Error      string `json:"error"`
	} `json:"jobs"`
}

func (e *env) show(name string) job {
	e.t.Helper()
	r := e.ok("job", "show", "--name", name, "-o", "json")
	var j job
	if err := json.Unmarshal([]byte(r.out), &j); err != nil {
		e.t.Fatalf("job show: %v\n%s", err, r.out)
	}
	return j
}

// submit creates a job without streaming and returns its name.
func (e *env) submit(file string, extra ...string) string {
	e.t.Helper()
	r := e.ok(append([]string{"job", "create", "--file", file, "-o", "json"}, extra...)...)
	var j job
	if err := json.Unmarshal([]byte(r.out), &j); err != nil || j.Name == "" {
		e.t.Fatalf("job create output: %v\n%s", err, r.out)
	}
	return j.Name
}

// wait polls until a job is terminal.
func (e *env) wait(name string, within time.Duration) job {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		j := e.show(name)
		switch j.Status {
		case "Completed", "Failed", "Canceled":
			return j
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still %s after %s", name, j.Status, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// server returns the URL and pid of the env's background server.
func (e *env) server() (string, int) {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.home, "server.json"))
	if err != nil {
		e.t.Fatalf("read server.json: %v", err)
	}
	var info struct {
		URL string `json:"url"`
		PID int    `json:"pid"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		e.t.Fatal(err)
	}
	return info.URL, info.PID
}

// httpJSON sends a request to the env's server and decodes the JSON answer.
func (e *env) httpJSON(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	url, _ := e.server()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.t.Fatalf("%s %s: answer is not a JSON object: %v", method, path, err)
	}
	return resp.StatusCode, m
}

// alive reports whether a process exists.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	// A zombie still answers kill(0); it is dead for our purposes.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// containsAll reports whether text holds every one of wants.
func containsAll(text string, wants []string) bool {
	for _, w := range wants {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// lastLines returns text's last n lines.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
