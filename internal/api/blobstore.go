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
	if url, ok := recorded(home, blobStoreName); ok {
		return url, true
	}
	if _, err := os.Stat(filepath.Join(home, "blobs")); err == nil {
		return "", true
	}
	return "", false
}

// homeRecord is a file under the home naming the store a home's servers
// use (blob-store.json, metadata-store.json).
type homeRecord struct {
	// URL is the store's; "" is the home's own (folder or SQLite file).
	URL string `json:"url"`
}

// recorded reads the home's record name; ok is false when there is none.
func recorded(home, name string) (url string, ok bool) {
	var r homeRecord
	if b, err := os.ReadFile(filepath.Join(home, name)); err == nil && json.Unmarshal(b, &r) == nil {
		return r.URL, true
	}
	return "", false
}

// remember writes the home's record name (private: a PostgreSQL URL may
// hold a password).
func remember(home, name, url string) error {
	b, _ := json.Marshal(homeRecord{URL: url})
	return writePrivate(filepath.Join(home, name), b)
}

// storeID is the part of a blob store URL that names the store: its
// public_endpoint (where clients reach it) may change, the store stays.
func storeID(raw string) string {
	c, err := blobs3.ParseURL(raw, func(string) string { return "" })
	if err != nil {
		return raw
	}
	c.PublicEndpoint = ""
	return c.URL()
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
	if had, ok := recordedBlob(cfg.Home); ok && storeID(had) != storeID(want) {
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
	if err := remember(cfg.Home, blobStoreName, want); err != nil {
		return nil, fmt.Errorf("remember the blob store: %w", err)
	}
	return s, nil
}
