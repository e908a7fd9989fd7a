package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

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
func openStore(ctx context.Context, cfg Config, replica string) (*sqldb.Store, error) {
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
	c := sqldb.Config{Path: file, Synchronous: cfg.SQLiteSync}
	if cfg.Store != "" {
		c = sqldb.Config{URL: cfg.Store, Replica: replica}
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

// DefaultJobLease is how long a job stays with a server of a shared store
// that stops renewing its lease (it died, or lost the database) before
// another takes it over.
const DefaultJobLease = 15 * time.Second

// replicaName is the file under the home with the server's name among the
// servers of a shared store.
const replicaName = "replica-id"

// sharedReplica is replicaID for a server on a PostgreSQL store, which
// other servers may share; "" for a server alone.
func sharedReplica(cfg Config) (string, error) {
	if cfg.Store == "" {
		return "", nil
	}
	return replicaID(cfg.Home)
}

// replicaID names this home's server among those sharing a store: the
// host and an id kept in the home, so that the server started again on the
// same home takes its jobs back at once.
func replicaID(home string) (string, error) {
	path := filepath.Join(home, replicaName)
	b, err := os.ReadFile(path)
	if err != nil {
		r := make([]byte, 8)
		rand.Read(r)
		b = []byte(hex.EncodeToString(r))
		if err := writePrivate(path, b); err != nil {
			return "", fmt.Errorf("name this server: %w", err)
		}
	}
	host, _ := os.Hostname()
	return host + "/" + strings.TrimSpace(string(b)), nil
}
