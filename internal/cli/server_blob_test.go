package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/api"
)

// TestServerRunBlob: `server run` takes the blob store from --blob, else
// CIEL_BLOB, else the one the home remembers, else none (the home's
// folder), with the keys from the
// environment; a bad URL is a usage error and no server starts.
func TestServerRunBlob(t *testing.T) {
	t.Parallel()
	keys := map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		record string // Home/blob-store.json
		bucket string // "" for the local folder
		code   int
	}{
		{name: "remembered", record: `{"url":"s3://remembered?endpoint=http%3A%2F%2F127.0.0.1%3A7070"}`, env: keys, bucket: "remembered"},
		{name: "env over remembered", env: map[string]string{"CIEL_BLOB": "s3://from-env?endpoint=http://127.0.0.1:7070"},
			record: `{"url":"s3://remembered?endpoint=http%3A%2F%2F127.0.0.1%3A7070"}`, bucket: "from-env"},
		{name: "default", bucket: ""},
		{name: "flag", args: []string{"--blob", "s3://from-flag?endpoint=http://127.0.0.1:7070"}, env: keys, bucket: "from-flag"},
		{name: "env", env: map[string]string{"CIEL_BLOB": "s3://from-env?endpoint=http://127.0.0.1:7070"}, bucket: "from-env"},
		{name: "flag wins", args: []string{"--blob", "s3://from-flag?endpoint=http://127.0.0.1:7070"},
			env: map[string]string{"CIEL_BLOB": "s3://from-env"}, bucket: "from-flag"},
		{name: "bad", args: []string{"--blob", "s3://b?secret=x"}, code: ExitUsage},
		{name: "bad env", env: map[string]string{"CIEL_BLOB": "/srv/blobs"}, code: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CIEL_HOME": t.TempDir()}
			if tt.record != "" {
				if err := os.WriteFile(filepath.Join(env["CIEL_HOME"], "blob-store.json"), []byte(tt.record), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, served, err := serverRun(env, tt.args...)
			got := cfg.BlobS3
			if code := ExitCode(err); code != tt.code {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.code)
			}
			if tt.code != 0 {
				if served {
					t.Error("the server started with a bad blob URL")
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("error %q shows the key", err)
				}
				return
			}
			switch {
			case tt.bucket == "" && got != nil:
				t.Errorf("BlobS3 = %v, want the local folder", got)
			case tt.bucket != "" && (got == nil || got.Bucket != tt.bucket):
				t.Errorf("BlobS3 = %v, want bucket %s", got, tt.bucket)
			case got != nil && tt.env["AWS_ACCESS_KEY_ID"] != "" && got.AccessKeyID != "AKID":
				t.Errorf("keys not read from the environment: %+v", got.AccessKeyID)
			}
		})
	}
}

// serverRun runs `ciel server run --addr 127.0.0.1:0 args...` with env as
// its environment, up to the point of serving, and returns the server's
// config and whether it would have started.
func serverRun(env map[string]string, args ...string) (cfg api.Config, served bool, err error) {
	var out bytes.Buffer
	err = NewRoot(Config{
		Args:   append([]string{"server", "run", "--addr", "127.0.0.1:0"}, args...),
		Getenv: func(k string) string { return env[k] },
		Stdout: &out, Stderr: &out,
		Serve: func(_ context.Context, c api.Config) error {
			cfg, served = c, true
			return nil
		},
	}).Execute()
	return cfg, served, err
}
