// Package s3 is the files.FS of a bucket (or a folder of one) of an
// S3-compatible object store, through minio-go. Folders are key prefixes
// ending in "/"; a file being written is a multipart upload that becomes
// an object only when it completes, so nothing half-written is ever
// visible. Keys that are not safe relative paths are left out of List.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/ciel-mlops/ciel/internal/s3client"
	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
)

// DefaultPartSize is the size of each part of an upload, which is also
// what one file being written holds in memory (S3's smallest is 5 MiB;
// 16 MiB parts allow objects up to 160 GB).
const DefaultPartSize = 16 << 20

// Config locates a bucket and names the environment variables holding its
// keys, as a datastore of type s3 does.
type Config struct {
	// Endpoint is the store's URL: http(s)://host[:port].
	Endpoint string
	Bucket   string
	// Prefix is the folder of the bucket that is the root ("" for the
	// whole bucket).
	Prefix string
	Region string
	// AccessKeyIDEnv and SecretAccessKeyEnv name environment variables;
	// both empty means anonymous requests.
	AccessKeyIDEnv     string
	SecretAccessKeyEnv string
	// Getenv reads them; nil is os.Getenv.
	Getenv func(string) string
	// PartSize is the upload part size; 0 is DefaultPartSize.
	PartSize uint64
}

// FS is a bucket prefix as a files.FS.
type FS struct {
	cl       *minio.Client
	bucket   string
	prefix   string
	partSize uint64
}

var _ files.FS = (*FS)(nil)

// New returns the FS of cfg; it makes no request.
func New(cfg Config) (*FS, error) {
	prefix, err := files.Clean(strings.Trim(cfg.Prefix, "/"))
	if err != nil {
		return nil, fmt.Errorf("prefix: %w", err)
	}
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
	ps := cfg.PartSize
	if ps == 0 {
		ps = DefaultPartSize
	}
	return &FS{cl: cl, bucket: cfg.Bucket, prefix: prefix, partSize: ps}, nil
}

// key is the object key of the clean path p.
func (s *FS) key(p string) string {
	switch {
	case s.prefix == "":
		return p
	case p == "":
		return s.prefix
	}
	return s.prefix + "/" + p
}

// dirKey is the prefix of everything inside folder p.
func (s *FS) dirKey(p string) string {
	if k := s.key(p); k != "" {
		return k + "/"
	}
	return ""
}

