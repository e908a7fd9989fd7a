# PostgreSQL for scripts/cluster.sh (sourced): Debian's server, a durable
# cluster in DIR/pg/data, on 127.0.0.1 with a password.

pgbin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n $d && -x $d/initdb ]] || return 1
  echo "$d"
}

# pg_as runs a command as the cluster's owner: PostgreSQL refuses to run as
# root, so under root the cluster belongs to the postgres user (as in
# scripts/postgres.sh).
pg_as() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_reachable lets the postgres user traverse (o+x, not list) the folders
# above DIR/pg that it cannot enter, such as root's home (0700).
pg_reachable() {
  local p=$1
  while [[ $p != / ]]; do
    p=$(dirname "$p")
    if ! runuser -u postgres -- test -x "$p"; then
      say "chmod o+x $p so the postgres user reaches $1"
      chmod o+x "$p"
    fi
  done
}

pg_up() {
  local d=$DIR/pg bin port pass t0
  t0=$(now)
  bin=$(pgbin)
  mkdir -p "$d"
  port=$(port_of "$d/port" CIEL_CLUSTER_PG_PORT)
  pass=$(secret pg-password 32)
  if [[ $(id -u) == 0 ]]; then
    chown postgres: "$d"
    chmod 700 "$d"
    pg_reachable "$d"
  fi
  if [[ ! -f $d/data/PG_VERSION ]]; then
    # The superuser gets a password nobody keeps: TCP logins are by
    # password, and the admin work below goes through the unix socket.
    local pw
    pw=$(mktemp)
    rand 32 >"$pw"
    chown postgres: "$pw" 2>/dev/null || true
    pg_as "$bin/initdb" -D "$d/data" -U postgres --pwfile="$pw" --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$DIR/logs/pg-initdb.log" 2>&1 ||
      { rm -f "$pw"; cat "$DIR/logs/pg-initdb.log" >&2; die "initdb failed"; }
    rm -f "$pw"
  fi
  if ! pg_as "$bin/pg_ctl" -D "$d/data" status >/dev/null 2>&1; then
    port_free "$port" || die "PostgreSQL: port $port (kept in $d/port) is in use"
    # The log goes where the postgres user may write; DIR/logs links to it.
    pg_as "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 120 start \
      -o "-p $port -k $d -c listen_addresses=127.0.0.1 -c max_connections=200 -c TimeZone=UTC" >/dev/null ||
      { tail -n 30 "$d/server.log" >&2; die "PostgreSQL did not start"; }
    ln -sf "$d/server.log" "$DIR/logs/pg.log"
  fi
  head -1 "$d/data/postmaster.pid" >"$DIR/pids/pg.pid"
  echo postgres >"$DIR/pids/pg.exe"
  # The role and database ciel, made (or their password reset to the kept
  # one) on every up: idempotent.
  pg_as "$bin/psql" -h "$d" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL ||
SELECT 'CREATE ROLE ciel LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ciel')
\gexec
ALTER ROLE ciel WITH LOGIN CREATEDB PASSWORD '$pass';
SELECT 'CREATE DATABASE ciel OWNER ciel' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ciel')
\gexec
SQL
    die "PostgreSQL: could not create the role and database ciel"
  say "postgres: ready on 127.0.0.1:$port in $(since "$t0")s"
}

pg_url() {
  echo "postgres://ciel:$(cat "$DIR/secrets/pg-password")@127.0.0.1:$(cat "$DIR/pg/port")/ciel?sslmode=disable"
}

pg_env() { echo "export CIEL_STORE='$(pg_url)'"; }

pg_down() {
  local bin d=$DIR/pg
  [[ -f $d/data/PG_VERSION ]] || return 0
  bin=$(pgbin) || return 0
  # fast: a clean shutdown (a checkpoint), not immediate: this server keeps data.
  pg_as "$bin/pg_ctl" -D "$d/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  rm -f "$DIR/pids/pg.pid"
}

pg_status() {
  local bin d=$DIR/pg
  [[ -f $d/data/PG_VERSION ]] || { echo "pg: not set up"; return 0; }
  bin=$(pgbin) || { echo "pg: PostgreSQL not installed"; return 1; }
  if pg_as "$bin/pg_ctl" -D "$d/data" status >/dev/null 2>&1; then
    echo "pg: running (pid $(head -1 "$d/data/postmaster.pid"), 127.0.0.1:$(cat "$d/port"))"
  else
    echo "pg: stopped"
    return 1
  fi
}
