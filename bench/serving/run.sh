#!/usr/bin/env bash
# bench/serving: one scikit-learn model served over REST by ciel and by its
# peers, measured with wrk in the same run, on the same machine:
#
#   ciel score.py     an online deployment running score.py (init/run)
#   azmlinfsrv        Azure's own scoring server (PyPI azureml-inference-server-http)
#                     running the same score.py
#   ciel mlflow       a no-code deployment of the same model saved as an MLflow model
#   mlflow serve      `mlflow models serve --env-manager local` of that MLflow model
#   bare relay        the least ciel's design can cost (relay/): a Go HTTP server
#                     that hands each body to Python workers over a socket pair
#                     and returns what score.py run() answered, and nothing else
#
# Every server runs WORKERS Python worker processes (ciel: instance_count,
# with max_concurrent_requests_per_instance 2 so a worker has its next
# request at hand; azmlinfsrv: --worker_count; mlflow: --workers). Each round
# measures every server for DURATION seconds (after a short warm-up) with
# CONNS connections; the report takes the median over ROUNDS rounds (the rounds
# interleave the servers, so a noisy neighbour hurts them alike) and prints
# requests/s, p50 and p99 and the ratios, and each server's CPU per request:
# the user+system time of its whole process tree (ciel's server and its
# workers; the gunicorn master and workers of azmlinfsrv and mlflow) over
# the measured window, divided by the requests wrk counted, next to the
# model's own floor, score.py run() timed in-process (floor.py), so the
# report shows what each server adds beyond the model. Two ceilings follow:
# the faster peer's CPU per request over the model's floor (no server that
# calls run() once per request can beat the peer by more), and the bare
# relay's ratio (what a Go front end with Python workers behind a socket, the
# design the issue asks for, reaches here with nothing else to do; ciel's
# share of it is what its auth, routing, limits, metrics and logs cost).
# Then adaptive micro-batching
# (max_batch_size/max_batch_wait_ms, off by default) gets its own figure at
# BATCH_CONNS connections, against the same deployment unbatched.
#
# Usage: bench/serving/run.sh            (MODEL=linear|forest, ROUNDS=5,
#        DURATION=10, CONNS=16, WORKERS=2, BATCH_CONNS=64 to change;
#        PPROF=FILE writes a CPU profile of ciel's server during the first
#        round of ciel-score.py, for `go tool pprof bin/ciel FILE`)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MODEL=${MODEL:-linear}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
WORKERS=${WORKERS:-2}
BATCH_CONNS=${BATCH_CONNS:-64}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
scripts/setup.sh >/dev/null

# The peers' Python environment, built with uv from requirements.txt.
VENV=$ROOT/.venv-bench
REQ=bench/serving/requirements.txt
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ ! -x $VENV/bin/python || "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
  echo "==> building $VENV from $REQ"
  UV=(uv); command -v uv >/dev/null || UV=(python3 -m uv)
  [[ -x $VENV/bin/python ]] || "${UV[@]}" venv --quiet --python python3 "$VENV"
  "${UV[@]}" pip install --quiet --python "$VENV/bin/python" -r "$REQ"
  echo "$want" >"$VENV/.requirements.sha256"
fi
PY=$VENV/bin/python

WORK=$(mktemp -d)
# CIEL_HOME lives outside WORK: the deployments upload WORK as their code
# folder, and must not upload the server's own files as they change.
export CIEL_HOME=$(mktemp -d)
unset CIEL_URL CIEL_TOKEN
CIEL=$ROOT/bin/ciel
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  "$CIEL" server stop >/dev/null 2>&1 || true
  rm -rf "$WORK" "$CIEL_HOME"
}
trap cleanup EXIT

echo "==> training the $MODEL model"
cp bench/serving/score.py "$WORK/"
"$PY" bench/serving/train.py "$WORK" "$MODEL"
# ciel's environment: the same scikit-learn and numpy as the peers'.
"$PY" - "$WORK/conda.yml" <<'PYEOF'
import sys
from importlib.metadata import version
open(sys.argv[1], "w").write(f"""dependencies:
  - python=3.11
  - pip:
      - scikit-learn=={version('scikit-learn')}
      - numpy=={version('numpy')}
""")
PYEOF

