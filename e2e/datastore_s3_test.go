package e2e

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/s3test"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestDatastoreS3 runs a job whose input is a file and a folder of an S3
// datastore (moto's real S3 server) and whose output is written back to
// the bucket; the keys reach the server only as environment variables the
// datastore names.
func TestDatastoreS3(t *testing.T) {
	t.Parallel()
	endpoint := s3test.Start(t).Endpoint
	ctx := context.Background()
	s3c, err := minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4("testing", "testing", ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s3c.MakeBucket(ctx, "ml-data", minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	for key, body := range map[string]string{"team/in/data.csv": "a,b\n", "team/in/more/x.csv": "x\n", "other/secret": "s\n"} {
		if _, err := s3c.PutObject(ctx, "ml-data", key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	e := newEnvWith(t, "TEST_S3_KEY=testing", "TEST_S3_SECRET=testing")
	e.write("s3.yml", fmt.Sprintf(`name: s3lake
type: s3
endpoint: %s
bucket: ml-data
prefix: team
region: us-east-1
credentials:
  access_key_id_env: TEST_S3_KEY
  secret_access_key_env: TEST_S3_SECRET
`, endpoint))
	var ds struct {
		Type        string            `json:"type"`
		Bucket      string            `json:"bucket"`
		Credentials map[string]string `json:"credentials"`
	}
	mustJSON(t, e.ok("datastore", "create", "--file", "s3.yml").out, &ds)
	if ds.Type != "s3" || ds.Bucket != "ml-data" || ds.Credentials["access_key_id_env"] != "TEST_S3_KEY" {
		t.Fatalf("datastore create: %+v", ds)
	}
	if strings.Contains(e.ok("datastore", "show", "--name", "s3lake").out, `"testing"`) {
		t.Fatal("datastore show holds a key")
	}

	e.write("job.yml", `type: command
inputs:
  f:
    type: uri_file
    path: azureml://datastores/s3lake/paths/in/data.csv
  d:
    type: uri_folder
    path: azureml://datastores/s3lake/paths/in/
outputs:
  o:
    type: uri_folder
    path: azureml://datastores/s3lake/paths/out/${{name}}/
command: tr a-z A-Z < ${{inputs.f}} > ${{outputs.o}}/upper.csv && (cd ${{inputs.d}} && find . -type f | sort) > ${{outputs.o}}/files.txt
`)
	name := e.submit("job.yml")
	if j := e.wait(name, 2*time.Minute); j.Status != "Completed" {
		t.Fatalf("job %s: %s", j.Status, j.Error)
	}
	for key, want := range map[string]string{"upper.csv": "A,B\n", "files.txt": "./data.csv\n./more/x.csv\n"} {
		obj, err := s3c.GetObject(ctx, "ml-data", "team/out/"+name+"/"+key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || string(got) != want {
			t.Fatalf("object %s: %q, %v; want %q", key, got, err, want)
		}
	}

	// A datastore whose key variables the server lacks fails the job,
	// naming them.
	e.write("nokeys.yml", strings.ReplaceAll(strings.ReplaceAll(readAt(t, filepath.Join(e.dir, "s3.yml")),
		"TEST_S3_", "UNSET_S3_"), "name: s3lake", "name: nokeys"))
	e.ok("datastore", "create", "--file", "nokeys.yml")
	e.write("nokeys-job.yml", "type: command\ninputs:\n  f:\n    type: uri_file\n    path: azureml://datastores/nokeys/paths/in/data.csv\ncommand: cat ${{inputs.f}}\n")
	name = e.submit("nokeys-job.yml")
	if j := e.wait(name, 2*time.Minute); j.Status != "Failed" || !strings.Contains(j.Error, "UNSET_S3_KEY") {
		t.Fatalf("job without keys: %s, %q", j.Status, j.Error)
	}
}
