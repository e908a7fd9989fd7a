// Package s3 is the datastore backend of a bucket of an S3-compatible
// object store (datastore type "s3"), through minio-go. A datastore's
// paths are keys under its prefix; keys that would not be safe file paths
// (with "..", empty segments, ...) are left out of what is read.
package s3

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/ciel-mlops/ciel/internal/s3client"
	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Config locates a bucket and names the environment variables holding its
// keys.
type Config struct {
	// Endpoint is the store's URL: http(s)://host[:port].
	Endpoint string
	Bucket   string
	// Prefix is the folder of the bucket the datastore is ("" its root).
	Prefix string
	Region string
	// AccessKeyIDEnv and SecretAccessKeyEnv name environment variables of
	// the server; both empty means anonymous requests.
	AccessKeyIDEnv     string
	SecretAccessKeyEnv string
	// Getenv reads them; nil is os.Getenv.
	Getenv func(string) string
}

// Backend reads and writes the objects under one prefix of one bucket.
type Backend struct {
	cl     *minio.Client
	bucket string
	prefix string
}

var _ datastore.Backend = (*Backend)(nil)

// New returns the backend of cfg. The keys are read from the environment
// now, so a missing variable is reported when the datastore is used.
func New(cfg Config) (*Backend, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	creds, err := s3client.EnvCredentials(getenv, cfg.AccessKeyIDEnv, cfg.SecretAccessKeyEnv)
	if err != nil {
		return nil, err
	}
	cl, err := s3client.New(cfg.Endpoint, cfg.Region, creds)
	if err != nil {
		return nil, err
	}
	return &Backend{cl: cl, bucket: cfg.Bucket, prefix: strings.Trim(cfg.Prefix, "/")}, nil
}

// key is the object key of p.
func (b *Backend) key(p string) string {
	switch {
	case b.prefix == "":
		return p
	case p == "":
		return b.prefix
	}
	return b.prefix + "/" + p
}

// Read stores the object at p, or every object under p/ as a folder.
func (b *Backend) Read(ctx context.Context, blobs blob.Store, p string) (string, bool, error) {
	if p != "" {
		d, err := b.readObject(ctx, blobs, b.key(p), path.Base(p))
		if err == nil {
			return d, false, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", false, err
		}
	}
	dir := b.key(p)
	if dir != "" {
		dir += "/"
	}
	var entries []blob.Entry
	for obj := range b.cl.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
		if obj.Err != nil {
			return "", false, fmt.Errorf("list %s: %w", dir, edgeErr(obj.Err))
		}
		rel := strings.TrimPrefix(obj.Key, dir)
		if strings.HasSuffix(rel, "/") {
			continue // a folder marker
		}
		if clean, err := datastore.CleanPath(rel); err != nil || clean == "" {
			continue // a key that is no safe file path
		}
		e, err := b.putObject(ctx, blobs, obj.Key)
		if err != nil {
			return "", false, err
		}
		e.Path = rel
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return "", false, fmt.Errorf("nothing at path %q of bucket %s: %w", p, b.bucket, store.ErrNotFound)
	}
	d, err := blob.PutTree(ctx, blobs, blob.Tree{Entries: entries})
	return d, true, err
}

// readObject stores one object as a tree holding it as name.
func (b *Backend) readObject(ctx context.Context, blobs blob.Store, key, name string) (string, error) {
	e, err := b.putObject(ctx, blobs, key)
	if err != nil {
		return "", err
	}
	e.Path = name
	return blob.PutTree(ctx, blobs, blob.Tree{Entries: []blob.Entry{e}})
}

// putObject copies one object into the blob store.
func (b *Backend) putObject(ctx context.Context, blobs blob.Store, key string) (blob.Entry, error) {
	if _, err := b.cl.StatObject(ctx, b.bucket, key, minio.StatObjectOptions{}); err != nil {
		return blob.Entry{}, fmt.Errorf("object %s: %w", key, edgeErr(err))
	}
	obj, err := b.cl.GetObject(ctx, b.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return blob.Entry{}, fmt.Errorf("get %s: %w", key, edgeErr(err))
	}
	defer obj.Close()
	d, n, err := blobs.Put(ctx, obj)
	if err != nil {
		return blob.Entry{}, fmt.Errorf("get %s: %w", key, edgeErr(err))
	}
	return blob.Entry{Digest: d, Size: n, Mode: blob.ModeFile}, nil
}

// Write puts each file of the tree as an object under p (or the one file
// at p).
func (b *Backend) Write(ctx context.Context, blobs blob.Store, p, digest string, asFile bool) error {
	t, err := blob.GetTree(ctx, blobs, digest)
	if err != nil {
		return fmt.Errorf("read output files: %w", err)
	}
	if asFile && (len(t.Entries) != 1 || p == "") {
		return fmt.Errorf("write %q: a uri_file output needs one file and a file path, got %d files", p, len(t.Entries))
	}
	for _, e := range t.Entries {
		key := b.key(path.Join(p, e.Path))
		if asFile {
			key = b.key(p)
		}
		if err := b.putFile(ctx, blobs, key, e); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) putFile(ctx context.Context, blobs blob.Store, key string, e blob.Entry) error {
	r, err := blobs.Open(ctx, e.Digest)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer r.Close()
	_, err = b.cl.PutObject(ctx, b.bucket, key, r, e.Size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, edgeErr(err))
	}
	return nil
}

// edgeErr turns S3's "no such key/bucket" into store.ErrNotFound.
func edgeErr(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		return fmt.Errorf("%w: %w", err, store.ErrNotFound)
	}
	return err
}
