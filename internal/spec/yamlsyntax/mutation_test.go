package yamlsyntax

import (
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// mutations break one line of a valid file the way people do.
var mutations = map[string]func(line string) (string, bool){
	"indent one more": func(l string) (string, bool) { return " " + l, true },
	"indent one less": func(l string) (string, bool) { return strings.TrimPrefix(l, " "), strings.HasPrefix(l, " ") },
	"tab indentation": func(l string) (string, bool) { return "\t" + l, true },
	"colon dropped": func(l string) (string, bool) {
		i := strings.Index(l, ": ")
		if i < 0 {
			return "", false
		}
		return l[:i] + " " + l[i+2:], true
	},
	"closing quote dropped": func(l string) (string, bool) {
		i := strings.LastIndexAny(l, `"'`)
		if i < 0 {
			return "", false
		}
		return l[:i] + l[i+1:], true
	},
}

// TestLocateFindsTheBrokenLine breaks lines of the repository's own YAML
// files (Azure ML examples, pipelines) and checks that Locate names the
// broken line, where yaml.v3 alone seldom does.
func TestLocateFindsTheBrokenLine(t *testing.T) {
	t.Parallel()
	files := repoYAML(t)
	r := rand.New(rand.NewSource(11))
	type tally struct{ broken, found, parser int }
	got := map[string]*tally{}
	names := make([]string, 0, len(mutations))
	for name := range mutations {
		names = append(names, name)
		got[name] = &tally{}
	}
	sort.Strings(names)
	for _, data := range files {
		lines := splitLines(data)
		for _, name := range names {
			for try := 0; try < 4; try++ {
				i := r.Intn(len(lines))
				if trimmed := strings.TrimSpace(lines[i]); trimmed == "" || trimmed[0] == '#' {
					continue
				}
				broken, ok := mutations[name](lines[i])
				if !ok {
					continue
				}
				doc := append(append(append([]string{}, lines[:i]...), broken), lines[i+1:]...)
				text := []byte(strings.Join(doc, "\n") + "\n")
				var n yaml.Node
				err := yaml.Unmarshal(text, &n)
				if err == nil {
					continue
				}
				c := got[name]
				c.broken++
				if p := Locate(text, err); p.Line == i+1 {
					c.found++
				} else if testing.Verbose() {
					t.Logf("%s on line %d of\n%s\nLocate: %d:%d: %s", name, i+1, text, p.Line, p.Col, p.Msg)
				}
				if parserProblem(err).Line == i+1 {
					c.parser++
				}
			}
		}
	}
	for _, name := range names {
		c := got[name]
		t.Logf("%-22s broken %3d, Locate names the line %3d times, yaml.v3 %3d", name, c.broken, c.found, c.parser)
		if c.broken < 10 {
			continue
		}
		if c.found*10 < c.broken*9 {
			t.Errorf("%s: Locate named the broken line in %d of %d files; want 90%%", name, c.found, c.broken)
		}
	}
}

// repoYAML reads the YAML files of the repository that yaml.v3 accepts.
func repoYAML(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	err := filepath.WalkDir(filepath.Join("..", "..", ".."), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".venv" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var n yaml.Node
		if len(data) > 0 && yaml.Unmarshal(data, &n) == nil {
			out = append(out, data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("found %d YAML files; expected the repository's examples (over 50)", len(out))
	}
	return out
}
