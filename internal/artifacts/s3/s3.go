// Package s3 keeps MLflow artifacts as objects of a bucket of an
// S3-compatible object store, so that several servers sharing the bucket
// serve the same files: a file rel of workspace ws is the object
// PREFIX/<ws>/<rel>. Beyond reads and writes through the server it hands
// out presigned URLs, so that a client uploads a large file's parts (and
// downloads a file) straight from the object store, never through the
// server (MLflow's proxied multipart upload, mlflow#7564). It is not the
// blob store (internal/blob/s3), whose keys are digests.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/s3client"
)

// DefaultURLExpiry is how long a presigned URL stays valid when
// Config.URLExpiry is 0: long enough for a part of a slow upload.
const DefaultURLExpiry = time.Hour

// partSize is the part size of the uploads the server makes itself (a
// PUT through the proxy of unknown length); one such upload holds one part
// in memory. 16 MiB parts allow 160 GB files.
const partSize = 16 << 20

// Config locates the artifacts' prefix of a bucket.
type Config struct {
	// Location is the bucket and the keys (never printed); its Prefix is
	// the folder holding the workspaces' roots, and presigned URLs name
	// its PublicEndpoint.
	s3client.Location
	// URLExpiry is how long presigned URLs are valid; 0 is
	// DefaultURLExpiry.
	URLExpiry time.Duration
}

// Store is an artifact root on a bucket. Its methods may be called
// concurrently, and several Stores (in several processes) may share it.
type Store struct {
	cl     *minio.Client
	signer *minio.Client // presigns for PublicEndpoint; cl when none
	core   minio.Core
	bucket string
	prefix string // "" or ending in "/"
	expiry time.Duration
}

// Open returns the Store of cfg after checking the bucket exists.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("open artifact store: a bucket is required")
	}
	cl, err := s3client.New(cfg.Endpoint, cfg.Region, cfg.Credentials())
	if err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	s := &Store{cl: cl, core: minio.Core{Client: cl}, bucket: cfg.Bucket, expiry: cfg.URLExpiry}
	if p := strings.Trim(cfg.Prefix, "/"); p != "" {
		s.prefix = p + "/"
	}
	if s.expiry <= 0 {
		s.expiry = DefaultURLExpiry
	}
	ok, err := cl.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("open artifact store s3://%s/%s: reach the bucket: %w", cfg.Bucket, s.prefix, err)
	}
	if !ok {
		return nil, fmt.Errorf("open artifact store: bucket %q does not exist", cfg.Bucket)
	}
	if s.signer, err = signer(ctx, cl, cfg); err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	return s, nil
}

// signer returns the client that presigns URLs for cfg.PublicEndpoint:
// SigV4 signs the host, so a URL for clients is signed for the host they
// use. Presigning makes no request once the region is known, so it is
// looked up here, on the endpoint the server reaches.
func signer(ctx context.Context, cl *minio.Client, cfg Config) (*minio.Client, error) {
	if cfg.PublicEndpoint == "" || cfg.PublicEndpoint == cfg.Endpoint {
		return cl, nil
	}
	region := cfg.Region
	if region == "" {
		var err error
		if region, err = cl.GetBucketLocation(ctx, cfg.Bucket); err != nil {
			return nil, fmt.Errorf("find the bucket's region: %w", err)
		}
		if region == "" {
			region = "us-east-1" // S3's answer for its first region
		}
	}
	return s3client.New(cfg.PublicEndpoint, region, cfg.Credentials())
}

// key returns the object key of rel in ws, with every element checked
// (artifacts.CheckWorkspace, artifacts.Clean): no "..", no NUL byte, no
// name that leaves the workspace's prefix. The root is PREFIX/<ws>/.
func (s *Store) key(ws, rel string) (string, error) {
	if err := artifacts.CheckWorkspace(ws); err != nil {
		return "", err
	}
	clean, err := artifacts.Clean(rel)
	if err != nil {
		return "", err
	}
	if clean == "" {
		return s.prefix + ws + "/", nil
	}
	return s.prefix + ws + "/" + clean, nil
}

