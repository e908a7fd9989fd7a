package s3_test

import (
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/filestest"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/s3"
)

func TestConformance(t *testing.T) {
	srv := filestest.StartS3(t)
	for _, prefix := range []string{"", "team/data"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			filestest.TestFS(t, func(t *testing.T) files.FS {
				fsys, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t), Prefix: prefix,
					AccessKeyIDEnv: filestest.S3KeyEnv, SecretAccessKeyEnv: filestest.S3SecretEnv, Getenv: filestest.S3Getenv, PartSize: 5 << 20})
				if err != nil {
					t.Fatal(err)
				}
				return fsys
			})
		})
	}
}
