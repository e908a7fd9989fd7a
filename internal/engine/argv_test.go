package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDirectArgv(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("tool", "#!/bin/sh\necho hi\n", 0o700)
	write("noshebang", "echo hi\n", 0o700)
	write("notexec", "#!/bin/sh\n", 0o600)
	write("echo", "#!/bin/sh\n", 0o700)
	env := []string{"PATH=" + bin, "CIEL_INPUT_data=/a path/with 'quotes'", "CIEL_INPUT_empty="}
	tool := filepath.Join(bin, "tool")
	tests := []struct {
		script string
		want   []string // nil: run under bash
	}{
		{"tool", []string{tool}},
		{"tool  --lr 0.1 \n", []string{tool, "--lr", "0.1"}},
		{`tool --data "${CIEL_INPUT_data}" --x=1`, []string{tool, "--data", "/a path/with 'quotes'", "--x=1"}},
		{`tool --data="${CIEL_INPUT_data}"`, []string{tool, "--data=/a path/with 'quotes'"}},
		{`tool "${CIEL_INPUT_empty}" ''`, []string{tool, "", ""}},
		{`tool 'a b;c' x'y'z`, []string{tool, "a b;c", "xyz"}},
		{"bin/tool", []string{tool}}, // relative to the working directory
		{"sub/tool", nil},
		{tool + " a", []string{tool, "a"}},
		{"tool; rm -rf /", nil},
		{"tool && x", nil},
		{"tool | x", nil},
		{"tool > out", nil},
		{"tool $HOME", nil},
		{"tool ~", nil},
		{"tool *.py", nil},
		{"tool {a,b}", nil},
		{"tool `x`", nil},
		{"tool $(x)", nil},
		{`tool "a"`, nil},
		{`tool "${1}"`, nil},
		{`tool "${A:-b}"`, nil},
		{"tool 'unclosed", nil},
		{"tool # comment", nil},
		{"tool\nother", nil},
		{`tool a\ b`, nil},
		{"A=1 tool", nil},
		{"cd /tmp", nil},
		{"echo hi", nil}, // a builtin, though bin/ has an echo
		{"noshebang", nil},
		{"notexec", nil},
		{"missing", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got, ok := directArgv(tt.script, env, dir)
		if tt.want == nil {
			if ok {
				t.Errorf("%q: direct %q, want bash", tt.script, got)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %q (%v), want %q", tt.script, got, ok, tt.want)
		}
	}
}

// A program found on a PATH is remembered for pathHitFresh, as bash's hash
// table remembers it; a search that found nothing is not, so a program
// installed after it is found at once.
func TestFindProgramRemembersHits(t *testing.T) {
	dir := t.TempDir()
	path := dir + ":/nonexistent"
	prog := filepath.Join(dir, "late")
	if p, ok := findProgram("late", path, dir); ok {
		t.Fatalf("found %s before it exists", p)
	}
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if p, ok := findProgram("late", path, dir); !ok || p != prog {
		t.Fatalf("findProgram after install = %q, %v", p, ok)
	}
	if err := os.Remove(prog); err != nil {
		t.Fatal(err)
	}
	if p, ok := findProgram("late", path, dir); !ok || p != prog {
		t.Fatalf("a hit of a moment ago was searched again: %q, %v", p, ok)
	}
	pathHits.mu.Lock()
	h := pathHits.m[[2]string{path, "late"}]
	h.at = h.at.Add(-pathHitFresh)
	pathHits.m[[2]string{path, "late"}] = h
	pathHits.mu.Unlock()
	if p, ok := findProgram("late", path, dir); ok {
		t.Fatalf("a stale hit was used: %q", p)
	}
}

// TestDirectArgvMatchesBash runs scripts both ways and compares the argv
// the program sees.
func TestDirectArgvMatchesBash(t *testing.T) {
	dir := t.TempDir()
	show := filepath.Join(dir, "show")
	if err := os.WriteFile(show, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + dir + ":/usr/bin:/bin", "CIEL_INPUT_x=sp ace'\"$HOME;", "CIEL_OUTPUT_o=/out"}
	for _, script := range []string{
		`show a 'b c' --x="${CIEL_INPUT_x}" "${CIEL_OUTPUT_o}"x ''`,
		`./show -- a=b %^@:,+`,
	} {
		argv, ok := directArgv(script, env, dir)
		if !ok {
			t.Fatalf("%q: not direct", script)
		}
		direct := exec.Command(argv[0], argv[1:]...)
		direct.Env, direct.Dir = env, dir
		viaBash := exec.Command("/bin/bash", "-c", script)
		viaBash.Env, viaBash.Dir = env, dir
		a, errA := direct.Output()
		b, errB := viaBash.Output()
		if errA != nil || errB != nil || string(a) != string(b) {
			t.Errorf("%q: direct %q (%v), bash %q (%v)", script, a, errA, b, errB)
		}
	}
}

func FuzzSplitSimple(f *testing.F) {
	for _, s := range []string{`a 'b c' "${X}"`, `a"${X}"b`, `'`, `"${`, `a  b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, ok := splitSimple(s, func(string) string { return "V" })
		if !ok {
			return
		}
		// Only a script made of the characters splitSimple accepts gets
		// through, and no word is empty unless it was quoted.
		for _, c := range []string{";", "|", "&", "$(", "`", "<", ">", "\n", "*", "?", "~", "\\"} {
			if strings.Contains(strings.ReplaceAll(stripQuoted(s), `"${`, ""), c) {
				t.Fatalf("%q accepted with %q outside quotes: %q", s, c, words)
			}
		}
	})
}

// stripQuoted drops single-quoted strings.
func stripQuoted(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		if r == '\'' {
			in = !in
			continue
		}
		if !in {
			b.WriteRune(r)
		}
	}
	return b.String()
}
