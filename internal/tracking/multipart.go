package tracking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ciel-mlops/ciel/internal/artifacts"
)

// Multipart uploads (mlflow with MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true):
// create hands out one URL per part, the client PUTs the parts there in
// parallel, and complete joins them into the artifact. With a store that
// has DirectUploads (a bucket) the URLs are the store's own, presigned, so
// the parts never pass through this server and the upload's state is the
// store's; this is what MLflow's server does on S3. Otherwise the URLs are
// this server's: parts wait in PartsDir/<upload id>/, outside every
// workspace's tree, and complete streams them into the store; that
// upload's bookkeeping lives in memory, so a restart abandons uploads in
// flight (the client then aborts) and NewHandler sweeps their parts. With
// neither, create answers as MLflow's server does for a store without
// multipart uploads, and the client sends the file in one PUT.

// upload is one multipart upload in progress.
type upload struct {
	ws     string
	target string // artifact path, relative to the workspace root
	dir    string // where parts are written
	parts  int

	mu       sync.Mutex
	sizes    map[int]int64 // bytes of each part received, reserved in the quota
	finished bool
}

// addPart records part n's size and returns the bytes to give back to the
// quota: those of the part it replaced, or its own once the upload is
// finished.
func (up *upload) addPart(n int, size int64) int64 {
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.finished {
		return size
	}
	old := up.sizes[n]
	up.sizes[n] = size
	return old
}

// finish ends the upload's bookkeeping and returns the bytes its parts
// hold in the quota.
func (up *upload) finish() int64 {
	up.mu.Lock()
	defer up.mu.Unlock()
	up.finished = true
	var n int64
	for _, s := range up.sizes {
		n += s
	}
	return n
}

// uploads are the multipart uploads in progress, by upload ID.
type uploads struct {
	mu sync.Mutex
	m  map[string]*upload
}

func newUploads() *uploads { return &uploads{m: map[string]*upload{}} }

func (u *uploads) get(ws, id string) (*upload, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	up, ok := u.m[id]
	if !ok || up.ws != ws {
		return nil, Errorf(CodeResourceDoesNotExist, "No multipart upload with id '%s'", id)
	}
	return up, nil
}

// remove forgets upload id and reports whether it was there, so that of a
// complete and an abort racing only one ends it.
func (u *uploads) remove(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.m[id]
	delete(u.m, id)
	return ok
}

// mpuRequest is the body of the create, complete and abort calls; Path is
// the client's local file, whose base name ends the artifact path.
type mpuRequest struct {
	Path     string  `json:"path"`
	NumParts jsonInt `json:"num_parts"`
	UploadID string  `json:"upload_id"`
	Parts    []struct {
		PartNumber jsonInt `json:"part_number"`
		ETag       string  `json:"etag"`
	} `json:"parts"`
}

// maxParts bounds the parts of one upload (S3's own bound).
const maxParts = 10000

// errNoMultipart is MLflow's answer for a store without multipart
// uploads; the client recognises the message and falls back to one PUT.
var errNoMultipart = Errorf(CodeNotImplemented, "Multipart upload is not supported for the current artifact repository")

// credential is one part's URL as create hands it out.
type credential struct {
	URL        string            `json:"url"`
	PartNumber int               `json:"part_number"`
	Headers    map[string]string `json:"headers"`
}

func (h *Handler) createUpload(r *http.Request, ws string) (any, error) {
	if err := h.requireWorkspace(r, ws); err != nil {
		return nil, err
	}
	var in mpuRequest
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if in.Path == "" {
		return nil, missing("path")
	}
	if in.NumParts <= 0 || in.NumParts > maxParts {
		return nil, invalidf("num_parts must be between 1 and %d", maxParts)
	}
	target, err := uploadTarget(r.PathValue("path"), in.Path)
	if err == nil {
		err = h.writable(r.PathValue("path"), target)
	}
	if err != nil {
		return nil, err
	}
	if err := h.quota.fits(r.Context(), ws, 1); err != nil {
		return nil, err
	}
	if d, ok := h.cfg.Artifacts.(DirectUploads); ok {
		up, err := d.CreateUpload(r.Context(), ws, target, int(in.NumParts))
		if err != nil {
			return nil, err
		}
		creds := make([]credential, len(up.PartURLs))
		for i, u := range up.PartURLs {
			creds[i] = credential{URL: u, PartNumber: i + 1, Headers: map[string]string{}}
		}
		return map[string]any{"upload_id": up.ID, "credentials": creds}, nil
	}
	if h.cfg.PartsDir == "" {
		return nil, errNoMultipart
	}
	id := newHexID(16)
	dir := filepath.Join(h.cfg.PartsDir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start multipart upload: %w", err)
	}
	h.uploads.mu.Lock()
	h.uploads.m[id] = &upload{ws: ws, target: target, dir: dir, parts: int(in.NumParts), sizes: map[int]int64{}}
	h.uploads.mu.Unlock()

	// Part URLs are built from the configured address, never the request's
	// Host, which a client chooses.
	base := fmt.Sprintf("%s/ws/%s/api/2.0/mlflow-artifacts/mpu/parts/%s/", h.cfg.BaseURL, url.PathEscape(ws), id)
	creds := make([]credential, in.NumParts)
	for i := range creds {
		creds[i] = credential{URL: base + strconv.Itoa(i+1), PartNumber: i + 1, Headers: map[string]string{}}
	}
	return map[string]any{"upload_id": id, "credentials": creds}, nil
}

