package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
	"github.com/ciel-mlops/ciel/internal/s3client"
)

// EnvTestCluster names the folder of a team server that scripts/cluster.sh
// up started (scripts/test.sh sets it); the cluster tests read its
// addresses and keys with scripts/cluster.sh env.
const EnvTestCluster = "CIEL_TEST_CLUSTER"

// clusterEnv returns the variables scripts/cluster.sh env prints for the
// cluster under $CIEL_TEST_CLUSTER and the folder. Without one the test is
// skipped, and under CI=true it fails: a CI run never passes by skipping.
func clusterEnv(t *testing.T) (map[string]string, string) {
	t.Helper()
	dir := os.Getenv(EnvTestCluster)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: scripts/test.sh starts the cluster (scripts/cluster.sh up) and sets it", EnvTestCluster)
		}
		t.Skipf("%s is not set (scripts/cluster.sh up DIR, then %s=DIR)", EnvTestCluster, EnvTestCluster)
	}
	out, err := exec.Command("../scripts/cluster.sh", "env", dir).Output()
	if err != nil {
		t.Fatalf("scripts/cluster.sh env %s: %v", dir, err)
	}
	return parseExports(string(out)), dir
}

var exportRE = regexp.MustCompile(`([A-Z_][A-Z0-9_]*)='?([^' \n]*)'?`)

// parseExports reads `export A='x' B='y'` lines.
func parseExports(s string) map[string]string {
	vars := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		for _, m := range exportRE.FindAllStringSubmatch(rest, -1) {
			vars[m[1]] = m[2]
		}
	}
	return vars
}

func TestParseExports(t *testing.T) {
	t.Parallel()
	got := parseExports("export CIEL_STORE='postgres://u:p@h:1/d?sslmode=disable'\n" +
		"export AWS_ACCESS_KEY_ID='ak' AWS_SECRET_ACCESS_KEY='sk'\nexport KUBECONFIG=/x/kubeconfig\nnoise\n")
	want := map[string]string{"CIEL_STORE": "postgres://u:p@h:1/d?sslmode=disable",
		"AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk", "KUBECONFIG": "/x/kubeconfig"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parseExports = %v, want %v", got, want)
	}
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestTeamClusterPostgres writes and reads a row in the cluster's
// PostgreSQL through CIEL_STORE, and sees a wrong password refused.
func TestTeamClusterPostgres(t *testing.T) {
	t.Parallel()
	vars, _ := clusterEnv(t)
	url := vars["CIEL_STORE"]
	if url == "" {
		t.Fatal("scripts/cluster.sh env prints no CIEL_STORE")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to CIEL_STORE: %v", err)
	}
	defer conn.Close(ctx)
	table := "cluster_test_" + randomSuffix(t)
	if _, err := conn.Exec(ctx, "CREATE TABLE "+table+" (id int PRIMARY KEY, v text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), "DROP TABLE "+table)
	if _, err := conn.Exec(ctx, "INSERT INTO "+table+" VALUES ($1, $2)", 7, "seven"); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM "+table+" WHERE id = 7").Scan(&v); err != nil || v != "seven" {
		t.Fatalf("read back the row: %q, %v", v, err)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "on" {
		t.Fatalf("fsync is %q (%v); a team server's PostgreSQL must be durable", fsync, err)
	}

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = "wrong-" + cfg.Password
	if c, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		c.Close(ctx)
		t.Fatal("a wrong password connects")
	} else if !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("wrong password: %v; want password authentication failed", err)
	}
}

