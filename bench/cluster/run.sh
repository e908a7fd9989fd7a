#!/usr/bin/env bash
# bench/cluster: trivial steps on a real single-node Kubernetes
# (scripts/cluster.sh), in one run, side by side:
#
#   floor     N bare batch/v1 Jobs, each created by its own `kubectl create`,
#             in the steps' image, command `true`, no init container
#   floor+init  the same with an init container that runs `true` and an
#             emptyDir volume the two share: the shape of ciel's Jobs at
#             no cost of its own, the ceiling of that design
#   ciel xR   N one-step command jobs (command `true <name>`, so none is
#             reused) on a kubernetes compute, each submitted by its own
#             `ciel job create --stream`, round-robin over R = 1, 2, 3
#             server replicas that share one PostgreSQL database and the
#             cluster's S3 bucket; each step is a Job with ciel's stage-in
#             init container
#
# Every variant keeps IN_FLIGHT steps in flight: IN_FLIGHT workers each
# submit a step, wait for its end (the floor: its container seen
# terminated; ciel: its CLI's exit), then submit the next. Measured by one
# watcher (bench/cluster/driver) on one clock: steps/s (N / first submit to
# last end), and per step start latency p50/p99 (submit -> the step's main
# container seen running), split into dispatch (submit -> the Kubernetes
# Job seen) and pod (Job seen -> container running). Each variant first
# runs 2 warm-up steps, not counted, and ends by deleting its Jobs and
# waiting for their pods to go; all run in a namespace of the run's own.
# Prints the table, with ciel's figures against the floor's and against
# Argo's published ~10 s a step. bench/cluster/README.md has the figures.
#
# The cluster: started under CLUSTER_DIR (default /tmp/cbench) and stopped
# at the end; if it already runs there, it is used and left running. One
# Kubernetes runs per machine: while another DIR's holds it (or its ports),
# this waits, up to WAIT_MIN minutes (default 30), and retries.
#
# Usage: bench/cluster/run.sh [N] [IN_FLIGHT]   (defaults 1000 and 8; root)
#        FLOOR=0 skips the floors, REPLICAS=R runs ciel x1..xR (default 3),
#        KEEP_WORK=1 keeps the servers' homes and logs
#        bench/cluster/run.sh 60 6
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${1:-1000}
C=${2:-8}
DIR=${CLUSTER_DIR:-/tmp/cbench}
WAIT_MIN=${WAIT_MIN:-30}
ID=$(date +%s | tail -c 7)$RANDOM
WORK=$(mktemp -d /tmp/cbench-work.XXXXXX)
CL=$ROOT/scripts/cluster.sh
STARTED=0 FWD_PID="" DB="" ADMIN_STORE="" NS="" HOMES=()
say() { echo "bench/cluster: $*" >&2; }
kc() { "$CL" kubectl "$DIR" "$@"; }

cleanup() {
  local h
  for h in "${HOMES[@]}"; do CIEL_HOME=$h "$WORK/ciel" server stop >/dev/null 2>&1 || true; done
  if [[ -n $DB ]]; then psql -q "$ADMIN_STORE" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
  if [[ -n $FWD_PID ]]; then kill "$FWD_PID" 2>/dev/null || true; fi
  if [[ -n $NS ]]; then kc delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; fi
  if ((STARTED)); then "$CL" down "$DIR" >/dev/null 2>&1 || say "down $DIR failed: run scripts/cluster.sh down $DIR"; fi
  if [[ -n ${KEEP_WORK:-} ]]; then say "kept $WORK (servers' homes and logs)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The cluster: this DIR's if it runs, else up, waiting while another holds the machine.
if "$CL" status "$DIR" >/dev/null 2>&1; then
  say "using the cluster already up under $DIR (left running)"
  eval "$("$CL" env "$DIR")"
else
  deadline=$(($(date +%s) + WAIT_MIN * 60))
  until exports=$("$CL" up "$DIR" 2>"$WORK/up.log") && eval "$exports"; do
    if ! grep -qE "runs on this machine|is in use" "$WORK/up.log" || (($(date +%s) > deadline)); then
      cat "$WORK/up.log" >&2
      "$CL" down "$DIR" >/dev/null 2>&1 || true
      exit 1
    fi
    say "another Kubernetes holds the machine ($(grep -oE "cluster of [^ ]+|port [0-9]+ is in use" "$WORK/up.log" | head -1)); retrying in 30 s"
    sleep 30
  done
  STARTED=1
fi

say "building ciel and ciel-step (static, for the helper image) and the driver"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/ciel" ./cmd/ciel
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/ciel-step" ./cmd/ciel-step
go build -o "$WORK/driver" ./bench/cluster/driver
# The cluster's own kubectl, called directly (not through cluster.sh).
KUBECTL=$(dirname "$(readlink "/proc/$(cat "$DIR/pids/kube-apiserver.pid")/exe")")/kubectl
[[ -x $KUBECTL ]] || { say "no kubectl beside the running kube-apiserver ($KUBECTL)"; exit 1; }
HELPER=$("$WORK/ciel" compute helper-image --path "$WORK/helper.tar" 2>/dev/null)
IMAGE=$("$WORK/driver" image "$WORK/step.tar")
"$CL" import-image "$DIR" "$WORK/helper.tar" 2>/dev/null
"$CL" import-image "$DIR" "$WORK/step.tar" 2>/dev/null

# The pods reach the host on the bridge cielbr0, made with the first pod;
# the cluster's S3 server listens on 127.0.0.1 only, so socat forwards
# 10.244.0.1:FWD to it for the pods' stage-in and outputs.
if ! ip link show cielbr0 >/dev/null 2>&1; then
  kc -n ciel run "bridge-$ID" --image=localhost/ciel-busybox:local --image-pull-policy=Never --restart=Never -- true >/dev/null
  for _ in $(seq 600); do ip link show cielbr0 >/dev/null 2>&1 && break; sleep 0.2; done
  kc -n ciel delete pod "bridge-$ID" --wait=false >/dev/null
fi
# A bridge made by `ip link add` (cluster.sh up, since main's da7cdc1) has a
# random MAC that Linux replaces with its lowest port's as pods come and go
# (00:00:00:00:00:00 with none): pods' ARP entries for 10.244.0.1 go stale
# and their connections to the host time out now and then. A MAC set
# explicitly stays (addr_assign_type 3); until cluster.sh sets one, this does.
if [[ $(cat /sys/class/net/cielbr0/addr_assign_type) != 3 ]]; then
  ip link set dev cielbr0 address 02:c1:e1:0a:f4:01
fi
S3_PORT=$(sed -E 's#.*endpoint=http://127\.0\.0\.1:([0-9]+).*#\1#' <<<"$CIEL_BLOB")
FWD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("10.244.0.1",0)); print(s.getsockname()[1])')
socat "TCP-LISTEN:$FWD,bind=10.244.0.1,fork,reuseaddr" "TCP:127.0.0.1:$S3_PORT" &
FWD_PID=$!

