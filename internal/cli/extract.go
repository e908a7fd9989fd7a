package cli

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// extractTar writes the tar stream r under dir and returns how many files
// it wrote. It refuses, before writing them, entries whose names are
// absolute or climb out with "..", and links that point outside dir; every
// write also goes through an os.Root, so nothing escapes dir even through a
// symbolic link already there. Other entry kinds (devices, fifos) are left
// out.
func extractTar(r io.Reader, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	files := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return files, fmt.Errorf("read archive: %w", err)
		}
		name, err := localName(hdr.Name)
		if err != nil {
			return files, err
		}
		if name == "." {
			continue
		}
		wrote, err := extractEntry(root, tr, hdr, name)
		if err != nil {
			return files, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		if wrote {
			files++
		}
	}
}

// localName returns an archive entry's name as a clean relative path, or an
// error when it is absolute or leaves the extraction directory.
func localName(name string) (string, error) {
	n := strings.TrimSuffix(filepath.ToSlash(name), "/")
	if n == "" || path.Clean(n) == "." {
		return ".", nil
	}
	if path.IsAbs(n) || filepath.IsAbs(n) || !filepath.IsLocal(filepath.FromSlash(n)) {
		return "", fmt.Errorf("archive entry %q is outside the download directory; refusing to extract", name)
	}
	return filepath.FromSlash(path.Clean(n)), nil
}

// extractEntry writes one entry; wrote reports whether it was a file.
func extractEntry(root *os.Root, tr io.Reader, hdr *tar.Header, name string) (wrote bool, err error) {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return false, root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return false, err
		}
		f, err := root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, os.FileMode(hdr.Mode)&0o777|0o600)
		if err != nil {
			return false, err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return false, err
		}
		return true, f.Close()
	case tar.TypeSymlink:
		target := filepath.FromSlash(hdr.Linkname)
		if filepath.IsAbs(target) || !filepath.IsLocal(filepath.Join(filepath.Dir(name), target)) {
			return false, fmt.Errorf("link to %q points outside the download directory; refusing to extract", hdr.Linkname)
		}
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return false, err
		}
		_ = root.Remove(name)
		return false, root.Symlink(target, name)
	}
	return false, nil
}

// joinLocal joins name under dir for a download: name comes from the
// server (an output or model name) or the user, and must stay inside dir.
// An absolute name, one that climbs out with "..", names dir itself, or
// holds a NUL is refused before anything is written.
func joinLocal(dir, name, what string) (string, error) {
	if !filepath.IsLocal(name) || filepath.Clean(name) == "." || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%s %q would be written outside %s; refusing to download it", what, name, dir)
	}
	return filepath.Join(dir, name), nil
}
