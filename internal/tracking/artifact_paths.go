package tracking

import (
	"path"
	"regexp"
	"strings"

	"github.com/ciel-mlops/ciel/internal/artifacts"
)

// What the artifact proxy lets a request name. Every path is cleaned
// (artifacts.Clean: "a//b/./c" is "a/b/c") and one that climbs with ".."
// or holds a NUL byte is refused, as MLflow's server refuses it. Beyond
// that, each use has its floor:
//
//   - a file read, written or uploaded in parts is never the workspace's
//     root: "." would read a folder, or replace every artifact of the
//     workspace with one file;
//   - a deletion is at least minDeleteDepth elements deep. The shallowest
//     folder an MLflow client deletes is a run's or a logged model's
//     artifact root (mlflow gc deletes "<exp>/<run>/artifacts" and
//     "<exp>/models/<id>/artifacts"); anything above holds other runs',
//     models' or registered versions' files ("<exp>", "<exp>/<run>",
//     "<exp>/models", "models/<name>"), and the root holds them all;
//   - a listing may name the root;
//   - a path below a run's or logged model's root stays below it.
const minDeleteDepth = 3

// legacyTempRE matches the temporary files earlier versions wrote beside
// an artifact (".<name>.tmp-<12 hex>"); a crash could leave one in the
// served tree, so the proxy never serves or lists one.
var legacyTempRE = regexp.MustCompile(`^\..*\.tmp-[0-9a-f]{12}$`)

// legacyPartsDir is where earlier versions kept multipart parts, at the
// top of a workspace's tree; it is swept at start and never served.
const legacyPartsDir = ".mpu"

// badArtifactPath is the answer to a path the proxy refuses.
func badArtifactPath(raw, why string) error {
	return invalidf("Invalid artifact path: '%s': %s", raw, why)
}

// cleanRel cleans a requested path; the root is "".
func cleanRel(raw string) (string, error) {
	rel, err := artifacts.Clean(raw)
	if err != nil {
		return "", badArtifactPath(raw, `it may not climb with ".." or hold a NUL byte`)
	}
	return rel, nil
}

// fileRel checks the path of a file to read or write.
func fileRel(raw string) (string, error) {
	rel, err := cleanRel(raw)
	if err != nil {
		return "", err
	}
	if rel == "" {
		return "", badArtifactPath(raw, "it names the workspace's artifact root, not a file")
	}
	if hiddenRel(rel) {
		return "", badArtifactPath(raw, "it names one of the server's temporary files")
	}
	return rel, nil
}

// writable refuses a cleaned path in one of the read-only folders.
func (h *Handler) writable(raw, rel string) error {
	for _, ro := range h.cfg.ReadOnly {
		if rel == ro || strings.HasPrefix(rel, ro+"/") {
			return badArtifactPath(raw, "the model registry keeps "+ro+"/ read-only; register a new version instead")
		}
	}
	return nil
}

// deleteRel checks the path of a file or folder to delete.
func deleteRel(raw string) (string, error) {
	rel, err := cleanRel(raw)
	if err != nil {
		return "", err
	}
	if rel == "" {
		return "", badArtifactPath(raw, "it names the workspace's artifact root")
	}
	if strings.Count(rel, "/")+1 < minDeleteDepth {
		return "", badArtifactPath(raw, "it holds the artifacts of other runs or models; "+
			"delete a run's artifacts (<experiment>/<run>/artifacts) or a folder below one")
	}
	return rel, nil
}

// subRel joins sub, a path a request gives below root (a run's or logged
// model's artifact root), to root, refusing one that leaves it; it returns
// the joined path and sub cleaned ("" for root itself).
func subRel(root, sub string) (rel, clean string, err error) {
	if clean, err = cleanRel(sub); err != nil {
		return "", "", err
	}
	return path.Join(root, clean), clean, nil
}

// hiddenRel reports whether rel names a leftover of an earlier version's
// uploads, or something inside one.
func hiddenRel(rel string) bool {
	first, _, _ := strings.Cut(rel, "/")
	if first == legacyPartsDir {
		return true
	}
	for el := range strings.SplitSeq(rel, "/") {
		if legacyTempRE.MatchString(el) {
			return true
		}
	}
	return false
}
