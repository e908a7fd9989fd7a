package githost_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd/githost"
)

func TestChangedFiles(t *testing.T) {
	t.Parallel()
	h, _ := setup(t, nil)
	repo, err := h.Create(t.Context(), "ws", "app")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	gitClient(t, work, "init", "-q", "-b", "main")
	commit := func(files map[string]string) string {
		for name, body := range files {
			p := filepath.Join(work, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		gitClient(t, work, "add", ".")
		gitClient(t, work, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "c")
		gitClient(t, work, "push", "-q", repo.Dir, "HEAD:main")
		return gitClient(t, work, "rev-parse", "HEAD")
	}
	root := commit(map[string]string{"a.txt": "a", "src/b.go": "b"})
	second := commit(map[string]string{"docs/odd name.md": "c", "src/b.go": "b2"})
	zeros := strings.Repeat("0", 40)
	tests := []struct {
		old, new string
		want     []string
	}{
		{root, second, []string{"docs/odd name.md", "src/b.go"}},
		{zeros, second, []string{"docs/odd name.md", "src/b.go"}}, // against the first parent
		{"", root, []string{"a.txt", "src/b.go"}},                 // no parent: every file
		{second, second, nil},
	}
	for _, tt := range tests {
		got, err := h.ChangedFiles(t.Context(), "ws", "app", tt.old, tt.new)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ChangedFiles(%.7s, %.7s) = %q, %v; want %q", tt.old, tt.new, got, err, tt.want)
		}
	}
	for _, bad := range [][2]string{{"main", second}, {root, "--output=/tmp/x"}, {root, strings.ToUpper(second)}} {
		if _, err := h.ChangedFiles(t.Context(), "ws", "app", bad[0], bad[1]); !errors.Is(err, githost.ErrBadName) {
			t.Errorf("ChangedFiles(%q, %q) = %v, want ErrBadName", bad[0], bad[1], err)
		}
	}
	if _, err := h.ChangedFiles(t.Context(), "ws", "nope", root, second); !errors.Is(err, githost.ErrNotFound) {
		t.Errorf("missing repository: %v, want ErrNotFound", err)
	}
	if wss, err := h.Workspaces(t.Context()); err != nil || !slices.Equal(wss, []string{"ws"}) {
		t.Errorf("Workspaces = %v, %v; want [ws]", wss, err)
	}
}
