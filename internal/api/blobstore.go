package api

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/ciel-mlops/ciel/internal/blob"
	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
)

// openBlobs opens the datastore: the bucket of cfg.BlobS3 when set, else
// the folder Home/blobs. A bucket that does not answer or does not exist
// stops the server at start, saying which.
func openBlobs(ctx context.Context, cfg Config) (blob.Store, error) {
	if cfg.BlobS3 == nil {
		s, err := bloblocal.Open(bloblocal.Config{Dir: filepath.Join(cfg.Home, "blobs")})
		if err != nil {
			return nil, fmt.Errorf("open datastore: %w", err)
		}
		return s, nil
	}
	s, err := blobs3.Open(ctx, *cfg.BlobS3)
	if err != nil {
		return nil, fmt.Errorf("open datastore: %w", err)
	}
	cfg.Logger.Info("blob store", "store", s.String()) // never the keys
	return s, nil
}
