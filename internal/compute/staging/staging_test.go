package staging

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

func TestParseStage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw, err string
	}{
		{`{"root":"/r","trees":[{"path":"inputs/x","digest":"sha256:aa","read_only":true}],"dirs":["outputs/y"],"collect":[{"key":"k","path":"outputs/y"}]}`, ""},
		{`{"root":"r"}`, "not a clean absolute path"},
		{`{"root":"/r/../x"}`, "not a clean absolute path"},
		{`{"root":"/r","trees":[{"path":"../etc","digest":"sha256:aa"}]}`, "not a clean relative path"},
		{`{"root":"/r","trees":[{"path":"x","digest":"md5:aa"}]}`, "is not sha256"},
		{`{"root":"/r","dirs":["/abs"]}`, "not a clean relative path"},
		{`{"root":"/r","collect":[{"key":"k","path":"a/../../b"}]}`, "not a clean relative path"},
		{`{"root":"/r","dirs":[""]}`, "not a clean relative path"},
		{`nope`, "stage:"},
	} {
		_, err := ParseStage(tc.raw)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseStage(%s) = %v, want %q", tc.raw, err, tc.err)
		}
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "msg")
	if err := WriteReport(p, Report{Collected: map[string]string{"a": "sha256:1"}, Error: strings.Repeat("e", 10000)}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if len(b) > 4096 {
		t.Errorf("report is %d bytes, over the termination message's 4096", len(b))
	}
	r, err := ParseReport(string(b))
	if err != nil || r.Collected["a"] != "sha256:1" {
		t.Errorf("ParseReport = %+v, %v", r, err)
	}
	if r, err := ParseReport(""); err != nil || r.Collected != nil {
		t.Errorf("empty report = %+v, %v", r, err)
	}
	if _, err := ParseReport("Error: OOM"); err == nil {
		t.Error("a message that is no report parsed")
	}
}

// TestStageRoundTrip stages a tree in from S3 (moto), runs a command that
// reads it and writes an output and fails, and checks the output is stored
// and reported with the command's exit code.
func TestStageRoundTrip(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	env := map[string]string{
		EnvBlob: "s3://" + bucket + "?endpoint=" + srv.Endpoint, EnvBlobKeyID: "testing", EnvBlobSecret: "testing-secret",
	}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	s, err := OpenStore(ctx, getenv)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := blob.IngestDir(ctx, s, src)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "step")
	st := compute.Stage{Root: root, Trees: []compute.StagedTree{{Path: "inputs/x", Digest: in, ReadOnly: true}},
		Dirs: []string{"outputs/y"}, Collect: []compute.Collected{{Key: "outputs/y", Path: "outputs/y"}, {Key: "none", Path: "wd/logs"}}}
	var log bytes.Buffer
	if err := In(ctx, s, st, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "[ciel] staged 1 trees") {
		t.Errorf("stage-in log: %q", log.String())
	}
	if fi, err := os.Stat(filepath.Join(root, "outputs/y")); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("output folder: %v, %v; want mode 0777", fi, err)
	}
	raw, _ := jsonStage(st)
	env[EnvStage] = raw
	env["SECRET_SEEN"] = ""
	report := filepath.Join(t.TempDir(), "termination-log")
	var out bytes.Buffer
	code := Run(ctx, RunConfig{
		Args:   []string{"/bin/sh", "-c", `cat "$1/inputs/x/a.txt" > "$1/outputs/y/b.txt"; echo "key=${CIEL_BLOB_SECRET_ACCESS_KEY:-unset}"; exit 3`, "sh", root},
		Env:    []string{"PATH=" + os.Getenv("PATH"), EnvBlobSecret + "=testing-secret", EnvStage + "=" + raw},
		Stdout: &out, Stderr: &out, ReportPath: report, Getenv: getenv,
	})
	if code != 3 {
		t.Errorf("exit code %d, want 3; output %s", code, out.String())
	}
	if !strings.Contains(out.String(), "key=unset") {
		t.Errorf("the step saw the blob store's key: %s", out.String())
	}
	msg, _ := os.ReadFile(report)
	rep, err := ParseReport(string(msg))
	if err != nil || rep.Error != "" {
		t.Fatalf("report %s: %v", msg, err)
	}
	if _, ok := rep.Collected["none"]; ok {
		t.Error("a folder that does not exist was collected")
	}
	tree, err := blob.GetTree(ctx, s, rep.Collected["outputs/y"])
	if err != nil || len(tree.Entries) != 1 || tree.Entries[0].Path != "b.txt" {
		t.Fatalf("collected tree %+v, %v", tree, err)
	}
	dst := t.TempDir()
	if err := blob.Materialize(ctx, s, rep.Collected["outputs/y"], filepath.Join(dst, "o"), false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "o", "b.txt")); string(b) != "hello" {
		t.Errorf("output content %q, want hello", b)
	}

	code = Run(ctx, RunConfig{Args: []string{"/no/such/program"}, Stdout: &out, Stderr: &out, ReportPath: report, Getenv: getenv})
	msg, _ = os.ReadFile(report)
	if code != 127 || !strings.Contains(string(msg), "/no/such/program") {
		t.Errorf("missing program: code %d, report %s", code, msg)
	}
}

// jsonStage encodes a stage as EnvStage holds it.
func jsonStage(st compute.Stage) (string, error) {
	b, err := json.Marshal(st)
	return string(b), err
}
