package cli

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree creates files (path -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tarFiles returns the regular files in a tar stream, name -> content.
func tarFiles(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = string(b)
	}
}

func keys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestWriteTar(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"train.py":                   "print('hi')",
		"lib/util.py":                "x = 1",
		"lib/__pycache__/util.pyc":   "bytecode",
		".git/HEAD":                  "ref",
		"nb/.ipynb_checkpoints/a.py": "cp",
		"data/big.csv":               "1,2",
		"data/keep.txt":              "keep",
		"logs/run.log":               "log",
		"deep/logs/x.txt":            "deep",
		"debug.log":                  "d",
		"build":                      "a file called build",
		"sub/build/out.o":            "o",
	}
	tests := []struct {
		name   string
		ignore map[string]string // ignore files to add
		want   []string
	}{
		{
			name: "builtin ignores only",
			want: []string{"build", "data/big.csv", "data/keep.txt", "debug.log", "deep/logs/x.txt", "lib/util.py", "logs/run.log", "sub/build/out.o", "train.py"},
		},
		{
			name:   "gitignore globs, dir-only and rooted",
			ignore: map[string]string{".gitignore": "# comment\n\n*.log\nbuild/\n/logs\ndata/*.csv\n!keep.txt\n**/deep\n"},
			want:   []string{".gitignore", "build", "data/keep.txt", "deep/logs/x.txt", "lib/util.py", "train.py"},
		},
		{
			name:   "amlignore wins over gitignore",
			ignore: map[string]string{".amlignore": "data\n", ".gitignore": "*.py\n"},
			want:   []string{".amlignore", ".gitignore", "build", "debug.log", "deep/logs/x.txt", "lib/util.py", "logs/run.log", "sub/build/out.o", "train.py"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeTree(t, dir, base)
			writeTree(t, dir, tt.ignore)
			var buf bytes.Buffer
			if err := writeTar(&buf, dir); err != nil {
				t.Fatal(err)
			}
			if got := keys(tarFiles(t, &buf)); !slices.Equal(got, tt.want) {
				t.Errorf("tar holds\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestWriteTarSingleFileAndDeterminism(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"iris.csv": "a,b\n1,2\n"})
	var one, two bytes.Buffer
	if err := writeTar(&one, filepath.Join(dir, "iris.csv")); err != nil {
		t.Fatal(err)
	}
	if err := writeTar(&two, filepath.Join(dir, "iris.csv")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Error("two tars of the same file differ")
	}
	got := tarFiles(t, &one)
	if len(got) != 1 || got["iris.csv"] != "a,b\n1,2\n" {
		t.Errorf("single-file tar = %v", got)
	}
}

func TestWriteTarFollowsFileLinks(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "a"})
	writeTree(t, outside, map[string]string{"shared.py": "shared"})
	if err := os.Symlink(filepath.Join(outside, "shared.py"), filepath.Join(dir, "shared.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "outside")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, dir); err != nil {
		t.Fatal(err)
	}
	got := tarFiles(t, &buf)
	if want := []string{"a.txt", "shared.py"}; !slices.Equal(keys(got), want) || got["shared.py"] != "shared" {
		t.Errorf("tar = %v, want files %q with shared.py's content", got, want)
	}
}

func TestIsLocalPath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		"/abs/data":      true,
		"./rel":          true,
		"":               false,
		"azureml:iris:1": false,
		"azureml://datastores/workspaceblobstore/x": false,
		"blob:sha256:abc":                           false,
		"https://example.com/iris.csv":              false,
		"wasbs://container@account.blob.core/x.csv": false,
	} {
		if got := isLocalPath(p); got != want {
			t.Errorf("isLocalPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestParseIgnoreSkipsUnsupported(t *testing.T) {
	t.Parallel()
	list, err := parseIgnore(strings.NewReader("!keep\n**/x\n[\n  \n#c\nok\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].pattern != "ok" {
		t.Errorf("parseIgnore = %+v, want only the rule ok", list)
	}
}
