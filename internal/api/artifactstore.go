package api

import (
	"context"
	"fmt"
	"path"
	"path/filepath"

	artlocal "github.com/ciel-mlops/ciel/internal/artifacts/local"
	arts3 "github.com/ciel-mlops/ciel/internal/artifacts/s3"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// artifactsPrefix is the folder of the blob store's bucket (below its own
// prefix) that holds MLflow artifacts on a server with an S3 blob store.
// The artifacts share the blob store's bucket and keys, so the servers
// that share one datastore share their runs' files too, and there is one
// bucket to provision and one set of keys to keep.
const artifactsPrefix = "mlartifacts"

// artifactRoot is where MLflow artifacts live: CIEL_HOME/mlartifacts, or
// PREFIX/mlartifacts/ of the blob store's bucket when it is on S3.
type artifactRoot struct {
	store tracking.ArtifactStore
	// partsDir is where parts of multipart uploads through the proxy wait
	// ("" on S3, whose uploads go straight to the bucket).
	partsDir string
}

// openArtifacts opens the artifact root of cfg.
func openArtifacts(ctx context.Context, cfg Config) (artifactRoot, error) {
	if cfg.BlobS3 == nil {
		dir := filepath.Join(cfg.Home, "mlartifacts")
		st, warn := artlocal.New(dir)
		if warn != nil {
			cfg.Logger.Warn("sweep temporary artifact files", "dir", dir, "err", warn)
		}
		return artifactRoot{store: st, partsDir: filepath.Join(st.Root().TempDir(), "mpu")}, nil
	}
	at := cfg.BlobS3.Location
	at.Prefix = path.Join(at.Prefix, artifactsPrefix)
	st, err := arts3.Open(ctx, arts3.Config{Location: at})
	if err != nil {
		return artifactRoot{}, fmt.Errorf("open MLflow artifacts: %w", err)
	}
	return artifactRoot{store: st}, nil
}