// fileKey is key for a file, which is never the workspace's root.
func (s *Store) fileKey(ws, rel string) (string, error) {
	k, err := s.key(ws, rel)
	if err == nil && strings.HasSuffix(k, "/") {
		err = fmt.Errorf("%w: %q names the workspace's root, not a file", artifacts.ErrBadPath, rel)
	}
	return k, err
}

// Put uploads body (size bytes; -1 when unknown) as the file rel of ws
// and returns the size of the object it replaced. S3 makes the object
// visible whole or not at all.
func (s *Store) Put(ctx context.Context, ws, rel string, body io.Reader, size int64) (int64, error) {
	k, err := s.fileKey(ws, rel)
	if err != nil {
		return 0, err
	}
	var old int64
	if info, err := s.cl.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{}); err == nil {
		old = info.Size
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	if size < 0 || size <= partSize*10000 {
		opts.PartSize = partSize
	}
	if _, err := s.cl.PutObject(ctx, s.bucket, k, body, size, opts); err != nil {
		return 0, fmt.Errorf("store artifact %s: %w", rel, err)
	}
	return old, nil
}

// object is an open artifact; minio's Object reads ranges as it seeks.
type object struct {
	*minio.Object
	info minio.ObjectInfo
}

func (o object) Size() int64        { return o.info.Size }
func (o object) ModTime() time.Time { return o.info.LastModified }

// Open opens the file rel of ws; a missing object is an error wrapping
// fs.ErrNotExist.
func (s *Store) Open(ctx context.Context, ws, rel string) (artifacts.File, error) {
	k, err := s.fileKey(ws, rel)
	if err != nil {
		return nil, err
	}
	obj, err := s.cl.GetObject(ctx, s.bucket, k, minio.GetObjectOptions{})
	if err != nil {
		return nil, edgeErr(rel, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, edgeErr(rel, err)
	}
	return object{Object: obj, info: info}, nil
}

// List lists the folder rel of ws: the objects and common prefixes one
// level below it, by name; a file or a missing path lists as nothing.
func (s *Store) List(ctx context.Context, ws, rel string) ([]artifacts.Entry, error) {
	k, err := s.key(ws, rel)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(k, "/") {
		k += "/"
	}
	var out []artifacts.Entry
	for o := range s.cl.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: k}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list artifacts %s: %w", rel, o.Err)
		}
		name := strings.TrimPrefix(o.Key, k)
		dir := strings.HasSuffix(name, "/")
		name = strings.TrimSuffix(name, "/")
		if name == "" || strings.Contains(name, "/") {
			continue // a "folder" object some tools write, or a stray key
		}
		e := artifacts.Entry{Name: name, IsDir: dir}
		if !dir {
			e.Size = o.Size
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes the object rel of ws and every object below rel/; a
// missing one is no error. rel "" removes the workspace's every object.
func (s *Store) Delete(ctx context.Context, ws, rel string) error {
	k, err := s.key(ws, rel)
	if err != nil {
		return err
	}
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		if !strings.HasSuffix(k, "/") {
			objs <- minio.ObjectInfo{Key: k}
		}
		dir := strings.TrimSuffix(k, "/") + "/"
		for o := range s.cl.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
			if o.Err != nil {
				return
			}
			objs <- minio.ObjectInfo{Key: o.Key}
		}
	}()
	var errs []error
	for e := range s.cl.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		if e.Err != nil && minio.ToErrorResponse(e.Err).Code != "NoSuchKey" {
			errs = append(errs, fmt.Errorf("%s: %w", e.ObjectName, e.Err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete artifact %s: %w", rel, err)
	}
	return nil
}

// Usage sums the sizes of the objects of ws.
func (s *Store) Usage(ctx context.Context, ws string) (int64, error) {
	k, err := s.key(ws, "")
	if err != nil {
		return 0, err
	}
	var n int64
	for o := range s.cl.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: k, Recursive: true}) {
		if o.Err != nil {
			return 0, fmt.Errorf("measure artifacts of %s: %w", ws, o.Err)
		}
		n += o.Size
	}
	return n, nil
}

