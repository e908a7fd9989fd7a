#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and benchmarks: Debian's postgresql
# (installed when missing), a cluster under a folder of the caller's, on a
# free loopback port, trust authentication, durability off (fsync, full page
# writes): fast, and never a server to keep data in.
#
#   scripts/postgres.sh install                  apt-get install postgresql when missing
#   scripts/postgres.sh start DIR [--owner PID]  init DIR (once) and start; prints the URL
#   scripts/postgres.sh url DIR                  print the URL of the server under DIR
#   scripts/postgres.sh stop DIR                 stop it (DIR is kept; remove it yourself)
#
# The URL is postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable.
# PG_DURABLE=1 keeps PostgreSQL's durability on (fsync, synchronous commit,
# full page writes), for benchmarks that compare it with a durable store.
# With --owner, a watcher stops the server and removes DIR when process PID
# ends, so a test binary killed mid-run leaves no server behind.
# PostgreSQL refuses to run as root: under root, the cluster belongs to the
# postgres user and initdb and the server run as it (runuser).
set -euo pipefail

pgbin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n $d && -x $d/initdb ]] || return 1
  echo "$d"
}

install() {
  pgbin >/dev/null && return 0
  if [[ $(id -u) != 0 ]]; then
    echo "postgres.sh: PostgreSQL is not installed and installing it needs root (apt-get install postgresql)" >&2
    return 1
  fi
  echo "==> apt-get install postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  pgbin >/dev/null
}

# as runs a command as the cluster's owner: postgres under root, else us.
as() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# reachable lets the postgres user traverse (o+x, not list) the folders
# above dir that it cannot: a mktemp -d folder is 0700 root's.
reachable() {
  local p=$1
  while [[ $p != / ]]; do
    p=$(dirname "$p")
    if ! runuser -u postgres -- test -x "$p"; then
      echo "postgres.sh: chmod o+x $p so the postgres user reaches the cluster" >&2
      chmod o+x "$p"
    fi
  done
}

url() { echo "postgres://postgres@127.0.0.1:$(cat "$1/port")/postgres?sslmode=disable"; }

start() {
  local dir=$1 owner=${2:-} bin port
  install
  bin=$(pgbin)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ $(id -u) == 0 ]]; then
    chown postgres: "$dir"
    reachable "$dir"
  fi
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; return 1; }
  fi
  if as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then url "$dir"; return 0; fi
  port=$(freeport)
  echo "$port" >"$dir/port"
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [[ ${PG_DURABLE:-} == 1 ]] && durability=""
  as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=200 -c TimeZone=UTC" >/dev/null ||
    { cat "$dir/server.log" >&2; return 1; }
  if [[ -n $owner ]]; then
    # The watcher outlives this script; its output goes nowhere so callers
    # reading ours (a $(...)) are not held open.
    nohup bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3"; rm -rf "$3"' _ "$owner" "$0" "$dir" >/dev/null 2>&1 &
  fi
  url "$dir"
}

stop() {
  local dir=$1 bin
  bin=$(pgbin) || return 0
  [[ -f $dir/data/PG_VERSION ]] || return 0
  as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  install) install ;;
  start)
    owner=""
    if [[ ${3:-} == --owner ]]; then owner=${4:?pid}; fi
    start "${2:?DIR}" "$owner"
    ;;
  url) url "${2:?DIR}" ;;
  stop) stop "${2:?DIR}" ;;
  *) echo "usage: $0 install | start DIR [--owner PID] | url DIR | stop DIR" >&2; exit 2 ;;
esac
