# The S3 server for scripts/cluster.sh (sourced): versitygw's posix backend
# over DIR/s3/data, on 127.0.0.1, with the bucket ciel. With Kubernetes, a
# forward on the pods' gateway address passes their connections to it
# (s3_pods_up).

# s3_curl ARGS... signs a bodiless request with the server's keys (SigV4);
# the keys go through a config on a pipe, never on a command line. S3 wants
# the payload's hash in a header, which curl does not add: the empty one's.
s3_curl() {
  curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" -K <(printf 'user = "%s:%s"\n' \
    "$(cat "$DIR/secrets/s3-access-key")" "$(cat "$DIR/secrets/s3-secret-key")") "$@"
}

s3_endpoint() { echo "http://127.0.0.1:$(cat "$DIR/s3/port")"; }

s3_up() {
  local d=$DIR/s3 port ak sk t0 code
  t0=$(now)
  mkdir -p "$d/data"
  port=$(port_of "$d/port" CIEL_CLUSTER_S3_PORT)
  ak=$(secret s3-access-key 20)
  sk=$(secret s3-secret-key 40)
  if ! alive s3; then
    port_free "$port" || die "S3: port $port (kept in $d/port) is in use"
    # The keys reach versitygw through its environment, not its argv,
    # which every user may read in ps.
    ROOT_ACCESS_KEY=$ak ROOT_SECRET_KEY=$sk VGW_REGION=us-east-1 \
      launch s3 "$(versitygw_dir)/bin/versitygw" --quiet --port "127.0.0.1:$port" posix "$d/data"
  fi
  wait_until 30 "S3 (versitygw)" "$DIR/logs/s3.log" curl -s -o /dev/null "$(s3_endpoint)/"
  # 200: made; 409 BucketAlreadyOwnedByYou: made before.
  code=$(s3_curl -o "$DIR/logs/s3-create-bucket.out" -w '%{http_code}' -X PUT "$(s3_endpoint)/$BUCKET")
  [[ $code == 200 || $code == 409 ]] || { cat "$DIR/logs/s3-create-bucket.out" >&2; die "S3: create bucket $BUCKET: HTTP $code"; }
  code=$(s3_curl -o /dev/null -w '%{http_code}' -I "$(s3_endpoint)/$BUCKET")
  [[ $code == 200 ]] || die "S3: bucket $BUCKET: HEAD answers HTTP $code"
  say "s3: ready on $(s3_endpoint), bucket $BUCKET, in $(since "$t0")s"
}

s3_env() {
  echo "export CIEL_BLOB='s3://$BUCKET?endpoint=$(s3_endpoint)'"
  echo "export AWS_ACCESS_KEY_ID='$(cat "$DIR/secrets/s3-access-key")' AWS_SECRET_ACCESS_KEY='$(cat "$DIR/secrets/s3-secret-key")'"
  if alive s3-pods; then
    echo "# pods reach S3 at $(s3_pods_endpoint) (ciel compute create --type kubernetes takes it as blob_endpoint)"
    echo "export CIEL_KUBE_BLOB_ENDPOINT='$(s3_pods_endpoint)'"
  fi
}

# The pods' way to S3. versitygw listens on 127.0.0.1 only (as everything
# here does), which a pod cannot reach: a forward (socat) listens on the
# pods' gateway, 10.244.0.1 on the bridge cielbr0 (which kube_up makes), at
# the S3 port, and passes each connection to versitygw as it is. The SigV4
# signatures hold: the Host a pod signs (10.244.0.1:PORT) is the one
# versitygw receives. Only the host and pods reach the bridge's address.
s3_pods_endpoint() { echo "http://$POD_GATEWAY:$(cat "$DIR/s3/port")"; }

s3_pods_up() {
  local port
  port=$(cat "$DIR/s3/port")
  if ! alive s3-pods; then
    launch s3-pods socat "TCP-LISTEN:$port,bind=$POD_GATEWAY,fork,reuseaddr" "TCP:127.0.0.1:$port"
  fi
  wait_until 30 "S3 for pods (socat)" "$DIR/logs/s3-pods.log" curl -s -o /dev/null "$(s3_pods_endpoint)/"
  say "s3: pods reach it at $(s3_pods_endpoint)"
}

s3_down() {
  stop s3-pods
  stop s3
}

s3_status() {
  [[ -f $DIR/s3/port ]] || { echo "s3: not set up"; return 0; }
  if alive s3; then
    echo "s3: running (pid $(cat "$DIR/pids/s3.pid"), $(s3_endpoint), bucket $BUCKET)"
    if alive s3-pods; then echo "s3: pods reach it at $(s3_pods_endpoint) (pid $(cat "$DIR/pids/s3-pods.pid"))"; fi
  else
    echo "s3: stopped"
    return 1
  fi
}
