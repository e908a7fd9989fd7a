// Package githost keeps the git repositories that ciel hosts and serves them
// to the real git client over smart HTTP.
//
// Repositories are bare directories at Dir/<workspace>/<name>.git; the
// filesystem is their only metadata, so a repository exists exactly when its
// bare directory does. Clones, fetches and pushes go through git's own
// machinery (git http-backend run as a CGI program), never a hand-written pack
// protocol, and protocol v2 is passed through. After every push the refs that
// changed are reported once each through Config.OnPush, before the push's HTTP
// response completes, so a CI trigger can start within a second of
// `git push` returning.
//
// The package is not an authentication layer: the server's front guard checks
// the bearer token before a request reaches Host. A user passes the token to
// git with an extra header:
//
//	git -c http.extraHeader="Authorization: Bearer $CIEL_TOKEN" push ciel main
//
// (or once per clone: git config http.extraHeader "Authorization: Bearer ...").
// Nothing in a request path is trusted: every workspace and repository name is
// validated where it enters and every join is checked to stay inside Dir.
package githost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Sentinel errors callers branch on; errors returned by Host wrap them.
var (
	// ErrNotFound: the repository, or a ref or commit in it, does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: Create was asked for a repository that already exists.
	ErrExists = errors.New("already exists")
	// ErrBadName: a workspace or repository name breaks the naming rules
	// (see ValidName), or a ref is malformed.
	ErrBadName = errors.New("bad name")
)

// DefaultMaxPushBytes is the default cap on one push's request body.
const DefaultMaxPushBytes int64 = 1 << 30

// maxFetchRequestBytes caps an upload-pack request body (wants and haves
// only; the pack itself flows the other way).
const maxFetchRequestBytes int64 = 64 << 20

// Config configures a Host.
type Config struct {
	// Dir holds the repositories, one folder per workspace; it is created
	// (0700) when missing.
	Dir string
	// Logger receives push and backend messages; nil discards them.
	Logger *slog.Logger
	// GitPath is the git program; empty means "git" found on PATH.
	GitPath string
	// Prefix is the URL path under which the handler is mounted (for example
	// "/git"); it is stripped from every request path, and a request outside
	// it is 404.
	Prefix string
	// MaxPushBytes caps a push's request body; 0 means DefaultMaxPushBytes.
	MaxPushBytes int64
	// RemoteUser names the pusher for git's reflogs (REMOTE_USER); nil or an
	// empty answer means "ciel".
	RemoteUser func(*http.Request) string
	// OnPush is called once for every ref a push changed, after the push is on
	// disk and before its HTTP response completes. It runs on the request's
	// goroutine, so it should record the event durably and return quickly; it
	// may be called concurrently for pushes to different repositories.
	OnPush func(ctx context.Context, ev PushEvent)
}

// PushEvent is one ref changed by a push. Old is all zeros when the ref was
// created and New is all zeros when it was deleted.
type PushEvent struct {
	Workspace string
	Repo      string
	Ref       string // full ref name, e.g. refs/heads/main
	Old       string // commit (or tag object) sha before the push
	New       string // sha after the push
	At        time.Time
}

// Repo describes a hosted repository.
type Repo struct {
	Workspace string
	Name      string
	// Dir is the bare repository on disk.
	Dir string
	// DefaultBranch is the branch HEAD names ("main" for a new repository),
	// whether or not it has been pushed yet.
	DefaultBranch string
}

// Branch is one refs/heads ref and the commit it points to.
type Branch struct {
	Name string // short name, e.g. "main"
	Ref  string // full name, e.g. "refs/heads/main"
	SHA  string
}

// Host keeps bare repositories under one folder and serves them over smart
// HTTP. Its methods may be called concurrently.
type Host struct {
	dir      string
	git      string
	prefix   string
	maxPush  int64
	log      *slog.Logger
	user     func(*http.Request) string
	onPush   func(context.Context, PushEvent)
	createMu sync.Mutex // serialises Create and Delete renames

	locksMu sync.Mutex
	locks   map[string]chan struct{} // per-repository push locks
}

// New returns a Host for cfg, creating cfg.Dir if needed and checking that
// git can be found.
func New(cfg Config) (*Host, error) {
	if cfg.Dir == "" {
		return nil, errors.New("githost: Config.Dir is empty")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("githost: dir %q: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("githost: create dir: %w", err)
	}
	gitName := cfg.GitPath
	if gitName == "" {
		gitName = "git"
	}
	git, err := exec.LookPath(gitName)
	if err != nil {
		return nil, fmt.Errorf("githost: find git: %w", err)
	}
	if git, err = filepath.Abs(git); err != nil {
		return nil, fmt.Errorf("githost: find git: %w", err)
	}
	prefix, err := cleanPrefix(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	h := &Host{
		dir:     dir,
		git:     git,
		prefix:  prefix,
		maxPush: cfg.MaxPushBytes,
		log:     cfg.Logger,
		user:    cfg.RemoteUser,
		onPush:  cfg.OnPush,
		locks:   make(map[string]chan struct{}),
	}
	if h.maxPush <= 0 {
		h.maxPush = DefaultMaxPushBytes
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Dir returns the absolute folder holding the repositories.
func (h *Host) Dir() string { return h.dir }

// URLPath returns the path, under the handler's prefix, that git clones
// ws/name from, e.g. "/git/ws/churn.git"; the server joins it to its external
// URL to make a remoteUrl.
func (h *Host) URLPath(ws, name string) string {
	return h.prefix + "/" + ws + "/" + name + ".git"
}

// lock takes the push lock of one repository, waiting until ctx is done.
func (h *Host) lock(ctx context.Context, key string) (unlock func(), err error) {
	h.locksMu.Lock()
	ch, ok := h.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		h.locks[key] = ch
	}
	h.locksMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
