#!/usr/bin/env bash
# A team server's services on one machine, without Docker and without the
# internet beyond the package registries: PostgreSQL (Debian's), an S3
# server (versitygw, built from the Go module proxy) and a real single-node
# Kubernetes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy, kubectl built from k8s.io/kubernetes through the Go
# module proxy; Debian's containerd, runc and CNI plugins).
#
#   scripts/cluster.sh build [--without PART]...        fill the cache only (no servers)
#   scripts/cluster.sh up DIR [--without PART]...       start (or resume) the servers under DIR;
#                                                       prints export lines: eval "$(scripts/cluster.sh up DIR)"
#   scripts/cluster.sh env DIR                          print the export lines again
#   scripts/cluster.sh status DIR                       what runs under DIR
#   scripts/cluster.sh down DIR                         stop what up started (DIR and its data are kept)
#   scripts/cluster.sh import-image DIR TARBALL         load an OCI/Docker image tarball into the cluster's containerd
#   scripts/cluster.sh kubectl DIR ARGS...              the cluster's kubectl with DIR/kubeconfig
#
# PART is pg, s3 or kube (for example `up DIR --without kube` for PostgreSQL
# and S3 only). A failed up prints `false`, so the eval fails too. Exports
# printed by up and env:
#   CIEL_STORE=postgres://ciel:PASSWORD@127.0.0.1:PORT/ciel?sslmode=disable
#   CIEL_BLOB=s3://ciel?endpoint=http://127.0.0.1:PORT
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (the S3 server's keys)
#   CIEL_KUBE_BLOB_ENDPOINT=http://10.244.0.1:PORT (with kube: S3 as pods reach it,
#     through a forward up starts; `ciel compute create --type kubernetes` takes it as blob_endpoint)
#   KUBECONFIG=DIR/kubeconfig (namespaces default and ciel; the node is "localhost")
#
# Built binaries and images are cached under
# ${CIEL_CACHE:-$HOME/.cache/ciel}/cluster/<component>-<version>-<hash of its build inputs>/,
# so only the first up (or build) compiles: Kubernetes takes 10-20 min of
# compile on 2 cores, once. Builds run under nice.
#
# Everything listens on 127.0.0.1 only. PostgreSQL is durable (fsync on, the
# defaults) and asks for a password on TCP (scram-sha-256; the role ciel,
# which may create databases); its unix socket, in DIR/pg, admits only the
# postgres OS user (peer). The passwords, S3 keys and the Kubernetes token
# are made once, at the first up, and kept in DIR/secrets (0700); up and env
# print them in the export lines only, which is what eval needs. The ports of
# PostgreSQL and S3 are chosen at the first up (CIEL_CLUSTER_PG_PORT and
# CIEL_CLUSTER_S3_PORT, else free ones) and kept in DIR/pg/port, DIR/s3/port.
#
# Kubernetes needs root and owns host-wide things (the cielbr0 bridge,
# 10.244.0.0/24 for pods, kube-proxy's nftables tables, ports 2379-2381,
# 6443, 10248-10259), so one machine runs one such cluster at a time; up
# refuses a second. Pods reach the host at 10.244.0.1 (and, masqueraded,
# what the host reaches); Services' ClusterIPs answer pods and the host
# (kube-proxy, nftables). There is no DNS
# (CoreDNS) and no image registry: images come from import-image and pods
# use imagePullPolicy: Never. The images localhost/ciel-busybox:local
# (Debian's busybox-static, Cmd /bin/sh; its wget segfaults, on the host as
# well, a bug of Debian 12's build: nc and httpd work) and the pause image
# are imported at up.
set -euo pipefail
# containerd finds runc, and the kubelet mount and iptables, on PATH.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CFG=$ROOT/scripts/cluster
CACHE=${CIEL_CACHE:-$HOME/.cache/ciel}/cluster
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
VERSITYGW_VERSION=v1.8.0
PAUSE_IMAGE=localhost/ciel-pause:$K8S_VERSION
BUSYBOX_IMAGE=localhost/ciel-busybox:local
BUCKET=ciel
# The host's address on the pods' bridge, which pods reach.
POD_GATEWAY=10.244.0.1
# The one Kubernetes per machine: the DIR of the running one.
KUBE_LOCK=/run/ciel-cluster-kube

say() { echo "cluster.sh: $*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
inputs_hash() { cat "$@" | sha256sum | cut -c1-10; }
# rand N prints N random hex digits (no URL or YAML escaping needed).
rand() { openssl rand -hex "$(($1 / 2))" | tr -d '\n'; }

# ---------------------------------------------------------------- packages

# need_apt installs the Debian packages that are missing.
need_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "apt-get install ${missing[*]} needs root"
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ---------------------------------------------------------------- builds

k8s_dir() { echo "$CACHE/kubernetes-$K8S_VERSION-$(inputs_hash "$CFG/k8s/go.mod")"; }
etcd_dir() { echo "$CACHE/etcd-$ETCD_VERSION-$(inputs_hash "$CFG/etcd/go.mod" "$CFG/etcd/main.go")"; }
versitygw_dir() { echo "$CACHE/versitygw-$VERSITYGW_VERSION"; }
# The images change with the code that makes them.
images_dir() { echo "$(k8s_dir)/images-$(declare -f mkimg build_images | sha256sum | cut -c1-6)"; }

# gobuild runs go for the builds here: the module cache and proxy as the
# user set them, but none of a user's GOFLAGS (-mod=vendor, ...) or go.work.
gobuild() { GOFLAGS=-buildvcs=false GOWORK=off nice -n 15 go "$@"; }

# build_k8s compiles the Kubernetes commands from k8s.io/kubernetes through
# the module proxy. k8s.io/kubernetes is not meant to be a dependency: its
# go.mod requires the 33 staging modules (k8s.io/api, k8s.io/client-go, ...)
# at v0.0.0 and replaces them with ./staging/..., which a dependent does not
# see; the wrapper module (scripts/cluster/k8s/go.mod) replaces each with its
# published v0.X.Y instead. Its go.sum is made here, by go get.
build_k8s() {
  local d t0 src
  d=$(k8s_dir)
  [[ -f $d/.done ]] && return 0
  t0=$(now)
  say "building Kubernetes $K8S_VERSION into $d (once; 10-20 min of compile on 2 cores)"
  src=$d/src
  rm -rf "${src:?}" "${d:?}/bin"
  mkdir -p "$src" "$d/bin"
  cp "$CFG/k8s/go.mod" "$src/go.mod"
  local pkgs=() c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    pkgs+=("k8s.io/kubernetes/cmd/$c")
  done
  (cd "$src" && gobuild get "${pkgs[@]/%/@$K8S_VERSION}") >&2
  say "kubernetes: modules in $(since "$t0")s"
  # The version Kubernetes' own build stamps (hack/lib/version.sh), so
  # kubectl version and the node report v1.37.2, not v0.0.0-master.
  local minor=${K8S_VERSION#v1.} ld="-s -w" v
  minor=${minor%%.*}
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  done
  # CGO_ENABLED=0: static, as Kubernetes releases these commands.
  (cd "$src" && CGO_ENABLED=0 gobuild build -trimpath -ldflags "$ld" -o "$d/bin/" "${pkgs[@]}") >&2
  since "$t0" >"$d/build-seconds"
  touch "$d/.done"
  say "kubernetes: built in $(since "$t0")s"
}

# build_etcd compiles etcd: etcd publishes its server as a library
# (go.etcd.io/etcd/server/v3) whose main package cannot be go installed
# from the proxy, so a wrapper calls etcdmain.Main (scripts/cluster/etcd).
# Debian's etcd (3.4) also runs, but warns that Kubernetes 1.37 wants 3.5+.
build_etcd() {
  local d t0
  d=$(etcd_dir)
  [[ -f $d/.done ]] && return 0
  t0=$(now)
  say "building etcd $ETCD_VERSION into $d (once)"
  rm -rf "$d"
  mkdir -p "$d/src" "$d/bin"
  cp "$CFG/etcd/go.mod" "$CFG/etcd/main.go" "$d/src/"
  (cd "$d/src" && gobuild mod tidy && CGO_ENABLED=0 gobuild build -trimpath -ldflags "-s -w" -o "$d/bin/etcd" .) >&2
  since "$t0" >"$d/build-seconds"
  touch "$d/.done"
  say "etcd: built in $(since "$t0")s"
}

build_versitygw() {
  local d t0
  d=$(versitygw_dir)
  [[ -f $d/.done ]] && return 0
  t0=$(now)
  say "building versitygw $VERSITYGW_VERSION into $d (once)"
  rm -rf "$d"
  mkdir -p "$d/bin"
  GOBIN=$d/bin gobuild install -trimpath -ldflags "-s -w" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >&2
  since "$t0" >"$d/build-seconds"
  touch "$d/.done"
  say "versitygw: built in $(since "$t0")s"
}

# mkimg ROOTFS REF OUT.tar CMD_JSON writes an OCI image layout tarball of
# one uncompressed layer holding ROOTFS, offline: no registry, no Docker.
mkimg() {
  local rootfs=$1 ref=$2 out=$3 cmd=$4 w ldig lsz cdig csz mdig msz
  w=$(mktemp -d)
  mkdir -p "$w/blobs/sha256"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -cf "$w/layer.tar" .
  ldig=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
  lsz=$(stat -c %s "$w/layer.tar")
  mv "$w/layer.tar" "$w/blobs/sha256/$ldig"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin:/usr/bin:/sbin:/usr/sbin"],"Cmd":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$cmd" "$ldig" >"$w/cfg"
  cdig=$(sha256sum "$w/cfg" | cut -d' ' -f1)
  csz=$(stat -c %s "$w/cfg")
  mv "$w/cfg" "$w/blobs/sha256/$cdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$cdig" "$csz" "$ldig" "$lsz" >"$w/man"
  mdig=$(sha256sum "$w/man" | cut -d' ' -f1)
  msz=$(stat -c %s "$w/man")
  mv "$w/man" "$w/blobs/sha256/$mdig"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdig" "$msz" "$ref" "${ref##*:}" >"$w/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci-layout"
  tar -C "$w" -cf "$out" oci-layout index.json blobs
  rm -rf "$w"
}

# build_images makes the two images the cluster imports: the pause image
# (the pod sandbox) compiled from Kubernetes' own build/pause/linux/pause.c
# with gcc -static, as registry.k8s.io/pause is built, since no registry can
# be reached; and a busybox image from Debian's busybox-static, for tests.
build_images() {
  local d r src
  d=$(images_dir)
  [[ -f $d/.done ]] && return 0
  need_apt gcc libc6-dev busybox-static
  rm -rf "$d"
  mkdir -p "$d"
  src=$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c
  [[ -f $src ]] || (cd "$(k8s_dir)/src" && gobuild mod download k8s.io/kubernetes) >&2
  r=$(mktemp -d)
  gcc -Os -Wall -static -DVERSION="$K8S_VERSION-ciel" -o "$r/pause" "$src"
  strip "$r/pause"
  mkimg "$r" "$PAUSE_IMAGE" "$d/pause.tar" '["/pause"]'
  rm -rf "$r"
  r=$(mktemp -d)
  mkdir -p "$r/bin" "$r/tmp" "$r/etc"
  chmod 1777 "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do
    [[ $a == busybox ]] || ln -s busybox "$r/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  mkimg "$r" "$BUSYBOX_IMAGE" "$d/busybox.tar" '["/bin/sh"]'
  rm -rf "$r"
  touch "$d/.done"
}

# parts sets PG, S3 and KUBE to 1 or 0 from --without flags.
parts() {
  PG=1 S3=1 KUBE=1
  while (($#)); do
    case $1 in
      --without)
        case ${2:-} in
          pg) PG=0 ;; s3) S3=0 ;; kube) KUBE=0 ;;
          *) die "--without ${2:-}: expected pg, s3 or kube" ;;
        esac
        shift 2
        ;;
      --without=*) set -- --without "${1#--without=}" "${@:2}" ;;
      *) die "unknown argument $1" ;;
    esac
  done
}

