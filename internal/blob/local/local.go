// Package local is the blob.Store that keeps blobs as read-only files in a
// folder on the local disk: Dir/sha256/ab/<hex> for digest sha256:ab<...>.
// It is for a single machine (the server and the steps it runs); it is not a
// cache or a network store.
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/ciel-mlops/ciel/internal/blob"
)

var (
	_ blob.Store       = (*Store)(nil)
	_ blob.LocalPather = (*Store)(nil)
)

// Config configures a Store.
type Config struct {
	// Dir holds the blobs; it is created when missing.
	Dir string
}

// Store is a blob.Store over a local folder. Blobs are written to Dir/tmp,
// fsynced and renamed into place, so a blob is either whole or absent, even
// after a crash. Several Stores, in one or several processes, may share a
// Dir: each temporary file is locked while its Put runs, and Open removes
// only those no Put holds, the leftovers of a crash.
type Store struct {
	objects string // Dir/sha256
	tmp     string // Dir/tmp

	// hasEmptyTree is set once the empty tree's manifest is known to be
	// stored, so that Has answers for it without a stat: every step without
	// outputs asks.
	hasEmptyTree atomic.Bool
}

// Open returns the Store over cfg.Dir, creating its folders.
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("open blob store: no dir")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	s := &Store{objects: filepath.Join(dir, "sha256"), tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{s.objects, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open blob store: %w", err)
		}
	}
	if err := s.sweep(); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return s, nil
}

// sweep removes the temporary files of Puts that did not finish: those
// whose lock it can take.
func (s *Store) sweep() error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(s.tmp, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue // gone already, or not ours to open
		}
		if abandoned(f) {
			os.Remove(p)
		}
		f.Close()
	}
	return nil
}

// createTemp creates a temporary file in s.tmp and locks it, so that
// another Store's sweep leaves it alone. A sweep may remove the file
// between its creation and its lock; then it tries again.
func (s *Store) createTemp() (*os.File, error) {
	for {
		f, err := os.CreateTemp(s.tmp, "put-*")
		if err != nil {
			return nil, err
		}
		if lockTemp(f) && stillNamed(f) {
			return f, nil
		}
		f.Close()
	}
}

// stillNamed reports whether f's name still leads to f.
func stillNamed(f *os.File) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(f.Name())
	return err == nil && os.SameFile(a, b)
}

// path returns the file of a blob, after checking the digest strictly.
func (s *Store) path(digest string) (string, error) {
	h, err := blob.ParseDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.objects, h[:2], h), nil
}

// Put stores the content of r. It streams r to a temporary file while hashing
// it; when the blob is already stored the temporary file is dropped unsynced,
// otherwise it is fsynced, made read-only and renamed into place, and its
// folder is fsynced.
func (s *Store) Put(ctx context.Context, r io.Reader) (digest string, size int64, err error) {
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	tmp, err := s.createTemp()
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	// The file stays open, and so locked, until it is renamed or removed.
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp.Name())
		}
		tmp.Close()
	}()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx: ctx, r: r})
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	digest = blob.DigestPrefix + sum
	sub := filepath.Join(s.objects, sum[:2])
	final := filepath.Join(sub, sum)
	if _, err := os.Lstat(final); err == nil {
		return digest, size, nil
	}
	if err := tmp.Chmod(0o400); err != nil {
		return "", 0, fmt.Errorf("put blob %s: %w", digest, err)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("put blob %s: %w", digest, err)
	}
	newSub := false
	if err := os.Mkdir(sub, 0o700); err == nil {
		newSub = true
	} else if !errors.Is(err, fs.ErrExist) {
		return "", 0, fmt.Errorf("put blob %s: %w", digest, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", 0, fmt.Errorf("put blob %s: %w", digest, err)
	}
	renamed = true
	if err := syncDir(sub); err != nil {
		return "", 0, fmt.Errorf("put blob %s: %w", digest, err)
	}
	if newSub {
		if err := syncDir(s.objects); err != nil {
			return "", 0, fmt.Errorf("put blob %s: %w", digest, err)
		}
	}
	return digest, size, nil
}

// Open returns the blob's file; blob.ErrNotFound when absent.
func (s *Store) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.path(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", digest, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", digest, err)
	}
	return f, nil
}

// Has reports whether the blob is stored, at the cost of one stat.
func (s *Store) Has(ctx context.Context, digest string) (bool, error) {
	if digest == blob.EmptyTreeDigest && s.hasEmptyTree.Load() {
		return true, nil
	}
	if _, err := s.LocalPath(digest); errors.Is(err, blob.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if digest == blob.EmptyTreeDigest {
		s.hasEmptyTree.Store(true)
	}
	return true, nil
}

// LocalPath returns the blob's read-only file; blob.ErrNotFound when absent.
// Callers copy it and never write to it or link it.
func (s *Store) LocalPath(digest string) (string, error) {
	p, err := s.path(digest)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("blob %s: %w", digest, blob.ErrNotFound)
	} else if err != nil {
		return "", fmt.Errorf("blob %s: %w", digest, err)
	}
	return p, nil
}

// syncDir fsyncs a folder so that a rename or creation in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
