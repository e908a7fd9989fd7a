#!/usr/bin/env bash
# A throwaway MariaDB for tests and benchmarks: Debian's mariadb-server
# (installed when missing), a data folder under a folder of the caller's, on
# a free loopback port, root without a password, durability off: fast, and
# never a server to keep data in.
#
#   scripts/mariadb.sh install                  apt-get install mariadb-server when missing
#   scripts/mariadb.sh start DIR [--owner PID]  init DIR (once) and start; prints the URL
#   scripts/mariadb.sh url DIR                  print the URL of the server under DIR
#   scripts/mariadb.sh stop DIR                 stop it (DIR is kept; remove it yourself)
#
# The URL is mysql://root@127.0.0.1:PORT/ (go-sql-driver's DSN is
# root@tcp(127.0.0.1:PORT)/). With --owner, a watcher stops the server and
# removes DIR when process PID ends. Under root the server runs as the mysql
# user (mariadbd --user=mysql).
set -euo pipefail

install() {
  command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && return 0
  if [[ $(id -u) != 0 ]]; then
    echo "mariadb.sh: MariaDB is not installed and installing it needs root (apt-get install mariadb-server)" >&2
    return 1
  fi
  echo "==> apt-get install mariadb-server" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq mariadb-server >&2
  # Debian starts a system server on install; ours are separate.
  command -v mariadbd >/dev/null
}

freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

url() { echo "mysql://root@127.0.0.1:$(cat "$1/port")/"; }

userflag() {
  if [[ $(id -u) == 0 ]]; then echo --user=mysql; else echo "--user=$(id -un)"; fi
}

# reachable lets the mysql user traverse (o+x, not list) the folders above
# dir that it cannot: a mktemp -d folder is 0700 root's.
reachable() {
  local p=$1
  while [[ $p != / ]]; do
    p=$(dirname "$p")
    if ! runuser -u mysql -- test -x "$p"; then
      echo "mariadb.sh: chmod o+x $p so the mysql user reaches the data" >&2
      chmod o+x "$p"
    fi
  done
}

alive() { mariadb-admin --no-defaults --protocol=socket -S "$1/sock" -uroot ping >/dev/null 2>&1; }

start() {
  local dir=$1 owner=${2:-} port i
  install
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ $(id -u) == 0 ]]; then
    chown mysql: "$dir"
    reachable "$dir"
  fi
  if [[ ! -d $dir/data/mysql ]]; then
    mariadb-install-db --no-defaults "$(userflag)" --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  fi
  if alive "$dir"; then url "$dir"; return 0; fi
  port=$(freeport)
  echo "$port" >"$dir/port"
  nohup mariadbd --no-defaults "$(userflag)" --datadir="$dir/data" --socket="$dir/sock" --pid-file="$dir/pid" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --log-error="$dir/server.log" \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-buffer-pool-size=128M \
    --innodb-log-file-size=64M --skip-log-bin --max-connections=300 --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_bin --default-time-zone=+00:00 >/dev/null 2>&1 &
  for i in $(seq 1 300); do
    alive "$dir" && break
    sleep 0.1
  done
  alive "$dir" || { cat "$dir/server.log" >&2; return 1; }
  if [[ -n $owner ]]; then
    nohup bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3"; rm -rf "$3"' _ "$owner" "$0" "$dir" >/dev/null 2>&1 &
  fi
  url "$dir"
}

stop() {
  local dir=$1 pid i
  [[ -f $dir/pid ]] || return 0
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
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
