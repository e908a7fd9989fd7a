#!/usr/bin/env bash
# Builds the Python environment the integration suite (tests/python) and the
# tracking benchmark (bench/tracking) run in, at .venv/, from
# tests/python/requirements.txt. Safe to run again: when the venv already
# matches the requirements file it returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=tests/python/requirements.txt
STAMP=.venv/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ -x .venv/bin/python && -f $STAMP && "$(cat "$STAMP")" == "$want" ]]; then
  exit 0
fi
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
  UV=(python3 -m uv)
else
  echo "==> installing uv from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check uv
  UV=(python3 -m uv)
fi
echo "==> building .venv from $REQ"
if [[ ! -x .venv/bin/python ]]; then
  "${UV[@]}" venv --quiet --python python3 .venv
fi
"${UV[@]}" pip install --quiet --python .venv/bin/python -r "$REQ"
echo "$want" >"$STAMP"