// uploadTarget is the artifact a multipart upload makes: the base name of
// the client's local file (a Windows path too) in the folder the URL
// names, as MLflow's server joins them. A name that is no file name ("",
// ".", "..", "/") is refused.
func uploadTarget(folder, local string) (string, error) {
	dir, err := cleanRel(folder)
	if err != nil {
		return "", err
	}
	base := local[strings.LastIndexAny(local, `/\`)+1:]
	if base == "" || base == "." || base == ".." || strings.IndexByte(base, 0) >= 0 {
		return "", invalidf("Invalid value '%s' for parameter 'path': expected the path of a file", local)
	}
	return fileRel(path.Join(dir, base))
}

// putPart stores one part of an upload.
func (h *Handler) putPart(w http.ResponseWriter, r *http.Request) error {
	up, err := h.uploads.get(r.PathValue("ws"), r.PathValue("upload"))
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("part"))
	if err != nil || n < 1 || n > up.parts {
		return invalidf("Invalid part number %q", r.PathValue("part"))
	}
	tmp, size, err := h.receivePart(r, up.ws, up.dir, "part "+strconv.Itoa(n))
	if err != nil {
		if _, gerr := h.uploads.get(up.ws, r.PathValue("upload")); gerr != nil {
			return gerr // completed or aborted meanwhile: its folder is gone
		}
		return err
	}
	// An abort or complete may have removed the folder meanwhile; then
	// the rename fails and the part is dropped.
	if err := os.Rename(tmp, filepath.Join(up.dir, strconv.Itoa(n))); err != nil {
		os.Remove(tmp)
		h.quota.release(up.ws, size)
		if _, gerr := h.uploads.get(up.ws, r.PathValue("upload")); gerr != nil {
			return gerr
		}
		return fmt.Errorf("store part %d: %w", n, err)
	}
	h.quota.release(up.ws, up.addPart(n, size))
	w.Header().Set("ETag", fmt.Sprintf("%q", "part-"+strconv.Itoa(n)))
	return writeJSON(w, nil)
}

func (h *Handler) completeUpload(r *http.Request, ws string) (any, error) {
	var in mpuRequest
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if d, ok := h.cfg.Artifacts.(DirectUploads); ok {
		return nil, h.completeDirect(r, ws, d, in)
	}
	if _, err := cleanRel(r.PathValue("path")); err != nil {
		return nil, err
	}
	up, err := h.uploads.get(ws, in.UploadID)
	if err != nil {
		return nil, err
	}
	nums := make([]int, 0, len(in.Parts))
	for _, p := range in.Parts {
		nums = append(nums, int(p.PartNumber))
	}
	if len(nums) == 0 {
		for i := 1; i <= up.parts; i++ {
			nums = append(nums, i)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		if _, err := os.Stat(filepath.Join(up.dir, strconv.Itoa(n))); err != nil {
			return nil, invalidf("part %d was not uploaded", n)
		}
	}
	if !h.uploads.remove(in.UploadID) {
		return nil, Errorf(CodeResourceDoesNotExist, "No multipart upload with id '%s'", in.UploadID)
	}
	parts := up.finish()
	defer os.RemoveAll(up.dir)
	joined := &partsReader{dir: up.dir, nums: nums}
	defer joined.Close()
	old, err := h.cfg.Artifacts.Put(r.Context(), ws, up.target, joined, -1)
	if err != nil {
		h.quota.release(ws, parts)
		if errors.Is(err, artifacts.ErrPathTaken) {
			return nil, badArtifactPath(up.target, err.Error())
		}
		return nil, fmt.Errorf("complete multipart upload: %w", err)
	}
	h.quota.commit(ws, parts, joined.size, old)
	return nil, nil
}

// completeDirect completes an upload whose parts went straight to the
// store: the target is the one create computed, from the same request
// fields, as MLflow's server does.
func (h *Handler) completeDirect(r *http.Request, ws string, d DirectUploads, in mpuRequest) error {
	target, err := h.directTarget(r, in)
	if err != nil {
		return err
	}
	if in.UploadID == "" {
		return missing("upload_id")
	}
	if len(in.Parts) == 0 || len(in.Parts) > maxParts {
		return invalidf("parts must list between 1 and %d uploaded parts", maxParts)
	}
	parts := make([]artifacts.Part, len(in.Parts))
	for i, p := range in.Parts {
		if p.PartNumber < 1 || p.PartNumber > maxParts || p.ETag == "" {
			return invalidf("part %d: a part_number between 1 and %d and its etag are required", i+1, maxParts)
		}
		parts[i] = artifacts.Part{Number: int(p.PartNumber), ETag: p.ETag}
	}
	if err := d.CompleteUpload(r.Context(), ws, target, in.UploadID, parts); err != nil {
		return uploadStateErr(in.UploadID, err)
	}
	// The parts went to the store, past the quota; the file they make
	// is measured now and removed when it overfills the workspace.
	if qerr := h.quota.overAfter(r.Context(), ws); qerr != nil {
		if err := h.cfg.Artifacts.Delete(context.WithoutCancel(r.Context()), ws, target); err != nil {
			return fmt.Errorf("remove %s past the quota: %w", target, err)
		}
		h.quota.forget(ws)
		return qerr
	}
	return nil
}

// directTarget checks a complete or abort call of a direct upload and
// returns the artifact it names.
func (h *Handler) directTarget(r *http.Request, in mpuRequest) (string, error) {
	if in.Path == "" {
		return "", missing("path")
	}
	target, err := uploadTarget(r.PathValue("path"), in.Path)
	if err == nil {
		err = h.writable(r.PathValue("path"), target)
	}
	return target, err
}

// uploadStateErr maps a store's answer about an upload to MLflow's.
func uploadStateErr(id string, err error) error {
	switch {
	case errors.Is(err, artifacts.ErrNoUpload):
		return Errorf(CodeResourceDoesNotExist, "No multipart upload with id '%s'", id)
	case errors.Is(err, artifacts.ErrBadPart):
		return invalidf("%v", err)
	}
	return err
}

// partsReader reads the numbered part files of dir in order, opening one
// at a time, and counts the bytes read.
type partsReader struct {
	dir  string
	nums []int
	cur  *os.File
	size int64
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.nums) == 0 {
				return 0, io.EOF
			}
			f, err := os.Open(filepath.Join(p.dir, strconv.Itoa(p.nums[0])))
			if err != nil {
				return 0, fmt.Errorf("part %d: %w", p.nums[0], err)
			}
			p.cur, p.nums = f, p.nums[1:]
		}
		n, err := p.cur.Read(b)
		p.size += int64(n)
		if errors.Is(err, io.EOF) {
			p.cur.Close()
			p.cur, err = nil, nil
			if n == 0 {
				continue
			}
		}
		return n, err
	}
}

// Close closes the part being read, if any.
func (p *partsReader) Close() error {
	if p.cur != nil {
		return p.cur.Close()
	}
	return nil
}

func (h *Handler) abortUpload(r *http.Request, ws string) (any, error) {
	var in mpuRequest
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if d, ok := h.cfg.Artifacts.(DirectUploads); ok {
		target, err := h.directTarget(r, in)
		if err != nil {
			return nil, err
		}
		if in.UploadID == "" {
			return nil, missing("upload_id")
		}
		return nil, uploadStateErr(in.UploadID, d.AbortUpload(r.Context(), ws, target, in.UploadID))
	}
	if _, err := cleanRel(r.PathValue("path")); err != nil {
		return nil, err
	}
	up, err := h.uploads.get(ws, in.UploadID)
	if err != nil {
		return nil, err
	}
	if !h.uploads.remove(in.UploadID) {
		return nil, Errorf(CodeResourceDoesNotExist, "No multipart upload with id '%s'", in.UploadID)
	}
	h.quota.release(ws, up.finish())
	if err := os.RemoveAll(up.dir); err != nil {
		return nil, fmt.Errorf("abort multipart upload: %w", err)
	}
	return nil, nil
}
