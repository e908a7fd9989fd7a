// Package artifacts maps MLflow artifact locations to files on local disk.
// Tracking (run artifacts, logged models) and the model registry (registered
// model files) share one root per workspace, which the MLflow artifact proxy
// serves, so an artifact URI written by one is readable through the other.
//
// A location is "mlflow-artifacts:/<rel>" where rel is a slash-separated
// path relative to the workspace's root; on disk it is Dir/<ws>/<rel>.
// Files being written live outside that tree, in TempDir, so that a reader
// (or a restart after a crash) never sees half of one.
package artifacts

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Scheme prefixes every artifact location ciel hands out.
const Scheme = "mlflow-artifacts:/"

// ErrBadPath is returned for a path that climbs out with "..", holds a NUL
// byte, or is otherwise unsafe to join.
var ErrBadPath = errors.New("bad artifact path")

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
	if ws == "" || strings.ContainsAny(ws, "/\\\x00") || strings.HasPrefix(ws, ".") {
		return "", fmt.Errorf("%w: workspace %q", ErrBadPath, ws)
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
