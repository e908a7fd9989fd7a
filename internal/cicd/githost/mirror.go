package githost

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ErrBadURL: a remote repository URL is not one Mirror accepts (see
// ValidateRemoteURL).
var ErrBadURL = errors.New("bad repository URL")

// DefaultMirrorTimeout bounds one clone or fetch of an external repository.
const DefaultMirrorTimeout = 10 * time.Minute

// remoteArgs are the git options every clone and fetch from outside runs
// with: no ext:: or fd:: transports (also refused by GIT_ALLOW_PROTOCOL),
// no hooks, no credential helpers, ssh that never prompts.
var remoteArgs = []string{
	"-c", "protocol.ext.allow=never",
	"-c", "protocol.fd.allow=never",
	"-c", "core.hooksPath=" + os.DevNull,
	"-c", "credential.helper=",
	"-c", "core.sshCommand=ssh -o BatchMode=yes",
}

// remoteEnv is added to gitEnv for clones and fetches from outside.
var remoteEnv = []string{"GIT_ALLOW_PROTOCOL=file:git:http:https:ssh", "GIT_ASKPASS=/bin/false", "SSH_ASKPASS=/bin/false"}

// ValidateRemoteURL accepts what Mirror may clone: an absolute local path
// (or a file:// URL of one) without ".." segments, or an http, https, ssh
// or git URL with a host. Everything git would read as an option ("-..."),
// a transport helper ("ext::", "fd::", "x::y"), scp-like "host:path",
// whitespace and control characters are refused. A password (or token) is
// allowed in an http(s) URL; RedactURL hides it. Errors wrap ErrBadURL and
// never repeat the credentials.
func ValidateRemoteURL(raw string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %q: %s", ErrBadURL, RedactURL(raw), why)
	}
	switch {
	case raw == "":
		return bad("empty")
	case len(raw) > 2048:
		return bad("longer than 2048 bytes")
	case strings.HasPrefix(raw, "-"):
		return bad("looks like an option")
	case strings.Contains(raw, "::"):
		return bad("transport helpers (ext::, fd::, ...) are not allowed")
	}
	for _, c := range raw {
		if c <= ' ' || c == 0x7f {
			return bad("contains whitespace or a control character")
		}
	}
	if strings.HasPrefix(raw, "/") {
		return validLocalPath(raw, bad)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return bad("expected an absolute path or an http://, https://, ssh:// or git:// URL")
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" || u.User != nil {
			return bad("a file:// URL must name a local path")
		}
		return validLocalPath(u.Path, bad)
	case "http", "https", "ssh", "git":
	default:
		return bad("expected an absolute path or an http://, https://, ssh:// or git:// URL")
	}
	host := u.Hostname()
	if host == "" || strings.HasPrefix(host, "-") {
		return bad("the URL needs a host")
	}
	if u.User != nil {
		if strings.HasPrefix(u.User.Username(), "-") {
			return bad("the user looks like an option")
		}
		if _, hasPass := u.User.Password(); hasPass && u.Scheme != "http" && u.Scheme != "https" {
			return bad("a password is only allowed in an http(s) URL")
		}
		if u.Scheme == "git" {
			return bad("git:// URLs take no user")
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("the URL must have no query or fragment")
	}
	return nil
}

func validLocalPath(p string, bad func(string) error) error {
	if !path.IsAbs(p) {
		return bad("a local repository must be an absolute path")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return bad(`a local path must not contain ".."`)
		}
	}
	return nil
}

// RedactURL returns raw with its credentials hidden: the whole user part of
// an http(s) URL (a user name can be a token) and the password of any
// other. Anything that does not parse as a URL is returned as it is only
// when it holds no '@'.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "<redacted>"
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	_, hasPass := u.User.Password()
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		u.User = url.User("***")
	case hasPass:
		u.User = url.UserPassword(u.User.Username(), "***")
	default:
		return raw
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}

// redactSecrets removes raw's credentials from msg (git may print the URL).
func redactSecrets(msg, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return msg
	}
	msg = strings.ReplaceAll(msg, raw, RedactURL(raw))
	if p, ok := u.User.Password(); ok && p != "" {
		msg = strings.ReplaceAll(msg, p, "***")
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		if n := u.User.Username(); len(n) >= 8 {
			msg = strings.ReplaceAll(msg, n, "***")
		}
	}
	return msg
}

