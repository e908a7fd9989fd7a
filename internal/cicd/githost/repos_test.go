package githost_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/githost"
)

// testBundle is what setup gives a test besides the Host.
type testBundle struct {
	dir    string // Config.Dir
	url    string // server URL including the /git prefix
	events *eventLog
}

// eventLog records push events; safe for concurrent use.
type eventLog struct {
	mu     sync.Mutex
	events []githost.PushEvent
}

func (l *eventLog) add(_ context.Context, ev githost.PushEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

// take returns the events recorded since the last take.
func (l *eventLog) take() []githost.PushEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs := l.events
	l.events = nil
	return evs
}

func setup(t *testing.T, edit func(*githost.Config)) (*githost.Host, testBundle) {
	t.Helper()
	b := testBundle{dir: t.TempDir(), events: &eventLog{}}
	cfg := githost.Config{Dir: b.dir, Prefix: "/git/", OnPush: b.events.add}
	if edit != nil {
		edit(&cfg)
	}
	h, err := githost.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/git/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b.url = srv.URL + "/git"
	return h, b
}

// gitClient runs the real git client in dir with a clean configuration and a
// timeout, failing the test on error, and returns its trimmed stdout.
func gitClient(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitClientErr(t, dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func gitClientErr(t *testing.T, dir string, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append([]string{"-c", "user.name=t", "-c", "user.email=t@x", "-c", "init.defaultBranch=main"}, args...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0")
	cmd.Env = append(cmd.Env, extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &gitError{err: err, stderr: stderr.String()}
	}
	return strings.TrimSpace(stdout.String()), nil
}

type gitError struct {
	err    error
	stderr string
}

func (e *gitError) Error() string { return e.err.Error() + ": " + e.stderr }

func TestCreateGetListDelete(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h, b := setup(t, nil)

	r, err := h.Create(ctx, "ws", "churn")
	if err != nil {
		t.Fatal(err)
	}
	if r.DefaultBranch != "main" || r.Dir != filepath.Join(b.dir, "ws", "churn.git") {
		t.Errorf("Create = %+v", r)
	}
	fi, err := os.Stat(r.Dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("repo dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	if _, err := h.Create(ctx, "ws", "churn"); !errors.Is(err, githost.ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if _, err := h.Create(ctx, "ws", "alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Create(ctx, "other", "churn"); err != nil {
		t.Fatal(err)
	}
	// Junk in the workspace folder is not a repository.
	for _, junk := range []string{".create-123", "notgit", "empty.git", "x.git.git"} {
		if err := os.Mkdir(filepath.Join(b.dir, "ws", junk), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	got, err := h.Get(ctx, "ws", "churn")
	if err != nil || got != r {
		t.Errorf("Get = %+v, %v; want %+v", got, err, r)
	}
	list, err := h.List(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "churn" {
		t.Errorf("List = %+v, want alpha, churn", list)
	}
	if list, err := h.List(ctx, "nobody"); err != nil || len(list) != 0 {
		t.Errorf("List(unknown ws) = %+v, %v", list, err)
	}
	if err := h.Delete(ctx, "ws", "churn"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Get(ctx, "ws", "churn"); !errors.Is(err, githost.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	if err := h.Delete(ctx, "ws", "churn"); !errors.Is(err, githost.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if _, err := h.Get(ctx, "other", "churn"); err != nil {
		t.Errorf("other workspace's repo gone: %v", err)
	}
	if _, err := h.Get(ctx, "ws", "empty"); !errors.Is(err, githost.ErrNotFound) {
		t.Errorf("Get(dir without HEAD) = %v, want ErrNotFound", err)
	}
}

func TestBadNames(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h, b := setup(t, nil)
	if _, err := h.Create(ctx, "ws", "ok"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ ws, name string }{
		{"ws", ".."}, {"ws", "a/b"}, {"ws", "%2e%2e"}, {"ws", "x.git"}, {"ws", "x.git.git"},
		{"ws", "nul\x00"}, {"..", "ok"}, {"ws/..", "ok"}, {"", "ok"}, {"ws", ""}, {"ws", "../ws/ok"},
	} {
		if _, err := h.Create(ctx, tt.ws, tt.name); !errors.Is(err, githost.ErrBadName) {
			t.Errorf("Create(%q, %q) = %v, want ErrBadName", tt.ws, tt.name, err)
		}
		if _, err := h.Get(ctx, tt.ws, tt.name); !errors.Is(err, githost.ErrBadName) {
			t.Errorf("Get(%q, %q) = %v, want ErrBadName", tt.ws, tt.name, err)
		}
		if err := h.Delete(ctx, tt.ws, tt.name); !errors.Is(err, githost.ErrBadName) {
			t.Errorf("Delete(%q, %q) = %v, want ErrBadName", tt.ws, tt.name, err)
		}
		if _, err := h.Branches(ctx, tt.ws, tt.name); !errors.Is(err, githost.ErrBadName) {
			t.Errorf("Branches(%q, %q) = %v, want ErrBadName", tt.ws, tt.name, err)
		}
	}
	if _, err := h.List(ctx, ".."); !errors.Is(err, githost.ErrBadName) {
		t.Errorf("List(..) = %v, want ErrBadName", err)
	}
	if _, err := h.Resolve(ctx, "ws", "ok", "--output=/tmp/x"); !errors.Is(err, githost.ErrBadName) {
		t.Errorf("Resolve(option) = %v, want ErrBadName", err)
	}
	// Nothing was created outside the workspace folder.
	entries, _ := os.ReadDir(b.dir)
	if len(entries) != 1 || entries[0].Name() != "ws" {
		t.Errorf("Dir holds %v, want only ws", entries)
	}
}

func TestEmptyRepository(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h, _ := setup(t, nil)
	if _, err := h.Create(ctx, "ws", "r"); err != nil {
		t.Fatal(err)
	}
	if br, err := h.Branches(ctx, "ws", "r"); err != nil || len(br) != 0 {
		t.Errorf("Branches(empty) = %v, %v", br, err)
	}
	if _, err := h.Resolve(ctx, "ws", "r", "main"); !errors.Is(err, githost.ErrNotFound) {
		t.Errorf("Resolve(unborn main) = %v, want ErrNotFound", err)
	}
	if _, err := h.Checkout(ctx, "ws", "r", "main", t.TempDir()); !errors.Is(err, githost.ErrNotFound) {
		t.Errorf("Checkout(unborn main) = %v, want ErrNotFound", err)
	}
	if _, err := h.Resolve(ctx, "ws", "missing", "main"); !errors.Is(err, githost.ErrNotFound) {
		t.Errorf("Resolve(missing repo) = %v, want ErrNotFound", err)
	}
}

// readTar returns the regular files of a tar stream by name.
func readTar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	files := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = string(data)
		}
	}
}
