package registry_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	arts3 "github.com/ciel-mlops/ciel/internal/artifacts/s3"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/s3client"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

// TestVersionArtifact: MLflow's model-versions/get-artifact serves a
// version's file, in ranges, from a folder and from a bucket, and refuses
// paths that climb out of the version's folder.
func TestVersionArtifact(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	roots := map[string]func(t *testing.T) registry.ArtifactFiles{
		"local": func(*testing.T) registry.ArtifactFiles { return nil },
		"s3": func(t *testing.T) registry.ArtifactFiles {
			s, err := arts3.Open(context.Background(), arts3.Config{Location: s3client.Location{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t), AccessKeyID: "testing", SecretAccessKey: "testing-secret"}})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, root := range roots {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, root(t))
			h := mlflowServer(t, b, "")
			src := "blob:" + b.upload(t, map[string]string{"MLmodel": "flavors: {}", "data/w.bin": "0123456789"})
			if _, err := b.svc.CreateVersion(context.Background(), registry.NewVersion{Workspace: ws, Name: "m", Source: src,
				CreateModel: true}); err != nil {
				t.Fatal(err)
			}
			get := func(path string, header ...string) (int, string) {
				q := url.Values{"name": {"m"}, "version": {"1"}, "path": {path}}
				req, _ := http.NewRequest("GET", h.URL+"/ws/"+ws+"/ajax-api/2.0/mlflow/model-versions/get-artifact?"+q.Encode(), nil)
				if len(header) == 2 {
					req.Header.Set(header[0], header[1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(body)
			}
			if st, body := get("data/w.bin"); st != 200 || body != "0123456789" {
				t.Errorf("file: %d %q", st, body)
			}
			if st, body := get("data/w.bin", "Range", "bytes=3-4"); st != 206 || body != "34" {
				t.Errorf("range: %d %q", st, body)
			}
			for path, want := range map[string]int{"missing": 404, "data": 404, "../2/MLmodel": 400, "data/../../../x": 400, "": 400, ".": 400} {
				if st, body := get(path); st != want {
					t.Errorf("path %q: %d %s, want %d", path, st, body, want)
				}
			}
		})
	}
}