build() {
  parts "$@"
  local t0
  t0=$(now)
  command -v go >/dev/null || die "go is not installed (the builds use the Go module proxy)"
  if ((S3)); then build_versitygw; fi
  if ((KUBE)); then
    build_etcd
    build_k8s
    build_images
  fi
  if ((PG)); then need_apt postgresql; fi
  if ((KUBE)); then need_apt containerd runc containernetworking-plugins nftables; fi
  if ((KUBE && S3)); then need_apt socat; fi
  say "build: done in $(since "$t0")s (cache: $CACHE)"
}

# ---------------------------------------------------------------- processes

# alive NAME: the process DIR/pids/NAME.pid names runs, and is the binary
# it should be (a stale pid file may name a reused pid).
alive() {
  local f=$DIR/pids/$1.pid pid
  [[ -f $f ]] || return 1
  pid=$(cat "$f")
  [[ -n $pid ]] && running "$pid" || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == *"$(cat "$DIR/pids/$1.exe" 2>/dev/null)" ]]
}

# launch NAME BINARY ARGS... starts a server in its own session (so a
# caller's Ctrl-C or process-group kill does not reach it), with its output
# in DIR/logs/NAME.log and nothing inherited: `$(cluster.sh up)` returns.
launch() {
  local name=$1
  shift
  setsid "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
  basename "$1" >"$DIR/pids/$name.exe"
}

