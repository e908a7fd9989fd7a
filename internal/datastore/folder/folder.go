// Package folder is the datastore backend of a folder on the server's
// machine (datastore type "local"). Every path is checked to stay inside
// the folder: reads resolve symbolic links and refuse a target outside it,
// writes go through an os.Root, which refuses the same.
package folder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Backend reads and writes the files under one folder.
type Backend struct {
	root string
}

var _ datastore.Backend = (*Backend)(nil)

// New returns the backend of the folder root, which must be absolute.
func New(root string) (*Backend, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("datastore folder %q is not an absolute path", root)
	}
	return &Backend{root: filepath.Clean(root)}, nil
}

// Read stores the file or folder at p. A folder is read with
// blob.IngestDir, which leaves out links that lead out of it.
func (b *Backend) Read(ctx context.Context, blobs blob.Store, p string) (string, bool, error) {
	real, err := b.resolve(p)
	if err != nil {
		return "", false, err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", p, err)
	}
	switch {
	case fi.IsDir():
		d, err := blob.IngestDir(ctx, blobs, real)
		return d, true, err
	case fi.Mode().IsRegular():
		d, err := ingestFile(ctx, blobs, real, path.Base(p))
		return d, false, err
	}
	return "", false, fmt.Errorf("read %s: not a regular file or a folder", p)
}

// resolve returns the real path of p, following links, and refuses one
// that leaves the folder. Missing files match store.ErrNotFound.
func (b *Backend) resolve(p string) (string, error) {
	root, err := filepath.EvalSymlinks(b.root)
	if err != nil {
		return "", fmt.Errorf("datastore folder %s: %w", b.root, err)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(p)))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("nothing at path %q of the datastore: %w", p, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return "", fmt.Errorf("path %q: %w", p, datastore.ErrEscape)
	}
	return real, nil
}

// ingestFile stores the file at real and a tree holding it as name.
func ingestFile(ctx context.Context, blobs blob.Store, real, name string) (string, error) {
	f, err := os.Open(real)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	d, n, err := blobs.Put(ctx, f)
	if err != nil {
		return "", fmt.Errorf("store %s: %w", name, err)
	}
	mode := blob.ModeFile
	if fi.Mode().Perm()&0o111 != 0 {
		mode = blob.ModeExec
	}
	return blob.PutTree(ctx, blobs, blob.Tree{Entries: []blob.Entry{{Path: name, Digest: d, Size: n, Mode: mode}}})
}

// Write puts the tree's files under p (or its one file at p). Each file
// is written to a temporary name and renamed, so a reader never sees half
// a file.
func (b *Backend) Write(ctx context.Context, blobs blob.Store, p, digest string, asFile bool) error {
	t, err := blob.GetTree(ctx, blobs, digest)
	if err != nil {
		return fmt.Errorf("read output files: %w", err)
	}
	if asFile && (len(t.Entries) != 1 || p == "") {
		return fmt.Errorf("write %q: a uri_file output needs one file and a file path, got %d files", p, len(t.Entries))
	}
	root, err := os.OpenRoot(b.root)
	if err != nil {
		return fmt.Errorf("open datastore folder: %w", err)
	}
	defer root.Close()
	for _, e := range t.Entries {
		dest := path.Join(p, e.Path)
		if asFile {
			dest = p
		}
		if err := writeFile(ctx, root, blobs, dest, e); err != nil {
			return fmt.Errorf("write %s: %w", dest, escapeErr(err))
		}
	}
	return nil
}

func writeFile(ctx context.Context, root *os.Root, blobs blob.Store, dest string, e blob.Entry) (err error) {
	if dir := path.Dir(dest); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	src, err := blobs.Open(ctx, e.Digest)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := path.Join(path.Dir(dest), ".ciel-tmp-"+path.Base(dest))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(e.Mode))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = root.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Rename(tmp, dest)
}

// escapeErr marks an os.Root refusal (a link leading out of the folder)
// as datastore.ErrEscape.
func escapeErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "path escapes from parent") {
		return fmt.Errorf("%w: %w", datastore.ErrEscape, err)
	}
	return err
}
