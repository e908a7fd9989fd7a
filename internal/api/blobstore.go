package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ciel-mlops/ciel/internal/blob"
	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
)

// blobStoreName records, under the home, which blob store the home's
// metadata names blobs of, so that a server started without --blob (the
// CLI's autostart) finds the same one, and a server given another store
// refuses to start rather than lose every blob the metadata names.
const blobStoreName = "blob-store.json"

// blobState is Home/blob-store.json.
type blobState struct {
	// URL is the bucket's URL without keys; "" is the home's folder.
	URL string `json:"url"`
}

// HomeBlob returns the URL (s3://..., without keys) of the blob store the
// home's servers use, "" for the folder Home/blobs or when none is
// recorded.
func HomeBlob(home string) string {
	url, _ := recordedBlob(home)
	return url
}

// recordedBlob returns the recorded store; ok is false when there is no
// record. A home from before the record with a blobs/ folder uses that
// folder.
func recordedBlob(home string) (url string, ok bool) {
	var st blobState
	if b, err := os.ReadFile(filepath.Join(home, blobStoreName)); err == nil && json.Unmarshal(b, &st) == nil {
		return st.URL, true
	}
	if _, err := os.Stat(filepath.Join(home, "blobs")); err == nil {
		return "", true
	}
	return "", false
}

// openBlobs opens the datastore: the bucket of cfg.BlobS3 when set, else
// the folder Home/blobs. A bucket that does not answer or does not exist
// stops the server at start, saying which, and so does a store other than
// the one the home's metadata refers to.
func openBlobs(ctx context.Context, cfg Config) (blob.Store, error) {
	want, desc := "", filepath.Join(cfg.Home, "blobs")
	if cfg.BlobS3 != nil {
		want, desc = cfg.BlobS3.URL(), cfg.BlobS3.String()
	}
	if had, ok := recordedBlob(cfg.Home); ok && had != want {
		was, fix := "the folder "+filepath.Join(cfg.Home, "blobs"), "without --blob and with CIEL_BLOB unset"
		if had != "" {
			was, fix = had, "with --blob '"+had+"' (or CIEL_BLOB)"
		}
		return nil, fmt.Errorf("open datastore: CIEL_HOME %s keeps its blobs in %s, and this server was given %s: "+
			"start it %s, or use another CIEL_HOME; to move this home to the new store, copy the blobs over and remove %s",
			cfg.Home, was, desc, fix, filepath.Join(cfg.Home, blobStoreName))
	}
	var s blob.Store
	var err error
	if cfg.BlobS3 == nil {
		s, err = bloblocal.Open(bloblocal.Config{Dir: filepath.Join(cfg.Home, "blobs")})
	} else {
		var s3 *blobs3.Store
		if s3, err = blobs3.Open(ctx, *cfg.BlobS3); err == nil {
			cfg.Logger.Info("blob store", "store", s3.String()) // never the keys
			s = s3
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open datastore: %w", err)
	}
	b, _ := json.Marshal(blobState{URL: want})
	if err := writePrivate(filepath.Join(cfg.Home, blobStoreName), b); err != nil {
		return nil, fmt.Errorf("remember the blob store: %w", err)
	}
	return s, nil
}
