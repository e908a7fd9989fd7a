package tracking

import (
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
)

// Multipart uploads through the proxy: create hands out one URL per part
// (on this server), the client PUTs the parts there in parallel, and
// complete joins them into the artifact. Parts wait in the temporary
// folder (TempDir/mpu/<upload id>/), outside every workspace's tree; an
// upload's bookkeeping lives in memory, so a restart abandons uploads in
// flight (the client then aborts) and NewHandler sweeps their parts.

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
	} `json:"parts"`
}

// maxParts bounds the parts of one upload.
const maxParts = 10000

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
	id := newHexID(16)
	dir := filepath.Join(h.cfg.Artifacts.TempDir(), "mpu", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start multipart upload: %w", err)
	}
	h.uploads.mu.Lock()
	h.uploads.m[id] = &upload{ws: ws, target: target, dir: dir, parts: int(in.NumParts), sizes: map[int]int64{}}
	h.uploads.mu.Unlock()

	// Part URLs are built from the configured address, never the request's
	// Host, which a client chooses.
	base := fmt.Sprintf("%s/ws/%s/api/2.0/mlflow-artifacts/mpu/parts/%s/", h.cfg.BaseURL, url.PathEscape(ws), id)
	type credential struct {
		URL        string            `json:"url"`
		PartNumber int               `json:"part_number"`
		Headers    map[string]string `json:"headers"`
	}
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
	tmp, size, err := h.receive(r, up.ws, "part "+strconv.Itoa(n))
	if err != nil {
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
	if _, err := cleanRel(r.PathValue("path")); err != nil {
		return nil, err
	}
	var in mpuRequest
	if err := readJSON(r, &in); err != nil {
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
	dst, err := h.cfg.Artifacts.Path(ws, up.target)
	if err != nil {
		return nil, err
	}
	tmp, size, err := h.joinParts(up.dir, nums)
	if err != nil {
		return nil, err
	}
	if !h.uploads.remove(in.UploadID) {
		os.Remove(tmp)
		return nil, Errorf(CodeResourceDoesNotExist, "No multipart upload with id '%s'", in.UploadID)
	}
	parts := up.finish()
	_ = os.RemoveAll(up.dir)
	old, err := place(tmp, dst, up.target)
	if err != nil {
		os.Remove(tmp)
		h.quota.release(ws, parts)
		return nil, err
	}
	h.quota.commit(ws, parts, size, old)
	return nil, nil
}

// joinParts writes the numbered part files of dir, in order, to a new
// temporary file and returns its path and size; on error it leaves
// nothing behind.
func (h *Handler) joinParts(dir string, nums []int) (string, int64, error) {
	f, err := h.tempFile("join-*")
	if err != nil {
		return "", 0, fmt.Errorf("complete multipart upload: %w", err)
	}
	size, err := concatParts(f, dir, nums)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, err
	}
	return f.Name(), size, nil
}

// concatParts writes the numbered part files of dir to w, in order.
func concatParts(w io.Writer, dir string, nums []int) (int64, error) {
	var size int64
	for _, n := range nums {
		f, err := os.Open(filepath.Join(dir, strconv.Itoa(n)))
		if err != nil {
			return 0, invalidf("part %d was not uploaded", n)
		}
		c, err := io.Copy(w, f)
		f.Close()
		size += c
		if err != nil {
			return 0, fmt.Errorf("complete multipart upload: part %d: %w", n, err)
		}
	}
	return size, nil
}

func (h *Handler) abortUpload(r *http.Request, ws string) (any, error) {
	if _, err := cleanRel(r.PathValue("path")); err != nil {
		return nil, err
	}
	var in mpuRequest
	if err := readJSON(r, &in); err != nil {
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
