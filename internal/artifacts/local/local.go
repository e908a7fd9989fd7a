// Package local keeps MLflow artifacts in a folder on local disk
// (CIEL_HOME/mlartifacts): a workspace's root is Dir/<ws>, a file rel is
// Dir/<ws>/<rel>. Files are written beside the tree (in the Root's
// TempDir, on the same file system), fsynced and renamed into place, so a
// reader never sees half of one. It is the default artifact root of a
// server; artifacts/s3 is the one for servers sharing a bucket.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"time"

	"github.com/ciel-mlops/ciel/internal/artifacts"
)

// legacyTempRE matches the temporary files earlier versions wrote beside
// an artifact (".<name>.tmp-<12 hex>"); a crash could leave one in the
// served tree, so it is never listed.
var legacyTempRE = regexp.MustCompile(`^\..*\.tmp-[0-9a-f]{12}$`)

// legacyPartsDir is where earlier versions kept multipart parts, at the
// top of a workspace's tree; New sweeps it and it is never listed.
const legacyPartsDir = ".mpu"

// Store is an artifact root in a folder. Its methods may be called
// concurrently; one Store (one process) writes to a folder at a time.
type Store struct {
	root artifacts.Root
}

// New returns the Store of folder dir, removing the temporary files that
// writes of an earlier run left (errors doing so are returned as warn,
// the Store is usable anyway).
func New(dir string) (s *Store, warn error) {
	s = &Store{root: artifacts.Root{Dir: dir}}
	return s, s.sweep()
}

// Root is the folder the Store keeps its files in.
func (s *Store) Root() artifacts.Root { return s.root }

// sweep empties the temporary folder and removes the multipart parts
// earlier versions kept inside workspaces' trees.
func (s *Store) sweep() error {
	errs := []error{os.RemoveAll(s.root.TempDir())}
	entries, err := os.ReadDir(s.root.Dir)
	if err != nil {
		return errors.Join(errs...)
	}
	for _, e := range entries {
		if e.IsDir() {
			errs = append(errs, os.RemoveAll(filepath.Join(s.root.Dir, e.Name(), legacyPartsDir)))
		}
	}
	return errors.Join(errs...)
}

// Put writes body as the file rel of workspace ws, replacing one there,
// and returns the size of the file it replaced (0 for none). size is
// unused (a file needs no length up front). On error nothing is left.
func (s *Store) Put(_ context.Context, ws, rel string, body io.Reader, _ int64) (int64, error) {
	dst, err := s.filePath(ws, rel)
	if err != nil {
		return 0, err
	}
	tmp, err := s.receive(body)
	if err != nil {
		return 0, err
	}
	old, err := place(tmp, dst, rel)
	if err != nil {
		os.Remove(tmp)
	}
	return old, err
}

// filePath is the path of file rel, which may not be the workspace's root.
func (s *Store) filePath(ws, rel string) (string, error) {
	p, err := s.root.Path(ws, rel)
	if err != nil {
		return "", err
	}
	if root, _ := s.root.Path(ws, ""); p == root {
		return "", fmt.Errorf("%w: %q names the workspace's root, not a file", artifacts.ErrBadPath, rel)
	}
	return p, nil
}

// receive copies body to a new fsynced file in the temporary folder and
// returns its path; on error nothing is left behind.
func (s *Store) receive(body io.Reader) (string, error) {
	dir := s.root.TempDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("receive artifact: %w", err)
	}
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return "", fmt.Errorf("receive artifact: %w", err)
	}
	_, err = io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// place renames the received file tmp to dst (rel in the workspace),
// creating its folders, and returns the size of the file it replaced. A
// folder at dst, or a file where a folder of dst should be, is
// ErrPathTaken.
func place(tmp, dst, rel string) (int64, error) {
	var old int64
	if fi, err := os.Lstat(dst); err == nil {
		if fi.IsDir() {
			return 0, fmt.Errorf("%w: '%s' is a folder", artifacts.ErrPathTaken, rel)
		}
		old = fi.Size()
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return 0, fmt.Errorf("%w: '%s': a file stands where it needs a folder", artifacts.ErrPathTaken, rel)
		}
		return 0, fmt.Errorf("store artifact %s: %w", rel, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return 0, fmt.Errorf("store artifact %s: %w", rel, err)
	}
	return old, nil
}

// file is an open artifact.
type file struct {
	*os.File
	info fs.FileInfo
}

func (f file) Size() int64        { return f.info.Size() }
func (f file) ModTime() time.Time { return f.info.ModTime() }

// Open opens the file rel of ws; a missing file or a folder is an error
// wrapping fs.ErrNotExist.
func (s *Store) Open(_ context.Context, ws, rel string) (artifacts.File, error) {
	p, err := s.filePath(ws, rel)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, syscall.ENOTDIR) { // a file where rel needs a folder
		return nil, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return file{File: f, info: info}, nil
}

// List lists the folder rel of ws ("" its root), by name; a file or a
// missing path lists as nothing.
func (s *Store) List(_ context.Context, ws, rel string) ([]artifacts.Entry, error) {
	p, err := s.root.Path(ws, rel)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		var pe *fs.PathError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &pe) {
			return nil, nil
		}
		return nil, err
	}
	top := rel == "" || rel == "."
	out := make([]artifacts.Entry, 0, len(entries))
	for _, e := range entries {
		if legacyTempRE.MatchString(e.Name()) || top && e.Name() == legacyPartsDir {
			continue
		}
		en := artifacts.Entry{Name: e.Name(), IsDir: e.IsDir()}
		if !e.IsDir() {
			info, err := e.Info()
			if err != nil {
				continue
			}
			en.Size = info.Size()
		}
		out = append(out, en)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes the file or folder rel of ws; a missing one is no error.
func (s *Store) Delete(_ context.Context, ws, rel string) error {
	p, err := s.root.Path(ws, rel)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("delete artifact %s: %w", rel, err)
	}
	return nil
}

// Usage sums the sizes of the files in ws's tree.
func (s *Store) Usage(_ context.Context, ws string) (int64, error) {
	dir, err := s.root.Path(ws, "")
	if err != nil {
		return 0, err
	}
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	return n, nil
}
