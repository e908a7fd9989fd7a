// Package s3 is the blob.Store that keeps blobs as objects of a bucket of
// an S3-compatible object store (Amazon S3, MinIO, SeaweedFS, moto, ...),
// through minio-go, for a team server whose steps and replicas share one
// datastore. Keys follow blob/local's layout, PREFIX/sha256/ab/<hex>, so a
// local store's folder copies into a bucket as it is.
//
// An object under a digest key only ever holds the bytes of that digest: a
// blob is hashed before it gets that key. A small blob (under the part
// size) is read into memory, hashed and PUT under its key; a larger one
// streams to a temporary key PREFIX/tmp/<random> as a multipart upload,
// hashed on the way, and is then copied server-side under its key. A crash
// leaves at worst a temporary object (or an unfinished upload), which a
// later Open removes once it is a day old. The package is not the S3
// datastore (internal/datastore/s3), whose keys are a user's file paths.
package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/s3client"
)

var _ blob.Store = (*Store)(nil)

// Store is a blob.Store over one prefix of one bucket. Several Stores, in
// one or several processes, may share it.
type Store struct {
	cl       *minio.Client
	core     minio.Core
	bucket   string
	prefix   string // "" or ending in "/"
	partSize int64
	desc     string // Config.String

	// hasEmptyTree is set once the empty tree's manifest is known to be
	// stored: every step without outputs asks.
	hasEmptyTree atomic.Bool
}

// Open returns the Store of cfg after checking that the bucket answers and
// exists, and removes temporary objects older than cfg.StaleAfter (neither
// when cfg.Ephemeral).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", cfg, err)
	}
	creds := cfg.Credentials()
	cl, err := s3client.New(cfg.Endpoint, cfg.Region, creds)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", cfg, err)
	}
	s := &Store{cl: cl, core: minio.Core{Client: cl}, bucket: cfg.Bucket, partSize: cfg.PartSize, desc: cfg.String()}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if cfg.Prefix != "" {
		s.prefix = cfg.Prefix + "/"
	}
	if cfg.Ephemeral {
		return s, nil
	}
	ok, err := cl.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: reach the bucket: %w", cfg, err)
	}
	if !ok {
		return nil, fmt.Errorf("open blob store %s: bucket %q does not exist; create it first (aws s3 mb s3://%s, mc mb, ...)",
			cfg, cfg.Bucket, cfg.Bucket)
	}
	stale := cfg.StaleAfter
	if stale == 0 {
		stale = DefaultStaleAfter
	}
	s.sweep(ctx, time.Now().Add(-stale))
	return s, nil
}

// String names the bucket and endpoint, never the keys.
func (s *Store) String() string { return s.desc }

// key returns the object key of a digest, after checking it strictly.
func (s *Store) key(digest string) (string, error) {
	h, err := blob.ParseDigest(digest)
	if err != nil {
		return "", err
	}
	return s.prefix + "sha256/" + h[:2] + "/" + h, nil
}

// tmpKey returns a fresh temporary key.
func (s *Store) tmpKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return s.prefix + "tmp/" + hex.EncodeToString(b[:])
}

// Open returns the blob's content. The content is checked against the
// digest as it is read: a reader reaching the end of bytes that do not
// hash to it gets an error instead of io.EOF. blob.ErrNotFound when absent.
func (s *Store) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	key, err := s.key(digest)
	if err != nil {
		return nil, err
	}
	obj, err := s.cl.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", digest, edgeErr(err))
	}
	// Stat sends the GET, whose body the reads then take: one request.
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, fmt.Errorf("open blob %s: %w", digest, edgeErr(err))
	}
	return newVerifier(obj, digest, info.Size), nil
}

// Has reports whether the blob is stored, at the cost of one HEAD.
func (s *Store) Has(ctx context.Context, digest string) (bool, error) {
	key, err := s.key(digest)
	if err != nil {
		return false, err
	}
	if digest == blob.EmptyTreeDigest && s.hasEmptyTree.Load() {
		return true, nil
	}
	ok, err := s.exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("blob %s: %w", digest, err)
	}
	if ok && digest == blob.EmptyTreeDigest {
		s.hasEmptyTree.Store(true)
	}
	return ok, nil
}

// exists HEADs key.
func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	_, err := s.cl.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, edgeErr(err)
	}
	return true, nil
}

// sweep removes temporary objects and unfinished uploads started before
// cutoff: the leftovers of Puts that crashed. It is best effort: a store
// whose keys may not list or delete still works.
func (s *Store) sweep(ctx context.Context, cutoff time.Time) {
	tmp := s.prefix + "tmp/"
	for obj := range s.cl.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: tmp, Recursive: true}) {
		if obj.Err != nil {
			break
		}
		if obj.LastModified.Before(cutoff) {
			_ = s.cl.RemoveObject(ctx, s.bucket, obj.Key, minio.RemoveObjectOptions{})
		}
	}
	for up := range s.cl.ListIncompleteUploads(ctx, s.bucket, tmp, true) {
		if up.Err != nil {
			break
		}
		if up.Initiated.Before(cutoff) {
			_ = s.core.AbortMultipartUpload(ctx, s.bucket, up.Key, up.UploadID)
		}
	}
}
