#!/usr/bin/env bash
# Regenerates internal/envs/curated/catalogue.yaml, ciel's copy of Azure ML's
# curated environments, from a local copy of the public Azure/azureml-assets
# repository.
#
#   scripts/gen-curated-envs.sh /path/to/azureml-assets   # a git checkout or clone
#
# The checkout is read, never changed. The substitutions (pins that have no
# wheel for a Python version, and their nearest installable replacement) are
# computed with uv against PyPI; pass OFFLINE=1 to leave them out.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-${AZUREML_ASSETS:-}}
if [ -z "$src" ]; then
  echo "usage: $0 <azureml-assets checkout or bare clone>" >&2
  exit 2
fi
commit=$(git -C "$src" rev-parse HEAD)
date=$(git -C "$src" show -s --format=%cs HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A bare clone has no work tree: export the folders the catalogue reads.
git -C "$src" archive HEAD assets/training/general/environments assets/inference/environments \
  assets/training/model_management/environments assets/pipelines/environments | tar -x -C "$work"
cd "$here"
go run ./internal/envs/curated/gencatalogue -assets "$work" -commit "$commit" -date "$date" \
  -out internal/envs/curated/catalogue.yaml ${OFFLINE:+-offline}
