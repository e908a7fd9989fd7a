#!/usr/bin/env bash
# bench/tracking: ciel's MLflow tracking API against `mlflow server`
# (SQLite backend, same machine, same .venv) and FastTrackML (`fml server`,
# G-Research's MLflow-compatible tracking server in Go, SQLite backend, from
# PyPI's fasttrackml in its own venv .venv-fml/ since it pins mlflow 2.x),
# started side by side in the same run, driven by the same client script
# (client.py):
#
#   (a) 8 client processes each logging 2,000 metrics one call at a time
#   (b) log_batch of 1,000 metrics x 50 calls
#   (c) search_runs with a filter over 10,000 runs, reading every page, and
#       the client floor: the same pages parsed by the client with no server
#   (d) over the same runs, the first page of 100 a runs table asks for:
#       ordered by a metric, and filtered on a param and a metric with a
#       metric order (median of D_REPS answers each); goal < 50 ms at
#       100,000 runs (SEARCH_RUNS=100000 SCENARIOS=d: loading 100k runs
#       into mlflow server takes a while)
#
# (a) and (b) also run against a second ciel started with --sqlite-sync
# normal, FastTrackML's durability (below), so the FastTrackML ratio is
# shown both at ciel's default and like for like.
#
# (a) and (b) have a client floor too: the same calls timed against
# nullserver/, which answers log-metric and log-batch with {} at once and
# passes everything else (experiments, runs) through to ciel. No server can
# be faster than one that does nothing, so its rate over mlflow's is the best
# ratio any server can reach with that client.
#
# And a durable floor: nullserver -sync, which answers those calls only
# once their bodies are written to a file and fdatasync'ed, calls that
# arrive together sharing one sync. It parses and indexes nothing, so no
# server that acknowledges only durable writes (ciel's default) can beat it
# on this disk: with 8 clients each waiting for its answer, (a) is bounded
# by 8 calls per sync, whatever the server.
#
# Each scenario runs RUNS times per server, alternating servers; the medians
# and the ratios are printed. Goals: (a), (b) >= 5x mlflow server's
# throughput; (c) >= 10x faster; each scenario >= 2x FastTrackML with the
# REST client. CLIENTS says which clients drive the
# servers: "mlflow" (the real MlflowClient) and/or "rest" (the same REST
# calls over a plain requests.Session, so the servers' own cost shows).
#
# Usage: bench/tracking/run.sh [runs]   (default 3)
#        CLIENTS="mlflow rest" SCENARIOS="a b c d" SEARCH_RUNS=10000 A_N=2000 D_REPS=15 bench/tracking/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
CLIENTS=${CLIENTS:-"mlflow rest"}
SEARCH_RUNS=${SEARCH_RUNS:-10000}
A_N=${A_N:-2000}
SCENARIOS=${SCENARIOS:-"a b c d"}
D_REPS=${D_REPS:-15}
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }
scripts/setup.sh >/dev/null
scripts/pyenv.sh
PY="$PWD/.venv/bin/python"
CLIENT="$PWD/bench/tracking/client.py"
export MLFLOW_DISABLE_TELEMETRY=true
WORK=$(mktemp -d)
CIEL_PID="" CIELN_PID="" MLFLOW_PID="" NULL_PID="" FML_PID="" SYNC_PID=""
cleanup() {
  [[ -n $SYNC_PID ]] && kill "$SYNC_PID" 2>/dev/null || true
  [[ -n $FML_PID ]] && kill "$FML_PID" 2>/dev/null || true
  [[ -n $NULL_PID ]] && kill "$NULL_PID" 2>/dev/null || true
  [[ -n $CIEL_PID ]] && kill "$CIEL_PID" 2>/dev/null || true
  [[ -n $CIELN_PID ]] && kill "$CIELN_PID" 2>/dev/null || true
  [[ -n $MLFLOW_PID ]] && kill "$MLFLOW_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ciel: its own CIEL_HOME, a free port, one workspace.
export CIEL_HOME="$WORK/ciel"
unset CIEL_URL CIEL_TOKEN
mkdir -p "$CIEL_HOME"
bin/ciel server run --addr 127.0.0.1:0 >"$WORK/ciel.log" 2>&1 &
CIEL_PID=$!
for _ in $(seq 100); do [[ -f $CIEL_HOME/server.json ]] && break; sleep 0.1; done
CIEL_URI=$(bin/ciel workspace create --name bench -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mlflow_tracking_uri"])')

# ciel again with its SQLite file at synchronous=normal (--sqlite-sync
# normal): FastTrackML's durability (its driver, mattn/go-sqlite3, runs
# WAL at synchronous=NORMAL), so (a) and (b) show ciel against it both at
# ciel's default (an fsync per group commit) and at equal durability.
CIELN_HOME="$WORK/cieln"
mkdir -p "$CIELN_HOME"
CIEL_HOME=$CIELN_HOME CIEL_SQLITE_SYNC=normal bin/ciel server run --addr 127.0.0.1:0 >"$WORK/cieln.log" 2>&1 &
CIELN_PID=$!
for _ in $(seq 100); do [[ -f $CIELN_HOME/server.json ]] && break; sleep 0.1; done
CIELN_URI=$(CIEL_HOME=$CIELN_HOME bin/ciel workspace create --name bench -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mlflow_tracking_uri"])')

# The do-nothing server in front of ciel; its tracking URI keeps ciel's
# workspace path (/ws/bench) after its own address.
go build -o "$WORK/nullserver" ./bench/tracking/nullserver
CIEL_BASE=${CIEL_URI%%/ws/*}
"$WORK/nullserver" -upstream "$CIEL_BASE" >"$WORK/null.out" 2>"$WORK/null.log" &
NULL_PID=$!
for _ in $(seq 100); do [[ -s $WORK/null.out ]] && break; sleep 0.1; done
[[ -s $WORK/null.out ]] || { echo "nullserver did not start"; cat "$WORK/null.log"; exit 1; }
NULL_URI="$(head -1 "$WORK/null.out")${CIEL_URI#"$CIEL_BASE"}"
"$WORK/nullserver" -upstream "$CIEL_BASE" -sync "$WORK/sync.log" >"$WORK/sync.out" 2>"$WORK/sync.log.err" &
SYNC_PID=$!
for _ in $(seq 100); do [[ -s $WORK/sync.out ]] && break; sleep 0.1; done
[[ -s $WORK/sync.out ]] || { echo "nullserver -sync did not start"; cat "$WORK/sync.log.err"; exit 1; }
SYNC_URI="$(head -1 "$WORK/sync.out")${CIEL_URI#"$CIEL_BASE"}"

# mlflow server: SQLite backend store, local artifact root, its defaults.
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PWD/.venv/bin/mlflow" server --backend-store-uri "sqlite:///$WORK/mlflow.db" --default-artifact-root "$WORK/mlartifacts" \
  --host 127.0.0.1 --port "$PORT" >"$WORK/mlflow.log" 2>&1 &
MLFLOW_PID=$!
MLFLOW_URI="http://127.0.0.1:$PORT"
for _ in $(seq 600); do
  curl -sf "$MLFLOW_URI/health" >/dev/null 2>&1 && break
  kill -0 "$MLFLOW_PID" 2>/dev/null || { echo "mlflow server died:"; tail -20 "$WORK/mlflow.log"; exit 1; }
  sleep 0.2
done
curl -sf "$MLFLOW_URI/health" >/dev/null || { echo "mlflow server did not start"; tail -20 "$WORK/mlflow.log"; exit 1; }
# FastTrackML: its own venv (it pins mlflow 2.x), SQLite, per-request logs
# off (--log-level warning) so it is not slowed by its log.
FML_VENV="$PWD/.venv-fml"
if [[ ! -x $FML_VENV/bin/fml ]]; then
  echo "==> building $FML_VENV (fasttrackml 0.6.0 from PyPI)" >&2
  uv venv --quiet --python python3 "$FML_VENV"
  VIRTUAL_ENV="$FML_VENV" uv pip install --quiet fasttrackml==0.6.0
fi
FML_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$FML_VENV/bin/fml" server --log-level warning --listen-address "127.0.0.1:$FML_PORT" \
  --database-uri "sqlite://$WORK/fml.db" --default-artifact-root "$WORK/fmlartifacts" >"$WORK/fml.log" 2>&1 &
FML_PID=$!
FML_URI="http://127.0.0.1:$FML_PORT"
for _ in $(seq 300); do curl -sf "$FML_URI/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$FML_URI/health" >/dev/null || { echo "fml server did not start"; tail -20 "$WORK/fml.log"; exit 1; }

# mlflow server answers /health long before its workers finish starting:
# they keep both cores busy for a further ~20 s here, which would slow
# whichever server is measured first. Wait until its process tree is idle
# (under 0.1 s of CPU in a second, at most 2 minutes).
tree_ticks() {
  local pids=$1 all=$1 kids p total=0
  while [[ -n $pids ]]; do
    kids=""
    for p in $pids; do kids="$kids $(pgrep -P "$p" | tr '\n' ' ')"; done
    pids=$(echo $kids)
    all="$all $pids"
  done
  for p in $all; do
    [[ -r /proc/$p/stat ]] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)
prev=$(tree_ticks "$MLFLOW_PID")
for _ in $(seq 120); do
  sleep 1
  cur=$(tree_ticks "$MLFLOW_PID")
  (( cur - prev <= HZ / 10 )) && break
  prev=$cur
done

echo "ciel   $CIEL_URI"
echo "cieln  $CIELN_URI (ciel --sqlite-sync normal)"
echo "fml    $FML_URI (FastTrackML $("$FML_VENV/bin/fml" --version 2>&1 | awk '{print $NF}'))"
echo "null   $NULL_URI (answers log-metric and log-batch with {}, the rest goes to ciel)"
echo "sync   $SYNC_URI (the same, after an fdatasync'ed write of each body, shared by the calls that wait together)"
echo "mlflow $MLFLOW_URI ($("$PY" -c 'import mlflow; print(mlflow.__version__)'))"

# measure SERVER SCENARIO CLIENT ARGS...: appends the result's figure
# (ops/s for a and b, seconds for c) to $WORK/<scenario>-<client>-<server>.
# SERVER is ciel, mlflow or null (the do-nothing server, for a and b).
# The server's CPU time (user + system, in clock ticks) so far; the Go
# servers are one process each.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_MS=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN {print 1000 / t}')

measure() {
  local server=$1 scenario=$2 client=$3; shift 3
  local uri=$CIEL_URI pid=$CIEL_PID
  case $server in
    mlflow) uri=$MLFLOW_URI pid="" ;; null) uri=$NULL_URI pid=$NULL_PID ;;
    fml) uri=$FML_URI pid=$FML_PID ;; cieln) uri=$CIELN_URI pid=$CIELN_PID ;;
    sync) uri=$SYNC_URI pid=$SYNC_PID ;;
  esac
  local t0=""; [[ -n $pid ]] && t0=$(ticks "$pid")
  local out; out=$("$PY" "$CLIENT" --uri "$uri" --scenario "$scenario" --client "$client" "$@")
  local key=ops_per_s; [[ $scenario == [cd]* ]] && key=seconds
  echo "$out" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$key'])" >>"$WORK/$scenario-$client-$server"
  if [[ -n $t0 && $scenario == a ]]; then
    # Server CPU per call: what the server itself spends, apart from the
    # clients it shares the 2 cores with (mlflow server's workers are
    # other processes, so it has none).
    echo "$out" | "$PY" -c "import json,sys; print($(( $(ticks "$pid") - t0 )) * $TICK_MS / json.load(sys.stdin)['ops'])" \
      >>"$WORK/$scenario-$client-$server.cpu"
  fi
  echo "  $server $scenario ($client client): $out" >&2
}

if has c || has d; then
  echo "==> setting up (c, d): $SEARCH_RUNS runs on each server" >&2
  "$PY" "$CLIENT" --uri "$CIEL_URI" --scenario c-setup --runs "$SEARCH_RUNS" >&2
  "$PY" "$CLIENT" --uri "$MLFLOW_URI" --scenario c-setup --runs "$SEARCH_RUNS" >&2
  "$PY" "$CLIENT" --uri "$FML_URI" --scenario c-setup --runs "$SEARCH_RUNS" >&2
fi

for r in $(seq "$RUNS"); do
  echo "==> repetition $r of $RUNS" >&2
  for client in $CLIENTS; do
    for server in ciel mlflow fml; do
      if has a; then measure "$server" a "$client" --procs 8 --n "$A_N"; fi
      if has b; then measure "$server" b "$client" --calls 50 --batch 1000; fi
      if has c; then
        measure "$server" c "$client"
        measure "$server" c-floor "$client"
      fi
      if has d; then
        measure "$server" d-sort "$client" --reps "$D_REPS"
        measure "$server" d-filter "$client" --reps "$D_REPS"
      fi
    done
    if has a; then measure cieln a "$client" --procs 8 --n "$A_N"; fi
    if has b; then measure cieln b "$client" --calls 50 --batch 1000; fi
    if has a; then measure null a "$client" --procs 8 --n "$A_N"; fi
    if has b; then measure null b "$client" --calls 50 --batch 1000; fi
    if has a; then measure sync a "$client" --procs 8 --n "$A_N"; fi
    if has b; then measure sync b "$client" --calls 50 --batch 1000; fi
  done
done

median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "tracking benchmark: ciel vs mlflow server (SQLite), $RUNS runs each, medians, 2 cores shared by servers and clients"
printf '%-52s %-7s %14s %14s %9s %s\n' scenario client ciel mlflow ratio goal
for client in $CLIENTS; do
  if has a; then
    a_c=$(median "$WORK/a-$client-ciel"); a_m=$(median "$WORK/a-$client-mlflow")
    a_n=$(median "$WORK/a-$client-null"); a_f=$(median "$WORK/a-$client-fml")
    awk -v c="$a_c" -v m="$a_m" -v cl="$client" 'BEGIN {printf "%-52s %-7s %9.0f op/s %9.0f op/s %8.1fx %s\n", "(a) 8 procs x '"$A_N"' log_metric calls", cl, c, m, c/m, ">= 5x"}'
    awk -v n="$a_n" -v m="$a_m" -v cl="$client" 'BEGIN {printf "%-52s %-7s %9.0f op/s %14s %9s (best any server could do: %.1fx)\n", "    client floor: a server that does nothing", cl, n, "", "", n/m}'
    awk -v c="$a_c" -v f="$a_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %9.0f op/s %9.0f op/s %8.1fx %s\n", "(a) vs FastTrackML", cl, c, f, c/f, ">= 2x (rest)"}'
    a_s=$(median "$WORK/a-$client-cieln")
    awk -v c="$a_s" -v f="$a_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %9.0f op/s %9.0f op/s %8.1fx %s\n", "    same durability: ciel --sqlite-sync normal", cl, c, f, c/f, ">= 2x (rest)"}'
    awk -v n="$a_n" -v f="$a_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %9.0f op/s %9.0f op/s %8.1fx %s\n", "    a server that does nothing vs FastTrackML", cl, n, f, n/f, "(the best any server could do)"}'
    a_y=$(median "$WORK/a-$client-sync")
    awk -v y="$a_y" -v f="$a_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %9.0f op/s %9.0f op/s %8.1fx %s\n", "    durable floor (fdatasync per group) vs FastTrackML", cl, y, f, y/f, "(the best a server durable per call could do)"}'
    awk -v c="$a_c" -v y="$a_y" -v cl="$client" 'BEGIN {printf "%-52s %-7s %9.0f op/s %9.0f op/s %8.0f%% %s\n", "    ciel vs the durable floor", cl, c, y, 100*c/y, "of the floor"}'
    cpu_c=$(median "$WORK/a-$client-ciel.cpu"); cpu_s=$(median "$WORK/a-$client-cieln.cpu")
    cpu_f=$(median "$WORK/a-$client-fml.cpu"); cpu_n=$(median "$WORK/a-$client-null.cpu")
    awk -v c="$cpu_c" -v s="$cpu_s" -v f="$cpu_f" -v n="$cpu_n" -v cl="$client" 'BEGIN {printf "%-52s %-7s ciel %.3f, --sqlite-sync normal %.3f, FastTrackML %.3f, do-nothing %.3f ms (FastTrackML/ciel %.1fx)\n", "    server CPU per log_metric call", cl, c, s, f, n, f/c}'
  fi
  if has b; then
    b_c=$(median "$WORK/b-$client-ciel"); b_m=$(median "$WORK/b-$client-mlflow")
    b_n=$(median "$WORK/b-$client-null"); b_f=$(median "$WORK/b-$client-fml")
    awk -v c="$b_c" -v m="$b_m" -v cl="$client" 'BEGIN {printf "%-52s %-7s %7.0f metr/s %7.0f metr/s %8.1fx %s\n", "(b) 50 log_batch calls x 1000 metrics", cl, c, m, c/m, ">= 5x"}'
    awk -v n="$b_n" -v m="$b_m" -v cl="$client" 'BEGIN {printf "%-52s %-7s %7.0f metr/s %14s %9s (best any server could do: %.1fx)\n", "    client floor: a server that does nothing", cl, n, "", "", n/m}'
    awk -v c="$b_c" -v f="$b_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %7.0f metr/s %7.0f metr/s %8.1fx %s\n", "(b) vs FastTrackML", cl, c, f, c/f, ">= 2x (rest)"}'
    b_s=$(median "$WORK/b-$client-cieln")
    awk -v c="$b_s" -v f="$b_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %7.0f metr/s %7.0f metr/s %8.1fx %s\n", "    same durability: ciel --sqlite-sync normal", cl, c, f, c/f, ">= 2x (rest)"}'
    b_y=$(median "$WORK/b-$client-sync")
    awk -v y="$b_y" -v f="$b_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %7.0f metr/s %7.0f metr/s %8.1fx %s\n", "    durable floor (fdatasync per group) vs FastTrackML", cl, y, f, y/f, "(the best a server durable per call could do)"}'
  fi
  if has c; then
    c_c=$(median "$WORK/c-$client-ciel"); c_m=$(median "$WORK/c-$client-mlflow"); c_f=$(median "$WORK/c-$client-fml")
    awk -v c="$c_c" -v m="$c_m" -v cl="$client" 'BEGIN {printf "%-52s %-7s %12.3f s %12.3f s %8.1fx %s\n", "(c) search_runs, filter over '"$SEARCH_RUNS"' runs, all pages", cl, c, m, m/c, ">= 10x"}'
    awk -v c="$c_c" -v f="$c_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %12.3f s %12.3f s %8.1fx %s\n", "(c) vs FastTrackML", cl, c, f, f/c, ">= 2x (rest)"}'
    f_c=$(median "$WORK/c-floor-$client-ciel"); f_m=$(median "$WORK/c-floor-$client-mlflow")
    awk -v c="$f_c" -v m="$f_m" -v cl="$client" 'BEGIN {printf "%-52s %-7s %12.3f s %12.3f s\n", "    client floor: parsing the same pages, no server", cl, c, m}'
    awk -v c="$c_c" -v m="$c_m" -v f="$f_c" -v cl="$client" 'BEGIN {printf "%-52s %-7s %12.3f s %14s %8.1fx (best any server could do: %.1fx)\n", "    ciel beyond the client floor (server + HTTP)", cl, c-f, "", (m-f)/(c-f), m/f}'
  fi
  if has d; then
    for d in d-sort d-filter; do
      what="(d) first page of 100 of $SEARCH_RUNS runs, metric order"
      [[ $d == d-filter ]] && what="(d) same, param + metric filter, metric order"
      d_c=$(median "$WORK/$d-$client-ciel"); d_m=$(median "$WORK/$d-$client-mlflow"); d_f=$(median "$WORK/$d-$client-fml")
      awk -v c="$d_c" -v m="$d_m" -v cl="$client" -v w="$what" 'BEGIN {printf "%-52s %-7s %11.1f ms %11.1f ms %8.1fx %s\n", w, cl, c*1000, m*1000, m/c, "< 50 ms at 100k runs"}'
      awk -v c="$d_c" -v f="$d_f" -v cl="$client" 'BEGIN {printf "%-52s %-7s %11.1f ms %11.1f ms %8.1fx\n", "    vs FastTrackML", cl, c*1000, f*1000, f/c}'
    done
  fi
done
echo
echo "ciel fsyncs every group commit by default (a write it acknowledged survives a power cut);"
echo "FastTrackML's SQLite runs at synchronous=NORMAL (fsync at checkpoints only: a killed server"
echo "loses nothing, a power cut may lose the last writes). The \"same durability\" lines run ciel"
echo "with --sqlite-sync normal, which is that setting."
echo
echo "Server CPU per call is each server process's user + system time over the calls of (a): what"
echo "the server spends apart from the client processes that share the 2 cores with it. (a)'s"
echo "rate is bounded by the clients' CPU plus the server's, so a server at the do-nothing"
echo "server's cost is the best any server can reach."
echo
echo "The client floor of (a) and (b) is the same client timed against a server that answers"
echo "log_metric and log_batch with {} at once (bench/tracking/nullserver): the client's own"
echo "cost plus HTTP. Its rate over mlflow's is the best ratio any server can reach."
echo
echo "The durable floor is that server again, answering only after the call's body is written and"
echo "fdatasync'ed (calls waiting together share one sync). It is the best rate a server that"
echo "acknowledges only durable writes, as ciel does by default, can reach with this client on"
echo "this disk; FastTrackML does not wait for the disk."
echo
echo "The client floor of (c) is the client's own work on the pages ciel returns (JSON, and for"
echo "the mlflow client protobuf and Run entities), timed with the pages already fetched."
echo "No server can finish (c) sooner than that, so mlflow's time over it is the best"
echo "ratio possible for that client; the line below it compares the servers' share."
