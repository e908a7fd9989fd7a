#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium for the studio's browser
# tests, installing Debian's `chromium` package when none is there (no
# browser download of Playwright's own). Exits 3 when none can be had.
set -euo pipefail
find_chromium() {
  for c in "${CIEL_CHROMIUM:-}" chromium chromium-browser google-chrome; do
    [[ -n $c ]] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
  done
  return 1
}
if find_chromium; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
  echo "==> installing chromium (Debian package) for the studio's browser tests" >&2
  { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; } >&2 || true
fi
find_chromium || { echo "browser.sh: no chromium, and it could not be installed (apt-get install -y chromium)" >&2; exit 3; }
