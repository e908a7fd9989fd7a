package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/blob"
)

// ArtifactFiles is the shared artifact root as the registry uses it: it
// reads runs' and logged models' files from it and copies versions' files
// into it. Paths are relative to workspace ws's root and validated by the
// store (artifacts.ErrBadPath). Methods may be called concurrently.
type ArtifactFiles interface {
	// Open opens the file rel; a missing file or a folder wraps
	// fs.ErrNotExist.
	Open(ctx context.Context, ws, rel string) (artifacts.File, error)
	// List returns the entries of folder rel; a file or a missing path
	// lists as nothing.
	List(ctx context.Context, ws, rel string) ([]artifacts.Entry, error)
	// Put stores body (size bytes) as the file rel.
	Put(ctx context.Context, ws, rel string, body io.Reader, size int64) (int64, error)
	// Delete removes the file or folder rel; a missing one is no error.
	Delete(ctx context.Context, ws, rel string) error
}

// LocalFiles is an ArtifactFiles in a local folder (artifacts/local),
// whose files the registry reads, writes and hands to endpoints in place.
type LocalFiles interface {
	Root() artifacts.Root
}

// localRoot returns the folder of the artifact root, when it is one.
func (s *Service) localRoot() (artifacts.Root, bool) {
	l, ok := s.cfg.Artifacts.(LocalFiles)
	if !ok {
		return artifacts.Root{}, false
	}
	return l.Root(), true
}

// ingestStored stores the files at rel of a store that is no local
// folder (a bucket) in the datastore and returns their tree, and whether
// rel is a folder.
func (s *Service) ingestStored(ctx context.Context, ws, rel, source string) (string, bool, error) {
	if f, err := s.cfg.Artifacts.Open(ctx, ws, rel); err == nil {
		e, err := s.putStored(ctx, f, path.Base(rel))
		if err != nil {
			return "", false, fmt.Errorf("source %s: copy files: %w", source, err)
		}
		d, err := blob.PutTree(ctx, s.cfg.Blobs, blob.Tree{Entries: []blob.Entry{e}})
		return d, false, err
	} else if !errors.Is(err, fs.ErrNotExist) {
		if errors.Is(err, artifacts.ErrBadPath) {
			return "", false, invalid(fmt.Sprintf("source %q: %v", source, err))
		}
		return "", false, fmt.Errorf("source %s: %w", source, err)
	}
	var t blob.Tree
	if err := s.walkStored(ctx, ws, rel, "", &t); err != nil {
		if errors.Is(err, artifacts.ErrBadPath) {
			return "", false, invalid(fmt.Sprintf("source %q: %v", source, err))
		}
		return "", false, fmt.Errorf("source %s: copy files: %w", source, err)
	}
	if len(t.Entries) == 0 {
		return "", false, notFound(fmt.Sprintf("source %s: no artifacts at %s", source, rel))
	}
	d, err := blob.PutTree(ctx, s.cfg.Blobs, t)
	return d, true, err
}

// maxStoredFiles bounds the files one registration copies from a store.
const maxStoredFiles = 100_000

// walkStored adds the files under folder rel (sub below the folder being
// ingested) to t.
func (s *Service) walkStored(ctx context.Context, ws, rel, sub string, t *blob.Tree) error {
	entries, err := s.cfg.Artifacts.List(ctx, ws, rel)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := path.Join(sub, e.Name)
		if e.IsDir {
			if err := s.walkStored(ctx, ws, path.Join(rel, e.Name), p, t); err != nil {
				return err
			}
			continue
		}
		if len(t.Entries) >= maxStoredFiles {
			return fmt.Errorf("more than %d files", maxStoredFiles)
		}
		f, err := s.cfg.Artifacts.Open(ctx, ws, path.Join(rel, e.Name))
		if err != nil {
			return err
		}
		be, err := s.putStored(ctx, f, p)
		if err != nil {
			return err
		}
		t.Entries = append(t.Entries, be)
	}
	return nil
}

// putStored copies an open file into the datastore and closes it.
func (s *Service) putStored(ctx context.Context, f artifacts.File, p string) (blob.Entry, error) {
	defer f.Close()
	d, n, err := s.cfg.Blobs.Put(ctx, f)
	if err != nil {
		return blob.Entry{}, fmt.Errorf("put %s: %w", p, err)
	}
	return blob.Entry{Path: p, Digest: d, Size: n, Mode: blob.ModeFile}, nil
}

// placeStored writes the tree digest into a new folder of a store that is
// no local folder and returns the folder.
func (s *Service) placeStored(ctx context.Context, v Version, digest string) (string, error) {
	t, err := blob.GetTree(ctx, s.cfg.Blobs, digest)
	if err != nil {
		return "", err
	}
	rel, err := s.freeStored(ctx, v.Workspace, v.Name, v.Version)
	if err != nil {
		return "", err
	}
	for _, e := range t.Entries {
		if err := s.copyBlob(ctx, v.Workspace, path.Join(rel, e.Path), e); err != nil {
			return rel, err
		}
	}
	return rel, nil
}

func (s *Service) copyBlob(ctx context.Context, ws, rel string, e blob.Entry) error {
	rc, err := s.cfg.Blobs.Open(ctx, e.Digest)
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	defer rc.Close()
	_, err = s.cfg.Artifacts.Put(ctx, ws, rel, rc, e.Size)
	return err
}

// freeStored is freeFolder for a store that is no local folder: a folder
// nothing is stored under. Two registrations racing for one name and
// version are kept apart by the metadata store, which gives one of them
// the version.
func (s *Service) freeStored(ctx context.Context, ws, name string, version int) (string, error) {
	base := path.Join(StorageRoot, safeSegment(name), strconv.Itoa(version))
	for n := 0; n < 1000; n++ {
		rel := base
		if n > 0 {
			rel = fmt.Sprintf("%s-%d", base, n)
		}
		entries, err := s.cfg.Artifacts.List(ctx, ws, rel)
		if err != nil {
			return "", err
		}
		if len(entries) == 0 {
			return rel, nil
		}
	}
	return "", fmt.Errorf("no free folder for %s", base)
}

// cachedFiles returns a local folder holding the tree of a version whose
// files are in a store that is no local folder: endpoints and batch jobs
// run the model from local files. The folder is named for the tree's
// digest, so it is written once per content and never changes.
func (s *Service) cachedFiles(ctx context.Context, v Version) (string, error) {
	if s.cfg.CacheDir == "" {
		return "", fmt.Errorf("model %s version %d: no local folder for its files (registry CacheDir unset)", v.Name, v.Version)
	}
	hexd, err := blob.ParseDigest(v.Lineage.Digest)
	if err != nil {
		return "", fmt.Errorf("model %s version %d: %w", v.Name, v.Version, err)
	}
	dir := filepath.Join(s.cfg.CacheDir, hexd)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(s.cfg.CacheDir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(s.cfg.CacheDir, ".tmp-")
	if err != nil {
		return "", err
	}
	if err := blob.Materialize(ctx, s.cfg.Blobs, v.Lineage.Digest, tmp, false); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr == nil { // another call was first
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}
