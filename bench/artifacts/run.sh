#!/usr/bin/env bash
# bench/artifacts: the upload time of a large MLflow artifact (SIZE_MB,
# default 1 GiB) on a ciel server whose blob store, and so whose artifact
# root, is an S3 bucket (moto's server, scripts/s3server.sh), side by side:
#
#   proxy   the real mlflow client, one PUT through ciel's artifact proxy,
#           which streams it on to the bucket (what mlflow#7564 times out on)
#   mpu     the same client with MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true:
#           ciel hands out presigned part URLs, the client PUTs 10 MiB parts
#           straight to the bucket, ciel completes the upload
#   floor   minio-go uploading the same file straight to the bucket, in the
#           same 10 MiB parts, 4 at a time: no tracking server at all
#
# Each runs RUNS times, alternating; the medians and the ratios are printed
# (proxy/mpu: what presigned uploads save; mpu/floor: what ciel still
# costs). The S3 server is moto, in Python, which keeps objects in memory,
# so the absolute figures are moto's speed; each upload is deleted after.
# Needs ~3x SIZE_MB of free memory. Run it alone on the machine.
#
# Usage: bench/artifacts/run.sh [runs]   (default 3)
#        SIZE_MB=1024 bench/artifacts/run.sh 3
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
SIZE_MB=${SIZE_MB:-1024}
PY="$PWD/.venv/bin/python"
export MLFLOW_DISABLE_TELEMETRY=true AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret
MOTO=$(scripts/s3server.sh path)
WORK=$(mktemp -d)
MOTO_PID="" CIEL_PID=""
cleanup() {
  [[ -n $CIEL_PID ]] && kill "$CIEL_PID" 2>/dev/null || true
  [[ -n $MOTO_PID ]] && kill "$MOTO_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
go build -o "$WORK/cielbin" ./cmd/ciel
go build -o "$WORK/floor" ./bench/artifacts/floor

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
S3="http://127.0.0.1:$PORT"
"$MOTO" -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 300); do curl -fs "$S3/" >/dev/null 2>&1 && break; sleep 0.1; done
BUCKET=bench-artifacts
curl -fs -X PUT "$S3/$BUCKET" >/dev/null

export CIEL_HOME="$WORK/ciel"
unset CIEL_URL CIEL_TOKEN
mkdir -p "$CIEL_HOME"
"$WORK/cielbin" server run --addr 127.0.0.1:0 --blob "s3://$BUCKET?endpoint=$S3&region=us-east-1" >"$WORK/ciel.log" 2>&1 &
CIEL_PID=$!
for _ in $(seq 300); do [[ -f $CIEL_HOME/server.json ]] && break; sleep 0.1; done
[[ -f $CIEL_HOME/server.json ]] || { echo "ciel did not start"; cat "$WORK/ciel.log"; exit 1; }
URI=$("$WORK/cielbin" workspace create --name bench -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mlflow_tracking_uri"])')

FILE="$WORK/model.bin"
head -c "$((SIZE_MB << 20))" /dev/urandom >"$FILE"
echo "bench/artifacts: ${SIZE_MB} MiB artifact, $RUNS runs each, S3 server: moto ($("$PY" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null) host python)"

declare -A T
for r in $(seq "$RUNS"); do
  p=$("$PY" bench/artifacts/upload.py "$URI" "$FILE" proxy)
  m=$("$PY" bench/artifacts/upload.py "$URI" "$FILE" mpu)
  f=$("$WORK/floor" -endpoint "$S3" -bucket "$BUCKET" -file "$FILE")
  T[proxy]+="$p " T[mpu]+="$m " T[floor]+="$f "
  echo "  run $r: proxy ${p}s mpu ${m}s floor ${f}s"
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
P=$(median "${T[proxy]}") M=$(median "${T[mpu]}") F=$(median "${T[floor]}")
awk -v p="$P" -v m="$M" -v f="$F" -v mb="$SIZE_MB" 'BEGIN {
  printf "%-8s %9s %10s\n", "upload", "median s", "MiB/s"
  printf "%-8s %9.2f %10.1f\n", "proxy", p, mb / p
  printf "%-8s %9.2f %10.1f\n", "mpu", m, mb / m
  printf "%-8s %9.2f %10.1f\n", "floor", f, mb / f
  printf "proxy/mpu = %.2fx (presigned multipart over one PUT through ciel)\n", p / m
  printf "mpu/floor = %.2fx (the mlflow client with ciel vs minio-go straight to S3)\n", m / f
}'
