// Package local is the files.FS of a folder on this machine (a local
// datastore). Every path is checked with files.Clean and opened through an
// os.Root, so neither "..", an absolute path nor a symbolic link reaches
// anything outside the folder. Files are written under a hidden temporary
// name in their own folder, synced, and renamed into place on Commit.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
)

// tmpMark is in the name of every file being written; List hides them.
const tmpMark = ".ciel-tmp-"

// FS is a folder as a files.FS.
type FS struct {
	root *os.Root
}

var _ files.FS = (*FS)(nil)

// New opens the folder dir, which must exist. Close releases it.
func New(dir string) (*FS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open folder %s: %w", dir, err)
	}
	return &FS{root: r}, nil
}

// Close releases the folder.
func (l *FS) Close() error { return l.root.Close() }

// name cleans p into a name for the os.Root ("." for the root).
func name(p string) (string, error) {
	c, err := files.Clean(p)
	if err != nil {
		return "", err
	}
	if c == "" {
		return ".", nil
	}
	return c, nil
}

// edge turns os.Root's refusal of an escape into files.ErrEscape.
func edge(op, p string, err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		return fmt.Errorf("%s %s: %w", op, p, files.ErrEscape)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

// Open opens the file at p for reading. The reader also implements
// io.ReaderAt and io.Seeker.
func (l *FS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	n, err := name(p)
	if err != nil {
		return nil, err
	}
	f, err := l.root.Open(n)
	if err != nil {
		return nil, edge("open", p, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, edge("open", p, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: is a folder", p)
	}
	return f, nil
}

// Stat describes the file or folder at p.
func (l *FS) Stat(ctx context.Context, p string) (files.Info, error) {
	n, err := name(p)
	if err != nil {
		return files.Info{}, err
	}
	fi, err := l.root.Stat(n)
	if err != nil {
		return files.Info{}, edge("stat", p, err)
	}
	return info(strings.TrimPrefix(path.Clean("/"+n), "/"), fi), nil
}

func info(p string, fi fs.FileInfo) files.Info {
	i := files.Info{Name: path.Base(p), Path: p, ModTime: fi.ModTime().UTC(), Dir: fi.IsDir()}
	if p == "" {
		i.Name = ""
	}
	if !i.Dir {
		i.Size = fi.Size()
	}
	return i
}

// List returns the children of folder p by name; links are followed when
// they stay inside the folder and left out when they do not.
func (l *FS) List(ctx context.Context, p string) ([]files.Info, error) {
	n, err := name(p)
	if err != nil {
		return nil, err
	}
	d, err := l.root.Open(n)
	if err != nil {
		return nil, edge("list", p, err)
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, edge("list", p, err)
	}
	dir := strings.TrimPrefix(path.Clean("/"+n), "/")
	out := make([]files.Info, 0, len(ents))
	for _, e := range ents {
		if strings.Contains(e.Name(), tmpMark) {
			continue // a file being written
		}
		child := path.Join(dir, e.Name())
		fi, err := l.root.Stat(child) // follows links, refuses escapes
		if err != nil {
			continue
		}
		if !fi.IsDir() && !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, info(child, fi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes the file at p, or the folder at p: an empty one, or with
// recursive everything in it. Deleting the root empties it.
func (l *FS) Delete(ctx context.Context, p string, recursive bool) error {
	n, err := name(p)
	if err != nil {
		return err
	}
	fi, err := l.root.Lstat(n)
	if err != nil {
		return edge("delete", p, err)
	}
	switch {
	case n == ".":
		kids, err := l.List(ctx, "")
		if err != nil {
			return err
		}
		if len(kids) > 0 && !recursive {
			return fmt.Errorf("delete the root: not empty")
		}
		for _, k := range kids {
			if err := l.root.RemoveAll(k.Path); err != nil {
				return edge("delete", k.Path, err)
			}
		}
		return nil
	case fi.IsDir() && recursive:
		return edge("delete", p, l.root.RemoveAll(n))
	}
	return edge("delete", p, l.root.Remove(n))
}

// Create starts writing the file p, creating its folders. The data goes
// to a hidden temporary file beside it until Commit.
func (l *FS) Create(ctx context.Context, p string) (files.File, error) {
	n, err := name(p)
	if err != nil {
		return nil, err
	}
	if n == "." {
		return nil, fmt.Errorf("create: a file needs a name")
	}
	dir := path.Dir(n)
	if err := l.root.MkdirAll(dir, 0o755); err != nil {
		return nil, edge("create", p, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, "."+path.Base(n)+tmpMark+hex.EncodeToString(rnd[:]))
	f, err := l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, edge("create", p, err)
	}
	return &file{fs: l, f: f, tmp: tmp, name: n, dir: dir}, nil
}

// file is a file being written under a temporary name.
type file struct {
	fs             *FS
	f              *os.File
	tmp, name, dir string
	done           bool
}

func (w *file) Write(b []byte) (int, error) { return w.f.Write(b) }

// Commit syncs the data, renames it into place and syncs the folder, so
// a committed file survives a crash.
func (w *file) Commit() error {
	if w.done {
		return errors.New("commit: file already committed or aborted")
	}
	w.done = true
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.fs.root.Rename(w.tmp, w.name)
	}
	if err != nil {
		_ = w.fs.root.Remove(w.tmp)
		return edge("commit", w.name, err)
	}
	if d, err := w.fs.root.Open(w.dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return edge("commit", w.name, err)
		}
	}
	return nil
}

// Abort drops what was written.
func (w *file) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return edge("abort", w.name, w.fs.root.Remove(w.tmp))
}
