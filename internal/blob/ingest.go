package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ingestWorkers bounds the files IngestDir stores at once; a Put waits mostly
// on fsync, so a few in flight hide that latency without crowding the CPUs.
const ingestWorkers = 4

// IngestDir stores every file under dir and the tree listing them, and
// returns the tree's digest. A missing or empty dir gives EmptyTreeDigest at
// the cost of a few system calls. Regular files are stored with their
// executable bit; a symbolic link is followed when it resolves to a regular
// file inside dir and skipped otherwise (links to folders, links leaving dir,
// dangling links), as are sockets, devices and pipes. Empty folders are not
// kept.
func IngestDir(ctx context.Context, s Store, dir string) (string, error) {
	empty, err := isEmptyDir(dir)
	if err != nil {
		return "", fmt.Errorf("ingest %s: %w", dir, err)
	}
	if empty {
		return PutTree(ctx, s, Tree{})
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("ingest %s: %w", dir, err)
	}
	files, err := listFiles(ctx, root)
	if err != nil {
		return "", fmt.Errorf("ingest %s: %w", dir, err)
	}
	entries := make([]Entry, len(files))
	err = parallel(ctx, len(files), ingestWorkers, func(ctx context.Context, i int) error {
		e, err := putFile(ctx, s, files[i].abs)
		if err != nil {
			return err
		}
		e.Path = files[i].rel
		entries[i] = e
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("ingest %s: %w", dir, err)
	}
	return PutTree(ctx, s, Tree{Entries: entries})
}

// IngestFile stores the file at path and a tree holding it under its base
// name, and returns the tree's digest.
func IngestFile(ctx context.Context, s Store, path string) (string, error) {
	e, err := putFile(ctx, s, path)
	if err != nil {
		return "", fmt.Errorf("ingest %s: %w", path, err)
	}
	e.Path = filepath.Base(path)
	return PutTree(ctx, s, Tree{Entries: []Entry{e}})
}

// isEmptyDir reports whether dir is missing or has no entries, and fails
// when it is not a folder.
func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, errors.New("not a directory")
	}
	names, err := f.Readdirnames(1)
	if len(names) > 0 {
		return false, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return true, nil
}

// fileRef is a file found by listFiles: its tree path and the path to read.
type fileRef struct {
	rel, abs string
}

// listFiles walks root, a path free of symbolic links, and returns the files
// IngestDir stores.
func listFiles(ctx context.Context, root string) ([]fileRef, error) {
	var files []fileRef
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		abs := p
		switch t := d.Type(); {
		case t.IsDir():
			return nil
		case t.IsRegular():
		case t&fs.ModeSymlink != 0:
			target, ok := regularInside(root, p)
			if !ok {
				return nil
			}
			abs = target
		default:
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files = append(files, fileRef{rel: filepath.ToSlash(rel), abs: abs})
		return nil
	})
	return files, err
}

// regularInside resolves the symbolic link p and reports whether it leads to
// a regular file under root.
func regularInside(root, p string) (string, bool) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	if !strings.HasPrefix(target, root+string(filepath.Separator)) {
		return "", false
	}
	fi, err := os.Stat(target)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return target, true
}

// putFile stores the regular file at path and returns its entry, without a
// Path.
func putFile(ctx context.Context, s Store, path string) (Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Entry{}, err
	}
	if !fi.Mode().IsRegular() {
		return Entry{}, fmt.Errorf("%s is not a regular file", path)
	}
	d, n, err := s.Put(ctx, f)
	if err != nil {
		return Entry{}, fmt.Errorf("put %s: %w", path, err)
	}
	mode := ModeFile
	if fi.Mode().Perm()&0o111 != 0 {
		mode = ModeExec
	}
	return Entry{Digest: d, Size: n, Mode: mode}, nil
}
