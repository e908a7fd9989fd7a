package tracking

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
)

// Multipart uploads through the proxy: create hands out one URL per part
// (on this server), the client PUTs the parts there in parallel, and
// complete joins them into the artifact. Parts wait under the workspace's
// .mpu/<upload id>/ directory; an upload's bookkeeping lives in memory, so
// a restart abandons uploads in flight (the client then aborts).

// upload is one multipart upload in progress.
type upload struct {
	ws     string
	target string // artifact path, relative to the workspace root
	dir    string // where parts are written
	parts  int
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

func (u *uploads) remove(id string) {
	u.mu.Lock()
	delete(u.m, id)
	u.mu.Unlock()
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
	target := path.Join(r.PathValue("path"), filepath.Base(in.Path))
	if _, err := h.cfg.Artifacts.Path(ws, target); err != nil {
		return nil, invalidf("Invalid artifact path: '%s'", target)
	}
	id := newHexID(16)
	dir, err := h.cfg.Artifacts.Path(ws, ".mpu/"+id)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start multipart upload: %w", err)
	}
	h.uploads.mu.Lock()
	h.uploads.m[id] = &upload{ws: ws, target: target, dir: dir, parts: int(in.NumParts)}
	h.uploads.mu.Unlock()

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := fmt.Sprintf("%s://%s/ws/%s/api/2.0/mlflow-artifacts/mpu/parts/%s/", scheme, r.Host, ws, id)
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
	if err := writeFileAtomic(filepath.Join(up.dir, strconv.Itoa(n)), r.Body); err != nil {
		return fmt.Errorf("store part %d: %w", n, err)
	}
	w.Header().Set("ETag", fmt.Sprintf("%q", "part-"+strconv.Itoa(n)))
	return writeJSON(w, nil)
}

func (h *Handler) completeUpload(r *http.Request, ws string) (any, error) {
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
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(concatParts(pw, up.dir, nums)) }()
	if err := writeFileAtomic(dst, pr); err != nil {
		_ = pr.CloseWithError(err)
		return nil, fmt.Errorf("complete multipart upload of %s: %w", up.target, err)
	}
	h.uploads.remove(in.UploadID)
	_ = os.RemoveAll(up.dir)
	return nil, nil
}

// concatParts writes the numbered part files of dir to w, in order.
func concatParts(w io.Writer, dir string, nums []int) error {
	for _, n := range nums {
		f, err := os.Open(filepath.Join(dir, strconv.Itoa(n)))
		if err != nil {
			return invalidf("part %d was not uploaded", n)
		}
		_, err = io.Copy(w, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) abortUpload(r *http.Request, ws string) (any, error) {
	var in mpuRequest
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	up, err := h.uploads.get(ws, in.UploadID)
	if err != nil {
		return nil, err
	}
	h.uploads.remove(in.UploadID)
	if err := os.RemoveAll(up.dir); err != nil {
		return nil, fmt.Errorf("abort multipart upload: %w", err)
	}
	return nil, nil
}