// TestTeamClusterS3 puts, gets and removes an object in the bucket
// CIEL_BLOB names, with the keys the cluster printed, sees a wrong key
// refused, and then runs the data-passing pipeline on a ciel server whose
// metadata is in a database of the cluster's PostgreSQL and whose blobs are
// in its bucket: what `eval "$(scripts/cluster.sh up DIR)"; ciel server run`
// gives a team.
func TestTeamClusterS3(t *testing.T) {
	t.Parallel()
	vars, _ := clusterEnv(t)
	cfg, creds := clusterS3(t, vars)
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		t.Fatal("scripts/cluster.sh env prints no AWS keys")
	}
	cl, err := s3client.New(cfg.Endpoint, "us-east-1", creds)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	key := "cluster-test/" + randomSuffix(t) + "/hello.txt"
	body := []byte("hello from the team cluster\n")
	if _, err := cl.PutObject(ctx, cfg.Bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	defer cl.RemoveObject(context.Background(), cfg.Bucket, key, minio.RemoveObjectOptions{})
	obj, err := cl.GetObject(ctx, cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("get %s: %q, %v; want %q", key, got, err, body)
	}
	wrong, err := s3client.New(cfg.Endpoint, "us-east-1", credentials.NewStaticV4(vars["AWS_ACCESS_KEY_ID"], "wrong-secret", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.StatObject(ctx, cfg.Bucket, key, minio.StatObjectOptions{}); err == nil {
		t.Fatal("a wrong secret key reads the object")
	}

	// ciel's own blob store on the bucket, under a prefix of this test's,
	// and its metadata in a database of this test's.
	db := clusterDatabase(t, vars["CIEL_STORE"])
	e := &env{t: t, home: t.TempDir(), dir: t.TempDir(), vars: []string{
		"CIEL_STORE=" + db,
		"AWS_ACCESS_KEY_ID=" + vars["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY=" + vars["AWS_SECRET_ACCESS_KEY"]}}
	prefix := "cluster-test/" + randomSuffix(t)
	logs := startServerRun(t, e, "--blob", vars["CIEL_BLOB"]+"&prefix="+prefix)
	e.ok("workspace", "create", "--name", "ws", "--resource-group", "rg", "--location", "eastus")
	e.ok("configure", "--defaults", "workspace=ws")
	writeDataPassing(e)
	r := e.ok("job", "create", "--file", "pipeline.yml", "--stream")
	if !strings.Contains(r.out, "[count] counted 9 lines") || !strings.Contains(r.out, "Completed") {
		t.Fatalf("pipeline on the cluster's S3:\n%s\nserver log:\n%s", r.out, logs)
	}
	var written []string
	for o := range cl.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		written = append(written, o.Key)
	}
	t.Cleanup(func() {
		for _, k := range written {
			cl.RemoveObject(context.Background(), cfg.Bucket, k, minio.RemoveObjectOptions{})
		}
	})
	if len(written) == 0 {
		t.Fatalf("the pipeline wrote nothing under s3://%s/%s/", cfg.Bucket, prefix)
	}
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var jobs int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM jobs WHERE workspace = 'ws'").Scan(&jobs); err != nil || jobs == 0 {
		t.Fatalf("jobs in the server's PostgreSQL database: %d, %v; want the pipeline and its steps", jobs, err)
	}
}

// clusterDatabase makes a database of the test's own in the cluster's
// PostgreSQL (the role ciel may create databases), dropped when the test
// ends, and returns its URL.
func clusterDatabase(t *testing.T, storeURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, storeURL)
	if err != nil {
		t.Fatalf("connect to CIEL_STORE: %v", err)
	}
	defer conn.Close(context.Background())
	name := "cluster_test_" + randomSuffix(t)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, storeURL); err == nil {
			c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := neturl.Parse(storeURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestTeamClusterKubernetesJob runs a Job on the cluster's Kubernetes with
// the busybox image up imported (imagePullPolicy: Never), waits for it to
// complete and reads its log.
func TestTeamClusterKubernetesJob(t *testing.T) {
	t.Parallel()
	_, dir := kubeClusterEnv(t)
	kubectl := func(stdin string, args ...string) (string, error) { return clusterKubectl(dir, stdin, args...) }
	name := "cluster-test-" + randomSuffix(t)
	job := fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: %s, namespace: ciel}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: localhost/ciel-busybox:local
        imagePullPolicy: Never
        command: [sh, -c, 'echo "hello from $(hostname), uid $(id -u)"']
`, name)
	if out, err := kubectl(job, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	defer kubectl("", "-n", "ciel", "delete", "job", name, "--cascade=foreground", "--wait=false")
	if out, err := kubectl("", "-n", "ciel", "wait", "--for=condition=Complete", "job/"+name, "--timeout=150s"); err != nil {
		desc, _ := kubectl("", "-n", "ciel", "describe", "job,pods", "-l", "job-name="+name)
		t.Fatalf("job %s did not complete: %v\n%s\n%s", name, err, out, desc)
	}
	out, err := kubectl("", "-n", "ciel", "logs", "job/"+name)
	if err != nil || !strings.Contains(out, "hello from "+name) || !strings.Contains(out, "uid 0") {
		t.Fatalf("job log: %v\n%s", err, out)
	}
}

// TestClusterScriptBadInput: scripts/cluster.sh refuses what it cannot do,
// saying why, before it builds or starts anything; a failed up prints
// `false`, so eval "$(scripts/cluster.sh up DIR)" fails as well.
func TestClusterScriptBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		args    []string
		stdout  string
		wantErr string
	}{
		{[]string{"up", dir, "--without", "redis"}, "false\n", "--without redis: expected pg, s3 or kube"},
		{[]string{"up", dir, "--with", "kube"}, "false\n", "unknown argument --with"},
		{[]string{"up"}, "false\n", "DIR missing"},
		{[]string{"status", dir + "/absent"}, "", "no such folder"},
		{[]string{"env", dir + "/absent"}, "", "no such folder"},
		{[]string{"down", dir + "/absent"}, "", "no such folder"},
		{[]string{"import-image", dir, dir + "/absent.tar"}, "", "absent.tar: no such file"},
		{[]string{"kubectl", dir, "get", "pods"}, "", "has no Kubernetes"},
		{[]string{"frobnicate"}, "", "usage"},
	} {
		cmd := exec.Command("../scripts/cluster.sh", c.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err == nil || stdout.String() != c.stdout || !strings.Contains(strings.ToLower(stderr.String()), strings.ToLower(c.wantErr)) {
			t.Errorf("cluster.sh %v: %v, stdout %q, stderr %q; want a failure, stdout %q, stderr with %q",
				c.args, err, stdout.String(), stderr.String(), c.stdout, c.wantErr)
		}
	}
}

// clusterS3 reads the cluster's bucket (CIEL_BLOB) and keys from the
// variables cluster.sh env prints.
func clusterS3(t *testing.T, vars map[string]string) (blobs3.Config, *credentials.Credentials) {
	t.Helper()
	cfg, err := blobs3.ParseURL(vars["CIEL_BLOB"], func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("CIEL_BLOB %q: %v", vars["CIEL_BLOB"], err)
	}
	creds, err := s3client.EnvCredentials(func(k string) string { return vars[k] }, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, creds
}
