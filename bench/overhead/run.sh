#!/usr/bin/env bash
# bench/overhead: what ciel adds to running steps.
#
# (1) 500 independent trivial steps (command: 'true') in one pipeline on a
#     local compute of concurrency 2 with force_rerun, timed from the CLI
#     (`ciel job create --stream`: parse, submit, run, stream, exit), against
#     `xargs -P 2` running the same 500 `bash -c true` shells, and 500
#     `sh -c true` (dash: the cheapest shell, the floor of any step that is a
#     shell command), alternating in the same run. Prints the medians and both
#     ratios (goals: <= 1.5x the bash floor, <= 2x the sh floor). Beside
#     them, the bare runner (bare/): the same 500 steps exec'd by a Go
#     program doing only what a step needs kept -- its directory, working
#     directory and ./outputs, its log file, its start and end recorded
#     durably in SQLite -- the least ciel's design can cost on this disk, and
#     the same program exec'ing only, with no files and no records.
# (2) What a warm (already built) conda environment adds to a one-step job,
#     against the same job on the host's Python (goal: < 1 s).
#
# Usage: bench/overhead/run.sh [runs]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
STEPS=${STEPS:-500}
scripts/setup.sh >/dev/null
CIEL="$PWD/bin/ciel"
WORK=$(mktemp -d)
go build -o "$WORK/bare" ./bench/overhead/bare
export CIEL_HOME="$WORK/home"
unset CIEL_URL CIEL_TOKEN
trap '"$CIEL" server stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

# A free port, not the default one: a ciel of the user's may hold that.
"$CIEL" server start --addr 127.0.0.1:0 >/dev/null
"$CIEL" workspace create --name bench >/dev/null
"$CIEL" configure --defaults workspace=bench >/dev/null
"$CIEL" compute create --name two --type local --max-concurrency 2 >/dev/null

{
  echo "type: pipeline"
  echo "settings: {default_compute: azureml:two, force_rerun: true}"
  echo "jobs:"
  for i in $(seq 1 "$STEPS"); do
    echo "  s$i: {type: command, command: 'true'}"
  done
} >"$WORK/pipeline.yml"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m/1e9}'; }

: >"$WORK/ciel.txt"; : >"$WORK/xargs.txt"; : >"$WORK/sh.txt"; : >"$WORK/bare.txt"; : >"$WORK/exec.txt"
for r in $(seq 1 "$RUNS"); do
  t=$(now); seq "$STEPS" | xargs -P 2 -I{} bash -c true; echo $(( $(now) - t )) >>"$WORK/xargs.txt"
  t=$(now); seq "$STEPS" | xargs -P 2 -I{} sh -c true; echo $(( $(now) - t )) >>"$WORK/sh.txt"
  t=$(now); "$WORK/bare" -mode exec -n "$STEPS" -c 2 >/dev/null; echo $(( $(now) - t )) >>"$WORK/exec.txt"
  mkdir "$WORK/bare$r"
  t=$(now); "$WORK/bare" -mode full -n "$STEPS" -c 2 -dir "$WORK/bare$r" >/dev/null; echo $(( $(now) - t )) >>"$WORK/bare.txt"
  t=$(now); "$CIEL" job create --file "$WORK/pipeline.yml" --stream >"$WORK/stream.log"
  echo $(( $(now) - t )) >>"$WORK/ciel.txt"
done
grep -q "Completed" "$WORK/stream.log" || { echo "pipeline did not complete"; tail "$WORK/stream.log"; exit 1; }
C=$(median <"$WORK/ciel.txt"); X=$(median <"$WORK/xargs.txt"); S=$(median <"$WORK/sh.txt")
B=$(median <"$WORK/bare.txt"); E=$(median <"$WORK/exec.txt")
echo "overhead: $STEPS trivial steps, concurrency 2, force_rerun, $RUNS runs"
echo "  ciel job create --stream   median ${C}s"
echo "  xargs -P 2 bash -c true    median ${X}s"
echo "  xargs -P 2 sh -c true      median ${S}s"
echo "  bare runner, exec only     median ${E}s"
echo "  bare runner, dirs+log+db   median ${B}s"
awk -v c="$C" -v x="$X" -v n="$STEPS" 'BEGIN {printf "  ratio ciel/bash floor      %.2f (goal <= 1.5); %.2f ms a step over it\n", c/x, (c-x)*1000/n*2}'
awk -v c="$C" -v s="$S" 'BEGIN {printf "  ratio ciel/sh floor        %.2f (goal <= 2)\n", c/s}'
awk -v c="$C" -v b="$B" -v s="$S" 'BEGIN {printf "  ratio ciel/bare runner     %.2f (what the design adds; the bare runner is %.2fx the sh floor here)\n", c/b, b/s}'

# (2) warm environment cost.
cat >"$WORK/conda.yml" <<'YML'
dependencies:
  - python=3.11
  - pip
  - pip: [six==1.16.0]
YML
# Each run's command differs (the run number is an argument), so no run
# reuses an earlier one's step: every run starts python in the environment.
job() { # job FILE RUN [conda]
  {
    echo "type: command"
    echo "command: python -c pass $2"
    if [ -n "${3:-}" ]; then echo "environment: {image: python, conda_file: $WORK/conda.yml}"
    else echo "environment: {image: python}"; fi
  } >"$1"
}
job "$WORK/warm.yml" 0 conda
"$CIEL" job create --file "$WORK/warm.yml" --stream >/dev/null  # builds the environment once
: >"$WORK/warm.txt"; : >"$WORK/host.txt"
for r in $(seq 1 "$RUNS"); do
  job "$WORK/warm.yml" "$r" conda; job "$WORK/host.yml" "$r"
  t=$(now); "$CIEL" job create --file "$WORK/warm.yml" --stream >"$WORK/warm.log"; echo $(( $(now) - t )) >>"$WORK/warm.txt"
  t=$(now); "$CIEL" job create --file "$WORK/host.yml" --stream >"$WORK/host.log"; echo $(( $(now) - t )) >>"$WORK/host.txt"
done
if grep -q reused "$WORK/warm.log" "$WORK/host.log"; then echo "a run was reused: nothing measured"; exit 1; fi
W=$(median <"$WORK/warm.txt"); H=$(median <"$WORK/host.txt")
echo "warm environment: one-step job, $RUNS runs"
echo "  with a built conda env     median ${W}s"
echo "  on the host's python       median ${H}s"
awk -v w="$W" -v h="$H" 'BEGIN {printf "  warm environment cost      %.3fs (goal < 1s)\n", w-h}'
