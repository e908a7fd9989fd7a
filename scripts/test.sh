#!/usr/bin/env bash
# Runs every test: vet, unit and integration tests (the latter start the real
# ciel binary and drive it through the CLI and over HTTP), with the race
# detector; then the Python integration suite (tests/python), which drives
# the real ciel binary with the real mlflow client from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Before the Go tests: e2e's azureml-examples sweep files run their trials
# with this environment's mlflow.
scripts/pyenv.sh
echo "==> go vet, gofmt, go mod tidy, staticcheck"
go vet ./...
unformatted=$(gofmt -l cmd internal client e2e bench 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt -l finds files not formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go mod tidy -diff
go tool staticcheck ./...
echo "==> studio: the committed bundle (internal/ui/dist) matches ui/ (scripts/studio.sh check)"
scripts/studio.sh check
echo "==> S3 server for the datastore tests (scripts/s3server.sh: moto[server] in .venv-s3)"
scripts/s3server.sh install
echo "==> PostgreSQL and MariaDB for the dataflow tests (scripts/postgres.sh, scripts/mariadb.sh)"
# One server of each for the whole run; each test makes its own database in
# it (internal/dbtest reads these URLs).
DBDIR=$(mktemp -d "${TMPDIR:-/tmp}/ciel-test-db.XXXXXX")
trap 'scripts/postgres.sh stop "$DBDIR/pg"; scripts/mariadb.sh stop "$DBDIR/my"; rm -rf "$DBDIR"' EXIT
CIEL_TEST_PG_URL=$(scripts/postgres.sh start "$DBDIR/pg" --owner $$)
CIEL_TEST_MYSQL_URL=$(scripts/mariadb.sh start "$DBDIR/my" --owner $$)
export CIEL_TEST_PG_URL CIEL_TEST_MYSQL_URL
echo "==> go test -race"
go test -race -count=1 -timeout 30m ./...
echo "==> studio browser tests in headless Chromium (scripts/studio.sh test)"
scripts/studio.sh test
echo "==> python integration suite (tests/python)"
CIEL_BIN="$PWD/bin/ciel" .venv/bin/python -m pytest -q -p no:cacheprovider tests/python