echo "==> ciel: endpoint with deployments script, mlflow, batched ($WORKERS instances each)"
cd "$WORK"
# A free port, not the default one: a ciel of the user's may hold that.
CIEL_PPROF=${PPROF:+1} "$CIEL" server start --addr 127.0.0.1:0 >/dev/null
"$CIEL" workspace create --name bench >/dev/null
"$CIEL" configure --defaults workspace=bench >/dev/null
"$CIEL" online-endpoint create --name bench-ep >/dev/null
deployment() { # name, extra YAML
  cat >"$WORK/$1.yml" <<YML
name: $1
endpoint_name: bench-ep
model:
  path: ./model
instance_count: $WORKERS
request_settings:
  request_timeout_ms: 60000
  max_queue_wait_ms: 60000
  max_concurrent_requests_per_instance: 2
$2
YML
  "$CIEL" online-deployment create --file "$WORK/$1.yml" -o table >/dev/null
}
CODE=$'code_configuration:\n  code: ./\n  scoring_script: score.py\nenvironment:\n  conda_file: ./conda.yml\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest'
deployment script "$CODE"
deployment mlflow ""
deployment batched "$CODE"$'\nmax_batch_size: 32\nmax_batch_wait_ms: 2'
"$CIEL" online-endpoint update --name bench-ep --traffic script=100 >/dev/null
URI=$("$CIEL" online-endpoint show --name bench-ep -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["scoring_uri"])')
KEY=$("$CIEL" online-endpoint get-credentials --name bench-ep -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["primaryKey"])')

echo "==> azmlinfsrv and mlflow models serve ($WORKERS workers each)"
AZ_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ML_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AZUREML_MODEL_DIR=$WORK WORKER_COUNT=$WORKERS "$VENV/bin/azmlinfsrv" --entry_script "$WORK/score.py" \
  --model_dir "$WORK" --port "$AZ_PORT" --worker_count "$WORKERS" >"$WORK/azmlinfsrv.log" 2>&1 &
PIDS+=($!)
PATH=$VENV/bin:$PATH "$VENV/bin/mlflow" models serve -m "$WORK/model" --env-manager local -w "$WORKERS" \
  -h 127.0.0.1 -p "$ML_PORT" >"$WORK/mlflow.log" 2>&1 &
PIDS+=($!)
# The process whose tree each target is charged for.
declare -A ROOTPID
CIEL_PID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$CIEL_HOME/server.json")
for t in ciel-score.py ciel-mlflow ciel-score.py-unbatched ciel-score.py-batched; do ROOTPID[$t]=$CIEL_PID; done
ROOTPID[azmlinfsrv]=${PIDS[0]}
ROOTPID[mlflow-serve]=${PIDS[1]}

echo "==> bare relay ($WORKERS workers)"
(cd "$ROOT" && go build -o "$WORK/relay" ./bench/serving/relay)
AML_APP_ROOT=$WORK AZUREML_MODEL_DIR=$WORK "$WORK/relay" -python "$PY" -worker "$ROOT/bench/serving/relay_worker.py" \
  -workers "$WORKERS" >"$WORK/relay.out" 2>"$WORK/relay.log" &
PIDS+=($!)
ROOTPID[bare-relay]=$!
for _ in $(seq 1 120); do [[ -s $WORK/relay.out ]] && break; sleep 1; done
RELAY_URL=$(head -1 "$WORK/relay.out")
[[ -n $RELAY_URL ]] || { echo "the bare relay did not start:"; cat "$WORK/relay.log"; exit 1; }

# target NAME URL BODYFILE [HEADER=VALUE...]: a wrk script for one server.
target() {
  local name=$1 url=$2 body=$3; shift 3
  {
    echo "wrk.method = 'POST'"
    echo "wrk.body = io.open('$body'):read('*a')"
    echo "wrk.headers['Content-Type'] = 'application/json'"
    for h in "$@"; do echo "wrk.headers['${h%%=*}'] = '${h#*=}'"; done
  } >"$WORK/$name.lua"
  echo "$url" >"$WORK/$name.url"
}
target ciel-score.py "$URI" "$WORK/request.json" "Authorization=Bearer $KEY" "azureml-model-deployment=script"
target azmlinfsrv "http://127.0.0.1:$AZ_PORT/score" "$WORK/request.json"
target ciel-mlflow "$URI" "$WORK/request-mlflow.json" "Authorization=Bearer $KEY" "azureml-model-deployment=mlflow"
target mlflow-serve "http://127.0.0.1:$ML_PORT/invocations" "$WORK/request-mlflow.json"
target bare-relay "$RELAY_URL/score" "$WORK/request.json"
target ciel-score.py-unbatched "$URI" "$WORK/request.json" "Authorization=Bearer $KEY" "azureml-model-deployment=script"
target ciel-score.py-batched "$URI" "$WORK/request.json" "Authorization=Bearer $KEY" "azureml-model-deployment=batched"

# Every server must answer the same prediction before anything is timed.
for t in ciel-score.py azmlinfsrv ciel-mlflow mlflow-serve ciel-score.py-batched bare-relay; do
  for _ in $(seq 1 120); do
    if wrk -t1 -c1 -d1s -s "$WORK/$t.lua" "$(cat "$WORK/$t.url")" 2>/dev/null | grep -q "Requests/sec" &&
      ! wrk -t1 -c1 -d1s -s "$WORK/$t.lua" "$(cat "$WORK/$t.url")" | grep -q "Non-2xx"; then
      break
    fi
    sleep 1
  done
