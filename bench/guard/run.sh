#!/usr/bin/env bash
# bench/guard: what the security checks (internal/guard: Host, Origin,
# content type, token, body bounds; home lock, private files) cost, measured
# side by side with the commit before them in the same run.
#
# Both binaries serve at once, each with its own CIEL_HOME, and are driven
# alternately by the same clients:
#   (a) bench/tracking's 8 processes x N log_metric calls (REST client)
#   (b) bench/tracking's 50 log_batch calls x 1,000 metrics (REST client)
#   (o) bench/overhead's pipeline of 200 trivial steps, timed from the CLI
# It prints each median and the ratio now/base (goal: >= 0.95 for rates,
# <= 1.05 for times, i.e. within 5%).
#
# Usage: bench/guard/run.sh [runs]        (default 5)
#        BASE=<commit> bench/guard/run.sh  (default: 48a13d7, before the guard)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
BASE=${BASE:-48a13d7}
A_N=${A_N:-1000}
STEPS=${STEPS:-200}
scripts/setup.sh >/dev/null
scripts/pyenv.sh >/dev/null
PY="$PWD/.venv/bin/python"
CLIENT="$PWD/bench/tracking/client.py"
export MLFLOW_DISABLE_TELEMETRY=true
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
unset CIEL_URL CIEL_TOKEN

echo "==> building $BASE" >&2
mkdir -p "$WORK/src"
git archive "$BASE" | tar -x -C "$WORK/src"
(cd "$WORK/src" && go build -o "$WORK/ciel-base" ./cmd/ciel)
cp bin/ciel "$WORK/ciel-now"

# start NAME: serves $WORK/ciel-NAME on a free port with its own home and a
# workspace "bench"; sets URI_NAME to the workspace's tracking URI.
start() {
  local name=$1 home="$WORK/home-$1"
  mkdir -p "$home"
  CIEL_HOME=$home "$WORK/ciel-$name" server run --addr 127.0.0.1:0 >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -f $home/server.json ]] && break; sleep 0.1; done
  local uri
  uri=$(CIEL_HOME=$home "$WORK/ciel-$name" workspace create --name bench -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mlflow_tracking_uri"])')
  CIEL_HOME=$home "$WORK/ciel-$name" configure --defaults workspace=bench >/dev/null
  CIEL_HOME=$home "$WORK/ciel-$name" compute create --name two --type local --max-concurrency 2 >/dev/null
  printf -v "URI_$name" '%s' "$uri"
}
start base
start now
{
  echo "type: pipeline"
  echo "settings: {default_compute: azureml:two, force_rerun: true}"
  echo "jobs:"
  for i in $(seq 1 "$STEPS"); do echo "  s$i: {type: command, command: 'true'}"; done
} >"$WORK/pipeline.yml"

now() { date +%s%N; }
for r in $(seq "$RUNS"); do
  echo "==> repetition $r of $RUNS" >&2
  for name in base now; do
    uri_var="URI_$name"
    "$PY" "$CLIENT" --uri "${!uri_var}" --scenario a --client rest --procs 8 --n "$A_N" |
      "$PY" -c "import json,sys; print(json.load(sys.stdin)['ops_per_s'])" >>"$WORK/a-$name"
    "$PY" "$CLIENT" --uri "${!uri_var}" --scenario b --client rest --calls 50 --batch 1000 |
      "$PY" -c "import json,sys; print(json.load(sys.stdin)['ops_per_s'])" >>"$WORK/b-$name"
    t=$(now)
    CIEL_HOME="$WORK/home-$name" "$WORK/ciel-$name" job create --file "$WORK/pipeline.yml" --stream >"$WORK/stream-$name.log"
    echo $(( $(now) - t )) >>"$WORK/o-$name"
    grep -q Completed "$WORK/stream-$name.log" || { echo "pipeline on $name did not complete"; tail "$WORK/stream-$name.log"; exit 1; }
  done
done

median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "guard benchmark: this tree against $BASE, both serving at once, $RUNS alternating runs, medians"
printf '%-46s %14s %14s %9s %s\n' scenario "$BASE" now ratio goal
awk -v b="$(median "$WORK/a-base")" -v n="$(median "$WORK/a-now")" 'BEGIN {printf "%-46s %9.0f op/s %9.0f op/s %9.3f %s\n", "(a) 8 procs x '"$A_N"' log_metric (REST)", b, n, n/b, ">= 0.95"}'
awk -v b="$(median "$WORK/b-base")" -v n="$(median "$WORK/b-now")" 'BEGIN {printf "%-46s %7.0f metr/s %7.0f metr/s %9.3f %s\n", "(b) 50 log_batch x 1000 metrics (REST)", b, n, n/b, ">= 0.95"}'
awk -v b="$(median "$WORK/o-base")" -v n="$(median "$WORK/o-now")" 'BEGIN {printf "%-46s %12.2f s %12.2f s %9.3f %s\n", "(o) '"$STEPS"' trivial steps, job create --stream", b/1e9, n/1e9, n/b, "<= 1.05"}'
