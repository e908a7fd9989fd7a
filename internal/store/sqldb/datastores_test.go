package sqldb

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/store"
)

func TestDatastores(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	for _, ws := range []string{"ws", "ws2"} {
		if err := s.CreateWorkspace(ctx, store.Workspace{Name: ws}); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s3 := datastore.Datastore{Workspace: "ws", Name: "bucket", Type: "s3", Endpoint: "http://h:9000", Bucket: "data",
		Prefix: "a/b", Region: "eu", AccessKeyIDEnv: "K", SecretAccessKeyEnv: "S", Tags: map[string]string{"t": "1"}, CreatedAt: created}
	local := datastore.Datastore{Workspace: "ws", Name: "lake", Type: "local", Path: "/srv/lake", Description: "d", CreatedAt: created}
	for _, ds := range []datastore.Datastore{s3, local} {
		if err := s.PutDatastore(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetDatastore(ctx, "ws", "bucket")
	if err != nil || got.Endpoint != s3.Endpoint || got.Prefix != "a/b" || got.SecretAccessKeyEnv != "S" || got.Tags["t"] != "1" || !got.CreatedAt.Equal(created) {
		t.Fatalf("get: %+v, %v", got, err)
	}
	// Replacing keeps the creation time.
	local.Path, local.CreatedAt = "/srv/other", time.Now()
	if err := s.PutDatastore(ctx, local); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetDatastore(ctx, "ws", "lake"); got.Path != "/srv/other" || !got.CreatedAt.Equal(created) {
		t.Fatalf("replaced: %+v", got)
	}
	list, err := s.ListDatastores(ctx, "ws")
	if err != nil || len(list) != 2 || list[0].Name != "bucket" || list[1].Name != "lake" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if list, err = s.ListDatastores(ctx, "ws2"); err != nil || len(list) != 0 {
		t.Fatalf("list of an empty workspace: %+v, %v", list, err)
	}
	if _, err := s.ListDatastores(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("list of a missing workspace: %v", err)
	}
	if err := s.PutDatastore(ctx, datastore.Datastore{Workspace: "nope", Name: "x", Type: "local"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("put in a missing workspace: %v", err)
	}
	if _, err := s.GetDatastore(ctx, "ws2", "lake"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get from another workspace: %v", err)
	}
	if err := s.DeleteDatastore(ctx, "ws", "lake"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDatastore(ctx, "ws", "lake"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.DeleteWorkspace(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDatastore(ctx, "ws", "bucket"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("datastore outlived its workspace: %v", err)
	}
}

func TestFetchedURLs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	if _, err := s.GetFetched(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get of nothing: %v", err)
	}
	f := datastore.Fetched{Key: "k", Digest: "sha256:ab", Size: 3, ETag: `"e"`, LastModified: "Mon", FetchedAt: time.Unix(5, 0).UTC()}
	if err := s.PutFetched(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.Digest = "sha256:cd"
	if err := s.PutFetched(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetFetched(ctx, "k")
	if err != nil || got != f {
		t.Fatalf("get: %+v, %v; want %+v", got, err, f)
	}
}
