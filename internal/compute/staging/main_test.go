package staging

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStepMain covers ciel-step's command line: wrong words are usage errors
// (2), a stage-in that cannot start reports why in the termination
// message (1), and run gives the command's exit code.
func TestStepMain(t *testing.T) {
	t.Setenv(EnvStage, "")
	t.Setenv(EnvBlob, "")
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stderr     string
		reportWant string
	}{
		{"no words", nil, 2, "usage:", ""},
		{"not step", []string{"stage-in"}, 2, "usage:", ""},
		{"unknown", []string{"step", "stage-out"}, 2, "usage:", ""},
		{"stray argument", []string{"step", "stage-in", "x"}, 2, "usage:", ""},
		{"unknown flag", []string{"step", "stage-in", "--nope"}, 2, "usage:", ""},
		{"run without a command", []string{"step", "run", "--"}, 2, "usage:", ""},
		{"stage-in without a stage", []string{"step", "stage-in", "--tools", "/nonexistent"}, 1, "ERROR:", "CIEL_STAGE"},
		{"run", []string{"step", "run", "--", "/bin/sh", "-c", "exit 4"}, 4, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "termination-log")
			var out, errOut bytes.Buffer
			code := Main(context.Background(), tc.args, &out, &errOut, report)
			if code != tc.code || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("code %d, stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.stderr)
			}
			msg, _ := os.ReadFile(report)
			if tc.reportWant != "" {
				if r, err := ParseReport(string(msg)); err != nil || !strings.Contains(r.Error, tc.reportWant) {
					t.Errorf("report %s (%v), want an error naming %s", msg, err, tc.reportWant)
				}
			}
		})
	}
}
