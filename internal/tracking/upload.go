package tracking

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ciel-mlops/ciel/internal/guard"
)

// DefaultMaxUploadBytes is the largest body one artifact PUT or one
// multipart part may have when Config.MaxUploadBytes is 0: S3's limit for
// one PUT. mlflow sends each file in one PUT unless
// MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true, when it sends files over
// 500 MB in parts of 10 MB, which ciel takes (no cap on the joined
// file); so this bounds a whole file only for clients without it, and the
// workspace quota bounds the rest.
const DefaultMaxUploadBytes = 5 << 30

// Uploads stream to a file in the artifact root's TempDir, which no route
// serves, and are renamed into the workspace's tree once whole and
// fsynced: a reader never sees half a file, and a crash leaves only
// temporary files, which NewHandler sweeps.

// sweepTemp empties the temporary folder and removes the multipart parts
// earlier versions kept inside workspaces' trees. Files there belong to
// uploads of an earlier run of the server; the Handler is the only writer
// of its artifact root (the server's lock on its home sees to that).
func (h *Handler) sweepTemp() {
	tmp := h.cfg.Artifacts.TempDir()
	if err := os.RemoveAll(tmp); err != nil {
		h.cfg.Logger.Warn("sweep temporary artifact files", "dir", tmp, "err", err)
	}
	entries, err := os.ReadDir(h.cfg.Artifacts.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		old := filepath.Join(h.cfg.Artifacts.Dir, e.Name(), legacyPartsDir)
		if err := os.RemoveAll(old); err != nil {
			h.cfg.Logger.Warn("sweep multipart parts", "dir", old, "err", err)
		}
	}
}

// tempFile creates a new file in the temporary folder.
func (h *Handler) tempFile(pattern string) (*os.File, error) {
	dir := h.cfg.Artifacts.TempDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, pattern)
}

// receive streams the request's body to a new temporary file, within the
// per-request cap and the workspace's quota, and returns its path and
// size; the file is fsynced and closed, and its bytes stay reserved in the
// quota until the caller commits or releases them. On error nothing is
// left behind and nothing stays reserved.
func (h *Handler) receive(r *http.Request, ws, what string) (string, int64, error) {
	if r.ContentLength > h.maxUpload {
		return "", 0, tooLarge(what, h.maxUpload)
	}
	if err := h.quota.fits(ws, r.ContentLength); err != nil {
		return "", 0, err
	}
	f, err := h.tempFile("upload-*")
	if err != nil {
		return "", 0, fmt.Errorf("receive %s: %w", what, err)
	}
	body := &uploadBody{r: r.Body, limit: h.maxUpload, left: h.maxUpload, what: what, ws: ws, q: h.quota}
	n, err := io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		h.quota.release(ws, body.taken)
		return "", 0, h.uploadError(r, what, body, err)
	}
	return f.Name(), n, nil
}

// uploadError turns a failed receive into its answer: the cap's or quota's
// 413 as it is; a body the client broke off (or the server's front cut
// off) a 4xx logged at debug level, since it is no fault of the server;
// anything else, a failed write, as it is.
func (h *Handler) uploadError(r *http.Request, what string, body *uploadBody, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if body.readErr == nil {
		return fmt.Errorf("receive %s: %w", what, err)
	}
	h.cfg.Logger.Debug("upload broken off by the client", "method", r.Method, "path", r.URL.Path, "err", body.readErr)
	if ge := guard.BodyError(body.readErr); ge != nil {
		code := CodeResourceExhausted
		if ge.Status == http.StatusRequestTimeout {
			code = CodeDeadlineExceeded
		}
		return Errorf(code, "%s: %s", what, ge.Message)
	}
	return Errorf(CodeBadRequest, "%s: the request body was broken off: %v", what, body.readErr)
}

// tooLarge is the answer to a body over the per-request cap.
func tooLarge(what string, limit int64) error {
	return Errorf(CodeResourceExhausted, "%s is larger than the %d bytes this server takes in one request "+
		"(its upload limit); mlflow sends a larger file in parts with MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true",
		what, limit)
}

// uploadBody reads a request body for receive, refusing bytes past the cap
// or the quota and remembering a failed read.
type uploadBody struct {
	r       io.Reader
	limit   int64 // the cap
	left    int64 // bytes the cap still allows
	what    string
	ws      string
	q       *quota
	taken   int64 // bytes reserved in the quota
	readErr error
}

func (b *uploadBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		return 0, tooLarge(b.what, b.limit)
	}
	b.left -= int64(n)
	if qerr := b.q.take(b.ws, int64(n)); qerr != nil {
		return 0, qerr
	}
	b.taken += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		b.readErr = err
	}
	return n, err
}

// place renames the received file tmp to the artifact at dst (rel in the
// workspace), creating its folders, and returns the size of the file it
// replaced. A folder at dst, or a file where a folder of dst should be, is
// a 400.
func place(tmp, dst, rel string) (int64, error) {
	var old int64
	if fi, err := os.Lstat(dst); err == nil {
		if fi.IsDir() {
			return 0, invalidf("Invalid artifact path: '%s': it is a folder", rel)
		}
		old = fi.Size()
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return 0, invalidf("Invalid artifact path: '%s': a file stands where it needs a folder", rel)
		}
		return 0, fmt.Errorf("store artifact %s: %w", rel, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return 0, fmt.Errorf("store artifact %s: %w", rel, err)
	}
	return old, nil
}