// CreateUpload starts a multipart upload of the file rel of ws in parts
// parts and returns its ID and a presigned UploadPart URL per part: the
// client PUTs the parts straight to the object store.
func (s *Store) CreateUpload(ctx context.Context, ws, rel string, parts int) (artifacts.Upload, error) {
	k, err := s.fileKey(ws, rel)
	if err != nil {
		return artifacts.Upload{}, err
	}
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, k, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return artifacts.Upload{}, fmt.Errorf("start multipart upload of %s: %w", rel, err)
	}
	up := artifacts.Upload{ID: id, PartURLs: make([]string, parts)}
	for i := range up.PartURLs {
		q := url.Values{"partNumber": {strconv.Itoa(i + 1)}, "uploadId": {id}}
		u, err := s.signer.Presign(ctx, http.MethodPut, s.bucket, k, s.expiry, q)
		if err != nil {
			_ = s.core.AbortMultipartUpload(context.WithoutCancel(ctx), s.bucket, k, id)
			return artifacts.Upload{}, fmt.Errorf("presign part %d of %s: %w", i+1, rel, err)
		}
		up.PartURLs[i] = u.String()
	}
	return up, nil
}

// CompleteUpload joins the parts of upload id into the file rel of ws.
// An unknown upload (or one of another key) wraps artifacts.ErrNoUpload;
// a part the store does not have, or a wrong ETag, wraps
// artifacts.ErrBadPart.
func (s *Store) CompleteUpload(ctx context.Context, ws, rel, id string, parts []artifacts.Part) error {
	k, err := s.fileKey(ws, rel)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%w: no parts listed", artifacts.ErrBadPart)
	}
	cps := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		cps[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i].PartNumber < cps[j].PartNumber })
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, k, id, cps, minio.PutObjectOptions{}); err != nil {
		return uploadErr("complete multipart upload of "+rel, err)
	}
	return nil
}

// AbortUpload abandons upload id of the file rel of ws and frees its
// parts; an unknown upload wraps artifacts.ErrNoUpload.
func (s *Store) AbortUpload(ctx context.Context, ws, rel, id string) error {
	k, err := s.fileKey(ws, rel)
	if err != nil {
		return err
	}
	if err := s.core.AbortMultipartUpload(ctx, s.bucket, k, id); err != nil {
		return uploadErr("abort multipart upload of "+rel, err)
	}
	return nil
}

// DownloadURL returns a presigned GET URL of the file rel of ws and its
// size; a missing object wraps fs.ErrNotExist.
func (s *Store) DownloadURL(ctx context.Context, ws, rel string) (string, int64, error) {
	k, err := s.fileKey(ws, rel)
	if err != nil {
		return "", 0, err
	}
	info, err := s.cl.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{})
	if err != nil {
		return "", 0, edgeErr(rel, err)
	}
	u, err := s.signer.PresignedGetObject(ctx, s.bucket, k, s.expiry, url.Values{
		"response-content-disposition": {"attachment; filename=\"" + strings.ReplaceAll(path.Base(rel), `"`, "") + "\""},
	})
	if err != nil {
		return "", 0, fmt.Errorf("presign download of %s: %w", rel, err)
	}
	return u.String(), info.Size, nil
}

// edgeErr turns the store's not-found answers into fs.ErrNotExist.
func edgeErr(rel string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	return fmt.Errorf("read artifact %s: %w", rel, err)
}

// uploadErr turns the store's answers about an upload into the shared
// sentinels.
func uploadErr(what string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchUpload":
		return fmt.Errorf("%s: %w", what, artifacts.ErrNoUpload)
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall":
		return fmt.Errorf("%s: %w: %s", what, artifacts.ErrBadPart, minio.ToErrorResponse(err).Message)
	}
	return fmt.Errorf("%s: %w", what, err)
}
