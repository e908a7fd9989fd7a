package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

// TestBlobStoreS3 starts the real server with --blob s3://... on moto's S3
// server and runs the data-passing pipeline on it: the code, the input,
// every step's outputs and the manifests go to the bucket (and none to
// CIEL_HOME/blobs), the steps read their inputs back from it, the output
// downloads, a model registered from it downloads, and a second run reuses
// every step by asking the bucket, and a server the CLI starts on its own
// finds the bucket the home remembers. A
// bad URL and an absent bucket stop the server at start, saying why.
func TestBlobStoreS3(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	e := &env{t: t, home: t.TempDir(), dir: t.TempDir(),
		vars: []string{"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing-secret-key"}}

	for _, bad := range []struct{ url, want string }{
		{"s3://" + bucket + "?endpont=" + srv.Endpoint, `unknown parameter "endpont"`},
		{"s3://absent-bucket?endpoint=" + srv.Endpoint, `bucket "absent-bucket" does not exist`},
	} {
		r := e.run("server", "run", "--addr", "127.0.0.1:0", "--blob", bad.url)
		if r.code == 0 || !strings.Contains(r.err, bad.want) {
			t.Fatalf("server run --blob %s: exit %d, %q; want an error with %q", bad.url, r.code, r.err, bad.want)
		}
		if strings.Contains(r.err+r.out, "testing-secret-key") {
			t.Fatalf("server run shows the secret key: %s", r.err)
		}
	}

	blobURL := fmt.Sprintf("s3://%s?endpoint=%s&prefix=team/blobs&region=us-east-1", bucket, srv.Endpoint)
	logs := startServerRun(t, e, "--blob", blobURL)
	e.ok("workspace", "create", "--name", "ws", "--resource-group", "rg", "--location", "eastus")
	e.ok("configure", "--defaults", "workspace=ws")
	writeDataPassing(e)
	r := e.ok("job", "create", "--file", "pipeline.yml", "--stream")
	if !strings.Contains(r.out, "[count] counted 9 lines") || !strings.Contains(r.out, "Completed") {
		t.Fatalf("pipeline on the S3 blob store:\n%s\nserver log:\n%s", r.out, logs)
	}
	name := firstJobName(t, e)
	e.ok("job", "download", "--name", name, "--output-name", "final", "--download-path", "out")
	got, err := os.ReadFile(filepath.Join(e.dir, "out", "named-outputs", "final", "count.txt"))
	if err != nil || string(got) != "9\n" {
		t.Fatalf("downloaded count = %q, %v", got, err)
	}

	// The blobs are the bucket's, under the prefix: the input file, the
	// final output, and nothing in the home.
	keys := map[string]bool{}
	for obj := range srv.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if !strings.HasPrefix(obj.Key, "team/blobs/sha256/") {
			t.Errorf("key %s outside team/blobs/sha256/", obj.Key)
		}
		keys[obj.Key] = true
	}
	for what, content := range map[string]string{"raw.txt": "line one\nline two\n", "count.txt": "9\n", "count.sh": readAt(t, filepath.Join(e.dir, "src", "count.sh"))} {
		h := strings.TrimPrefix(blob.Digest([]byte(content)), blob.DigestPrefix)
		if !keys["team/blobs/sha256/"+h[:2]+"/"+h] {
			t.Errorf("%s is not in the bucket (%d keys)", what, len(keys))
		}
	}
	filepath.WalkDir(filepath.Join(e.home, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("a blob in CIEL_HOME: %s", p)
		}
		return nil
	})

	// The registry reads and serves a model's files from the bucket too.
	e.ok("model", "create", "--name", "counted", "--path", "azureml://jobs/"+name+"/outputs/final")
	e.ok("model", "download", "--name", "counted", "--version", "1", "--download-path", "dl")
	found := ""
	filepath.WalkDir(filepath.Join(e.dir, "dl"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "count.txt" {
			found = p
		}
		return nil
	})
	if found == "" || readAt(t, found) != "9\n" {
		t.Fatalf("model download: count.txt not found (%q)", found)
	}
	// The version's files are the bucket's too, beside the blobs, where the
	// MLflow artifact proxy of every server on the bucket serves them.
	var modelKeys []string
	for obj := range srv.Client().ListObjects(context.Background(), bucket,
		minio.ListObjectsOptions{Prefix: "team/blobs/mlartifacts/ws/models/counted/1/", Recursive: true}) {
		modelKeys = append(modelKeys, obj.Key)
	}
	if len(modelKeys) != 1 || !strings.HasSuffix(modelKeys[0], "/count.txt") {
		t.Errorf("the registered version's files in the bucket: %v", modelKeys)
	}

	r = e.ok("job", "create", "--file", "pipeline.yml", "--stream")
	if strings.Count(r.out, "reused") < 3 {
		t.Errorf("second run did not reuse all three steps:\n%s", r.out)
	}
	// A server the CLI starts itself, without --blob, finds the bucket the
	// home remembers.
	e.ok("server", "stop")
	e.ok("job", "download", "--name", name, "--output-name", "final", "--download-path", "again")
	if got := readAt(t, filepath.Join(e.dir, "again", "named-outputs", "final", "count.txt")); got != "9\n" {
		t.Fatalf("download from the autostarted server: %q", got)
	}
	if strings.Contains(logs.String(), "testing-secret-key") {
		t.Error("the server log shows the secret key")
	}
}

// startServerRun runs `ciel server run --addr 127.0.0.1:0 args...` for e in
// the background until the test ends, and returns its output as it grows.
func startServerRun(t *testing.T, e *env, args ...string) *syncBuffer {
	t.Helper()
	e.runArgs = args
	cmd := exec.Command(cielBin, append([]string{"server", "run", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir, cmd.Env = e.dir, e.environ()
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		e.run("server", "stop")
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	waitFor(t, "server run to listen", time.Minute, func() bool {
		select {
		case <-exited:
			t.Fatalf("server run exited:\n%s", logs)
		default:
		}
		return strings.Contains(logs.String(), "ciel server listening on")
	})
	return logs
}
