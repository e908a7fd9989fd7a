package api

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
	"github.com/ciel-mlops/ciel/internal/s3client"
)

// TestOpenBlobsRemembers: the home records its blob store, and a server
// given another one refuses to start, before reaching it, saying how to
// start it instead.
func TestOpenBlobsRemembers(t *testing.T) {
	t.Parallel()
	bucket := &blobs3.Config{Location: s3client.Location{Endpoint: "http://127.0.0.1:1", Bucket: "team-blobs", Prefix: "ciel"}}
	log := slog.New(slog.DiscardHandler)

	t.Run("local", func(t *testing.T) {
		t.Parallel()
		home := t.TempDir()
		if _, err := openBlobs(t.Context(), Config{Home: home, Logger: log}); err != nil {
			t.Fatal(err)
		}
		if got := HomeBlob(home); got != "" {
			t.Errorf("HomeBlob = %q, want the folder", got)
		}
		_, err := openBlobs(t.Context(), Config{Home: home, Logger: log, BlobS3: bucket})
		if err == nil || !strings.Contains(err.Error(), "keeps its blobs in the folder") ||
			!strings.Contains(err.Error(), "without --blob and with CIEL_BLOB unset") {
			t.Errorf("a bucket for a home on its folder: %v", err)
		}
	})
	t.Run("older home", func(t *testing.T) {
		t.Parallel()
		home := t.TempDir()
		if err := os.Mkdir(filepath.Join(home, "blobs"), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := openBlobs(t.Context(), Config{Home: home, Logger: log, BlobS3: bucket}); err == nil {
			t.Error("a home with a blobs folder and no record took a bucket")
		}
	})
	t.Run("bucket", func(t *testing.T) {
		t.Parallel()
		home := t.TempDir()
		if err := writePrivate(filepath.Join(home, blobStoreName), []byte(`{"url":"`+bucket.URL()+`"}`)); err != nil {
			t.Fatal(err)
		}
		if got := HomeBlob(home); got != bucket.URL() {
			t.Errorf("HomeBlob = %q, want %q", got, bucket.URL())
		}
		_, err := openBlobs(t.Context(), Config{Home: home, Logger: log})
		if err == nil || !strings.Contains(err.Error(), "with --blob '"+bucket.URL()+"'") {
			t.Errorf("the folder for a home on a bucket: %v", err)
		}
		if _, err := os.Stat(filepath.Join(home, "blobs")); err == nil {
			t.Error("the refused start created the blobs folder")
		}
		other := *bucket
		other.Prefix = "other"
		if _, err := openBlobs(t.Context(), Config{Home: home, Logger: log, BlobS3: &other}); err == nil || !strings.Contains(err.Error(), "keeps its blobs in s3://") {
			t.Errorf("another prefix: %v", err)
		}
	})
}

// TestStoreIDIgnoresThePublicEndpoint: where clients reach the bucket may
// change without the home refusing its store; the bucket, endpoint and
// prefix may not.
func TestStoreIDIgnoresThePublicEndpoint(t *testing.T) {
	t.Parallel()
	base := "s3://team-bkt?endpoint=http%3A%2F%2F10.0.0.5%3A9000&prefix=ciel"
	for raw, same := range map[string]bool{
		base: true,
		base + "&public_endpoint=https%3A%2F%2Fs3.corp":                    true,
		"s3://team-bkt?endpoint=http%3A%2F%2F10.0.0.6%3A9000&prefix=ciel":  false,
		"s3://team-bkt?endpoint=http%3A%2F%2F10.0.0.5%3A9000&prefix=other": false,
	} {
		if got := storeID(raw) == storeID(base); got != same {
			t.Errorf("storeID(%s) == storeID(base): %v, want %v", raw, got, same)
		}
	}
}
