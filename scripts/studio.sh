#!/usr/bin/env bash
# The studio (ciel's web UI): sources in ui/, built bundle committed in
# internal/ui/dist, which `go build` embeds, so a fresh clone builds without
# Node. Commands:
#   build  install ui/'s npm packages (npm ci, from the committed lockfile)
#          and build the bundle into internal/ui/dist
#   check  type-check ui/, rebuild into a temporary folder and fail if that
#          differs from the committed internal/ui/dist (CI runs this)
#   test   browser tests (ui/test/*.test.mjs) in headless Chromium against
#          the real ciel binary; screenshots go to ui/test-results/. Skipped
#          with a message when no chromium can be had, except with CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "==> installing Node.js and npm (Debian packages)"
    apt-get install -y nodejs npm >/dev/null
  fi
}

# deps runs npm ci when ui/node_modules does not match the lockfile.
deps() {
  need_node
  local want stamp=ui/node_modules/.ciel-lock.sha256
  want=$(sha256sum ui/package-lock.json | cut -d' ' -f1)
  if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  echo "==> npm ci (ui/)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

case "${1:-}" in
build)
  deps
  (cd ui && npx --no-install tsc --noEmit -p . && node build.mjs)
  ;;
check)
  deps
  (cd ui && npx --no-install tsc --noEmit -p .)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ciel-studio.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  node ui/build.mjs "$tmp/dist" >/dev/null
  if ! diff -r "$tmp/dist" internal/ui/dist; then
    echo "studio.sh check: internal/ui/dist does not match ui/ (run scripts/studio.sh build and commit internal/ui/dist)" >&2
    exit 1
  fi
  echo "studio bundle matches its source"
  ;;
test)
  deps
  if ! chromium=$(scripts/browser.sh); then
    if [[ "${CI:-}" == "true" ]]; then
      echo "studio.sh test: no chromium under CI=true" >&2
      exit 1
    fi
    echo "studio.sh test: SKIPPED, no chromium (apt-get install -y chromium)"
    exit 0
  fi
  commit=$(git rev-parse HEAD 2>/dev/null || true)
  go build -ldflags "-X main.commit=${commit}" -o bin/ciel ./cmd/ciel
  shift
  if [[ $# -eq 0 ]]; then
    set -- ui/test/*.test.mjs
  fi
  CIEL_CHROMIUM="$chromium" CIEL_BIN="$PWD/bin/ciel" CIEL_PYTHON="$PWD/.venv/bin/python" \
    node --test --test-concurrency=1 "$@"
  ;;
*)
  echo "usage: scripts/studio.sh build|check|test [test files]" >&2
  exit 2
  ;;
esac
