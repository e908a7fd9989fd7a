package e2e

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A second `ciel server run` on a home whose server is running a job is
// refused, naming the running server, and changes nothing: the job's step
// runs once, server.json still names the first server, and the next command
// reaches it rather than starting a third.
func TestSecondServerOnAHomeIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	runs := filepath.Join(e.dir, "runs.txt")
	started := filepath.Join(e.dir, "started")
	e.write("slow.yml", `
type: command
command: echo run >> `+runs+` && touch `+started+` && sleep 4
`)
	name := e.submit("slow.yml")
	waitFor(t, "the step to start", 60*time.Second, func() bool { _, err := os.Stat(started); return err == nil })
	url, pid := e.server()
	infoBefore, err := os.ReadFile(filepath.Join(e.home, "server.json"))
	if err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"server", "run"}, {"server", "run", "--addr", "127.0.0.1:0"}} {
		var out bytes.Buffer
		second := exec.Command(cielBin, args...)
		second.Dir, second.Env = e.dir, e.environ()
		second.Stdout, second.Stderr = &out, &out
		if err := second.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- second.Wait() }()
		select {
		case err = <-done:
		case <-time.After(20 * time.Second):
			// It runs: stop it cleanly, as a user would, then judge.
			_ = second.Process.Signal(syscall.SIGTERM)
			err = <-done
			t.Errorf("ciel %s started beside the running server", strings.Join(args, " "))
		}
		want := "another ciel server (pid " + strconv.Itoa(pid) + ", " + url + ") is using CIEL_HOME " + e.home +
			"; stop it with ciel server stop"
		if err == nil || !strings.Contains(out.String(), want) {
			t.Errorf("ciel %s: %v\n%s\nwant an error saying %q", strings.Join(args, " "), err, out.String(), want)
		}
		if info, err := os.ReadFile(filepath.Join(e.home, "server.json")); err != nil || !bytes.Equal(info, infoBefore) {
			t.Errorf("after the refused server, server.json = %q (%v), want %q", info, err, infoBefore)
		}
	}

	if j := e.wait(name, 60*time.Second); j.Status != "Completed" {
		t.Errorf("job ended %s: %s", j.Status, j.Error)
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 1 {
		t.Errorf("the step ran %d times, want once", strings.Count(string(b), "run"))
	}
	if _, now := e.server(); now != pid || !alive(pid) {
		t.Errorf("server is pid %d (first alive: %v), want the first, pid %d", now, alive(pid), pid)
	}
}

