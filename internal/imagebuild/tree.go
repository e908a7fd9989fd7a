package imagebuild

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// epoch is the modification time of every directory, symbolic link and
// generated file: their host times change with unrelated activity (a
// __pycache__ written) and would change the digest for nothing.
var epoch = time.Unix(0, 0).UTC()

// entry is one file of a layer, at the same absolute path as on the host.
type entry struct {
	Path    string    // absolute path in the image
	Type    byte      // tar.TypeDir, TypeReg or TypeSymlink
	Mode    int64     // normalized permission bits
	Size    int64     // regular files
	ModTime time.Time // regular files from the host keep theirs
	Link    string    // symbolic links: the target as written
	Source  string    // regular files from the host: where to read them
	Data    []byte    // generated regular files
}

// fileSet is the files of one layer, by absolute path, and the set of the
// layers below it whose files it need not repeat.
type fileSet struct {
	entries map[string]*entry
	below   map[string]bool
}

func newFileSet(below map[string]bool) *fileSet {
	return &fileSet{entries: map[string]*entry{}, below: below}
}

// has reports whether path is already in this layer or one below.
func (s *fileSet) has(path string) bool {
	_, ok := s.entries[path]
	return ok || s.below[path]
}

// put records e unless its path is already present.
func (s *fileSet) put(e *entry) {
	if !s.has(e.Path) {
		s.entries[e.Path] = e
	}
}

// sorted returns the entries in path order, which puts every directory
// before what it holds.
func (s *fileSet) sorted() []*entry {
	out := make([]*entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// paths returns every path of this layer and those below it.
func (s *fileSet) paths() map[string]bool {
	out := make(map[string]bool, len(s.entries)+len(s.below))
	for p := range s.below {
		out[p] = true
	}
	for p := range s.entries {
		out[p] = true
	}
	return out
}

// fileMode normalizes host permissions: the venv is built private to the
// server's user (0700), but the pod may run as any user, so everything is
// readable and what the owner may execute anyone may; setuid bits go.
func fileMode(m fs.FileMode) int64 {
	if m&0o100 != 0 {
		return 0o755
	}
	return 0o644
}

// addDir records the directory at path and its parents (not following
// symbolic links: the caller resolved them).
func (s *fileSet) addDir(path string) {
	for p := path; p != "/" && p != "." && !s.has(p); p = filepath.Dir(p) {
		s.put(&entry{Path: p, Type: typeDir, Mode: 0o755, ModTime: epoch})
	}
}

// addPath records path as the host resolves it: every symbolic link met
// on the way (/bin -> usr/bin on a merged-/usr system) becomes a link in
// the image too and is followed, so the same path works there. A directory
// is recorded alone, without its contents. It fails when path does not
// exist.
func (s *fileSet) addPath(path string) error {
	return s.addPathDepth(filepath.Clean(path), 0)
}

func (s *fileSet) addPathDepth(path string, depth int) error {
	if depth > 40 {
		return fmt.Errorf("%s: too many levels of symbolic links", path)
	}
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%s: not an absolute path", path)
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	cur := "/"
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(cur)
			if err != nil {
				return err
			}
			s.put(&entry{Path: cur, Type: typeSymlink, Mode: 0o777, Link: link, ModTime: epoch})
			target := link
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(cur), target)
			}
			rest := append([]string{target}, parts[i+1:]...)
			return s.addPathDepth(filepath.Join(rest...), depth+1)
		case fi.IsDir():
			s.addDir(cur)
		case fi.Mode().IsRegular() && i == len(parts)-1:
			s.addDir(filepath.Dir(cur))
			s.put(&entry{Path: cur, Type: typeReg, Mode: fileMode(fi.Mode()), Size: fi.Size(),
				ModTime: fi.ModTime().Truncate(time.Second).UTC(), Source: cur})
		default:
			return fmt.Errorf("%s: neither a directory, a regular file nor a symbolic link", cur)
		}
	}
	return nil
}

// addTree records the tree at root (an absolute path without symbolic
// links) with everything in it; skip, when not nil, leaves out a path and
// what is under it. Symbolic links are kept as links; one whose target lies
// outside root has its target added with addPath when it exists, so the
// venv's bin/python finds the interpreter. Sockets and devices are left
// out.
func (s *fileSet) addTree(root string, skip func(path string, d fs.DirEntry) bool) error {
	s.addDir(filepath.Dir(root))
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip != nil && path != root && skip(path, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			s.put(&entry{Path: path, Type: typeDir, Mode: 0o755, ModTime: epoch})
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			s.put(&entry{Path: path, Type: typeSymlink, Mode: 0o777, Link: link, ModTime: epoch})
			target := link
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(path), target)
			}
			if !within(target, root) {
				if _, err := os.Stat(target); err == nil {
					if err := s.addPath(target); err != nil {
						return err
					}
				}
			}
		case fi.Mode().IsRegular():
			s.put(&entry{Path: path, Type: typeReg, Mode: fileMode(fi.Mode()), Size: fi.Size(),
				ModTime: fi.ModTime().Truncate(time.Second).UTC(), Source: path})
		}
		return nil
	})
}

// addFile records a generated regular file.
func (s *fileSet) addFile(path string, mode int64, data []byte) {
	s.addDir(filepath.Dir(path))
	s.put(&entry{Path: path, Type: typeReg, Mode: mode, Size: int64(len(data)), ModTime: epoch, Data: data})
}

// within reports whether path is root or under it.
func within(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+"/")
}