# wait_until SECONDS WHAT LOG CMD... polls CMD until it succeeds; on a
# timeout, or when the server that writes DIR/logs/NAME.log has exited, it
# shows LOG's last lines and fails.
wait_until() {
  local limit=$1 what=$2 log=$3 t0 name
  shift 3
  name=$(basename "$log" .log)
  t0=$(now)
  until "$@" >/dev/null 2>&1; do
    if [[ -f $DIR/pids/$name.pid ]] && ! alive "$name"; then
      say "$what: $name exited; last lines of $log:"
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    if awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN{exit !(b-a>l)}'; then
      say "$what: not ready after ${limit}s; last lines of $log:"
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
}

# running PID: the process exists and has not exited. The servers' parent
# (this script) is gone, so PID 1 reaps them, which in a container may
# take seconds: an exited server is a zombie meanwhile, which kill -0 still
# finds.
running() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

# stop NAME: SIGTERM, then SIGKILL after 20 s.
stop() {
  local name=$1 pid
  alive "$name" || { rm -f "$DIR/pids/$name.pid"; return 0; }
  pid=$(cat "$DIR/pids/$name.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 200); do
    running "$pid" || break
    sleep 0.1
  done
  if running "$pid"; then
    say "$name ($pid) did not stop in 20 s; SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/pids/$name.pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# port_of FILE ENV: the port kept in FILE, else $ENV, else a free one (kept).
port_of() {
  local f=$1 p
  if [[ ! -s $f ]]; then
    p=${!2:-$(freeport)}
    echo "$p" >"$f"
  fi
  cat "$f"
}

# secret NAME LEN: DIR/secrets/NAME, made once.
secret() {
  local f=$DIR/secrets/$1
  if [[ ! -s $f ]]; then
    (umask 077 && rand "$2" >"$f")
  fi
  cat "$f"
}

source "$ROOT/scripts/cluster/pg.sh"
source "$ROOT/scripts/cluster/s3.sh"
source "$ROOT/scripts/cluster/kube.sh"

# ---------------------------------------------------------------- commands

# setdir DIR [new] sets DIR; only up (new) may make it.
setdir() {
  [[ -n ${1:-} ]] || die "DIR missing"
  if [[ ${2:-} == new ]]; then mkdir -p "$1"; fi
  [[ -d $1 ]] || die "$1: no such folder (scripts/cluster.sh up $1 makes it)"
  DIR=$(cd "$1" && pwd)
  mkdir -p "$DIR/logs" "$DIR/pids"
  (umask 077 && mkdir -p "$DIR/secrets")
}

env_lines() {
  if [[ -f $DIR/pg/port ]]; then pg_env; fi
  if [[ -f $DIR/s3/port ]]; then s3_env; fi
  if [[ -f $DIR/kubeconfig ]]; then echo "export KUBECONFIG=$DIR/kubeconfig"; fi
}

up() {
  # On failure, a `false` on stdout makes eval "$(cluster.sh up DIR)" fail too.
  trap 'rc=$?; if ((rc)); then echo false; fi' EXIT
  setdir "${1:-}" new
  shift
  parts "$@"
  local t0
  t0=$(now)
  if ((KUBE)); then kube_check; fi
  build "$@"
  if ((PG)); then pg_up; fi
  if ((S3)); then s3_up; fi
  if ((KUBE)); then kube_up; fi
  if ((KUBE && S3)); then s3_pods_up; fi
  say "up: ready in $(since "$t0")s (logs: $DIR/logs)"
  echo "$(date -u +%FT%TZ) up $(since "$t0")s pg=$PG s3=$S3 kube=$KUBE" >>"$DIR/timings.log"
  if ((PG)); then pg_env; fi
  if ((S3)); then s3_env; fi
  if ((KUBE)); then echo "export KUBECONFIG=$DIR/kubeconfig"; fi
}

down() {
  setdir "${1:-}"
  local t0
  t0=$(now)
  kube_down
  s3_down
  pg_down
  say "down: stopped in $(since "$t0")s"
  echo "$(date -u +%FT%TZ) down $(since "$t0")s" >>"$DIR/timings.log"
}

status() {
  setdir "${1:-}"
  local rc=0
  pg_status || rc=1
  s3_status || rc=1
  kube_status || rc=1
  return $rc
}

usage() {
  [[ -z $cmd ]] || say "unknown command $cmd"
  echo "usage:" >&2
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

cmd=${1:-}
(($#)) && shift
case $cmd in
  build) build "$@" ;;
  up) up "$@" ;;
  down) down "$@" ;;
  env) setdir "${1:-}"; env_lines ;;
  status) status "$@" ;;
  import-image)
    setdir "${1:-}"
    import_image "${2:?TARBALL}"
    ;;
  kubectl)
    setdir "${1:-}"
    shift
    [[ -f $DIR/kubeconfig ]] || die "$DIR has no Kubernetes (up without --without kube makes it)"
    exec "$(k8s_dir)/bin/kubectl" --kubeconfig="$DIR/kubeconfig" "$@"
    ;;
  # build_k8s and friends stay callable for a build in the background.
  build_k8s | build_etcd | build_versitygw | build_images) "$cmd" ;;
  *) usage ;;
esac
