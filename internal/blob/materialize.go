package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
)

// materializeWorkers bounds the files Materialize writes at once.
const materializeWorkers = 4

// Materialize writes the files of the tree named by digest under dir,
// creating dir and the folders the paths imply. Every write goes through an
// os.Root on dir, so a symbolic link already under dir cannot lead a file
// outside it. A file already at a path is replaced.
//
// When s is a LocalPather the files are copied from the store's own files,
// letting the kernel copy (copy_file_range, reflinks); they are never hard
// linked, since a step running as root could then write through the link and
// corrupt the store.
//
// Files take the owner's bits of their tree mode only (0600, 0700 when
// executable), and folders are 0700: a materialised tree lives in CIEL_HOME
// for steps and workers running as the same user, and no one else reads it.
// With readOnly, files end up 0400 (0500 when executable) and dir and the
// folders under it 0500; remove them with RemoveMaterialized.
func Materialize(ctx context.Context, s Store, digest string, dir string, readOnly bool) error {
	t, err := GetTree(ctx, s, digest)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("materialize %s: %w", digest, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("materialize %s: %w", digest, err)
	}
	defer root.Close()
	dirs := treeDirs(t)
	for _, d := range dirs {
		if err := root.Mkdir(filepath.FromSlash(d), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("materialize %s: %w", digest, err)
		}
	}
	lp, _ := s.(LocalPather)
	err = parallel(ctx, len(t.Entries), materializeWorkers, func(ctx context.Context, i int) error {
		return writeEntry(ctx, s, lp, root, t.Entries[i], readOnly)
	})
	if err != nil {
		return fmt.Errorf("materialize %s: %w", digest, err)
	}
	if !readOnly {
		return nil
	}
	for _, d := range slices.Backward(dirs) {
		if err := root.Chmod(filepath.FromSlash(d), 0o500); err != nil {
			return fmt.Errorf("materialize %s: %w", digest, err)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		return fmt.Errorf("materialize %s: %w", digest, err)
	}
	return nil
}

// treeDirs returns the folders t's paths imply, each after its parent.
func treeDirs(t Tree) []string {
	seen := make(map[string]bool)
	var dirs []string
	var add func(d string)
	add = func(d string) {
		if d == "." || seen[d] {
			return
		}
		add(path.Dir(d))
		seen[d] = true
		dirs = append(dirs, d)
	}
	for _, e := range t.Entries {
		add(path.Dir(e.Path))
	}
	return dirs
}

// writeEntry writes one file of a tree under root.
func writeEntry(ctx context.Context, s Store, lp LocalPather, root *os.Root, e Entry, readOnly bool) (err error) {
	name := filepath.FromSlash(e.Path)
	const flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	dst, err := root.OpenFile(name, flags, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if err := root.Remove(name); err != nil {
			return fmt.Errorf("replace %s: %w", e.Path, err)
		}
		dst, err = root.OpenFile(name, flags, 0o600)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := dst.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	src, err := openContent(ctx, s, lp, e.Digest)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	defer src.Close()
	// Both ends are *os.File for a LocalPather, so io.Copy lets the kernel copy.
	n, err := io.Copy(dst, src)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	if n != e.Size {
		return fmt.Errorf("%s: blob %s has %d bytes, tree says %d", e.Path, e.Digest, n, e.Size)
	}
	mode := fs.FileMode(e.Mode) & 0o700
	if readOnly {
		mode &^= 0o222
	}
	if err := dst.Chmod(mode); err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	return nil
}

// openContent opens a blob, as a plain file when the store has one.
func openContent(ctx context.Context, s Store, lp LocalPather, digest string) (io.ReadCloser, error) {
	if lp == nil {
		return s.Open(ctx, digest)
	}
	p, err := lp.LocalPath(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", digest, ErrNotFound)
	}
	return f, err
}

// RemoveMaterialized removes dir and everything under it, first making the
// folders writable again so that a read-only Materialize can be undone. It
// does not follow symbolic links; a missing dir is not an error.
func RemoveMaterialized(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o700)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}
