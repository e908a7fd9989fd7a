package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// schemePattern matches a URI scheme or an azureml: reference prefix
// ("azureml:", "https:", "wasbs:", "git+https:"). One-letter schemes are
// left out so a Windows drive ("C:") is not mistaken for one.
var schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+:`)

// isRemote reports whether p names something that is not a local path: an
// azureml: reference, a URL or a blob digest.
func isRemote(p string) bool {
	return schemePattern.MatchString(p) && !strings.HasPrefix(p, "file:")
}

// isAzureRef reports whether s is an azureml: reference (azureml:name:1,
// azureml:name@latest, azureml://registries/...).
func isAzureRef(s string) bool {
	return strings.HasPrefix(s, "azureml:")
}

// localPath resolves p, a path written in the decoder's file, against the
// file's directory. A "file:" prefix is dropped.
func (d *decoder) localPath(p string) string {
	p = strings.TrimPrefix(p, "file:")
	if strings.HasPrefix(p, "//") {
		p = strings.TrimPrefix(p, "//") // file://relative is rare; file:///abs keeps its root
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(d.dir, p)
}

// dataPath reads a path field that may be local or remote: remote ones are
// kept as written; local ones are made absolute and must exist.
func (d *decoder) dataPath(path string, v *yaml.Node) (string, bool) {
	s, ok := d.str(path, v)
	if !ok {
		return "", false
	}
	if s == "" {
		d.errorf(v, path, "expected a path, got an empty value")
		return "", false
	}
	if isRemote(s) {
		return s, true
	}
	abs := d.localPath(s)
	if _, err := os.Stat(abs); err != nil {
		d.errorf(v, path, "%s does not exist (resolved to %s)", s, abs)
		return "", false
	}
	return abs, true
}

// maxFileSize bounds the component and conda files a parse reads.
const maxFileSize = 16 << 20

// readRegular reads a regular file of at most maxFileSize bytes, so that a
// path naming a device or a FIFO cannot hang or exhaust the parser.
func readRegular(abs string) ([]byte, error) {
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("not a regular file")
	case fi.Size() > maxFileSize:
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return os.ReadFile(abs)
}

// readLocalFile reads a file named in the decoder's file, relative to it.
func (d *decoder) readLocalFile(path string, v *yaml.Node, rel string) (string, []byte, bool) {
	abs := d.localPath(rel)
	data, err := readRegular(abs)
	if err != nil {
		d.errorf(v, path, "cannot read %s: %v", rel, unwrapPathError(err))
		return "", nil, false
	}
	return abs, data, true
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// displayPath names a file that the decoder's file refers to as rel the way
// the user would: joined to the directory of the decoder's file as named, so
// "pipeline.yml" naming "./components/train.yml" shows
// "components/train.yml".
func (d *decoder) displayPath(rel string) string {
	rel = strings.TrimPrefix(rel, "file:")
	if d.file == "" || filepath.IsAbs(rel) || filepath.IsAbs(d.file) {
		return d.localPath(rel)
	}
	return filepath.Join(filepath.Dir(d.file), rel)
}
