# The single-node Kubernetes of scripts/cluster.sh (sourced): etcd,
# containerd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet and kube-proxy, on 127.0.0.1, state in DIR/kube.

KUBE_PORTS=(2379 2380 2381 6443 10248 10249 10250 10256 10257 10259)
KUBE_PARTS=(kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver containerd etcd)

kube_kubectl() { "$(k8s_dir)/bin/kubectl" --kubeconfig="$DIR/kubeconfig" "$@"; }
kube_ctr() { ctr -a "$DIR/kube/run/containerd.sock" -n k8s.io "$@"; }

# kube_lock claims the machine's one Kubernetes for DIR, or says who has it.
kube_lock() {
  local other
  if [[ -f $KUBE_LOCK ]]; then
    other=$(cat "$KUBE_LOCK")
    if [[ $other != "$DIR" ]] && kube_running_in "$other"; then
      die "Kubernetes: the cluster of $other runs on this machine (one per machine); scripts/cluster.sh down $other first"
    fi
  fi
  echo "$DIR" >"$KUBE_LOCK"
}

# kube_running_in D: a part of the cluster under D runs.
kube_running_in() {
  local DIR=$1 p
  for p in "${KUBE_PARTS[@]}"; do
    alive "$p" && return 0
  done
  return 1
}

