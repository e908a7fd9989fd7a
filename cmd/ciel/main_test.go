package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary act as ciel itself when re-executed.
func TestMain(m *testing.M) {
	if os.Getenv("CIEL_MAIN_TEST") == "1" {
		os.Args = append([]string{"ciel"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestExit runs the binary and checks what main promises: errors on stderr
// as "ERROR: <msg>" without a usage dump, and the exit code of the error.
func TestExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"help", []string{"--help"}, 0, ""},
		{"unknown command", []string{"jobz"}, 2, `ERROR: unknown command "jobz" for "ciel"`},
		{"unknown flag", []string{"job", "list", "--frob"}, 2, "ERROR: unknown flag: --frob"},
		{"missing workspace", []string{"job", "list"}, 2, "ERROR: no workspace given"},
		{"unreachable server", []string{"workspace", "list"}, 1, "ERROR: list workspaces: reach ciel server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], tt.args...)
			cmd.Env = append(os.Environ(), "CIEL_MAIN_TEST=1", "CIEL_HOME="+t.TempDir(), "CIEL_URL=http://127.0.0.1:1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.HasPrefix(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to start with %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantCode != 0 && strings.Contains(stdout.String()+stderr.String(), "Usage:") {
				t.Errorf("a runtime error printed the usage:\n%s%s", stdout.String(), stderr.String())
			}
		})
	}
}
