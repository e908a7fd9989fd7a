#!/usr/bin/env bash
# Open MPI for the tests of distribution type mpi: Debian's openmpi-bin,
# installed when mpirun is missing (Azure ML's MPI images have it; ciel
# starts an mpi step's processes with the mpirun on the step's PATH).
#
#   scripts/openmpi.sh install    apt-get install openmpi-bin when mpirun is missing
set -euo pipefail

install() {
  command -v mpirun >/dev/null && return 0
  if [[ $(id -u) != 0 ]]; then
    echo "openmpi.sh: mpirun is not installed and installing it needs root (apt-get install openmpi-bin)" >&2
    return 1
  fi
  echo "==> apt-get install openmpi-bin" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq --no-install-recommends openmpi-bin || { apt-get update -qq && apt-get install -y -qq --no-install-recommends openmpi-bin; }; } >&2
  command -v mpirun >/dev/null
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: scripts/openmpi.sh install" >&2; exit 2 ;;
esac
