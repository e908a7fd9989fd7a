package api

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// metaStoreName records, under the home, which metadata store the home's
// servers use, so that a server started without --store (the CLI's
// autostart) opens the same one, and one given another refuses to start
// rather than show an empty workspace over the home's jobs and blobs.
const metaStoreName = "metadata-store.json"

// HomeStore returns the PostgreSQL URL the home's servers use; "" for the
// home's SQLite file or when none is recorded.
func HomeStore(home string) string {
	u, _ := recorded(home, metaStoreName)
	return u
}

// openStore opens the metadata store: the PostgreSQL database at
// cfg.Store when set, else the SQLite file Home/ciel.db.
func openStore(ctx context.Context, cfg Config) (*sqldb.Store, error) {
	file := filepath.Join(cfg.Home, "ciel.db")
	had, ok := recorded(cfg.Home, metaStoreName)
	if !ok {
		if _, err := os.Stat(file); err == nil {
			had, ok = "", true // a home from before the record
		}
	}
	if ok && had != cfg.Store {
		was, given := "its SQLite file "+file, "the SQLite file"
		if had != "" {
			was = "the PostgreSQL database " + redactURL(had)
		}
		if cfg.Store != "" {
			given = "the PostgreSQL database " + redactURL(cfg.Store)
		}
		return nil, fmt.Errorf("open metadata store: CIEL_HOME %s keeps its metadata in %s, and this server was given %s: "+
			"start it with the same --store (or CIEL_STORE), or use another CIEL_HOME", cfg.Home, was, given)
	}
	c := sqldb.Config{Path: file}
	if cfg.Store != "" {
		c = sqldb.Config{URL: cfg.Store}
	}
	st, err := sqldb.Open(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("open metadata store: %w", err)
	}
	if err := remember(cfg.Home, metaStoreName, cfg.Store); err != nil {
		st.Close()
		return nil, fmt.Errorf("remember the metadata store: %w", err)
	}
	return st, nil
}

// redactURL is u without its password, for messages.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return p.Redacted()
}
