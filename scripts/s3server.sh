#!/usr/bin/env bash
# An S3-compatible server for the datastore tests: moto's server (a real S3
# implementation from PyPI, moto[server]) in its own virtualenv, .venv-s3/.
#
#   scripts/s3server.sh install      build .venv-s3 (once; again when the pin moves)
#   scripts/s3server.sh path         print the moto_server to run (installing first)
#   scripts/s3server.sh run PORT     run it on 127.0.0.1:PORT in the foreground
#
# e2e/datastore_s3_test.go runs the path's server itself on a free port and
# skips, saying so, when none is found (CIEL_TEST_MOTO_SERVER overrides it).
set -euo pipefail
cd "$(dirname "$0")/.."
PIN="moto[server]==5.2.5"
VENV=.venv-s3
STAMP=$VENV/.pin

install() {
  if [[ -x $VENV/bin/moto_server && -f $STAMP && "$(cat "$STAMP")" == "$PIN" ]]; then
    return 0
  fi
  if command -v uv >/dev/null 2>&1; then
    UV=(uv)
  elif python3 -m uv --version >/dev/null 2>&1; then
    UV=(python3 -m uv)
  else
    python3 -m pip install --quiet --disable-pip-version-check uv
    UV=(python3 -m uv)
  fi
  echo "==> building $VENV with $PIN" >&2
  [[ -x $VENV/bin/python ]] || "${UV[@]}" venv --quiet --python python3 "$VENV" >&2
  "${UV[@]}" pip install --quiet --python "$VENV/bin/python" "$PIN" >&2
  echo "$PIN" >"$STAMP"
}

case "${1:-}" in
  install) install ;;
  path) install && echo "$PWD/$VENV/bin/moto_server" ;;
  run) install && exec "$VENV/bin/moto_server" -H 127.0.0.1 -p "${2:?port}" ;;
  *) echo "usage: $0 install|path|run PORT" >&2; exit 2 ;;
esac
