package e2e

import (
	"bytes"
	"context"
	"fmt"
	neturl "net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/s3client"
)

// clusterKubectl runs the cluster's kubectl (scripts/cluster.sh kubectl
// DIR) with stdin; its combined output.
func clusterKubectl(dir, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "../scripts/cluster.sh", append([]string{"kubectl", dir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestTeamClusterPodsReachS3: a pod on the cluster reads an object of the
// cluster's bucket at the endpoint scripts/cluster.sh env prints for pods
// (CIEL_KUBE_BLOB_ENDPOINT: a forward up starts on the pods' gateway), with
// a request signed for that endpoint, and an unsigned one is refused.
func TestTeamClusterPodsReachS3(t *testing.T) {
	t.Parallel()
	vars, dir := kubeClusterEnv(t)
	podEndpoint := vars["CIEL_KUBE_BLOB_ENDPOINT"]
	if podEndpoint == "" {
		t.Fatalf("scripts/cluster.sh env %s prints no CIEL_KUBE_BLOB_ENDPOINT: its S3 forward for pods does not run (up starts it)", dir)
	}
	cfg, creds := clusterS3(t, vars)
	host, err := s3client.New(cfg.Endpoint, "us-east-1", creds)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := s3client.New(podEndpoint, "us-east-1", creds)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	key := "cluster-test/" + randomSuffix(t) + "/for-pods.txt"
	body := []byte("read by a pod " + randomSuffix(t) + "\n")
	if _, err := host.PutObject(ctx, cfg.Bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	defer host.RemoveObject(context.Background(), cfg.Bucket, key, minio.RemoveObjectOptions{})
	// Signed offline for the pods' endpoint: the pod sends it with nc
	// (the busybox image's wget is broken), so no key enters the pod.
	signed, err := pods.PresignedGetObject(ctx, cfg.Bucket, key, 10*time.Minute, neturl.Values{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := neturl.Parse(podEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	get := func(target string) string {
		return fmt.Sprintf(`printf 'GET %%s HTTP/1.0\r\nHost: %%s\r\n\r\n' '%s' '%s' | nc %s %s`, target, u.Host, u.Hostname(), u.Port())
	}
	name := "pods-s3-" + randomSuffix(t)
	script := "echo '--- signed'; " + get(signed.RequestURI()) + "; echo; echo '--- unsigned'; " + get("/"+cfg.Bucket+"/"+key)
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: ciel}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: localhost/ciel-busybox:local
    imagePullPolicy: Never
    command: [sh, -c, %q]
`, name, script)
	if out, err := clusterKubectl(dir, pod, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	defer clusterKubectl(dir, "", "-n", "ciel", "delete", "pod", name, "--wait=false")
	if out, err := clusterKubectl(dir, "", "-n", "ciel", "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/"+name, "--timeout=150s"); err != nil {
		desc, _ := clusterKubectl(dir, "", "-n", "ciel", "describe", "pod", name)
		t.Fatalf("pod %s did not succeed: %v\n%s\n%s", name, err, out, desc)
	}
	out, err := clusterKubectl(dir, "", "-n", "ciel", "logs", name)
	if err != nil {
		t.Fatalf("pod log: %v\n%s", err, out)
	}
	signedPart, unsignedPart, _ := strings.Cut(out, "--- unsigned")
	if !strings.Contains(signedPart, " 200 ") || !strings.Contains(signedPart, string(body)) {
		t.Errorf("the pod's signed GET at %s did not read the object:\n%s", podEndpoint, signedPart)
	}
	if !strings.Contains(unsignedPart, " 403 ") || strings.Contains(unsignedPart, string(body)) {
		t.Errorf("the pod's unsigned GET was not refused:\n%s", unsignedPart)
	}
}
