package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitCmd runs the real git client in dir with no user or system config.
func gitCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func gitOK(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(t, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// commitTree makes a git repository in a new folder with one commit of
// files and returns the folder.
func commitTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	gitOK(t, dir, "init", "-q", "-b", "main")
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gitOK(t, dir, "add", ".")
	gitOK(t, dir, "commit", "-qm", "first")
	return dir
}

// TestReposPushAndClone follows `ciel repos` as a user would: create, push
// with the real git client to the remoteUrl it prints, see the branch and
// its commit, clone it back.
func TestReposPushAndClone(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	e := newEnv(t)
	var repo struct {
		Name, DefaultBranch, RemoteURL string
		Branches                       []struct{ Name, ObjectID string }
	}
	if err := json.Unmarshal([]byte(e.ok("repos", "create", "--name", "churn", "-o", "json").out), &repo); err != nil {
		t.Fatal(err)
	}
	if repo.DefaultBranch != "refs/heads/main" || !strings.HasSuffix(repo.RemoteURL, "/git/ws/churn.git") {
		t.Fatalf("created %+v", repo)
	}
	for _, bad := range []string{"../x", "a/b", "x.git", ".hidden"} {
		if r := e.run("repos", "create", "--name", bad); r.code == 0 || !strings.Contains(r.err, "repository name") {
			t.Errorf("repos create --name %q: exit %d: %s", bad, r.code, r.err)
		}
	}
	if r := e.run("repos", "create", "--name", "churn"); r.code == 0 || !strings.Contains(r.err, "already exists") {
		t.Errorf("a second churn: exit %d: %s", r.code, r.err)
	}

	src := commitTree(t, map[string]string{"train.py": "print('train')\n"})
	gitOK(t, src, "remote", "add", "ciel", repo.RemoteURL)
	gitOK(t, src, "push", "-q", "ciel", "main")
	head := strings.TrimSpace(gitOK(t, src, "rev-parse", "HEAD"))
	if err := json.Unmarshal([]byte(e.ok("repos", "show", "--name", "churn", "-o", "json").out), &repo); err != nil {
		t.Fatal(err)
	}
	if len(repo.Branches) != 1 || repo.Branches[0].Name != "refs/heads/main" || repo.Branches[0].ObjectID != head {
		t.Fatalf("branches after the push: %+v, want main at %s", repo.Branches, head)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	gitOK(t, filepath.Dir(clone), "clone", "-q", repo.RemoteURL, clone)
	if b, err := os.ReadFile(filepath.Join(clone, "train.py")); err != nil || string(b) != "print('train')\n" {
		t.Fatalf("cloned train.py: %q %v", b, err)
	}
	if out := e.ok("repos", "list").out; !strings.Contains(out, "churn") {
		t.Errorf("repos list: %s", out)
	}
	e.ok("repos", "delete", "--name", "churn", "--yes")
	if r := e.run("repos", "show", "--name", "churn"); r.code == 0 || !strings.Contains(r.err, "not found") {
		t.Errorf("show after delete: exit %d: %s", r.code, r.err)
	}
}

// TestReposNeedTheToken: on a server with a token, git reaches the
// repositories only with it, sent as git's http.extraHeader.
func TestReposNeedTheToken(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	fg := runServer(t, nil, "--addr", "127.0.0.1:0", "--token", "s3cret")
	auth := map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json"}
	if code, body := send(t, "POST", fg.url+"/api/v1/workspaces", strings.NewReader(`{"name": "ws"}`), auth); code != 201 {
		t.Fatalf("create workspace: %d %s", code, body)
	}
	code, body := send(t, "POST", fg.url+"/api/v1/workspaces/ws/repos", strings.NewReader(`{"name": "r"}`), auth)
	if code != 201 {
		t.Fatalf("create repository: %d %s", code, body)
	}
	var repo struct{ RemoteURL string }
	if err := json.Unmarshal([]byte(body), &repo); err != nil {
		t.Fatal(err)
	}
	src := commitTree(t, map[string]string{"a.txt": "a\n"})
	// Refused with a 401, git asks for a user name, which it may not.
	if out, err := gitCmd(t, src, "push", repo.RemoteURL, "main"); err == nil || !strings.Contains(out, "could not read Username") {
		t.Fatalf("push without the token: %v\n%s", err, out)
	}
	if out, err := gitCmd(t, src, "-c", "http.extraHeader=Authorization: Bearer wrong", "push", repo.RemoteURL, "main"); err == nil {
		t.Fatalf("push with a wrong token succeeded:\n%s", out)
	}
	gitOK(t, src, "-c", "http.extraHeader=Authorization: Bearer s3cret", "push", "-q", repo.RemoteURL, "main")
	if out, err := gitCmd(t, t.TempDir(), "ls-remote", repo.RemoteURL); err == nil {
		t.Fatalf("ls-remote without the token:\n%s", out)
	}
}
