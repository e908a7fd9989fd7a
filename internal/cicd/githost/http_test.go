package githost_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd/githost"
)

var zeros = strings.Repeat("0", 40)

// wantEvents fails unless evs are exactly want (Ref, Old, New) for ws/repo.
func wantEvents(t *testing.T, ws, repo string, evs []githost.PushEvent, want ...githost.PushEvent) {
	t.Helper()
	if len(evs) != len(want) {
		t.Fatalf("push events = %+v, want %+v", evs, want)
	}
	for i, ev := range evs {
		if ev.Workspace != ws || ev.Repo != repo || ev.Ref != want[i].Ref || ev.Old != want[i].Old ||
			ev.New != want[i].New || ev.At.IsZero() {
			t.Errorf("event %d = %+v, want %+v in %s/%s", i, ev, want[i], ws, repo)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCloneAndPush(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h, b := setup(t, nil)
	if _, err := h.Create(ctx, "ws", "churn"); err != nil {
		t.Fatal(err)
	}
	remote := b.url + "/ws/churn.git"
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")

	gitClient(t, tmp, "clone", "--quiet", remote, work)
	gitClient(t, work, "symbolic-ref", "HEAD", "refs/heads/main")
	writeFile(t, filepath.Join(work, "train.py"), "print('train')\n")
	gitClient(t, work, "add", ".")
	gitClient(t, work, "commit", "--quiet", "-m", "first")
	first := gitClient(t, work, "rev-parse", "HEAD")
	gitClient(t, work, "push", "--quiet", "origin", "main")
	wantEvents(t, "ws", "churn", b.events.take(), githost.PushEvent{Ref: "refs/heads/main", Old: zeros, New: first})

	// A second branch.
	gitClient(t, work, "checkout", "--quiet", "-b", "feature")
	writeFile(t, filepath.Join(work, "feature.txt"), "f\n")
	gitClient(t, work, "add", ".")
	gitClient(t, work, "commit", "--quiet", "-m", "feature")
	feature := gitClient(t, work, "rev-parse", "HEAD")
	gitClient(t, work, "push", "--quiet", "origin", "feature")
	wantEvents(t, "ws", "churn", b.events.take(), githost.PushEvent{Ref: "refs/heads/feature", Old: zeros, New: feature})

	// A push that changes nothing reports nothing.
	gitClient(t, work, "push", "--quiet", "origin", "feature")
	wantEvents(t, "ws", "churn", b.events.take())

	// A force-push rewriting main.
	gitClient(t, work, "checkout", "--quiet", "main")
	writeFile(t, filepath.Join(work, "train.py"), "print('train v2')\n")
	gitClient(t, work, "commit", "--quiet", "-a", "--amend", "-m", "first, amended")
	amended := gitClient(t, work, "rev-parse", "HEAD")
	if _, err := gitClientErr(t, work, nil, "push", "--quiet", "origin", "main"); err == nil {
		t.Fatal("non-fast-forward push accepted without --force")
	}
	wantEvents(t, "ws", "churn", b.events.take())
	gitClient(t, work, "push", "--quiet", "--force", "origin", "main")
	wantEvents(t, "ws", "churn", b.events.take(), githost.PushEvent{Ref: "refs/heads/main", Old: first, New: amended})

	// Deleting a branch and pushing a tag in one push: two events, sorted.
	gitClient(t, work, "tag", "v1")
	gitClient(t, work, "push", "--quiet", "origin", ":feature", "v1")
	wantEvents(t, "ws", "churn", b.events.take(),
		githost.PushEvent{Ref: "refs/heads/feature", Old: feature, New: zeros},
		githost.PushEvent{Ref: "refs/tags/v1", Old: zeros, New: amended})

	// A fresh clone (the URL without .git works too) sees the files.
	clone := filepath.Join(tmp, "clone")
	gitClient(t, tmp, "clone", "--quiet", b.url+"/ws/churn", clone)
	if data, err := os.ReadFile(filepath.Join(clone, "train.py")); err != nil || string(data) != "print('train v2')\n" {
		t.Errorf("cloned train.py = %q, %v", data, err)
	}

	branches, err := h.Branches(ctx, "ws", "churn")
	if err != nil || len(branches) != 1 || branches[0] != (githost.Branch{Name: "main", Ref: "refs/heads/main", SHA: amended}) {
		t.Errorf("Branches = %+v, %v", branches, err)
	}
	for _, rev := range []string{"main", "refs/heads/main", "HEAD", "v1", amended, amended[:10]} {
		if sha, err := h.Resolve(ctx, "ws", "churn", rev); err != nil || sha != amended {
			t.Errorf("Resolve(%q) = %q, %v; want %q", rev, sha, err, amended)
		}
	}
	for rev, want := range map[string]error{"feature": githost.ErrNotFound, zeros: githost.ErrNotFound, "main~1": githost.ErrBadName} {
		if _, err := h.Resolve(ctx, "ws", "churn", rev); !errors.Is(err, want) {
			t.Errorf("Resolve(%q) = %v, want %v", rev, err, want)
		}
	}

	// Checkout of the old (force-pushed away) commit: a working copy with
	// history and no remote.
	dest := filepath.Join(tmp, "checkout")
	sha, err := h.Checkout(ctx, "ws", "churn", first, dest)
	if err != nil || sha != first {
		t.Fatalf("Checkout = %q, %v", sha, err)
	}
	if data, err := os.ReadFile(filepath.Join(dest, "train.py")); err != nil || string(data) != "print('train')\n" {
		t.Errorf("checked-out train.py = %q, %v", data, err)
	}
	if log := gitClient(t, dest, "log", "--format=%H %s"); log != first+" first" {
		t.Errorf("git log in checkout = %q", log)
	}
	if remotes := gitClient(t, dest, "remote"); remotes != "" {
		t.Errorf("checkout has remotes %q", remotes)
	}
	if status := gitClient(t, dest, "status", "--porcelain"); status != "" {
		t.Errorf("checkout not clean: %q", status)
	}
	if _, err := h.Checkout(ctx, "ws", "churn", "main", dest); err == nil {
		t.Error("Checkout into a non-empty folder succeeded")
	}

	var tarball bytes.Buffer
	if sha, err := h.Archive(ctx, "ws", "churn", "main", &tarball); err != nil || sha != amended {
		t.Fatalf("Archive = %q, %v", sha, err)
	}
	if files := readTar(t, &tarball); len(files) != 1 || files["train.py"] != "print('train v2')\n" {
		t.Errorf("Archive files = %v", files)
	}
}

func TestProtocolV2(t *testing.T) {
	t.Parallel()
	h, b := setup(t, nil)
	if _, err := h.Create(t.Context(), "ws", "r"); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// ls-remote of an empty repository with protocol v2 packet tracing: the
	// server must answer "version 2".
	_, err := gitClientErr(t, tmp, []string{"GIT_TRACE_PACKET=" + filepath.Join(tmp, "trace")},
		"-c", "protocol.version=2", "ls-remote", b.url+"/ws/r.git")
	if err != nil {
		t.Fatal(err)
	}
	trace, err := os.ReadFile(filepath.Join(tmp, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(trace), "< version 2") {
		t.Errorf("server did not speak protocol v2; trace:\n%s", trace)
	}
}

// TestLargeAndConcurrentPushes pushes a body larger than git's postBuffer
// (sent chunked) and several branches at once, each reported exactly once.
func TestLargeAndConcurrentPushes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h, b := setup(t, nil)
	if _, err := h.Create(ctx, "ws", "r"); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	gitClient(t, tmp, "init", "--quiet", work)
	big := make([]byte, 3<<20) // incompressible, over the 1 MiB postBuffer
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(work, "model.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	gitClient(t, work, "add", ".")
	gitClient(t, work, "commit", "--quiet", "-m", "model")
	base := gitClient(t, work, "rev-parse", "HEAD")
	gitClient(t, work, "push", "--quiet", b.url+"/ws/r.git", "main")
	wantEvents(t, "ws", "r", b.events.take(), githost.PushEvent{Ref: "refs/heads/main", Old: zeros, New: base})

	const n = 4
	shas := make([]string, n)
	for i := range n {
		gitClient(t, work, "checkout", "--quiet", "-b", fmt.Sprintf("b%d", i), base)
		writeFile(t, filepath.Join(work, "n.txt"), fmt.Sprint(i))
		gitClient(t, work, "add", ".")
		gitClient(t, work, "commit", "--quiet", "-m", fmt.Sprint(i))
		shas[i] = gitClient(t, work, "rev-parse", "HEAD")
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = gitClientErr(t, work, nil, "push", "--quiet", b.url+"/ws/r.git", fmt.Sprintf("b%d", i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("push b%d: %v", i, err)
		}
	}
	evs := b.events.take()
	got := map[string]string{}
	for _, ev := range evs {
		if _, dup := got[ev.Ref]; dup || ev.Old != zeros {
			t.Errorf("unexpected event %+v", ev)
		}
		got[ev.Ref] = ev.New
	}
	for i := range n {
		if ref := fmt.Sprintf("refs/heads/b%d", i); got[ref] != shas[i] || len(evs) != n {
			t.Errorf("events %+v: want %s at %s once each of %d", evs, ref, shas[i], n)
		}
	}
}

func TestPushOverCap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h, b := setup(t, func(c *githost.Config) { c.MaxPushBytes = 256 << 10 })
	if _, err := h.Create(ctx, "ws", "r"); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	gitClient(t, tmp, "init", "--quiet", work)
	big := make([]byte, 1<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(work, "model.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	gitClient(t, work, "add", ".")
	gitClient(t, work, "commit", "--quiet", "-m", "model")
	// Once with a known length (413 at once), once chunked (cut off).
	for _, postBuffer := range []string{"4m", "64k"} {
		if _, err := gitClientErr(t, work, nil, "-c", "http.postBuffer="+postBuffer, "push", "--quiet", b.url+"/ws/r.git", "main"); err == nil {
			t.Errorf("push over the cap (postBuffer %s) succeeded", postBuffer)
		}
	}
	wantEvents(t, "ws", "r", b.events.take())
	if br, err := h.Branches(ctx, "ws", "r"); err != nil || len(br) != 0 {
		t.Errorf("Branches after refused push = %v, %v", br, err)
	}
}

func TestHostilePaths(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h, _ := setup(t, nil)
	for _, r := range [][2]string{{"ws", "r"}, {"ws2", "secret"}} {
		if _, err := h.Create(ctx, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	const adv = "?service=git-upload-pack"
	tests := []struct {
		method, target string
		want           int
	}{
		{"GET", "/git/ws/r.git/info/refs" + adv, 200},
		{"GET", "/git/ws/r/info/refs?service=git-receive-pack", 200},
		{"GET", "/git/ws/r.git/info/refs", 404},
		{"GET", "/git/ws/r.git/info/refs?service=git-upload-archive", 404},
		{"GET", "/git/ws/r.git/HEAD", 404},
		{"GET", "/git/ws/r.git/objects/info/packs", 404},
		{"GET", "/git/ws/r.git/objects/info/alternates", 404},
		{"GET", "/git/ws/r.git/config", 404},
		{"GET", "/git/ws/../../etc/info/refs" + adv, 404},
		{"GET", "/git/ws/r.git/../../ws2/secret.git/info/refs" + adv, 404},
		{"GET", "/git/ws/%2e%2e/info/refs" + adv, 404},
		{"GET", "/git/ws/..%2fws2%2fsecret.git/info/refs" + adv, 404},
		{"GET", "/git/ws/r%00.git/info/refs" + adv, 404},
		{"GET", "/git/ws/r.git.git/info/refs" + adv, 404},
		{"GET", "/git/ws/secret.git/info/refs" + adv, 404}, // another workspace's repository
		{"GET", "/git/ws2/r.git/info/refs" + adv, 404},
		{"GET", "/git/ws/missing.git/info/refs" + adv, 404},
		{"GET", "/git//ws/r.git/info/refs" + adv, 404},
		{"GET", "/git/ws/r.git/info/refs/" + adv, 404},
		{"GET", "/gitx/ws/r.git/info/refs" + adv, 404},
		{"GET", "/ws/r.git/info/refs" + adv, 404},
		{"POST", "/git/ws/r.git/info/refs" + adv, 405},
		{"GET", "/git/ws/r.git/git-upload-pack", 405},
		{"GET", "/git/ws/r.git/git-receive-pack", 405},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.target, rec.Code, tt.want)
		}
	}
	// A push body over the cap with a known length is refused before git runs.
	req := httptest.NewRequest("POST", "/git/ws/r.git/git-receive-pack", strings.NewReader(strings.Repeat("x", 11)))
	rec := httptest.NewRecorder()
	hs, err := githost.New(githost.Config{Dir: h.Dir(), Prefix: "/git", MaxPushBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	hs.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized push = %d, want 413", rec.Code)
	}
}

// TestRemoteUserInReflog checks that the pusher named by Config.RemoteUser
// reaches git's reflog, made safe for an ident line.
func TestRemoteUserInReflog(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h, b := setup(t, func(c *githost.Config) {
		c.RemoteUser = func(*http.Request) string { return "alice\n<evil>" }
	})
	r, err := h.Create(ctx, "ws", "r")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	gitClient(t, tmp, "init", "--quiet", work)
	gitClient(t, work, "commit", "--quiet", "--allow-empty", "-m", "x")
	gitClient(t, work, "push", "--quiet", b.url+"/ws/r.git", "main")
	if got := gitClient(t, tmp, "--git-dir="+r.Dir, "log", "-g", "--format=%gn", "refs/heads/main"); got != "alice__evil_" {
		t.Errorf("reflog names %q, want alice__evil_", got)
	}
}