// Nothing in a CIEL_HOME that has run a job, registered a model and made an
// endpoint's keys can be read by another local user.
func TestHomeIsPrivate(t *testing.T) {
	t.Parallel()
	homeStoresOnly(t)
	e := newEnv(t)
	e.write("raw.txt", "a\nb\n")
	e.write("pipeline.yml", modelPipeline)
	e.write("src/run.sh", "echo from code > \"$1/out.txt\"\n")
	if err := os.Chmod(filepath.Join(e.dir, "src/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.write("code.yml", `
type: command
code: src
outputs: {o: {type: uri_folder}}
command: ./run.sh ${{outputs.o}}
`)
	e.write("ep.yml", "name: private-ep\nauth_mode: key\n")
	e.ok("data", "create", "--name", "training_data", "--version", "1", "--type", "uri_file", "--path", "raw.txt")
	job := e.submit("pipeline.yml")
	code := e.submit("code.yml")
	for _, name := range []string{job, code} {
		if j := e.wait(name, 2*time.Minute); j.Status != "Completed" {
			t.Fatalf("job %s ended %s: %s", name, j.Status, j.Error)
		}
	}
	e.ok("model", "create", "--name", "m", "--path", "azureml://jobs/"+job+"/outputs/model")
	e.ok("online-endpoint", "create", "--file", "ep.yml")
	if r := e.ok("online-endpoint", "get-credentials", "--name", "private-ep", "-o", "json"); !strings.Contains(r.out, "primaryKey") {
		t.Fatalf("no keys: %s", r.out)
	}

	seen := checkPrivate(t, e.home)
	for _, name := range []string{"ciel.db", "ciel.db-wal", "server.json", "config.json", "blobs", "jobs", "logs/server.log"} {
		if !seen[name] {
			t.Errorf("%s not in the home: the walk checked less than it should", name)
		}
	}
}

// checkPrivate fails t for every file or folder under home, home included,
// that grants its group or others anything; it returns the paths it saw,
// relative to home. Symbolic links (a virtualenv's python) have no mode of
// their own.
func checkPrivate(t *testing.T, home string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, p)
		seen[filepath.ToSlash(rel)] = true
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, readable by others", rel, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// A home an older ciel left readable by others is made private when a
// server starts on it.
func TestOlderHomeIsTightened(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok("server", "stop")
	// As an older ciel left them: the database, its WAL and shm files
	// (made empty when a clean stop removed them) and the config 0644.
	loose := []string{"ciel.db", "ciel.db-wal", "ciel.db-shm", "config.json"}
	for _, name := range loose {
		p := filepath.Join(e.home, name)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(e.home, 0o755); err != nil {
		t.Fatal(err)
	}

	e.ok("workspace", "show", "--name", "ws")
	for _, name := range append([]string{"."}, loose...) {
		fi, err := os.Stat(filepath.Join(e.home, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v after a start, want nothing for group or others", name, fi.Mode().Perm())
		}
	}
}

// The server comes back on the address it had, so a saved tracking URI
// keeps working: after `server stop` and a command that starts it again,
// and after `server stop` and `server start`.
func TestServerKeepsItsAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	url, _ := e.server()
	uri := e.trackingURI()
	if !strings.HasPrefix(uri, url) {
		t.Fatalf("tracking URI %s is not on the server %s", uri, url)
	}
	e.ok("server", "stop")
	if got := e.trackingURI(); got != uri {
		t.Errorf("after a restart by the CLI the tracking URI is %s, want %s", got, uri)
	}
	e.ok("server", "stop")
	e.ok("server", "start")
	if got, _ := e.server(); got != url {
		t.Errorf("after server start the server is at %s, want %s", got, url)
	}
}

// A port another program holds is a clear error, which says how to move;
// moving with --addr is remembered for the next starts.
func TestTakenPortIsReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	url, _ := e.server()
	addr := strings.TrimPrefix(url, "http://")
	e.ok("server", "stop")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	want := addr + " is in use by another program; start ciel on another with ciel server start --addr 127.0.0.1:PORT"
	for _, args := range [][]string{{"workspace", "show", "--name", "ws"}, {"server", "start"}, {"server", "start", "--addr", addr}} {
		r := e.run(args...)
		if r.code == 0 || !strings.Contains(r.err, want) {
			t.Errorf("ciel %s with the port taken: exit %d\n%s\nwant %q", strings.Join(args, " "), r.code, r.err, want)
		}
	}
	e.ok("server", "start", "--addr", "127.0.0.1:0")
	moved, _ := e.server()
	if moved == url {
		t.Fatalf("server still at %s", url)
	}
	e.ok("server", "stop")
	e.ok("workspace", "show", "--name", "ws")
	if got, _ := e.server(); got != moved {
		t.Errorf("after moving with --addr and restarting, the server is at %s, want %s", got, moved)
	}
}

// trackingURI returns workspace ws's MLflow tracking URI.
func (e *env) trackingURI() string {
	e.t.Helper()
	var ws struct {
		URI string `json:"mlflow_tracking_uri"`
	}
	r := e.ok("workspace", "show", "--name", "ws", "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &ws); err != nil || ws.URI == "" {
		e.t.Fatalf("workspace show: %v\n%s", err, r.out)
	}
	return ws.URI
}
