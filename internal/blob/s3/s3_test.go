package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/blob/blobtest"
	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
	"github.com/ciel-mlops/ciel/internal/s3client"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

// testBundle is what a test of a Store on moto's S3 server gets besides it.
type testBundle struct {
	srv    *s3test.Server
	cfg    blobs3.Config
	client *minio.Client
}

// setup opens a Store on a new bucket of srv, under prefix, with S3's
// smallest parts so that blobtest's large blobs span several.
func setup(t *testing.T, srv *s3test.Server, prefix string) (*blobs3.Store, testBundle) {
	t.Helper()
	cfg := blobs3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t), Prefix: prefix, AccessKeyID: "testing", SecretAccessKey: "testing-secret"}, PartSize: 5 << 20}
	s, err := blobs3.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, testBundle{srv: srv, cfg: cfg, client: srv.Client()}
}

// keys lists the bucket's keys.
func (b testBundle) keys(t *testing.T) []string {
	t.Helper()
	var keys []string
	for obj := range b.client.ListObjects(context.Background(), b.cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

// TestS3 runs everything that needs the S3 server on one server: moto
// takes seconds to start.
func TestS3(t *testing.T) {
	srv := s3test.Start(t)
	t.Run("Conformance", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, srv, "")
		blobtest.Run(t, s)
	})
	t.Run("ConformancePrefix", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, srv, "team/ciel")
		blobtest.Run(t, s)
	})
	t.Run("Layout", func(t *testing.T) { t.Parallel(); testLayout(t, srv) })
	t.Run("Damaged", func(t *testing.T) { t.Parallel(); testDamaged(t, srv) })
	t.Run("Sweep", func(t *testing.T) { t.Parallel(); testSweep(t, srv) })
	t.Run("AbsentBucket", func(t *testing.T) { t.Parallel(); testAbsentBucket(t, srv) })
}

// testLayout: blobs, small and in parts, land under PREFIX/sha256/ab/<hex>
// and nothing else stays in the bucket (no temporary object).
func testLayout(t *testing.T, srv *s3test.Server) {
	s, b := setup(t, srv, "p/q")
	small := []byte("small blob")
	large := bytes.Repeat([]byte("0123456789abcdef"), (12<<20)/16)
	want := map[string]bool{}
	for _, data := range [][]byte{small, large} {
		d, n, err := s.Put(t.Context(), bytes.NewReader(data))
		if err != nil || d != blob.Digest(data) || n != int64(len(data)) {
			t.Fatalf("Put = %s, %d, %v", d, n, err)
		}
		h := strings.TrimPrefix(d, blob.DigestPrefix)
		want["p/q/sha256/"+h[:2]+"/"+h] = true
	}
	keys := b.keys(t)
	if len(keys) != len(want) {
		t.Errorf("bucket holds %q, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("unexpected key %s", k)
		}
	}
}

// testDamaged: an object whose bytes are not its digest's fails the read
// that reaches its end.
func testDamaged(t *testing.T, srv *s3test.Server) {
	s, b := setup(t, srv, "")
	d, _, err := s.Put(t.Context(), strings.NewReader("the real content"))
	if err != nil {
		t.Fatal(err)
	}
	h := strings.TrimPrefix(d, blob.DigestPrefix)
	bad := "tampered content"
	if _, err := b.client.PutObject(t.Context(), b.cfg.Bucket, "sha256/"+h[:2]+"/"+h, strings.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("reading a damaged blob: %v, want an error", err)
	}
}

// testSweep: Open removes stale temporary objects and leaves blobs.
func testSweep(t *testing.T, srv *s3test.Server) {
	s, b := setup(t, srv, "x")
	if _, _, err := s.Put(t.Context(), strings.NewReader("kept")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.PutObject(t.Context(), b.cfg.Bucket, "x/tmp/crashed", strings.NewReader("half"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	fresh := b.cfg
	if _, err := blobs3.Open(t.Context(), fresh); err != nil {
		t.Fatal(err)
	}
	if n := len(b.keys(t)); n != 2 {
		t.Fatalf("a fresh temporary object was swept: %d keys left", n)
	}
	stale := b.cfg
	stale.StaleAfter = -time.Hour // everything is stale
	stale.Ephemeral = true        // a step's pod never sweeps
	if _, err := blobs3.Open(t.Context(), stale); err != nil {
		t.Fatal(err)
	}
	if n := len(b.keys(t)); n != 2 {
		t.Fatalf("an ephemeral Open swept: %d keys left", n)
	}
	stale.Ephemeral = false
	if _, err := blobs3.Open(t.Context(), stale); err != nil {
		t.Fatal(err)
	}
	if keys := b.keys(t); len(keys) != 1 || !strings.HasPrefix(keys[0], "x/sha256/") {
		t.Errorf("after the sweep: %q", keys)
	}
}

// testAbsentBucket: Open says the bucket does not exist.
func testAbsentBucket(t *testing.T, srv *s3test.Server) {
	_, err := blobs3.Open(t.Context(), blobs3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, Bucket: "no-such-bucket", AccessKeyID: "testing", SecretAccessKey: "testing-secret"}})
	if err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Errorf("Open of an absent bucket: %v", err)
	}
	// Ephemeral skips the check; the first write fails instead.
	s, err := blobs3.Open(t.Context(), blobs3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, Bucket: "no-such-bucket", AccessKeyID: "testing", SecretAccessKey: "testing-secret"}, Ephemeral: true})
	if err != nil {
		t.Fatalf("ephemeral Open: %v", err)
	}
	if _, _, err := s.Put(t.Context(), strings.NewReader("x")); err == nil {
		t.Error("a write to an absent bucket succeeded")
	}
}

// TestOpenUnreachable: an endpoint where nothing listens fails Open, naming
// it and not the keys.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = blobs3.Open(ctx, blobs3.Config{Location: s3client.Location{Endpoint: "http://" + addr, Bucket: "bucket", AccessKeyID: "AKIDSECRETID", SecretAccessKey: "very-secret-key"}})
	if err == nil {
		t.Fatal("Open of an unreachable endpoint succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, addr) || !strings.Contains(msg, "reach the bucket") {
		t.Errorf("error %q should name %s", msg, addr)
	}
	if strings.Contains(msg, "very-secret-key") || strings.Contains(msg, "AKIDSECRETID") {
		t.Errorf("error %q shows a key", msg)
	}
	if errors.Is(err, blob.ErrNotFound) {
		t.Errorf("error %v is ErrNotFound", err)
	}
}