// edge turns S3's "no such key/bucket" into fs.ErrNotExist.
func edge(op, p string, err error) error {
	if err == nil {
		return nil
	}
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		return fmt.Errorf("%s %s: %w", op, p, fs.ErrNotExist)
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

// Open opens the object at p. The reader also implements io.ReaderAt and
// io.Seeker.
func (s *FS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	c, err := files.Clean(p)
	if err != nil {
		return nil, err
	}
	if c == "" {
		return nil, fmt.Errorf("open: the root is a folder")
	}
	if _, err := s.cl.StatObject(ctx, s.bucket, s.key(c), minio.StatObjectOptions{}); err != nil {
		return nil, edge("open", p, err)
	}
	obj, err := s.cl.GetObject(ctx, s.bucket, s.key(c), minio.GetObjectOptions{})
	if err != nil {
		return nil, edge("open", p, err)
	}
	return obj, nil
}

// Stat describes the object at p, or the folder p when objects lie under
// it (the root always exists while the bucket does).
func (s *FS) Stat(ctx context.Context, p string) (files.Info, error) {
	c, err := files.Clean(p)
	if err != nil {
		return files.Info{}, err
	}
	if c != "" {
		oi, err := s.cl.StatObject(ctx, s.bucket, s.key(c), minio.StatObjectOptions{})
		if err == nil {
			return files.Info{Name: path.Base(c), Path: c, Size: oi.Size, ModTime: oi.LastModified.UTC()}, nil
		}
		if e := edge("stat", p, err); !errors.Is(e, fs.ErrNotExist) {
			return files.Info{}, e
		}
	} else {
		ok, err := s.cl.BucketExists(ctx, s.bucket)
		if err != nil {
			return files.Info{}, edge("stat", p, err)
		}
		if !ok {
			return files.Info{}, fmt.Errorf("stat bucket %s: %w", s.bucket, fs.ErrNotExist)
		}
		return files.Info{Dir: true}, nil
	}
	opts := minio.ListObjectsOptions{Prefix: s.dirKey(c), Recursive: true, MaxKeys: 1}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first object under p, if any, makes p a folder.
	obj, ok := <-s.cl.ListObjects(lctx, s.bucket, opts)
	switch {
	case !ok:
		return files.Info{}, fmt.Errorf("stat %s: %w", p, fs.ErrNotExist)
	case obj.Err != nil:
		return files.Info{}, edge("stat", p, obj.Err)
	}
	return files.Info{Name: path.Base(c), Path: c, Dir: true}, nil
}

// List returns the objects and folders directly under folder p, by name.
func (s *FS) List(ctx context.Context, p string) ([]files.Info, error) {
	c, err := files.Clean(p)
	if err != nil {
		return nil, err
	}
	dk := s.dirKey(c)
	var out []files.Info
	for obj := range s.cl.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: dk}) {
		if obj.Err != nil {
			return nil, edge("list", p, obj.Err)
		}
		rel := strings.TrimPrefix(obj.Key, dk)
		dir := strings.HasSuffix(rel, "/")
		rel = strings.TrimSuffix(rel, "/")
		if rel == "" || strings.Contains(rel, "/") {
			continue // the folder's own marker
		}
		if _, err := files.Clean(rel); err != nil {
			continue // a key that is no safe path
		}
		i := files.Info{Name: rel, Path: path.Join(c, rel), Dir: dir}
		if !dir {
			i.Size, i.ModTime = obj.Size, obj.LastModified.UTC()
		}
		out = append(out, i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) == 0 {
		if _, err := s.Stat(ctx, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Delete removes the object at p, or every object under folder p (with
// recursive; without, only an empty folder's marker).
func (s *FS) Delete(ctx context.Context, p string, recursive bool) error {
	c, err := files.Clean(p)
	if err != nil {
		return err
	}
	if c != "" {
		_, err := s.cl.StatObject(ctx, s.bucket, s.key(c), minio.StatObjectOptions{})
		if err == nil {
			return edge("delete", p, s.cl.RemoveObject(ctx, s.bucket, s.key(c), minio.RemoveObjectOptions{}))
		}
		if e := edge("delete", p, err); !errors.Is(e, fs.ErrNotExist) {
			return e
		}
	}
	info, err := s.Stat(ctx, c)
	if err != nil {
		return err
	}
	if !info.Dir {
		return nil
	}
	if !recursive {
		kids, err := s.List(ctx, c)
		if err != nil {
			return err
		}
		if len(kids) > 0 {
			return fmt.Errorf("delete %s: folder not empty", p)
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objs := make(chan minio.ObjectInfo)
	var listErr error
	go func() {
		defer close(objs)
		for obj := range s.cl.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s.dirKey(c), Recursive: true}) {
			if obj.Err != nil {
				listErr = obj.Err
				return
			}
			select {
			case objs <- obj:
			case <-lctx.Done():
				return
			}
		}
	}()
	for e := range s.cl.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		if e.Err != nil {
			cancel()
			for range objs {
			}
			return edge("delete", e.ObjectName, e.Err)
		}
	}
	if listErr != nil {
		return edge("delete", p, listErr)
	}
	return nil
}

// Create starts an upload of p that streams parts as they fill.
func (s *FS) Create(ctx context.Context, p string) (files.File, error) {
	c, err := files.Clean(p)
	if err != nil {
		return nil, err
	}
	if c == "" {
		return nil, fmt.Errorf("create: a file needs a name")
	}
	uctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	u := &upload{pw: pw, cancel: cancel, done: make(chan error, 1), path: c}
	go func() {
		_, err := s.cl.PutObject(uctx, s.bucket, s.key(c), pr, -1,
			minio.PutObjectOptions{PartSize: s.partSize, ContentType: "application/octet-stream"})
		pr.CloseWithError(err) // unblocks a writer when the upload failed
		u.done <- err
	}()
	return u, nil
}

// errAborted ends an aborted upload's stream, so minio-go aborts the
// multipart upload rather than completing it.
var errAborted = errors.New("upload aborted")

// upload is an object being written through a pipe to PutObject.
type upload struct {
	pw       *io.PipeWriter
	cancel   context.CancelFunc
	done     chan error
	path     string
	finished bool
}

func (u *upload) Write(b []byte) (int, error) {
	n, err := u.pw.Write(b)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", u.path, err)
	}
	return n, nil
}

// Commit ends the stream and waits for the upload to complete.
func (u *upload) Commit() error {
	if u.finished {
		return errors.New("commit: file already committed or aborted")
	}
	u.finished = true
	u.pw.Close()
	err := <-u.done
	u.cancel()
	if err != nil {
		return edge("commit", u.path, err)
	}
	return nil
}

// Abort fails the stream, which aborts the multipart upload.
func (u *upload) Abort() error {
	if u.finished {
		return nil
	}
	u.finished = true
	u.pw.CloseWithError(errAborted)
	u.cancel()
	<-u.done
	return nil
}
