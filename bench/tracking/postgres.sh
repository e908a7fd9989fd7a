#!/usr/bin/env bash
# bench/tracking/postgres.sh: ciel's tracking ingest on PostgreSQL against
# ciel on SQLite, side by side in the same run: the same binary, the same
# client (client.py, REST client), both stores durable (SQLite WAL with
# synchronous=FULL; PostgreSQL with fsync and synchronous commit on, from
# scripts/postgres.sh with PG_DURABLE=1), on the same 2 cores.
#
#   (a) 8 client processes each logging A_N metrics one call at a time
#   (b) log_batch of 1,000 metrics x 50 calls
#
# Each scenario runs RUNS times per store, alternating; medians and the
# ratio are printed. Goal (issue 14): PostgreSQL within 2x of SQLite.
#
# Then the yardstick of (b), bench/tracking/pgfloor: the same rows through
# the same drivers with nothing else, and ciel's ratio against its ratio.
#
# Usage: bench/tracking/postgres.sh [runs]   (default 3; A_N=2000)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
A_N=${A_N:-2000}
scripts/setup.sh >/dev/null
scripts/pyenv.sh
PY="$PWD/.venv/bin/python"
CLIENT="$PWD/bench/tracking/client.py"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/postgres.sh stop "$WORK/pg" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PG_ADMIN=$(PG_DURABLE=1 scripts/postgres.sh start "$WORK/pg")
PG_URL="${PG_ADMIN%%/postgres\?*}/cielbench?sslmode=disable"
psql -q "$PG_ADMIN" -c "CREATE DATABASE cielbench"

# start_ciel NAME [server args...]: a server with its own CIEL_HOME, killed
# at exit; its workspace's tracking URI goes to $WORK/NAME.uri. (Not run in
# a $(...): the server's pid must reach this shell's PIDS.)
start_ciel() {
  local name=$1; shift
  local home="$WORK/$name"
  mkdir -p "$home"
  CIEL_HOME="$home" bin/ciel server run --addr 127.0.0.1:0 "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 150); do [[ -f $home/server.json ]] && break; sleep 0.1; done
  [[ -f $home/server.json ]] || { echo "ciel ($name) did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  CIEL_HOME="$home" bin/ciel workspace create --name bench -o json |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mlflow_tracking_uri"])' >"$WORK/$name.uri"
}
unset CIEL_URL CIEL_TOKEN CIEL_STORE CIEL_BLOB
start_ciel sqlite
start_ciel postgres --store "$PG_URL"
SQLITE_URI=$(cat "$WORK/sqlite.uri") PG_URI=$(cat "$WORK/postgres.uri")
echo "sqlite   $SQLITE_URI"
echo "postgres $PG_URI ($(psql -Atq "$PG_ADMIN" -c 'SHOW server_version'), fsync $(psql -Atq "$PG_ADMIN" -c 'SHOW fsync'))"

measure() {
  local store=$1 scenario=$2; shift 2
  local uri=$SQLITE_URI; [[ $store == postgres ]] && uri=$PG_URI
  local out; out=$("$PY" "$CLIENT" --uri "$uri" --scenario "$scenario" --client rest "$@")
  echo "$out" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['ops_per_s'])" >>"$WORK/$scenario-$store"
  echo "  $store $scenario: $out" >&2
}
for r in $(seq "$RUNS"); do
  echo "==> repetition $r of $RUNS" >&2
  for store in sqlite postgres; do
    measure "$store" a --procs 8 --n "$A_N"
    measure "$store" b --calls 50 --batch 1000
  done
done

median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "tracking ingest: ciel on PostgreSQL vs ciel on SQLite, $RUNS runs each, medians, REST client, 2 cores shared"
printf '%-40s %14s %14s %10s %s\n' scenario sqlite postgres pg/sqlite goal
a_s=$(median "$WORK/a-sqlite"); a_p=$(median "$WORK/a-postgres")
b_s=$(median "$WORK/b-sqlite"); b_p=$(median "$WORK/b-postgres")
awk -v s="$a_s" -v p="$a_p" 'BEGIN {printf "%-40s %9.0f op/s %9.0f op/s %9.2fx %s\n", "(a) 8 procs x '"$A_N"' log_metric calls", s, p, p/s, ">= 0.5x (within 2x)"}'
awk -v s="$b_s" -v p="$b_p" 'BEGIN {printf "%-40s %7.0f metr/s %7.0f metr/s %9.2fx %s\n", "(b) 50 log_batch calls x 1000 metrics", s, p, p/s, ">= 0.5x (within 2x)"}'

# The yardstick of (b): the same rows inserted by a bare program through the
# same drivers, nothing else (bench/tracking/pgfloor), on the same two
# databases: the ratio ciel's own can reach here.
psql -q "$PG_ADMIN" -c "CREATE DATABASE cielfloor"
go build -o "$WORK/pgfloor" ./bench/tracking/pgfloor
"$WORK/pgfloor" -pg "${PG_ADMIN%%/postgres\?*}/cielfloor?sslmode=disable" -sqlite "$WORK/floor.db" -runs "$RUNS" | tee "$WORK/floor.txt"
f=$(awk '/pg\/sqlite/ {sub("x","",$2); print $2}' "$WORK/floor.txt")
awk -v s="$b_s" -v p="$b_p" -v f="$f" 'BEGIN {printf "(b) ciel pg/sqlite %.2fx against the bare floor'"'"'s %.2fx: %.0f%% of what the drivers allow\n", p/s, f, 100*(p/s)/f}'
