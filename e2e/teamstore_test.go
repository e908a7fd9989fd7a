package e2e

import (
	"os"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dbtest"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

// The suite's team-server leg: with CIEL_TEST_STORE=postgres every env's
// server keeps its metadata in a PostgreSQL database of its own, and with
// CIEL_TEST_BLOB=s3 its blobs in a bucket of its own, so the same tests,
// unchanged, check ciel on PostgreSQL and S3 (scripts/test.sh runs the
// suite both ways).
var (
	onPostgres = os.Getenv("CIEL_TEST_STORE") == "postgres"
	onS3       = os.Getenv("CIEL_TEST_BLOB") == "s3"
)

// teamStores returns the variables that point a new env's server at its
// own database and bucket in the team-server leg; none otherwise.
func teamStores(t *testing.T) []string {
	t.Helper()
	var vars []string
	if onPostgres {
		vars = append(vars, "CIEL_STORE="+dbtest.Postgres(t).URL)
	}
	if onS3 {
		srv := s3test.Shared(t)
		key, secret := srv.Keys()
		vars = append(vars, "CIEL_BLOB=s3://"+srv.Bucket(t)+"?endpoint="+srv.Endpoint,
			"AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret)
	}
	return vars
}

// homeStoresOnly skips a test of what only the home's own stores have (the
// SQLite file, the blobs folder) in the team-server leg.
func homeStoresOnly(t *testing.T) {
	t.Helper()
	if onPostgres || onS3 {
		t.Skip("tests the home's own SQLite file or blobs folder")
	}
}
