package azp

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testConfig is the configuration the golden pipelines expand with: the
// tools repository of otherrepo.yml lives in testdata/tools.
func testConfig() Config {
	return Config{
		Repos: func(repo Repository) (fs.FS, error) {
			if repo.Name != "mlops/tools" {
				return nil, fmt.Errorf("no repository %s", repo.Name)
			}
			return os.DirFS("testdata/tools"), nil
		},
		Variables: map[string]string{"Build.SourceBranch": "refs/heads/main", "Build.SourceBranchName": "main"},
	}
}

// TestGolden expands testdata/<name>.yml and compares the rendered YAML with
// testdata/<name>.golden. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"seed", "multistage", "steptemplate", "vartemplate", "inserts", "extends", "matrix", "otherrepo"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := testConfig().Expand(os.DirFS("testdata"), name+".yml", nil)
			if err != nil {
				t.Fatalf("expand %s.yml: %v", name, err)
			}
			got, err := Render(p)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden")
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
				t.Errorf("%s.yml expands differently from %s (run with -update to accept):\n%s", name, path, firstDiff(string(want), string(got)))
			}
			// The rendered YAML is itself a pipeline that parses to the same thing.
			again, err := Parse(name+".golden", got)
			if err != nil {
				t.Fatalf("parse the rendered YAML: %v", err)
			}
			if out, _ := Render(again); !bytes.Equal(out, got) {
				t.Errorf("render(parse(render)) differs:\n%s", firstDiff(string(got), string(out)))
			}
		})
	}
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return "(no difference)"
}