# A namespace of this run's own (another user of the cluster keeps theirs),
# usable once the controller-manager has made its default service account.
kc create namespace "cbench-$ID" >/dev/null
NS=cbench-$ID
for _ in $(seq 300); do kc -n "$NS" get serviceaccount default >/dev/null 2>&1 && break; sleep 0.2; done

# A database of this run's own on the cluster's PostgreSQL.
ADMIN_STORE=$CIEL_STORE
psql -q "$ADMIN_STORE" -c "CREATE DATABASE cbench_$ID" >/dev/null
DB=cbench_$ID
export CIEL_STORE=${ADMIN_STORE/\/ciel\?//$DB?}

RESULTS=$WORK/results.jsonl
common=(-n "$N" -c "$C" -ns "$NS" -kubeconfig "$KUBECONFIG" -image "$IMAGE" -id "$ID" -out "$RESULTS")
if [[ ${FLOOR:-1} != 0 ]]; then
  say "floor: $N Jobs with kubectl, $C in flight"
  "$WORK/driver" floor "${common[@]}" -kubectl "$KUBECTL"
  say "floor+init: $N Jobs with an init container, with kubectl, $C in flight"
  "$WORK/driver" floor -init "${common[@]}" -kubectl "$KUBECTL"
fi

cat >"$WORK/compute.yml" <<EOF
name: k8s
type: kubernetes
kubeconfig: $KUBECONFIG
namespace: $NS
helper_image: $HELPER
blob_endpoint: http://10.244.0.1:$FWD
max_concurrency: $C
EOF
for r in $(seq 1 "${REPLICAS:-3}"); do
  h=$WORK/home$r
  HOMES+=("$h")
  CIEL_HOME=$h "$WORK/ciel" server start --addr 127.0.0.1:0 >/dev/null
  if ((r == 1)); then CIEL_HOME=$h "$WORK/ciel" workspace create --name bench >/dev/null; fi
  CIEL_HOME=$h "$WORK/ciel" configure --defaults workspace=bench >/dev/null
  if ((r == 1)); then CIEL_HOME=$h "$WORK/ciel" compute create --file "$WORK/compute.yml" >/dev/null; fi
  say "ciel x$r: $N steps on $r replica(s), $C in flight"
  homes=$(IFS=,; echo "${HOMES[*]}")
  "$WORK/driver" ciel "${common[@]}" -ciel "$WORK/ciel" -kubectl "$KUBECTL" -homes "$homes" -workdir "$WORK"
done

echo "bench/cluster: N=$N in flight=$C, single-node Kubernetes $(kc version -o json 2>/dev/null | grep -m1 -o '"gitVersion": *"[^"]*"' | cut -d'"' -f4 || true), $(nproc) cores, $(date -u +%FT%TZ)"
"$WORK/driver" table "$RESULTS"
cp "$RESULTS" "${RESULTS_OUT:-/tmp/cbench-results-$ID.jsonl}"
say "results kept in ${RESULTS_OUT:-/tmp/cbench-results-$ID.jsonl}"
