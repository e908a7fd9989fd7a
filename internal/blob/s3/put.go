package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/blob"
)

// maxParts is S3's most parts of one upload.
const maxParts = 10000

// contentType is every blob's.
const contentType = "application/octet-stream"

// Put stores the content of r and returns its digest and size. It holds at
// most one part (Config.PartSize) of r in memory. A blob already stored is
// not written again; two Puts of the same new content may both write it,
// with the same bytes. The blob is durable once S3 acknowledges the write,
// which is when Put returns.
func (s *Store) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	buf, eof, err := fill(nil, r, s.partSize)
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	if eof {
		return s.putSmall(ctx, buf)
	}
	return s.putLarge(ctx, buf, r)
}

// fill reads up to n bytes of r into buf, replacing what it held, and
// reports whether r ended before n bytes. buf grows by doubling from 64 KiB
// to at most n bytes, so a small blob costs little memory and a large one
// exactly a part.
func fill(buf []byte, r io.Reader, n int64) ([]byte, bool, error) {
	buf = buf[:0]
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(max(2*int64(cap(buf)), 64<<10), n))
			copy(grown, buf)
			buf = grown
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

// putSmall stores content read whole: it is hashed first, then PUT under
// its key unless there.
func (s *Store) putSmall(ctx context.Context, b []byte) (string, int64, error) {
	digest := blob.Digest(b)
	key, _ := s.key(digest) // a digest blob made
	ok, err := s.exists(ctx, key)
	if err != nil {
		return "", 0, fmt.Errorf("put blob %s: %w", digest, err)
	}
	if !ok {
		_, err := s.cl.PutObject(ctx, s.bucket, key, bytes.NewReader(b), int64(len(b)),
			minio.PutObjectOptions{ContentType: contentType, DisableMultipart: true})
		if err != nil {
			return "", 0, fmt.Errorf("put blob %s: %w", digest, edgeErr(err))
		}
	}
	if digest == blob.EmptyTreeDigest {
		s.hasEmptyTree.Store(true)
	}
	return digest, int64(len(b)), nil
}

// putLarge streams a blob larger than one part to a temporary key as a
// multipart upload, hashing it on the way, then copies it server-side to
// its key unless there and removes the temporary object. first holds the
// first part, already read from r.
func (s *Store) putLarge(ctx context.Context, first []byte, r io.Reader) (string, int64, error) {
	tmp := s.tmpKey()
	h := sha256.New()
	info, size, err := s.upload(ctx, tmp, first, r, h)
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	defer func() {
		// Removed even when ctx is done; else the next Open's sweep
		// removes it.
		rm, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = s.cl.RemoveObject(rm, s.bucket, tmp, minio.RemoveObjectOptions{})
	}()
	if info.Size != size {
		return "", 0, fmt.Errorf("put blob: the store holds %d bytes of the %d sent", info.Size, size)
	}
	digest := blob.DigestPrefix + hex.EncodeToString(h.Sum(nil))
	key, _ := s.key(digest)
	ok, err := s.exists(ctx, key)
	if err != nil {
		return "", 0, fmt.Errorf("put blob %s: %w", digest, err)
	}
	if ok {
		return digest, size, nil
	}
	dst := minio.CopyDestOptions{Bucket: s.bucket, Object: key}
	src := minio.CopySrcOptions{Bucket: s.bucket, Object: tmp, MatchETag: info.ETag}
	if size <= maxPartSize { // one CopyObject copies up to 5 GiB
		_, err = s.cl.CopyObject(ctx, dst, src)
	} else {
		_, err = s.cl.ComposeObject(ctx, dst, src)
	}
	if err != nil {
		return "", 0, fmt.Errorf("put blob %s: copy into place: %w", digest, edgeErr(err))
	}
	return digest, size, nil
}

// upload sends first and then the rest of r, part by part, to key and
// writes every byte to h. The upload is aborted when it fails.
func (s *Store) upload(ctx context.Context, key string, buf []byte, r io.Reader, h hash.Hash) (info minio.UploadInfo, size int64, err error) {
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return info, 0, fmt.Errorf("start upload: %w", edgeErr(err))
	}
	defer func() {
		if err != nil {
			ab, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = s.core.AbortMultipartUpload(ab, s.bucket, key, id)
		}
	}()
	var parts []minio.CompletePart
	for n := 1; len(buf) > 0; n++ {
		if n > maxParts {
			return info, 0, fmt.Errorf("blob over %d parts of %d bytes", maxParts, s.partSize)
		}
		h.Write(buf)
		// Only the last part may be under S3's 5 MiB, and it is: a part
		// is short only when r has ended.
		p, err := s.core.PutObjectPart(ctx, s.bucket, key, id, n, bytes.NewReader(buf), int64(len(buf)), minio.PutObjectPartOptions{})
		if err != nil {
			return info, 0, fmt.Errorf("upload part %d: %w", n, edgeErr(err))
		}
		parts = append(parts, completePart(p))
		size += int64(len(buf))
		if buf, _, err = fill(buf, r, s.partSize); err != nil {
			return info, 0, fmt.Errorf("read part %d: %w", n+1, err)
		}
	}
	info, err = s.core.CompleteMultipartUpload(ctx, s.bucket, key, id, parts, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return info, 0, fmt.Errorf("complete upload: %w", edgeErr(err))
	}
	if info.Size == 0 {
		// Not every server reports the size on completion.
		st, err := s.cl.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
		if err != nil {
			return info, 0, fmt.Errorf("stat upload: %w", edgeErr(err))
		}
		info.Size, info.ETag = st.Size, st.ETag
	}
	return info, size, nil
}

// completePart is the CompleteMultipartUpload entry of an uploaded part.
func completePart(p minio.ObjectPart) minio.CompletePart {
	return minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag,
		ChecksumCRC32: p.ChecksumCRC32, ChecksumCRC32C: p.ChecksumCRC32C, ChecksumSHA1: p.ChecksumSHA1,
		ChecksumSHA256: p.ChecksumSHA256, ChecksumCRC64NVME: p.ChecksumCRC64NVME}
}

// verifier hashes a blob as it is read and fails the read that reaches
// its end when the bytes are not the digest's.
type verifier struct {
	rc     io.ReadCloser
	h      hash.Hash
	digest string
	want   int64 // the object's size
	n      int64
}

func newVerifier(rc io.ReadCloser, digest string, size int64) *verifier {
	return &verifier{rc: rc, h: sha256.New(), digest: digest, want: size}
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if errors.Is(err, io.EOF) {
		if got := blob.DigestPrefix + hex.EncodeToString(v.h.Sum(nil)); got != v.digest || v.n != v.want {
			return n, fmt.Errorf("read blob %s: the store's %d bytes hash to %s: the bucket holds a damaged object", v.digest, v.n, got)
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.rc.Close() }

// isNotFound reports whether S3 said there is no such key.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NotFound":
		return true
	}
	return false
}

// edgeErr turns S3's "no such key" into blob.ErrNotFound.
func edgeErr(err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%w: %w", err, blob.ErrNotFound)
	}
	return err
}
