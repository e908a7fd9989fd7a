// Package blob is ciel's content-addressed datastore: every file is stored once
// under its sha256, and a folder is a tree manifest (itself a blob) listing its
// files. Code snapshots, data assets and step outputs are all trees, named by
// the digest of their manifest, so identical content is stored once and a
// reuse check is a comparison of digests.
//
// blob knows nothing of jobs or workspaces. Backends live one per package:
// blob/local (a folder, the default) and blob/s3 (a bucket, for a team
// server); blobtest is the suite both pass. Code using a Store streams
// through Open and Put; LocalPather is only a faster path where a store
// has one.
package blob

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned when no blob has the digest.
var ErrNotFound = errors.New("blob not found")

// Store holds blobs by digest ("sha256:<64 hex>"). All methods may be called
// concurrently.
type Store interface {
	// Put stores the content of r and returns its digest and size. Storing
	// content that is already there is cheap and returns the same digest.
	// The blob is durable (fsynced) when Put returns.
	Put(ctx context.Context, r io.Reader) (digest string, size int64, err error)
	// Open returns the content of a blob; ErrNotFound when absent.
	Open(ctx context.Context, digest string) (io.ReadCloser, error)
	// Has reports whether a blob is stored.
	Has(ctx context.Context, digest string) (bool, error)
}

// LocalPather is implemented by stores that keep blobs as local files, so
// callers can copy or link them without streaming.
type LocalPather interface {
	// LocalPath returns the path of the blob's file; ErrNotFound when absent.
	LocalPath(digest string) (string, error)
}