done
"$PY" "$ROOT/bench/serving/check.py" "$WORK" "$URI" "$KEY" "$AZ_PORT" "$ML_PORT" "$RELAY_URL/score"

cputime() { "$PY" "$ROOT/bench/serving/cputime.py" "${ROOTPID[$1]}"; }
measure() { # name conns round
  local url before prof=""; url=$(cat "$WORK/$1.url")
  wrk -t2 -c"$2" -d2s -s "$WORK/$1.lua" "$url" >/dev/null
  before=$(cputime "$1")
  if [[ -n ${PPROF:-} && $1 == ciel-score.py && $3 == 1 ]]; then
    local api; api=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$CIEL_HOME/server.json")
    curl -sf -o "$PPROF" "$api/debug/pprof/profile?seconds=$((DURATION - 1))" &
    prof=$!
  fi
  wrk -t2 -c"$2" -d"${DURATION}s" --latency -s "$WORK/$1.lua" "$url" >"$WORK/$1.$3.txt"
  [[ -z ${prof:-} ]] || { wait "$prof"; prof=""; }
  echo "$before $(cputime "$1")" >"$WORK/$1.$3.cpu"
}
echo "==> measuring: $ROUNDS rounds x ${DURATION}s per server, $CONNS connections, wrk -t2"
for r in $(seq 1 "$ROUNDS"); do
  for t in ciel-score.py azmlinfsrv ciel-mlflow mlflow-serve bare-relay; do measure "$t" "$CONNS" "$r"; done
  for t in ciel-score.py-unbatched ciel-score.py-batched; do measure "$t" "$BATCH_CONNS" "$r"; done
  "$PY" "$ROOT/bench/serving/floor.py" "$WORK" >"$WORK/floor.$r.txt"
done

echo
"$PY" - "$WORK" "$MODEL" "$WORKERS" "$CONNS" "$BATCH_CONNS" "$ROUNDS" "$DURATION" "$ROOT/bench/serving" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[8])
import report
work, model, workers, conns, bconns, rounds, duration = sys.argv[1:8]
head = f"serving benchmark: {model} model, {workers} worker processes per server, median of {rounds} x {duration}s"
r = report.main(work, ["ciel-score.py", "azmlinfsrv", "ciel-mlflow", "mlflow-serve", "bare-relay"], head + f", {conns} connections")
def ratio(a, b):
    return f"{r[a][0] / r[b][0]:.2f}x req/s, p99 {r[a][2]:.2f} vs {r[b][2]:.2f} ms"
print(f"  ciel score.py / azmlinfsrv (same score.py):     {ratio('ciel-score.py', 'azmlinfsrv')}")
print(f"  ciel mlflow / mlflow serve (same MLflow model): {ratio('ciel-mlflow', 'mlflow-serve')}")
peer = max(["azmlinfsrv", "mlflow-serve"], key=lambda k: r[k][0])
best = max(["ciel-score.py", "ciel-mlflow"], key=lambda k: r[k][0])
ok = r[best][0] >= 3 * r[peer][0] and r[best][2] < r[peer][2]
print(f"  {best} / faster peer {peer}: {ratio(best, peer)} (goal >= 3x at a lower p99: {'met' if ok else 'NOT met'})")
floor = report.floor(work)
print(f"  model floor, score.py run() in-process: {floor:.0f} us CPU per call; beyond it per request:")
for name in ("ciel-score.py", "bare-relay", "azmlinfsrv"):
    print(f"    {name:<14} {r[name][5] - floor:>6.0f} us ({r[name][5]:.0f} us CPU per request, {r[name][6]:.0f} of it in the root process)")
print("  ceilings:")
print(f"    no serving cost at all: {peer} CPU per request / model floor = {r[peer][5] / floor:.2f}x")
print(f"    bare relay (Go HTTP + Python workers over a socket, nothing else): {ratio('bare-relay', peer)}")
print(f"    ciel score.py reaches {r['ciel-score.py'][0] / r['bare-relay'][0]:.0%} of the bare relay's req/s")
print()
b = report.main(work, ["ciel-score.py-unbatched", "ciel-score.py-batched"],
                f"micro-batching (max_batch_size 32, max_batch_wait_ms 2), {bconns} connections")
u, m = b["ciel-score.py-unbatched"], b["ciel-score.py-batched"]
print(f"  batched / unbatched: {m[0] / u[0]:.2f}x req/s, p99 {m[2]:.2f} vs {u[2]:.2f} ms")
print(f"  batched / faster peer at {conns} connections: {m[0] / r[peer][0]:.2f}x req/s")
PYEOF
