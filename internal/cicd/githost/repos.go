package githost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Create makes an empty bare repository ws/name whose default branch is
// main and which accepts pushes over HTTP. It fails with ErrBadName for a bad
// name and ErrExists when the repository is already there. A repository
// appears whole or not at all: it is made in a hidden folder and renamed.
func (h *Host) Create(ctx context.Context, ws, name string) (Repo, error) {
	dir, err := h.repoDir(ws, name)
	if err != nil {
		return Repo{}, fmt.Errorf("create repository: %w", err)
	}
	wsDir := filepath.Dir(dir)
	if err := os.MkdirAll(wsDir, 0o700); err != nil {
		return Repo{}, fmt.Errorf("create repository %s/%s: %w", ws, name, err)
	}
	h.createMu.Lock()
	defer h.createMu.Unlock()
	if _, err := os.Lstat(dir); err == nil {
		return Repo{}, fmt.Errorf("create repository %s/%s: %w", ws, name, ErrExists)
	}
	// Hidden names start with '.', which no valid repository name does.
	tmp, err := os.MkdirTemp(wsDir, ".create-")
	if err != nil {
		return Repo{}, fmt.Errorf("create repository %s/%s: %w", ws, name, err)
	}
	defer os.RemoveAll(tmp)
	steps := [][]string{
		{"init", "--quiet", "--bare", "--template=", "--initial-branch=main", tmp},
		{"--git-dir=" + tmp, "config", "http.receivepack", "true"},
		{"--git-dir=" + tmp, "config", "core.logAllRefUpdates", "true"},
	}
	for _, args := range steps {
		if _, err := h.output(ctx, args...); err != nil {
			return Repo{}, fmt.Errorf("create repository %s/%s: %w", ws, name, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return Repo{}, fmt.Errorf("create repository %s/%s: %w", ws, name, err)
	}
	h.log.Info("git repository created", "workspace", ws, "repository", name)
	return Repo{Workspace: ws, Name: name, Dir: dir, DefaultBranch: "main"}, nil
}

// Get returns the repository ws/name, or an error wrapping ErrNotFound.
func (h *Host) Get(ctx context.Context, ws, name string) (Repo, error) {
	dir, err := h.repoDir(ws, name)
	if err != nil {
		return Repo{}, fmt.Errorf("get repository: %w", err)
	}
	r, err := readRepo(ws, name, dir)
	if err != nil {
		return Repo{}, fmt.Errorf("get repository %s/%s: %w", ws, name, err)
	}
	return r, nil
}

// readRepo reads a bare repository's HEAD; a folder without one is not a
// repository (ErrNotFound).
func readRepo(ws, name, dir string) (Repo, error) {
	head, err := os.ReadFile(filepath.Join(dir, "HEAD"))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return Repo{}, ErrNotFound
	}
	if err != nil {
		return Repo{}, err
	}
	branch := ""
	if ref, ok := strings.CutPrefix(strings.TrimSpace(string(head)), "ref: "); ok {
		branch = strings.TrimPrefix(ref, "refs/heads/")
	}
	return Repo{Workspace: ws, Name: name, Dir: dir, DefaultBranch: branch}, nil
}

// List returns the repositories of workspace ws sorted by name; a workspace
// with none (or never seen) gives an empty list.
func (h *Host) List(ctx context.Context, ws string) ([]Repo, error) {
	if err := ValidName(ws); err != nil {
		return nil, fmt.Errorf("list repositories: workspace: %w", err)
	}
	wsDir, err := joinInside(h.dir, ws)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	entries, err := os.ReadDir(wsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Repo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list repositories of %s: %w", ws, err)
	}
	repos := []Repo{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".git")
		if !ok || !e.IsDir() || ValidName(name) != nil {
			continue
		}
		r, err := readRepo(ws, name, filepath.Join(wsDir, e.Name()))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list repositories of %s: %w", ws, err)
		}
		repos = append(repos, r)
	}
	return repos, nil
}

// Delete removes the repository ws/name, waiting for a push to it in flight
// to finish. It fails with ErrNotFound when there is none.
func (h *Host) Delete(ctx context.Context, ws, name string) error {
	dir, err := h.repoDir(ws, name)
	if err != nil {
		return fmt.Errorf("delete repository: %w", err)
	}
	unlock, err := h.lock(ctx, dir)
	if err != nil {
		return fmt.Errorf("delete repository %s/%s: %w", ws, name, err)
	}
	defer unlock()
	h.createMu.Lock()
	defer h.createMu.Unlock()
	if _, err := readRepo(ws, name, dir); err != nil {
		return fmt.Errorf("delete repository %s/%s: %w", ws, name, err)
	}
	// Rename first so the repository disappears at once, then remove.
	tmp := filepath.Join(filepath.Dir(dir), fmt.Sprintf(".delete-%s-%d", name, time.Now().UnixNano()))
	if err := os.Rename(dir, tmp); err != nil {
		return fmt.Errorf("delete repository %s/%s: %w", ws, name, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("delete repository %s/%s: %w", ws, name, err)
	}
	h.log.Info("git repository deleted", "workspace", ws, "repository", name)
	return nil
}

// Branches returns the branches of ws/name (refs/heads) sorted by name; an
// empty repository has none.
func (h *Host) Branches(ctx context.Context, ws, name string) ([]Branch, error) {
	r, err := h.Get(ctx, ws, name)
	if err != nil {
		return nil, fmt.Errorf("branches: %w", err)
	}
	refs, err := h.refs(ctx, r.Dir, "refs/heads/")
	if err != nil {
		return nil, fmt.Errorf("branches of %s/%s: %w", ws, name, err)
	}
	branches := []Branch{}
	for _, ref := range refs {
		branches = append(branches, Branch{
			Name: strings.TrimPrefix(ref.name, "refs/heads/"), Ref: ref.name, SHA: ref.sha,
		})
	}
	return branches, nil
}

// refSHA is one ref and the object it names.
type refSHA struct{ name, sha string }

// refs lists the refs of the bare repository dir under the given patterns
// (all refs when none), sorted by name.
func (h *Host) refs(ctx context.Context, dir string, patterns ...string) ([]refSHA, error) {
	args := append([]string{"--git-dir=" + dir, "for-each-ref", "--format=%(objectname) %(refname)"}, patterns...)
	out, err := h.output(ctx, args...)
	if err != nil {
		return nil, err
	}
	var refs []refSHA
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok {
			refs = append(refs, refSHA{name: name, sha: sha})
		}
	}
	return refs, nil
}

