package imagestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/ciel-mlops/ciel/internal/blob"
)

// Handler serves the images of a blob store read-only over the OCI
// distribution API. Its methods may be called concurrently.
type Handler struct {
	// Blobs is the store images were pushed to.
	Blobs blob.Store
	// Authorized reports whether a request carries a pull credential; a
	// request without is answered 401 with a Basic challenge, which is
	// what makes containerd send the imagePullSecret's. Nil lets all in
	// (a server without a token).
	Authorized func(*http.Request) bool
	// Logger receives store errors.
	Logger *slog.Logger
}

// Patterns are the routes Register adds (GET also answers HEAD).
var Patterns = []string{
	"GET /v2/{$}",
	"GET /v2/" + Repository + "/{image}/manifests/{ref}",
	"GET /v2/" + Repository + "/{image}/blobs/{digest}",
	"GET /v2/",
}

// Register adds the routes to mux.
func (h *Handler) Register(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	handlers := []http.HandlerFunc{h.ping, h.manifest, h.blob, h.unknownName}
	for i, p := range Patterns {
		mux.Handle(p, h.guarded(handlers[i]))
	}
}

// IsPull tells the requests Register's routes answer.
func IsPull(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"))
}

func (h *Handler) guarded(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		if h.Authorized != nil && !h.Authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="ciel"`)
			writeError(w, r, http.StatusUnauthorized, "UNAUTHORIZED", "a pull credential is required (the imagePullSecret ciel creates, or the server's token)")
			return
		}
		next(w, r)
	})
}

// ociError is the distribution spec's error body.
type ociError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(map[string][]ociError{"errors": {{Code: code, Message: msg}}})
}

func (h *Handler) ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("{}\n"))
	}
}

func (h *Handler) unknownName(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusNotFound, "NAME_UNKNOWN", "ciel serves only "+Repository+"/<manifest digest>")
}

// image validates the {image} segment and reads its manifest; false when
// the answer is written.
func (h *Handler) image(w http.ResponseWriter, r *http.Request) ([]byte, *v1.Manifest, bool) {
	hexd := r.PathValue("image")
	if !hexDigest.MatchString(hexd) {
		writeError(w, r, http.StatusNotFound, "NAME_UNKNOWN", "the repository is "+Repository+"/<64 hex digits of the manifest>")
		return nil, nil, false
	}
	raw, m, err := manifest(r.Context(), h.Blobs, hexd)
	if errors.Is(err, errUnknown) {
		writeError(w, r, http.StatusNotFound, "MANIFEST_UNKNOWN", "no image manifest sha256:"+hexd)
		return nil, nil, false
	}
	if err != nil {
		h.storeError(w, r, err)
		return nil, nil, false
	}
	return raw, m, true
}

func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if h.Logger != nil {
		h.Logger.Warn("image store", "path", r.URL.Path, "err", err)
	}
	writeError(w, r, http.StatusServiceUnavailable, "UNAVAILABLE", "the blob store did not answer")
}

// manifest answers /v2/ciel/env/<hex>/manifests/<tag or sha256:hex>.
func (h *Handler) manifest(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	if !tagRE.MatchString(ref) && ref != "sha256:"+r.PathValue("image") {
		writeError(w, r, http.StatusNotFound, "MANIFEST_UNKNOWN", "the reference is a tag or the repository's own digest")
		return
	}
	raw, m, ok := h.image(w, r)
	if !ok {
		return
	}
	mt := string(m.MediaType)
	if mt == "" {
		mt = "application/vnd.oci.image.manifest.v1+json"
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Docker-Content-Digest", "sha256:"+r.PathValue("image"))
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(raw)
	}
}

// blob answers /v2/ciel/env/<hex>/blobs/<digest>: the configuration or a
// layer of that image, never another blob.
func (h *Handler) blob(w http.ResponseWriter, r *http.Request) {
	d, err := v1.NewHash(r.PathValue("digest"))
	if err != nil || d.Algorithm != "sha256" || !hexDigest.MatchString(d.Hex) {
		writeError(w, r, http.StatusBadRequest, "DIGEST_INVALID", "a digest is sha256:<64 hex digits>")
		return
	}
	_, m, ok := h.image(w, r)
	if !ok {
		return
	}
	var size int64 = -1
	for _, desc := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if desc.Digest == d {
			size = desc.Size
		}
	}
	if size < 0 {
		writeError(w, r, http.StatusNotFound, "BLOB_UNKNOWN", fmt.Sprintf("%s is not part of image sha256:%s", d, r.PathValue("image")))
		return
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Type", "application/octet-stream")
	if r.Method == http.MethodHead {
		ok, err := h.Blobs.Has(r.Context(), d.String())
		if err != nil {
			h.storeError(w, r, err)
			return
		}
		if !ok {
			writeError(w, r, http.StatusNotFound, "BLOB_UNKNOWN", d.String()+" is not stored")
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		return
	}
	rc, err := h.Blobs.Open(r.Context(), d.String())
	if errors.Is(err, blob.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "BLOB_UNKNOWN", d.String()+" is not stored")
		return
	}
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	// Past the header a failure can only cut the body short; the client
	// sees fewer bytes than Content-Length and the digest check fails.
	_, _ = io.Copy(w, io.LimitReader(rc, size))
}
