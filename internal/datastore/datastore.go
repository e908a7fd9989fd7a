// Package datastore gives jobs data that lives outside ciel's blob store:
// named datastores of a workspace (a folder on the server's machine, an
// S3-compatible bucket), the outputs of earlier jobs, and files on the web.
// It resolves the data paths Azure ML writes —
// azureml://datastores/<ds>/paths/<p>, azureml://jobs/<job>/outputs/<o>,
// http(s)://... — into trees of the blob store for steps to read, and
// writes step outputs back to datastore paths.
//
// datastore does not parse files (spec does), store metadata (a Store does),
// nor run jobs (engine does). Each kind of datastore is a Backend in its own
// package (datastore/folder, datastore/s3), opened through Config.Open.
package datastore

import (
	"context"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
)

// Datastore types ciel can reach.
const (
	// TypeLocal is a folder on the server's machine (ciel's own type).
	TypeLocal = "local"
	// TypeS3 is a bucket of an S3-compatible object store.
	TypeS3 = "s3"
)

// Datastore is a named place a workspace reads data from and writes
// outputs to. Secrets are never kept: an S3 datastore names the
// environment variables of the server that hold its keys.
type Datastore struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Path is a local datastore's folder, absolute and clean.
	Path string `json:"path,omitempty"`
	// Endpoint, Bucket, Prefix and Region locate an S3 datastore's
	// objects: Endpoint is a URL (http:// or https://), Prefix a folder
	// of the bucket ("" for its root).
	Endpoint string `json:"endpoint,omitempty"`
	Bucket   string `json:"bucket,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	Region   string `json:"region,omitempty"`
	// AccessKeyIDEnv and SecretAccessKeyEnv name the server's environment
	// variables holding an S3 datastore's keys; both empty means
	// anonymous access.
	AccessKeyIDEnv     string `json:"access_key_id_env,omitempty"`
	SecretAccessKeyEnv string `json:"secret_access_key_env,omitempty"`
	// Default marks the datastores every workspace has (workspaceblobstore
	// and the others Azure ML creates); they cannot be changed or deleted.
	Default   bool      `json:"is_default,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps datastores and the cache of files fetched from URLs.
// Methods may be called concurrently; a nil error from a write means it is
// durable.
type Store interface {
	// PutDatastore creates ds, or replaces the one of the same name
	// (keeping its CreatedAt). Errors match store.ErrNotFound when the
	// workspace does not exist.
	PutDatastore(ctx context.Context, ds Datastore) error
	// GetDatastore returns one datastore; errors match store.ErrNotFound
	// when absent.
	GetDatastore(ctx context.Context, ws, name string) (Datastore, error)
	// ListDatastores returns a workspace's datastores by name; errors match
	// store.ErrNotFound when the workspace does not exist.
	ListDatastores(ctx context.Context, ws string) ([]Datastore, error)
	// DeleteDatastore removes one; errors match store.ErrNotFound when
	// absent.
	DeleteDatastore(ctx context.Context, ws, name string) error

	// GetFetched returns the cache entry of key; errors match
	// store.ErrNotFound when there is none.
	GetFetched(ctx context.Context, key string) (Fetched, error)
	// PutFetched records (or replaces) a cache entry.
	PutFetched(ctx context.Context, f Fetched) error
}

// Fetched is a URL downloaded once into the blob store.
type Fetched struct {
	// Key is the hex sha256 of the URL, so a URL holding a token is not
	// kept in the cache.
	Key          string    `json:"key"`
	Digest       string    `json:"digest"` // tree holding the one file
	Size         int64     `json:"size"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	FetchedAt    time.Time `json:"fetched_at"`
}

// Backend reads and writes the files of one datastore. Paths are
// slash-separated, relative to the datastore's root, and already checked
// with CleanPath ("" is the root). Methods may be called concurrently.
type Backend interface {
	// Read stores the file or the folder at p in blobs and returns the
	// tree's digest (a file is a tree holding it under its base name) and
	// whether p is a folder. Errors match store.ErrNotFound when nothing
	// is at p, and ErrEscape when p leads out of the datastore.
	Read(ctx context.Context, blobs blob.Store, p string) (digest string, dir bool, err error)
	// Write puts the files of the tree digest under the folder p, or,
	// with asFile, the tree's one file at p itself. Files already there
	// with other names stay.
	Write(ctx context.Context, blobs blob.Store, p, digest string, asFile bool) error
}
