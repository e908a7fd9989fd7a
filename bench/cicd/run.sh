#!/usr/bin/env bash
# bench/cicd: what ciel's CI/CD adds, measured over repeated pushes.
#
# A pipeline of three script steps that do real work (about 1 s of Python
# each) is pushed RUNS times to a repository ciel hosts; each push changes
# one file. For every push it records:
#   (a) from `git push` returning to the first step of the run starting
#       (goal < 1 s; hosted agents queue for many seconds),
#   (b) the run's wall time, from `git push` returning to the run
#       completing, against the same three scripts run by plain bash in a
#       fresh clone of the same commit, in the same repetition
#       (goal <= 1.2x).
# It prints the medians and the ratio.
#
# Usage: bench/cicd/run.sh [runs]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
scripts/setup.sh >/dev/null
CIEL="$PWD/bin/ciel"
WORK=$(mktemp -d)
export CIEL_HOME="$WORK/home"
unset CIEL_URL CIEL_TOKEN
trap '"$CIEL" server stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
export HOME="$WORK" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@x

"$CIEL" server start --addr 127.0.0.1:0 >/dev/null
"$CIEL" workspace create --name bench >/dev/null
"$CIEL" configure --defaults workspace=bench >/dev/null
REMOTE=$("$CIEL" repos create --name app -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["remoteUrl"])')
"$CIEL" pipelines create --name ci --repository app >/dev/null
BASE=${REMOTE%%/git/*}

mkdir "$WORK/src"
cd "$WORK/src"
git init -q -b main
cat >work.py <<'PY'
import sys, time
t = time.time()
n = 0
while time.time() - t < 1.0:
    n += sum(i * i for i in range(1000))
print(sys.argv[1], n)
PY
cat >azure-pipelines.yml <<'YML'
trigger:
  branches:
    include: [main]
steps:
  - script: python3 work.py prep
  - script: python3 work.py train
  - script: python3 work.py evaluate
YML
plain() { python3 work.py prep && python3 work.py train && python3 work.py evaluate; }

now() { date +%s%N; }
: >"$WORK/a"; : >"$WORK/b-ciel"; : >"$WORK/b-bash"
for r in $(seq "$RUNS"); do
  echo "$r" >rev.txt
  git add -A && git commit -qm "rev $r"
  git push -q "$REMOTE" main
  pushed=$(now)
  id=$("$CIEL" pipelines runs list --pipeline-name ci -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  while :; do
    run=$(curl -sf "$BASE/api/v1/workspaces/bench/pipeline-runs/$id")
    status=$(echo "$run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [[ $status == completed ]] && break
    sleep 0.05
  done
  done_at=$(now)
  echo "$run" | python3 -c '
import json, sys
from datetime import datetime
r = json.load(sys.stdin)
assert r["result"] == "succeeded", r
first = r["jobs"][0]["steps"][0]["startTime"]
t = datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp()
print(int(t * 1e9) - int(sys.argv[1]))' "$pushed" >>"$WORK/a"
  echo $((done_at - pushed)) >>"$WORK/b-ciel"
  rm -rf "$WORK/clone" && git clone -q . "$WORK/clone"
  t=$(now); (cd "$WORK/clone" && plain >/dev/null); echo $(($(now) - t)) >>"$WORK/b-bash"
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m/1e9}'; }
A=$(median "$WORK/a"); C=$(median "$WORK/b-ciel"); B=$(median "$WORK/b-bash")
echo "cicd benchmark: $RUNS pushes, 3 script steps of ~1 s each, medians, 2 cores shared"
echo "  (a) git push returned -> first step started   ${A}s   (goal < 1 s)"
echo "  (b) git push returned -> run completed         ${C}s"
echo "      the same three scripts in plain bash       ${B}s"
awk -v c="$C" -v b="$B" 'BEGIN {printf "      ratio ciel/bash                            %.2f  (goal <= 1.2)\n", c/b}'
