// Package artifacts maps MLflow artifact locations to files on local disk.
// Tracking (run artifacts, logged models) and the model registry (registered
// model files) share one root per workspace, which the MLflow artifact proxy
// serves, so an artifact URI written by one is readable through the other.
//
// A location is "mlflow-artifacts:/<rel>" where rel is a slash-separated
// path relative to the workspace's root; on disk it is Dir/<ws>/<rel>.
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

// ErrBadPath is returned for a path that is absolute, climbs out with "..",
// or is otherwise unsafe to join.
var ErrBadPath = errors.New("bad artifact path")

// Root is the directory holding every workspace's artifacts
// (CIEL_HOME/mlartifacts).
type Root struct {
	Dir string
}

// Path returns the local path of rel inside workspace ws.
func (r Root) Path(ws, rel string) (string, error) {
	if ws == "" || strings.ContainsAny(ws, `/\`) || ws == "." || ws == ".." {
		return "", fmt.Errorf("%w: workspace %q", ErrBadPath, ws)
	}
	rel = strings.TrimPrefix(rel, "/")
	if rel != "" {
		clean := path.Clean(rel)
		if clean != rel && clean+"/" != rel || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(rel, "\x00") {
			return "", fmt.Errorf("%w: %q", ErrBadPath, rel)
		}
		rel = clean
	}
	return filepath.Join(r.Dir, ws, filepath.FromSlash(rel)), nil
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
