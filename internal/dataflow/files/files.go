// Package files reaches the file systems a dataset's location names — a
// folder of a ciel datastore, a bucket of an S3-compatible store — through
// one small interface, so formats and activities do not care which.
//
// Paths are slash-separated and relative to the file system's root; each
// backend checks that a path stays inside it.
package files

import (
	"context"
	"io"
	"time"
)

// Info describes a file or folder.
type Info struct {
	Name    string    `json:"name"` // base name
	Path    string    `json:"path"` // relative to the root
	Size    int64     `json:"size"`
	ModTime time.Time `json:"lastModified"`
	Dir     bool      `json:"dir,omitempty"`
}

// File is a file being written. Nothing is visible at its path until Commit
// returns nil; Abort (or a crash before Commit) leaves no file there.
type File interface {
	io.Writer
	Commit() error
	Abort() error
}

// FS is a file system. Missing paths give errors wrapping
// fs.ErrNotExist; a path that leaves the root is refused. Methods may be
// called concurrently.
type FS interface {
	Open(ctx context.Context, p string) (io.ReadCloser, error)
	Create(ctx context.Context, p string) (File, error)
	Stat(ctx context.Context, p string) (Info, error)
	// List returns the direct children of folder p, by name.
	List(ctx context.Context, p string) ([]Info, error)
	// Delete removes a file, or a folder with everything in it when
	// recursive is true.
	Delete(ctx context.Context, p string, recursive bool) error
}
