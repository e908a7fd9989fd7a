package githost

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

var _ http.Handler = (*Host)(nil)

// ServeHTTP serves git's smart HTTP protocol for the hosted repositories
// through `git http-backend`:
//
//	GET  <prefix>/<ws>/<name>.git/info/refs?service=git-upload-pack|git-receive-pack
//	POST <prefix>/<ws>/<name>.git/git-upload-pack
//	POST <prefix>/<ws>/<name>.git/git-receive-pack
//
// (the ".git" is optional). Every other path, including the dumb protocol's,
// is 404, as is a repository that does not exist; a wrong method is 405 and a
// body over the cap 413. Protocol v2 is passed through from the Git-Protocol
// header. A push holds its repository's lock while it runs and then reports
// each changed ref through Config.OnPush before the response completes.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), h.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	req, err := parseGitPath(rest, r.URL.Query().Get("service"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	method := http.MethodPost
	if req.svc == svcAdvertise {
		method = http.MethodGet
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	dir, err := h.repoDir(req.ws, req.name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if _, err := readRepo(req.ws, req.name, dir); err != nil {
		http.NotFound(w, r)
		return
	}
	limit := maxFetchRequestBytes
	if req.svc == svcReceivePack {
		limit = h.maxPush
	}
	if r.ContentLength > limit {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if req.svc != svcReceivePack {
		h.serveBackend(w, r, req, limit)
		return
	}
	h.servePush(w, r, req, dir, limit)
}

// servePush runs receive-pack under the repository's lock, between two
// snapshots of its refs, and reports the difference through OnPush.
func (h *Host) servePush(w http.ResponseWriter, r *http.Request, req gitRequest, dir string, limit int64) {
	ctx := r.Context()
	unlock, err := h.lock(ctx, dir)
	if err != nil {
		http.Error(w, "push cancelled", http.StatusServiceUnavailable)
		return
	}
	defer unlock()
	before, err := h.refs(ctx, dir)
	if err != nil {
		h.log.Error("git push: read refs", "workspace", req.ws, "repository", req.name, "err", err)
		http.Error(w, "cannot read refs", http.StatusInternalServerError)
		return
	}
	h.serveBackend(w, r, req, limit)
	// The push is on disk now, whether or not its client is still there:
	// find and report what changed even if the request was cancelled.
	ctx = context.WithoutCancel(ctx)
	after, err := h.refs(ctx, dir)
	if err != nil {
		h.log.Error("git push: read refs after push", "workspace", req.ws, "repository", req.name, "err", err)
		return
	}
	for _, ev := range diffRefs(before, after) {
		ev.Workspace, ev.Repo, ev.At = req.ws, req.name, time.Now()
		h.log.Info("git push", "workspace", ev.Workspace, "repository", ev.Repo,
			"ref", ev.Ref, "old", ev.Old, "new", ev.New)
		if h.onPush != nil {
			h.onPush(ctx, ev)
		}
	}
}

// diffRefs returns one event (names and shas only) for every ref created,
// moved or deleted between two snapshots, sorted by ref name.
func diffRefs(before, after []refSHA) []PushEvent {
	old := make(map[string]string, len(before))
	for _, r := range before {
		old[r.name] = r.sha
	}
	var events []PushEvent
	for _, r := range after {
		prev, ok := old[r.name]
		delete(old, r.name)
		if !ok {
			prev = strings.Repeat("0", len(r.sha))
		}
		if prev != r.sha {
			events = append(events, PushEvent{Ref: r.name, Old: prev, New: r.sha})
		}
	}
	for name, sha := range old {
		events = append(events, PushEvent{Ref: name, Old: sha, New: strings.Repeat("0", len(sha))})
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Ref < events[j].Ref })
	return events
}

// serveBackend hands a parsed request to `git http-backend`. The CGI request
// is rebuilt from the validated parts: its path and query are ours, the
// credentials are dropped, and its body is capped at limit.
func (h *Host) serveBackend(w http.ResponseWriter, r *http.Request, req gitRequest, limit int64) {
	cr := r.Clone(r.Context())
	tail := req.program
	cr.URL = &url.URL{Path: "/" + req.ws + "/" + req.name + ".git/"}
	if req.svc == svcAdvertise {
		tail = "info/refs"
		cr.URL.RawQuery = "service=" + req.program
	}
	cr.URL.Path += tail
	cr.RequestURI = ""
	for _, k := range []string{"Authorization", "Proxy-Authorization", "Cookie"} {
		cr.Header.Del(k)
	}
	if r.ContentLength != 0 {
		// Not http.MaxBytesReader: the CGI handler reads the body on its own
		// goroutine, which must not touch the ResponseWriter.
		cr.Body = &cappedBody{ReadCloser: r.Body, left: limit}
	}
	// net/http/cgi refuses chunked bodies, which git sends for pushes over
	// http.postBuffer; Go has already de-chunked the body, and http-backend
	// reads to EOF when CONTENT_LENGTH is unset (ContentLength -1).
	cr.TransferEncoding = nil

	env := append(hermeticGitEnv(),
		"GIT_PROJECT_ROOT="+h.dir,
		"GIT_HTTP_EXPORT_ALL=1",
		"REMOTE_USER="+h.remoteUser(r),
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=receive.maxInputSize",
		"GIT_CONFIG_VALUE_0="+strconv.FormatInt(limit, 10),
	)
	if p := r.Header.Get("Git-Protocol"); validProtocolHeader(p) {
		env = append(env, "GIT_PROTOCOL="+p)
	}
	logger := slog.NewLogLogger(h.log.With("workspace", req.ws, "repository", req.name).Handler(), slog.LevelWarn)
	backend := &cgi.Handler{
		Path:   h.git,
		Args:   []string{"http-backend"},
		Root:   "/",
		Dir:    h.dir,
		Env:    env,
		Logger: logger,
		Stderr: logger.Writer(),
	}
	backend.ServeHTTP(w, cr)
}

// remoteUser is REMOTE_USER for a request: Config.RemoteUser's answer made
// safe for git's ident lines, or "ciel".
func (h *Host) remoteUser(r *http.Request) string {
	user := ""
	if h.user != nil {
		user = h.user(r)
	}
	user = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f || c == '<' || c == '>' {
			return '_'
		}
		return c
	}, strings.TrimSpace(user))
	if len(user) > 128 {
		user = strings.ToValidUTF8(user[:128], "")
	}
	if user == "" {
		return "ciel"
	}
	return user
}

// validProtocolHeader accepts Git-Protocol values such as "version=2".
func validProtocolHeader(p string) bool {
	if p == "" || len(p) > 256 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !isAlnum(c) && !strings.ContainsRune("=:._-", rune(c)) {
			return false
		}
	}
	return true
}

// cappedBody fails a read once more than left bytes have come through, so a
// body over the cap reaches git truncated and the push fails.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	return n, err
}

var errBodyTooLarge = errors.New("request body too large")
