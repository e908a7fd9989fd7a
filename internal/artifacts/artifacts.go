// Package artifacts is the vocabulary of MLflow artifact locations that
// tracking (run artifacts, logged models) and the model registry
// (registered model files) share: one root per workspace, which the MLflow
// artifact proxy serves, so an artifact URI written by one is readable
// through the other. The roots themselves are backends in their own
// packages: artifacts/local (a folder, CIEL_HOME/mlartifacts) and
// artifacts/s3 (a bucket's prefix); the packages using them declare the
// interface they need.
//
// A location is "mlflow-artifacts:/<rel>" where rel is a slash-separated
// path relative to the workspace's root; on disk it is Dir/<ws>/<rel>.
// Files being written live outside that tree, in TempDir, so that a reader
// (or a restart after a crash) never sees half of one.
package artifacts

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Scheme prefixes every artifact location ciel hands out.
const Scheme = "mlflow-artifacts:/"

// ErrBadPath is returned for a path that climbs out with "..", holds a NUL
// byte, or is otherwise unsafe to join.
var ErrBadPath = errors.New("bad artifact path")

// ErrPathTaken is returned for a write where a folder stands at the path,
// or a file stands where the path needs a folder (local folders only: a
// bucket has no folders).
var ErrPathTaken = errors.New("artifact path taken")

// ErrNoUpload is returned for a multipart upload ID the store does not
// know (finished, aborted, or never started for that path).
var ErrNoUpload = errors.New("no such multipart upload")

// ErrBadPart is returned when completing a multipart upload whose listed
// parts the store does not have as listed.
var ErrBadPart = errors.New("bad multipart upload part")

// Entry is one entry of a folder's listing.
type Entry struct {
	// Name is the entry's name in its folder (one path element).
	Name  string
	IsDir bool
	// Size is a file's size in bytes; 0 for a folder.
	Size int64
}

// File is an artifact open for reading; Seek lets a reader answer HTTP
// Range requests without reading what comes before.
type File interface {
	io.ReadSeekCloser
	// Size is the file's size in bytes.
	Size() int64
	// ModTime is when the file was last written.
	ModTime() time.Time
}

// Part is one uploaded part of a multipart upload, as a client reports it
// on completion.
type Part struct {
	Number int
	ETag   string
}

// Upload is a started multipart upload: its ID and the URL each part is
// PUT to, in part order (PartURLs[0] is part 1).
type Upload struct {
	ID       string
	PartURLs []string
}

// CheckWorkspace refuses a workspace name that is no single safe path
// element: empty, holding a slash, a backslash or a NUL byte, or starting
// with a dot.
func CheckWorkspace(ws string) error {
	if ws == "" || strings.ContainsAny(ws, "/\\\x00") || strings.HasPrefix(ws, ".") {
		return fmt.Errorf("%w: workspace %q", ErrBadPath, ws)
	}
	return nil
}

// Root is the directory holding every workspace's artifacts
// (CIEL_HOME/mlartifacts).
type Root struct {
	Dir string
}

// Clean returns rel as a canonical slash-separated path relative to a root:
// leading slashes and "." and empty elements dropped, "" for the root
// itself. A ".." element (MLflow refuses them all, even those that stay
// inside) or a NUL byte is ErrBadPath.
func Clean(rel string) (string, error) {
	if strings.IndexByte(rel, 0) >= 0 {
		return "", fmt.Errorf("%w: %q holds a NUL byte", ErrBadPath, rel)
	}
	for el := range strings.SplitSeq(rel, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: %q climbs with \"..\"", ErrBadPath, rel)
		}
	}
	clean := path.Clean("/" + rel)[1:]
	return clean, nil
}

// Path returns the local path of rel inside workspace ws; rel is cleaned
// (see Clean), and "" or "." is the workspace's root.
func (r Root) Path(ws, rel string) (string, error) {
	if err := CheckWorkspace(ws); err != nil {
		return "", err
	}
	clean, err := Clean(rel)
	if err != nil {
		return "", err
	}
	return filepath.Join(r.Dir, ws, filepath.FromSlash(clean)), nil
}

// TempDir is where files being written wait until they are renamed into
// place: beside Dir, so on the same file system (the rename is atomic) but
// outside every workspace's tree, so nothing serves them. Whoever writes
// there owns the folder while it runs and may empty it when it starts.
func (r Root) TempDir() string {
	return filepath.Clean(r.Dir) + ".tmp"
}

// Location returns the artifact URI of rel ("mlflow-artifacts:/<rel>").
func Location(rel string) string {
	return Scheme + strings.TrimPrefix(rel, "/")
}

// Rel returns the relative path of an artifact URI, or ErrBadPath when it
// is not an mlflow-artifacts: URI.
func Rel(uri string) (string, error) {
	for _, p := range []string{"mlflow-artifacts://", Scheme, "mlflow-artifacts:"} {
		if rest, ok := strings.CutPrefix(uri, p); ok {
			return strings.TrimPrefix(rest, "/"), nil
		}
	}
	return "", fmt.Errorf("%w: %q is not an mlflow-artifacts: URI", ErrBadPath, uri)
}