// Mirror makes ws/name a mirror of the repository at remote (see
// ValidateRemoteURL): `git clone --mirror` with no hooks, no prompts,
// only the file, git, http(s) and ssh transports and DefaultMirrorTimeout.
// The mirror refuses pushes over HTTP; Fetch brings it up to date. It fails
// with ErrBadURL, ErrBadName, ErrExists, or git's message (credentials
// redacted) when the clone fails; a failed clone leaves nothing behind.
func (h *Host) Mirror(ctx context.Context, ws, name, remote string) (Repo, error) {
	if err := ValidateRemoteURL(remote); err != nil {
		return Repo{}, fmt.Errorf("mirror: %w", err)
	}
	dir, err := h.repoDir(ws, name)
	if err != nil {
		return Repo{}, fmt.Errorf("mirror: %w", err)
	}
	wsDir := filepath.Dir(dir)
	if err := os.MkdirAll(wsDir, 0o700); err != nil {
		return Repo{}, fmt.Errorf("mirror %s/%s: %w", ws, name, err)
	}
	if _, err := os.Lstat(dir); err == nil {
		return Repo{}, fmt.Errorf("mirror %s/%s: %w", ws, name, ErrExists)
	}
	tmp, err := os.MkdirTemp(wsDir, ".mirror-")
	if err != nil {
		return Repo{}, fmt.Errorf("mirror %s/%s: %w", ws, name, err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(ctx, DefaultMirrorTimeout)
	defer cancel()
	if err := h.remote(ctx, remote, "clone", "--mirror", "--quiet", "--template=", "--", remote, tmp); err != nil {
		return Repo{}, fmt.Errorf("mirror %s/%s from %s: %w", ws, name, RedactURL(remote), err)
	}
	for _, args := range [][]string{
		{"--git-dir=" + tmp, "config", "http.receivepack", "false"},
		{"--git-dir=" + tmp, "config", "core.logAllRefUpdates", "true"},
	} {
		if _, err := h.output(ctx, args...); err != nil {
			return Repo{}, fmt.Errorf("mirror %s/%s: %w", ws, name, err)
		}
	}
	h.createMu.Lock()
	defer h.createMu.Unlock()
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Lstat(dir); statErr == nil {
			return Repo{}, fmt.Errorf("mirror %s/%s: %w", ws, name, ErrExists)
		}
		return Repo{}, fmt.Errorf("mirror %s/%s: %w", ws, name, err)
	}
	h.log.Info("git repository mirrored", "workspace", ws, "repository", name, "url", RedactURL(remote))
	return readRepo(ws, name, dir)
}

// Fetch brings the mirror ws/name up to date (`git fetch --prune`, under
// the repository's push lock, so concurrent fetches report each change
// once) and returns one event for every ref it created, moved or deleted,
// sorted by ref name; none when nothing changed. The refs compared are the
// ones on disk, so a restart loses nothing. The remote URL is checked again
// before use. It fails with ErrNotFound when there is no such repository
// and ErrBadURL when it is not a mirror.
func (h *Host) Fetch(ctx context.Context, ws, name string) ([]PushEvent, error) {
	r, err := h.Get(ctx, ws, name)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	out, err := h.output(ctx, "--git-dir="+r.Dir, "config", "--get", "remote.origin.url")
	remote := strings.TrimSpace(out)
	if err != nil || remote == "" {
		return nil, fmt.Errorf("fetch %s/%s: not a mirror: %w", ws, name, ErrBadURL)
	}
	if err := ValidateRemoteURL(remote); err != nil {
		return nil, fmt.Errorf("fetch %s/%s: %w", ws, name, err)
	}
	unlock, err := h.lock(ctx, r.Dir)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%s: %w", ws, name, err)
	}
	defer unlock()
	before, err := h.refs(ctx, r.Dir)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%s: %w", ws, name, err)
	}
	fctx, cancel := context.WithTimeout(ctx, DefaultMirrorTimeout)
	defer cancel()
	if err := h.remote(fctx, remote, "--git-dir="+r.Dir, "fetch", "--prune", "--quiet", "--no-write-fetch-head", "origin"); err != nil {
		return nil, fmt.Errorf("fetch %s/%s from %s: %w", ws, name, RedactURL(remote), err)
	}
	after, err := h.refs(context.WithoutCancel(ctx), r.Dir)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%s: %w", ws, name, err)
	}
	events := diffRefs(before, after)
	now := time.Now()
	for i := range events {
		events[i].Workspace, events[i].Repo, events[i].At = ws, name, now
		h.log.Info("git fetch", "workspace", ws, "repository", name,
			"ref", events[i].Ref, "old", events[i].Old, "new", events[i].New)
	}
	return events, nil
}

// remote runs git against a repository outside ciel with remoteArgs and
// remoteEnv; credentials in remote are taken out of a failure's message.
func (h *Host) remote(ctx context.Context, remote string, args ...string) error {
	err := h.runEnv(ctx, nil, remoteEnv, append(append([]string{}, remoteArgs...), args...)...)
	if err != nil {
		return errors.New(redactSecrets(err.Error(), remote))
	}
	return nil
}
