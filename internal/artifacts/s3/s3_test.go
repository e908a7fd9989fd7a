package s3_test

import (
	"context"
	"testing"

	"github.com/ciel-mlops/ciel/internal/artifacts/artifactstest"
	arts3 "github.com/ciel-mlops/ciel/internal/artifacts/s3"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	artifactstest.Run(t, func(t *testing.T) artifactstest.Store {
		s, err := arts3.Open(context.Background(), arts3.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t),
			Prefix: "p/mlartifacts", AccessKeyID: "testing", SecretAccessKey: "testing-secret"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenRefusesAMissingBucket(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	if _, err := arts3.Open(context.Background(), arts3.Config{Endpoint: srv.Endpoint, Bucket: "no-such-bucket",
		AccessKeyID: "testing", SecretAccessKey: "testing-secret"}); err == nil {
		t.Error("opened a bucket that does not exist")
	}
}