// Resolve returns the full sha of the commit that rev names in ws/name. rev
// is a branch ("main"), a full ref ("refs/heads/main", "refs/tags/v1"),
// "HEAD" or a (possibly abbreviated) commit sha; revision syntax such as
// "main~1" or ":/text" is refused with ErrBadName. A rev naming nothing is
// ErrNotFound.
func (h *Host) Resolve(ctx context.Context, ws, name, rev string) (string, error) {
	r, err := h.Get(ctx, ws, name)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", rev, err)
	}
	if err := validRev(rev); err != nil {
		return "", fmt.Errorf("resolve in %s/%s: %w", ws, name, err)
	}
	out, err := h.output(ctx, "--git-dir="+r.Dir, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 1 {
		return "", fmt.Errorf("resolve %q in %s/%s: %w", rev, ws, name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("resolve %q in %s/%s: %w", rev, ws, name, err)
	}
	return strings.TrimSpace(out), nil
}

// validRev accepts plain ref names and shas: ASCII letters, digits and
// "/._-", at most 256 bytes, not starting with '-' or '/', no "..", no "//".
func validRev(rev string) error {
	bad := rev == "" || len(rev) > 256 || rev[0] == '-' || rev[0] == '/' ||
		strings.Contains(rev, "..") || strings.Contains(rev, "//") || strings.HasSuffix(rev, "/")
	for i := 0; i < len(rev) && !bad; i++ {
		c := rev[i]
		bad = !isAlnum(c) && c != '/' && c != '.' && c != '_' && c != '-'
	}
	if bad {
		return fmt.Errorf("ref %q is not a branch, ref or sha: %w", rev, ErrBadName)
	}
	return nil
}

// Checkout materialises the commit rev names (see Resolve) into destDir,
// which must be missing or empty: a plain working copy with its own .git
// (objects copied or hard-linked, not borrowed), HEAD detached at the commit,
// and no remote, so scripts can run `git log` and the like but cannot push
// back around the HTTP handler. It returns the commit's full sha.
func (h *Host) Checkout(ctx context.Context, ws, name, rev, destDir string) (string, error) {
	sha, err := h.Resolve(ctx, ws, name, rev)
	if err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	r, err := h.Get(ctx, ws, name)
	if err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	_, statErr := os.Lstat(destDir)
	existed := statErr == nil
	steps := [][]string{
		{"clone", "--quiet", "--no-checkout", "--", r.Dir, destDir},
		{"-C", destDir, "checkout", "--quiet", "--detach", sha},
		{"-C", destDir, "remote", "remove", "origin"},
	}
	for _, args := range steps {
		if _, err := h.output(ctx, args...); err != nil {
			if !existed {
				os.RemoveAll(destDir)
			}
			return "", fmt.Errorf("checkout %s of %s/%s: %w", sha, ws, name, err)
		}
	}
	return sha, nil
}

// Archive writes the tree of the commit rev names (see Resolve) to w as a tar
// stream, without a .git, and returns the commit's full sha.
func (h *Host) Archive(ctx context.Context, ws, name, rev string, w io.Writer) (string, error) {
	sha, err := h.Resolve(ctx, ws, name, rev)
	if err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	r, err := h.Get(ctx, ws, name)
	if err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	if err := h.run(ctx, w, "--git-dir="+r.Dir, "archive", "--format=tar", sha); err != nil {
		return "", fmt.Errorf("archive %s of %s/%s: %w", sha, ws, name, err)
	}
	return sha, nil
}

// output runs git and returns its standard output.
func (h *Host) output(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	err := h.run(ctx, &out, args...)
	return out.String(), err
}

// run runs git with args, its standard output to stdout, in an environment
// cleared of GIT_* variables and of the system and user git configuration,
// so the machine's settings (hooks paths, aliases, fsmonitor) cannot change
// what the host does. A failure's error carries git's message and wraps the
// *exec.ExitError.
func (h *Host) run(ctx context.Context, stdout io.Writer, args ...string) error {
	return h.runEnv(ctx, stdout, nil, args...)
}

// runEnv is run with extra environment variables.
func (h *Host) runEnv(ctx context.Context, stdout io.Writer, extraEnv []string, args ...string) error {
	cmd := exec.CommandContext(ctx, h.git, args...)
	cmd.Env = append(gitEnv(), extraEnv...)
	cmd.Stdout = stdout
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4 << 10}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return fmt.Errorf("git %s: %w", args[len(args)-1], err)
		}
		return fmt.Errorf("git: %s: %w", msg, err)
	}
	return nil
}

// gitEnv is the process environment without GIT_* variables, plus settings
// that keep git away from the system and user configuration and prompts.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env, hermeticGitEnv()...)
}

func hermeticGitEnv() []string {
	return []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_TERMINAL_PROMPT=0"}
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
