#!/usr/bin/env bash
# bench/sweep: what ciel adds to a hyperparameter sweep.
#
# A sweep of TRIALS (20) trials at concurrency 4 (random sampling, seeded),
# each trial about 1 s of Python work that logs its metric over MLflow's
# REST API, timed from the CLI (`ciel job create --stream`: parse, submit,
# sample, run every trial as a tracked step, pick the best, stream, exit),
# against `xargs -P 4` running the same 20 trials (the same script and
# values, no tracking server to log to) in the same repetition. Prints both
# medians and the ratio (goal <= 1.5).
#
# Usage: bench/sweep/run.sh [runs]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
TRIALS=${TRIALS:-20}
scripts/setup.sh >/dev/null
CIEL="$PWD/bin/ciel"
WORK=$(mktemp -d)
export CIEL_HOME="$WORK/home"
unset CIEL_URL CIEL_TOKEN
trap '"$CIEL" server stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

"$CIEL" server start --addr 127.0.0.1:0 >/dev/null
"$CIEL" workspace create --name bench >/dev/null
"$CIEL" configure --defaults workspace=bench >/dev/null
"$CIEL" compute create --name four --type local --max-concurrency 4 >/dev/null

mkdir "$WORK/src"
cat >"$WORK/src/trial.py" <<'PY'
import json, os, sys, time, urllib.request
x = float(sys.argv[1])
t, n = time.time(), 0
while time.time() - t < 1.0:
    n += sum(i * i for i in range(1000))
if "MLFLOW_RUN_ID" in os.environ:
    body = json.dumps({"run_id": os.environ["MLFLOW_RUN_ID"], "key": "loss", "value": (x - 0.3) ** 2,
                       "timestamp": int(time.time() * 1000), "step": 0}).encode()
    req = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
                                 data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
print(x, n)
PY
cat >"$WORK/sweep.yml" <<YML
type: sweep
compute: azureml:four
trial:
  command: python3 trial.py \${{search_space.x}}
  code: ./src
sampling_algorithm: {type: random, seed: 1}
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
objective: {goal: minimize, primary_metric: loss}
limits: {max_total_trials: $TRIALS, max_concurrent_trials: 4}
YML

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m/1e9}'; }

: >"$WORK/ciel.txt"; : >"$WORK/xargs.txt"
sweep() {
  "$CIEL" job create --file "$WORK/sweep.yml" --stream >"$WORK/stream.log"
  grep -q "^Status: Completed" "$WORK/stream.log" || { echo "sweep did not complete"; tail -20 "$WORK/stream.log"; exit 1; }
}
# A first, untimed sweep gives the values every sweep draws (the seed is
# fixed), for xargs to run the same trials.
sweep
job=$(sed -n "s/^RunId: //p" "$WORK/stream.log" | head -1)
"$CIEL" job show --name "$job" -o json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["jobs"].values():
    print(s["params"]["x"])' >"$WORK/values.txt"
[[ $(wc -l <"$WORK/values.txt") == "$TRIALS" ]] || { echo "sweep ran $(wc -l <"$WORK/values.txt") trials"; exit 1; }
# The interpreter itself, as ciel runs it (a pyenv shim costs a shell per
# start), so that both sides start the same python.
PY=$(python3 -c 'import sys; print(sys.executable)')
plain() { (cd "$WORK/src" && xargs -P 4 -I{} "$PY" trial.py {} <"$WORK/values.txt" >/dev/null); }
# Alternating which goes first, so that a change in the machine's load
# falls on both.
for r in $(seq 1 "$RUNS"); do
  if (( r % 2 )); then
    t=$(now); sweep; echo $(( $(now) - t )) >>"$WORK/ciel.txt"
    t=$(now); plain; echo $(( $(now) - t )) >>"$WORK/xargs.txt"
  else
    t=$(now); plain; echo $(( $(now) - t )) >>"$WORK/xargs.txt"
    t=$(now); sweep; echo $(( $(now) - t )) >>"$WORK/ciel.txt"
  fi
done
C=$(median <"$WORK/ciel.txt"); X=$(median <"$WORK/xargs.txt")
echo "sweep: $TRIALS trials of ~1 s, concurrency 4, $RUNS runs, medians"
echo "  ciel job create --stream (sweep)   ${C}s"
echo "  xargs -P 4 (same trials)           ${X}s"
awk -v c="$C" -v x="$X" 'BEGIN {printf "  ratio ciel/xargs                   %.2f (goal <= 1.5)\n", c/x}'
