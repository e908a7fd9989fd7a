package tracking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/ciel-mlops/ciel/internal/artifacts"
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

// An artifact PUT streams into the ArtifactStore, which makes it visible
// whole or not at all. Multipart parts sent through the proxy (for a store
// without DirectUploads) wait in PartsDir, on local disk, outside every
// workspace's tree, until complete joins them into the store; NewHandler
// sweeps what an earlier run left there.

// sweepParts empties the folder of multipart parts: they belong to uploads
// of an earlier run of the server, whose bookkeeping was in memory.
func (h *Handler) sweepParts() {
	if h.cfg.PartsDir == "" {
		return
	}
	if err := os.RemoveAll(h.cfg.PartsDir); err != nil {
		h.cfg.Logger.Warn("sweep multipart parts", "dir", h.cfg.PartsDir, "err", err)
	}
}

// storeBody streams the request's body into the store as the file rel of
// ws, within the per-request cap and the workspace's quota.
func (h *Handler) storeBody(r *http.Request, ws, rel string) error {
	what := "artifact " + rel
	if r.ContentLength > h.maxUpload {
		return tooLarge(what, h.maxUpload)
	}
	if err := h.quota.fits(r.Context(), ws, r.ContentLength); err != nil {
		return err
	}
	body := h.newBody(r, ws, what)
	old, err := h.cfg.Artifacts.Put(r.Context(), ws, rel, body, r.ContentLength)
	if err != nil {
		h.quota.release(ws, body.taken)
		return h.uploadError(r, what, rel, body, err)
	}
	h.quota.commit(ws, body.taken, body.taken, old)
	return nil
}

func (h *Handler) newBody(r *http.Request, ws, what string) *uploadBody {
	return &uploadBody{r: r.Body, limit: h.maxUpload, left: h.maxUpload, what: what, ws: ws, q: h.quota, ctx: r.Context()}
}

// receivePart streams the request's body to a new file in dir, within the
// per-request cap and the workspace's quota, and returns its path and
// size; the file is fsynced and closed, and its bytes stay reserved in the
// quota until the caller commits or releases them. On error nothing is
// left behind and nothing stays reserved.
func (h *Handler) receivePart(r *http.Request, ws, dir, what string) (string, int64, error) {
	if r.ContentLength > h.maxUpload {
		return "", 0, tooLarge(what, h.maxUpload)
	}
	if err := h.quota.fits(r.Context(), ws, r.ContentLength); err != nil {
		return "", 0, err
	}
	f, err := os.CreateTemp(dir, ".part-*")
	if err != nil {
		return "", 0, fmt.Errorf("receive %s: %w", what, err)
	}
	body := h.newBody(r, ws, what)
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
		return "", 0, h.uploadError(r, what, "", body, err)
	}
	return f.Name(), n, nil
}

// uploadError turns a failed upload into its answer: the cap's or
// quota's 413 as it is (found on the body, since a store may wrap its
// reader's errors beyond errors.As); a path the store refuses a 400; a
// body the client broke off (or the server's front cut off) a 4xx logged
// at debug level, since it is no fault of the server; anything else, a
// failed write, as it is.
func (h *Handler) uploadError(r *http.Request, what, rel string, body *uploadBody, err error) error {
	var e *Error
	switch {
	case body.refused != nil:
		return body.refused
	case errors.As(err, &e):
		return e
	case errors.Is(err, artifacts.ErrPathTaken), errors.Is(err, artifacts.ErrBadPath):
		return badArtifactPath(rel, strings.TrimPrefix(err.Error(), "store artifact "+rel+": "))
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
	ctx     context.Context
	taken   int64 // bytes reserved in the quota
	readErr error
	refused error // the cap's or quota's answer, once given
}

func (b *uploadBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		b.refused = tooLarge(b.what, b.limit)
		return 0, b.refused
	}
	b.left -= int64(n)
	if qerr := b.q.take(b.ctx, b.ws, int64(n)); qerr != nil {
		b.refused = qerr
		return 0, qerr
	}
	b.taken += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		b.readErr = err
	}
	return n, err
}