# kube_check fails before anything starts when this cluster cannot: not
# root, DIR too long, another cluster on the machine, a port taken.
kube_check() {
  local K=$DIR/kube p
  [[ $(id -u) == 0 ]] || die "Kubernetes needs root (containerd, the kubelet, kube-proxy); --without kube starts the rest"
  # A unix socket's path is at most 107 bytes.
  ((${#K} + 24 < 108)) || die "Kubernetes: DIR is too long for containerd's socket path ($K/run/containerd.sock)"
  kube_lock
  if ! kube_running_in "$DIR"; then
    for p in "${KUBE_PORTS[@]}"; do
      port_free "$p" || die "Kubernetes: port $p is in use (another Kubernetes or etcd on this machine?)"
    done
  fi
}

kube_up() {
  local K=$DIR/kube B E t0
  t0=$(now)
  B=$(k8s_dir)/bin
  E=$(etcd_dir)/bin/etcd
  mkdir -p "$K/pki" "$K/cni/net.d" "$K/cni/ipam" "$K/run"
  chmod 700 "$K/pki"
  secret kube-token 40 >/dev/null
  (umask 077 && printf '%s,admin,admin,system:masters\n' "$(cat "$DIR/secrets/kube-token")" >"$DIR/secrets/kube-tokens.csv")
  if [[ ! -f $K/pki/sa.key ]]; then
    openssl genrsa -out "$K/pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$K/pki/sa.key" -pubout -out "$K/pki/sa.pub" 2>/dev/null
  fi

  if ! alive etcd; then
    launch etcd "$E" --name ciel --data-dir "$K/etcd" \
      --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
      --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
      --initial-cluster ciel=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381
  fi
  wait_until 30 etcd "$DIR/logs/etcd.log" curl -sf http://127.0.0.1:2379/health
  say "kube: etcd ready at $(since "$t0")s"

  # containerd starts alongside the apiserver: both take a few seconds.
  sed -e "s#@K@#$K#g; s#@PAUSE_IMAGE@#$PAUSE_IMAGE#g" "$CFG/containerd.toml" >"$K/containerd.toml"
  # The pod network: Debian's bridge and host-local plugins (no CNI daemon
  # such as flannel, which would need an image from a registry): the bridge
  # cielbr0, pods in 10.244.0.0/24, the host at 10.244.0.1 as their
  # gateway, masquerade for the rest.
  sed -e "s#@K@#$K#g" "$CFG/10-ciel-bridge.conflist" >"$K/cni/net.d/10-ciel-bridge.conflist"
  # The bridge, made now rather than by the bridge plugin at the first pod,
  # so the host's address on it (10.244.0.1) exists from up on: a server
  # that pods must reach (ciel's, an S3 server) can listen there at once.
  # The plugin takes an existing bridge and its gateway address as they are.
  if ! ip link show cielbr0 >/dev/null 2>&1; then
    ip link add cielbr0 type bridge
    ip addr add 10.244.0.1/24 dev cielbr0
  fi
  ip link set cielbr0 up
  if ! alive containerd; then
    # The network namespaces there before, which down leaves alone.
    ls /var/run/netns 2>/dev/null >"$K/netns.before" || true
    launch containerd containerd --config "$K/containerd.toml"
  fi
  if ! alive kube-apiserver; then
    # --endpoint-reconciler-type=none: the apiserver advertises 127.0.0.1,
    # which it may not publish as the kubernetes service's endpoint
    # (loopback is refused); pods here do not call the API.
    # --kubelet-preferred-address-types=Hostname,...: the kubelet listens on
    # 127.0.0.1 only and registers as "localhost".
    # --token-auth-file: one static admin token (DIR/secrets/kube-token)
    # instead of a client-certificate PKI, for a single-user cluster; the
    # serving certificate is the apiserver's self-signed one (--cert-dir).
    launch kube-apiserver "$B/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=6443 \
      --cert-dir="$K/apiserver-certs" --token-auth-file="$DIR/secrets/kube-tokens.csv" \
      --authorization-mode=Node,RBAC \
      --service-account-key-file="$K/pki/sa.pub" --service-account-signing-key-file="$K/pki/sa.key" \
      --service-account-issuer=https://kubernetes.default.svc --service-cluster-ip-range=10.96.0.0/16 \
      --allow-privileged=true --profiling=false --endpoint-reconciler-type=none \
      --kubelet-preferred-address-types=Hostname,InternalIP
  fi
  wait_until 60 containerd "$DIR/logs/containerd.log" kube_ctr version
  say "kube: containerd ready at $(since "$t0")s"
  kube_import_if_missing "$PAUSE_IMAGE" "$(images_dir)/pause.tar"
  kube_import_if_missing "$BUSYBOX_IMAGE" "$(images_dir)/busybox.tar"
  wait_until 120 kube-apiserver "$DIR/logs/kube-apiserver.log" curl -skf https://127.0.0.1:6443/readyz
  say "kube: apiserver ready at $(since "$t0")s"
  kube_kubeconfig

  local KC=$DIR/kubeconfig
  if ! alive kube-controller-manager; then
    # --root-ca-file: the apiserver's self-signed certificate, which the
    # controller publishes to every namespace as kube-root-ca.crt (the
    # service account token volume needs it).
    # --use-service-account-credentials=false: every controller acts with
    # the admin kubeconfig, not a service account of its own (as measured
    # on these machines; true is untested here). --leader-elect=false: one
    # of each.
    launch kube-controller-manager "$B/kube-controller-manager" --kubeconfig="$KC" \
      --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
      --service-account-private-key-file="$K/pki/sa.key" --root-ca-file="$K/apiserver-certs/apiserver.crt" \
      --leader-elect=false --bind-address=127.0.0.1 --secure-port=10257 --use-service-account-credentials=false
  fi
  if ! alive kube-scheduler; then
    launch kube-scheduler "$B/kube-scheduler" --kubeconfig="$KC" --authentication-kubeconfig="$KC" \
      --authorization-kubeconfig="$KC" --leader-elect=false --bind-address=127.0.0.1 --secure-port=10259
  fi
  sed -e "s#@K@#$K#g" "$CFG/kubelet.yaml" >"$K/kubelet.yaml"
  # A node's Ready condition outlives its kubelet (etcd keeps it, and the
  # node controller marks it Unknown only after 40 s): after a restart, only
  # a heartbeat from the new kubelet counts.
  KUBE_FRESH_AFTER=""
  if ! alive kubelet; then
    KUBE_FRESH_AFTER=$(date -u +%FT%TZ)
    # --hostname-override=localhost: the node's name, which the apiserver
    # resolves to 127.0.0.1, where the kubelet listens. The kubelet uses the
    # admin credentials (no TLS bootstrap on a single node).
    launch kubelet "$B/kubelet" --config="$K/kubelet.yaml" --kubeconfig="$KC" --root-dir="$K/kubelet" \
      --cert-dir="$K/kubelet-pki" --hostname-override=localhost
  fi
  if ! alive kube-proxy; then
    # nftables: Debian 12's kernel and nft; --conntrack-max-per-core=0
    # leaves the host's conntrack sysctls alone (read-only here).
    launch kube-proxy "$B/kube-proxy" --kubeconfig="$KC" --hostname-override=localhost \
      --proxy-mode=nftables --cluster-cidr=10.244.0.0/16 --metrics-bind-address=127.0.0.1:10249 \
      --healthz-bind-address=127.0.0.1:10256 --conntrack-max-per-core=0
  fi
  wait_until 120 "node Ready" "$DIR/logs/kubelet.log" kube_node_ready
  say "kube: node Ready at $(since "$t0")s"
  # The namespace ciel for ciel's pods; both namespaces are usable once the
  # controller-manager has made their default service account.
  kube_kubectl get namespace ciel >/dev/null 2>&1 || kube_kubectl create namespace ciel >/dev/null
  wait_until 60 "service account default/default" "$DIR/logs/kube-controller-manager.log" \
    kube_kubectl -n default get serviceaccount default
  wait_until 60 "service account ciel/default" "$DIR/logs/kube-controller-manager.log" \
    kube_kubectl -n ciel get serviceaccount default
  say "kube: ready at $(since "$t0")s"
}

# kube_node_ready: the kubelet answers its health check and the node is
# Ready, by a heartbeat at or after $KUBE_FRESH_AFTER when set (RFC 3339
# UTC timestamps compare as strings).
kube_node_ready() {
  local st hb
  curl -sf http://127.0.0.1:10248/healthz >/dev/null || return 1
  read -r st hb < <(kube_kubectl get node localhost \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')
  [[ $st == True && ! $hb < ${KUBE_FRESH_AFTER:-} ]]
}

# kube_kubeconfig writes DIR/kubeconfig: the admin token, and the
# apiserver's self-signed certificate (made in its --cert-dir at the first
# start, kept after) as the authority, so clients verify the server.
kube_kubeconfig() {
  local ca
  ca=$(base64 -w0 <"$DIR/kube/apiserver-certs/apiserver.crt")
  (
    umask 077
    cat >"$DIR/kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ciel
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: $ca
users:
- name: admin
  user:
    token: $(cat "$DIR/secrets/kube-token")
contexts:
- name: ciel
  context: {cluster: ciel, user: admin, namespace: default}
current-context: ciel
EOF
  )
  mv "$DIR/kubeconfig.tmp" "$DIR/kubeconfig"
}

# kube_import_if_missing REF TARBALL imports TARBALL unless containerd
# already has REF from that very tarball (its path names its build).
kube_import_if_missing() {
  local mark
  mark=$DIR/kube/imported-$(basename "$2" .tar)
  if [[ $(cat "$mark" 2>/dev/null) == "$2" && $(kube_ctr images check "name==$1" 2>/dev/null) == *"$1"* ]]; then
    return 0
  fi
  kube_ctr images import "$2" >/dev/null
  echo "$2" >"$mark"
}

import_image() {
  local tar=$1
  [[ -f $tar ]] || die "import-image: $tar: no such file"
  alive containerd || die "import-image: the cluster's containerd under $DIR is not running (scripts/cluster.sh up $DIR)"
  # Pods use these with imagePullPolicy: Never; ctr prints what it imported.
  kube_ctr images import "$tar" >&2
}

kube_down() {
  local K=$DIR/kube p n other
  [[ -d $K ]] || return 0
  # 1. Let the kubelet tear the pods down: it runs CNI DEL, which removes
  #    their network namespaces, veths and IP leases.
  if alive kubelet && alive kube-apiserver; then
    kube_kubectl delete pods --all -A --grace-period=0 --force >/dev/null 2>&1 || true
    for p in $(seq 100); do
      [[ -z $(kube_ctr tasks ls -q 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
  for p in kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver; do stop "$p"; done
  # 2. What is left: kill the containers, then containerd (its shims exit
  #    with their containers).
  if alive containerd; then
    for n in $(kube_ctr tasks ls -q 2>/dev/null); do kube_ctr tasks kill -s SIGKILL "$n" 2>/dev/null || true; done
    sleep 0.5
    for n in $(kube_ctr containers ls -q 2>/dev/null); do
      kube_ctr tasks delete "$n" >/dev/null 2>&1 || true
      kube_ctr containers delete "$n" >/dev/null 2>&1 || true
    done
  fi
  stop containerd
  stop etcd
  # The machine-wide leftovers below (netns, nftables and iptables rules,
  # the bridge, cgroups) belong to the machine's one cluster: when that is
  # another DIR's, running, they are its own, and stay.
  other=$(cat "$KUBE_LOCK" 2>/dev/null || true)
  if [[ -n $other && $other != "$DIR" ]] && kube_running_in "$other"; then
    say "kube: the cluster of $other runs on this machine; its network and cgroups are left alone"
    kube_umount
    return 0
  fi
  # 3. Network namespaces the CNI plugin made and nobody removed, and
  #    kube-proxy's nftables tables.
  for n in /var/run/netns/cni-*; do
    [[ -e $n ]] || continue
    n=$(basename "$n")
    grep -qx "$n" "$K/netns.before" 2>/dev/null || ip netns delete "$n" 2>/dev/null || true
  done
  if [[ -x $(k8s_dir)/bin/kube-proxy ]]; then
    "$(k8s_dir)/bin/kube-proxy" --cleanup --proxy-mode=nftables >/dev/null 2>&1 || true
  fi
  kube_iptables_cleanup
  # The pods' bridge.
  if ip link show cielbr0 >/dev/null 2>&1; then ip link delete cielbr0 2>/dev/null || true; fi
  kube_umount
  # 4. The kubelet's cgroups (kubepods, with burstable and besteffort
  #    below), empty once the pods are gone; rmdir leaves a busy one.
  find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods -depth -type d -exec rmdir {} + 2>/dev/null || true
  if [[ -f $KUBE_LOCK && $(cat "$KUBE_LOCK") == "$DIR" ]]; then rm -f "$KUBE_LOCK"; fi
}

# kube_iptables_cleanup removes the chains the kubelet adds through
# iptables (KUBE-FIREWALL, which drops packets DNATed to 127.0.0.0/8 from
# elsewhere, and its canaries) and those the bridge plugin's ipMasq leaves
# (CNI-*, one per pod, normally removed with the pod): first the jumps to
# them from the built-in chains, then the chains. Nobody else on the machine
# names a chain KUBE-* or CNI-* (one Kubernetes per machine).
kube_iptables_cleanup() {
  local ipt t rule c
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for t in filter nat mangle; do
      "$ipt" -t "$t" -S 2>/dev/null | { grep -E '^-A [A-Z]+ .*-j (KUBE|CNI)-' || true; } | sed 's/^-A/-D/' | while read -r rule; do
        # eval: a rule's comment is quoted ("name: ..."), as iptables -S prints it.
        eval "$ipt -t $t $rule" 2>/dev/null || true
      done
      for c in $("$ipt" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}'); do
        "$ipt" -t "$t" -F "$c" 2>/dev/null || true
      done
      for c in $("$ipt" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}'); do
        "$ipt" -t "$t" -X "$c" 2>/dev/null || true
      done
    done
  done
}

# kube_umount unmounts what the kubelet (volumes) and containerd (rootfs,
# shm, netns) leave under DIR, deepest first.
kube_umount() {
  local p
  awk -v r="$DIR/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r p; do
    umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true
  done
}

kube_status() {
  local p rc=0
  [[ -d $DIR/kube ]] || { echo "kube: not set up"; return 0; }
  for p in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    if alive "$p"; then echo "kube: $p running (pid $(cat "$DIR/pids/$p.pid"))"; else echo "kube: $p stopped"; rc=1; fi
  done
  if ((rc == 0)); then
    if kube_node_ready 2>/dev/null; then echo "kube: node localhost Ready"; else echo "kube: node localhost not Ready"; rc=1; fi
  fi
  return $rc
}
