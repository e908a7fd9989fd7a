package registry_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	arts3 "github.com/ciel-mlops/ciel/internal/artifacts/s3"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/s3client"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

// TestVersionFilesOnABucket: with the artifact root on S3 the registry
// reads a run's files from the bucket, copies the version's files into it
// (where the MLflow artifact proxy serves them), writes them out locally
// for endpoints, refuses a source that climbs out, and deletes them with
// the version.
func TestVersionFilesOnABucket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := s3test.Start(t)
	arts, err := arts3.Open(ctx, arts3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t), Prefix: "mlartifacts", AccessKeyID: "testing", SecretAccessKey: "testing-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	b := setupWith(t, arts)
	for p, c := range map[string]string{"1/r1/artifacts/model/MLmodel": "flavors: {}", "1/r1/artifacts/model/sub/model.pkl": "weights",
		"other/secret.txt": "not yours"} {
		if _, err := arts.Put(ctx, ws, p, strings.NewReader(c), int64(len(c))); err != nil {
			t.Fatal(err)
		}
	}
	v, err := b.svc.CreateVersion(ctx, registry.NewVersion{Workspace: ws, Name: "m", Source: "runs:/r1/model", CreateModel: true})
	if err != nil {
		t.Fatal(err)
	}
	if v.Type != registry.TypeMLflow || v.Folder != "model" || v.Storage != "models/m/1" {
		t.Errorf("version = %+v", v)
	}
	read := func(rel string) string {
		f, err := arts.Open(ctx, ws, rel)
		if err != nil {
			return "error: " + err.Error()
		}
		defer f.Close()
		got, _ := io.ReadAll(f)
		return string(got)
	}
	if got := read("models/m/1/sub/model.pkl"); got != "weights" {
		t.Errorf("version file in the bucket: %q", got)
	}
	dir, err := b.svc.FilesDir(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "sub", "model.pkl")); err != nil || string(got) != "weights" {
		t.Errorf("local copy: %q %v", got, err)
	}
	// A version from the bucket's one file, and sources that climb out.
	if v2, err := b.svc.CreateVersion(ctx, registry.NewVersion{Workspace: ws, Name: "m",
		Source: "mlflow-artifacts:/1/r1/artifacts/model/MLmodel"}); err != nil || read("models/m/2/MLmodel") != "flavors: {}" {
		t.Errorf("one-file version %+v: %v", v2, err)
	}
	for _, src := range []string{"mlflow-artifacts:/../other/secret.txt", "mlflow-artifacts:/1/../../x", "runs:/r1/../../other"} {
		if _, err := b.svc.CreateVersion(ctx, registry.NewVersion{Workspace: ws, Name: "m", Source: src}); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("source %s: %v, want ErrInvalid", src, err)
		}
	}
	if err := b.svc.DeleteVersion(ctx, ws, "m", 1); err != nil {
		t.Fatal(err)
	}
	if entries, err := arts.List(ctx, ws, "models/m/1"); err != nil || len(entries) != 0 {
		t.Errorf("after deleting the version the bucket holds %v (%v)", entries, err)
	}
	if got := read("1/r1/artifacts/model/sub/model.pkl"); got != "weights" {
		t.Errorf("the run's files went with the version: %q", got)
	}
}
