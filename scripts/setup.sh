#!/usr/bin/env bash
# Installs what ciel needs beyond Go and Python, and builds bin/ciel.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1 && ! python3 -m uv --version >/dev/null 2>&1; then
  echo "==> installing uv (fast Python environment builder) from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
echo "==> building bin/ciel and bin/ciel-step"
# The commit goes in explicitly: `ciel version` reports it even where Go's
# own VCS stamp is off (GOFLAGS=-buildvcs=false, a worktree, no git).
commit=$(git rev-parse HEAD 2>/dev/null || true)
go build -ldflags "-X main.commit=${commit}" -o bin/ciel ./cmd/ciel
# The small binary a kubernetes step's pod runs, static for any image.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/ciel-step ./cmd/ciel-step
