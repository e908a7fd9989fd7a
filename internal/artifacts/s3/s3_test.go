package s3_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/artifacts/artifactstest"
	arts3 "github.com/ciel-mlops/ciel/internal/artifacts/s3"
	"github.com/ciel-mlops/ciel/internal/s3client"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	artifactstest.Run(t, func(t *testing.T) artifactstest.Store {
		s, err := arts3.Open(context.Background(), arts3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t), Prefix: "p/mlartifacts", AccessKeyID: "testing", SecretAccessKey: "testing-secret"}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenRefusesAMissingBucket(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	if _, err := arts3.Open(context.Background(), arts3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, Bucket: "no-such-bucket", AccessKeyID: "testing", SecretAccessKey: "testing-secret"}}); err == nil {
		t.Error("opened a bucket that does not exist")
	}
}

// TestPresignedURLsNameThePublicEndpoint: a server that reaches the store
// on one address hands clients URLs of the address they reach it at,
// signed for it, and they work there.
func TestPresignedURLsNameThePublicEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := s3test.Start(t)
	public := strings.Replace(srv.Endpoint, "127.0.0.1", "localhost", 1)
	s, err := arts3.Open(ctx, arts3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, PublicEndpoint: public, Bucket: srv.Bucket(t), AccessKeyID: "testing", SecretAccessKey: "testing-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := s.CreateUpload(ctx, "ws", "0/r/artifacts/one.bin", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(up.PartURLs[0], public+"/") {
		t.Fatalf("part URL %s, want one of %s", up.PartURLs[0], public)
	}
	req, _ := http.NewRequest("PUT", up.PartURLs[0], strings.NewReader("one part"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT to the public URL: %d", resp.StatusCode)
	}
	if err := s.CompleteUpload(ctx, "ws", "0/r/artifacts/one.bin", up.ID,
		[]artifacts.Part{{Number: 1, ETag: resp.Header.Get("ETag")}}); err != nil {
		t.Fatal(err)
	}
	u, size, err := s.DownloadURL(ctx, "ws", "0/r/artifacts/one.bin")
	if err != nil || size != 8 || !strings.HasPrefix(u, public+"/") {
		t.Fatalf("download URL %s, %d bytes, %v", u, size, err)
	}
	resp, err = http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(got) != "one part" {
		t.Errorf("GET the public URL: %d %q", resp.StatusCode, got)
	}
	if _, _, err := s.DownloadURL(ctx, "ws", "0/r/artifacts/none.bin"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("download URL of a missing file: %v", err)
	}
}
