package spec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGolden parses realistic Azure ML files and compares the result, as
// JSON, with testdata/*.golden.json. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	t.Parallel()
	parseJob := func(f string) (any, error) { return ParseJobFile(f, Options{}) }
	parseComponent := func(f string) (any, error) { return ParseComponentFile(f, Options{}) }
	tests := []struct {
		golden string
		file   string
		parse  func(string) (any, error)
	}{
		{"pipeline", "testdata/pipeline/pipeline.yml", parseJob},
		{"command", "testdata/command/job.yml", parseJob},
		{"nested", "testdata/nested/pipeline.yml", parseJob},
		{"component", "testdata/pipeline/components/train.yml", parseComponent},
	}
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			v, err := tt.parse(tt.file)
			if err != nil {
				t.Fatalf("parse %s: %v", tt.file, err)
			}
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(bytes.ReplaceAll(got, []byte(abs), []byte("$TESTDATA")), '\n')
			path := filepath.Join("testdata", tt.golden+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update to accept):\n%s", tt.file, path, firstDiff(string(want), string(got)))
			}
		})
	}
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + a + "\n  got:  " + b
		}
	}
	return ""
}
