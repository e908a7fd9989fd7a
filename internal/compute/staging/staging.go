// Package staging is the part of a step that runs beside it on another
// machine (a Kubernetes pod): it recreates the step's folder from the blob
// store before the command runs, and stores the folders the engine collects
// after, reporting their digests. ciel's own binary performs it (`ciel step
// stage-in`, `ciel step run`), so a pod needs nothing but that binary and
// the blob store's URL and keys.
//
// staging does not decide what a step needs (the engine does, as a
// compute.Stage) nor create pods (compute/kube does).
package staging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
	"github.com/ciel-mlops/ciel/internal/compute"
)

// Environment variables the helper reads: the stage as JSON, and the blob
// store's URL (s3://bucket?endpoint=...). The keys come from EnvBlobKeyID
// and friends.
const (
	EnvStage      = "CIEL_STAGE"
	EnvBlob       = "CIEL_BLOB"
	EnvBlobKeyID  = "CIEL_BLOB_ACCESS_KEY_ID"
	EnvBlobSecret = "CIEL_BLOB_SECRET_ACCESS_KEY"
	EnvBlobToken  = "CIEL_BLOB_SESSION_TOKEN"
)

// Report is what the helper tells the executor when it is done, as JSON in
// the container's termination message.
type Report struct {
	// Collected is the tree digest of each collected folder, by key.
	Collected map[string]string `json:"collected,omitempty"`
	// Error says what went wrong with staging itself; "" if nothing.
	Error string `json:"error,omitempty"`
}

// ParseStage decodes and checks a stage: an absolute root and relative,
// clean paths under it that stay inside it.
func ParseStage(raw string) (compute.Stage, error) {
	var st compute.Stage
	if strings.TrimSpace(raw) == "" {
		return st, fmt.Errorf("stage: %s is not set (the step's Job sets it)", EnvStage)
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, fmt.Errorf("stage: %s: %w", EnvStage, err)
	}
	if !filepath.IsAbs(st.Root) || filepath.Clean(st.Root) != st.Root {
		return st, fmt.Errorf("stage: root %q is not a clean absolute path", st.Root)
	}
	check := func(p string) error {
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.ContainsRune(p, '\\') {
			return fmt.Errorf("stage: path %q is not a clean relative path inside the step's folder", p)
		}
		return nil
	}
	for _, t := range st.Trees {
		if err := check(t.Path); err != nil {
			return st, err
		}
		if !strings.HasPrefix(t.Digest, "sha256:") {
			return st, fmt.Errorf("stage: tree %s: digest %q is not sha256:<hex>", t.Path, t.Digest)
		}
	}
	for _, d := range st.Dirs {
		if err := check(d); err != nil {
			return st, err
		}
	}
	for _, c := range st.Collect {
		if err := check(c.Path); err != nil {
			return st, err
		}
	}
	return st, nil
}

// OpenStore opens the blob store the helper's environment names.
func OpenStore(ctx context.Context, getenv func(string) string) (blob.Store, error) {
	raw := getenv(EnvBlob)
	if raw == "" {
		return nil, fmt.Errorf("%s is not set", EnvBlob)
	}
	keys := map[string]string{
		blobs3.EnvAccessKeyID: EnvBlobKeyID, blobs3.EnvSecretAccessKey: EnvBlobSecret, blobs3.EnvSessionToken: EnvBlobToken,
	}
	cfg, err := blobs3.ParseURL(raw, func(k string) string { return getenv(keys[k]) })
	if err != nil {
		return nil, err
	}
	// The server checked the bucket and sweeps it; a pod only reads and writes.
	cfg.Ephemeral = true
	return blobs3.Open(ctx, cfg)
}

// In recreates the stage's folder: each tree materialised (inputs read-only)
// and each folder made, writable by any user so that an image running as
// another user than the helper can write its outputs.
func In(ctx context.Context, s blob.Store, st compute.Stage, log io.Writer) error {
	start := time.Now()
	if err := os.MkdirAll(st.Root, 0o777); err != nil {
		return fmt.Errorf("create %s: %w", st.Root, err)
	}
	for _, t := range st.Trees {
		dst := filepath.Join(st.Root, filepath.FromSlash(t.Path))
		if err := blob.Materialize(ctx, s, t.Digest, dst, t.ReadOnly); err != nil {
			return fmt.Errorf("stage %s: %w", t.Path, err)
		}
		if !t.ReadOnly {
			if err := openUp(dst); err != nil {
				return err
			}
		}
	}
	for _, d := range st.Dirs {
		if err := openUp(filepath.Join(st.Root, filepath.FromSlash(d))); err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "[ciel] staged %d trees in %s\n", len(st.Trees), time.Since(start).Round(time.Millisecond))
	return nil
}

// openUp makes dir and its parents up to the root exist, writable by all
// (the umask would narrow a plain MkdirAll).
func openUp(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return fmt.Errorf("open up %s: %w", dir, err)
	}
	return nil
}

// Out stores each folder the stage collects and returns their digests; a
// folder that does not exist is left out.
func Out(ctx context.Context, s blob.Store, st compute.Stage) (map[string]string, error) {
	out := make(map[string]string, len(st.Collect))
	for _, c := range st.Collect {
		p := filepath.Join(st.Root, filepath.FromSlash(c.Path))
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		d, err := blob.IngestDir(ctx, s, p)
		if err != nil {
			return out, fmt.Errorf("store %s: %w", c.Path, err)
		}
		out[c.Key] = d
	}
	return out, nil
}

// CopySelf copies the running binary to dir/ciel, executable, for the main
// container to run the step under.
func CopySelf(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	in, err := os.Open(self)
	if err != nil {
		return fmt.Errorf("open own binary: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(filepath.Join(dir, "ciel"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("copy own binary: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy own binary: %w", err)
	}
	return out.Close()
}

// WriteReport writes r as JSON to path (the termination message file),
// trimmed to Kubernetes's 4096 bytes by dropping the error's tail.
func WriteReport(path string, r Report) error {
	b, _ := json.Marshal(r)
	for len(b) > 4096 && len(r.Error) > 0 {
		r.Error = r.Error[:len(r.Error)/2]
		b, _ = json.Marshal(r)
	}
	return os.WriteFile(path, b, 0o644)
}

// ParseReport reads a termination message; an empty one is an empty Report.
func ParseReport(msg string) (Report, error) {
	var r Report
	if strings.TrimSpace(msg) == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(msg), &r); err != nil {
		return r, fmt.Errorf("read the helper's report %q: %w", msg, err)
	}
	return r, nil
}
