#!/usr/bin/env bash
# bench/studio: the studio against the MLflow UI in headless Chromium, side
# by side in one run, on the same data logged through the same mlflow client
# (bench/studio/load.py): an experiment of RUNS runs (a few params, metrics
# and tags each) and one run whose metric "loss" has POINTS points.
#
# Measured, each REPS times per UI, alternating UIs, every navigation in a
# new browser context (cold: no cache, no cookies), by bench/studio/measure.mjs:
#   (runs)  navigation to the experiment's page until its runs table shows
#           rows: ciel /workspaces/<ws>/experiments/<id>, MLflow
#           /#/experiments/<id>
#   (chart) navigation to the long run's metric chart until it is drawn:
#           ciel /workspaces/<ws>/runs/<run>?metric=loss (the chart sets
#           data-drawn after uPlot's draw), MLflow /#/metric?runs=...&metric=loss
#           (its plot's SVG path is in the page)
# and the medians and ratios are printed. Goal: both under 1 s and >= 5x
# faster than the MLflow UI.
#
# Loading (bench/studio/load.py, README.md): ciel is filled over HTTP by the
# mlflow client (create_run with tags, log_batch, set_terminated;
# LOAD_THREADS client threads); mlflow's SQLite store by the same client
# in-process through a sqlite:/// tracking URI (mlflow's own SqlAlchemyStore)
# for the curve and the first 2,000 runs, the rest inserted in bulk through
# mlflow's own SQLAlchemy models (the same rows), then `mlflow server` serves
# it. Both are cached under CACHE (keyed by RUNS and POINTS), so a second run
# starts in seconds; remove the folder to reload.
#
# Usage: bench/studio/run.sh
#        RUNS=100000 POINTS=1000000 REPS=5 LOAD_THREADS=8 CACHE=~/.cache/ciel/bench-studio SHOTS=/tmp/shots bench/studio/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-100000}
POINTS=${POINTS:-1000000}
REPS=${REPS:-5}
LOAD_THREADS=${LOAD_THREADS:-8}
CACHE=${CACHE:-$HOME/.cache/ciel/bench-studio}
C="$CACHE/r$RUNS-p$POINTS"
scripts/setup.sh >/dev/null
scripts/pyenv.sh
PY="$PWD/.venv/bin/python"
CHROMIUM=$(scripts/browser.sh)
bash scripts/studio.sh build >/dev/null
go build -o bin/ciel ./cmd/ciel
export MLFLOW_DISABLE_TELEMETRY=true
unset CIEL_URL CIEL_TOKEN
mkdir -p "$C/ciel" "$C/mlflow"
WORK=$(mktemp -d)
CIEL_PID="" MLFLOW_PID=""
cleanup() {
  [[ -n $CIEL_PID ]] && kill "$CIEL_PID" 2>/dev/null || true
  [[ -n $MLFLOW_PID ]] && kill "$MLFLOW_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
loaded() { [[ -s $1 ]] && grep -q experiment_id "$1"; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_ciel runs ciel's server on the cached CIEL_HOME.
start_ciel() {
  export CIEL_HOME="$C/ciel/home"
  mkdir -p "$CIEL_HOME"
  rm -f "$CIEL_HOME/server.json"
  bin/ciel server run --addr 127.0.0.1:0 >"$WORK/ciel.log" 2>&1 &
  CIEL_PID=$!
  for _ in $(seq 300); do [[ -f $CIEL_HOME/server.json ]] && break; sleep 0.1; done
  [[ -f $CIEL_HOME/server.json ]] || { echo "ciel server did not start"; tail -20 "$WORK/ciel.log"; exit 1; }
  CIEL_URL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$CIEL_HOME/server.json")
}

# A ciel load cut short starts again from an empty CIEL_HOME.
loaded "$C/ciel/load.json" || rm -rf "$C/ciel/home"
start_ciel
if ! loaded "$C/ciel/load.json"; then
  echo "==> loading ciel: $RUNS runs, a $POINTS-point metric (mlflow client over HTTP, $LOAD_THREADS threads)" >&2
  bin/ciel workspace create --name bench >/dev/null 2>&1 || true
  "$PY" bench/studio/load.py --uri "$CIEL_URL/ws/bench" --runs "$RUNS" --points "$POINTS" \
    --threads "$LOAD_THREADS" --out "$C/ciel/load.json" >"$C/ciel/load.log" 2>&1
fi
if ! loaded "$C/mlflow/load.json"; then
  echo "==> loading mlflow's SQLite store: $RUNS runs, a $POINTS-point metric (mlflow client, sqlite:/// in-process)" >&2
  (cd "$C/mlflow" && "$PY" "$OLDPWD/bench/studio/load.py" --uri "sqlite:///$C/mlflow/mlflow.db" --runs "$RUNS" --points "$POINTS" \
    --out "$C/mlflow/load.json" >"$C/mlflow/load.log" 2>&1)
fi
echo "ciel   loaded in $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$C/ciel/load.json") s" >&2
echo "mlflow loaded in $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$C/mlflow/load.json") s" >&2

PORT=$(free_port)
"$PWD/.venv/bin/mlflow" server --backend-store-uri "sqlite:///$C/mlflow/mlflow.db" --default-artifact-root "$C/mlflow/artifacts" \
  --host 127.0.0.1 --port "$PORT" >"$WORK/mlflow.log" 2>&1 &
MLFLOW_PID=$!
MLFLOW_URL="http://127.0.0.1:$PORT"
for _ in $(seq 600); do
  curl -sf "$MLFLOW_URL/health" >/dev/null 2>&1 && break
  kill -0 "$MLFLOW_PID" 2>/dev/null || { echo "mlflow server died:"; tail -20 "$WORK/mlflow.log"; exit 1; }
  sleep 0.2
done
curl -sf "$MLFLOW_URL/health" >/dev/null || { echo "mlflow server did not start"; tail -20 "$WORK/mlflow.log"; exit 1; }

echo "ciel   $CIEL_URL (studio)"
echo "mlflow $MLFLOW_URL ($("$PY" -c 'import mlflow; print(mlflow.__version__)'), SQLite)"
CIEL_CHROMIUM="$CHROMIUM" node bench/studio/measure.mjs --reps "$REPS" --runs "$RUNS" --points "$POINTS" \
  --ciel "$CIEL_URL" --ciel-ws bench --ciel-load "$C/ciel/load.json" \
  --mlflow "$MLFLOW_URL" --mlflow-load "$C/mlflow/load.json" --shots "${SHOTS:-}"
