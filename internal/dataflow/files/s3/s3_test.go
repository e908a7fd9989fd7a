package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/filestest"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/s3"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	for _, prefix := range []string{"", "team/data"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			filestest.TestFS(t, func(t *testing.T) files.FS {
				fsys, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t), Prefix: prefix,
					AccessKeyIDEnv: s3test.KeyEnv, SecretAccessKeyEnv: s3test.SecretEnv, Getenv: s3test.Getenv, PartSize: 5 << 20})
				if err != nil {
					t.Fatal(err)
				}
				return fsys
			})
		})
	}
}

// TestAbortLeavesNoUpload checks that an aborted write of more than one
// part leaves neither an object nor an incomplete multipart upload.
func TestAbortLeavesNoUpload(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	fsys, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, AccessKeyIDEnv: s3test.KeyEnv,
		SecretAccessKeyEnv: s3test.SecretEnv, Getenv: s3test.Getenv, PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := fsys.Create(ctx, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 12 { // two full parts uploaded, a third begun
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	for u := range srv.Client().ListIncompleteUploads(ctx, bucket, "", true) {
		t.Errorf("incomplete upload left: %+v", u)
	}
	if _, err := fsys.Stat(ctx, "big.bin"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("aborted object exists: %v", err)
	}
}
