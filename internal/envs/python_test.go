package envs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func vers(s ...string) []pyVersion {
	var out []pyVersion
	for _, v := range s {
		major, minor, _, err := splitVersion(v)
		if err != nil {
			panic(v)
		}
		out = append(out, pyVersion{major, minor})
	}
	return out
}

func TestNearestPython(t *testing.T) {
	t.Parallel()
	machine := vers("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
	tests := []struct {
		name  string
		avail []pyVersion
		want  string
		got   string
		exact bool
	}{
		{"exact", machine, "3.10", "3.10", true},
		{"below all", machine, "3.7", "3.8", false},
		{"above all", machine, "3.14", "3.13", false},
		{"gap picks nearest", vers("3.8", "3.12"), "3.11", "3.12", false},
		{"tie prefers higher", vers("3.9", "3.11"), "3.10", "3.11", false},
		{"tie prefers higher, any order", vers("3.11", "3.9"), "3.10", "3.11", false},
		{"single", vers("3.11"), "3.6", "3.11", false},
	}
	for _, tt := range tests {
		got, exact := nearestPython(tt.avail, vers(tt.want)[0])
		if got.String() != tt.got || exact != tt.exact {
			t.Errorf("%s: nearestPython(%v, %s) = %s, %v; want %s, %v", tt.name, tt.avail, tt.want, got, exact, tt.got, tt.exact)
		}
	}
}

func TestChoosePython(t *testing.T) {
	t.Parallel()
	machine := vers("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
	host := pyVersion{3, 11}
	tests := []struct {
		spec  string // conda dependency; "" for none
		avail []pyVersion
		want  string
		note  string // substring; "" means no note
	}{
		{"", machine, "3.11", ""},
		{"python", machine, "3.11", ""},
		{"python=3.10", machine, "3.10", ""},
		{"python=3.7", machine, "3.8", "conda file asks for python=3.7; using python 3.8 (nearest available)"},
		{"python==3.14.1", machine, "3.13", "using python 3.13 (nearest available)"},
		{"python>=3.9", machine, "3.11", ""},  // host satisfies
		{"python>=3.12", machine, "3.13", ""}, // highest in range, like conda
		{"python<3.10", machine, "3.9", ""},
		{"python>=3.8,<3.11", machine, "3.10", ""},
		{"python>=3.14", machine, "3.13", "asks for python>=3.14; using python 3.13"},
		{"python<3.6", machine, "3.8", "nearest available"},
		{"python=3", machine, "3.11", ""},
		{"python~=3.12", machine, "3.13", ""},
		{"python>3.9", vers("3.9", "3.10"), "3.10", ""},
		{"python=3.10", vers("3.9", "3.11"), "3.11", "nearest"},
	}
	for _, tt := range tests {
		var req pythonRequest
		if tt.spec != "" {
			ms, err := parseMatchSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if req, err = parsePythonRequest(tt.spec, ms.Version); err != nil {
				t.Fatal(err)
			}
		}
		got, note, err := choosePython(tt.avail, req, host)
		if err != nil {
			t.Errorf("%q: %v", tt.spec, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("%q: chose %s, want %s", tt.spec, got, tt.want)
		}
		if (tt.note == "") != (note == "") || !strings.Contains(note, tt.note) {
			t.Errorf("%q: note %q, want one containing %q", tt.spec, note, tt.note)
		}
	}
	if _, _, err := choosePython(nil, pythonRequest{}, host); err != ErrNoPython {
		t.Errorf("no interpreters: err = %v, want ErrNoPython", err)
	}
	if got, _, _ := choosePython(vers("3.9", "3.12"), pythonRequest{}, pyVersion{}); got.String() != "3.12" {
		t.Errorf("unknown host: chose %s, want the highest", got)
	}
}

func TestCandidateInterpreters(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	exe := func(rel string) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exe("bin/python3.11")
	exe("bin/python3.7")
	if err := os.WriteFile(filepath.Join(root, "bin", "python3.5"), nil, 0o644); err != nil { // not executable
		t.Fatal(err)
	}
	exe("pyenv/versions/3.12.1/bin/python3.12")
	exe("pyenv/versions/3.9.18/bin/python3") // only python3
	exe("pyenv/versions/2.7.18/bin/python2.7")
	exe("pyenv/versions/miniconda3-latest/bin/python3")
	exe("uv/cpython-3.13.0-linux-x86_64-gnu/bin/python3.13")

	got := candidateInterpreters(filepath.Join(root, "bin")+string(os.PathListSeparator)+filepath.Join(root, "missing"),
		filepath.Join(root, "pyenv"), filepath.Join(root, "uv"))
	var names []string
	for _, in := range got {
		rel, _ := filepath.Rel(root, in.Path)
		names = append(names, in.Version.String()+"="+rel)
	}
	want := "3.7=bin/python3.7 3.11=bin/python3.11 3.12=pyenv/versions/3.12.1/bin/python3.12 " +
		"3.9=pyenv/versions/3.9.18/bin/python3 3.13=uv/cpython-3.13.0-linux-x86_64-gnu/bin/python3.13"
	if strings.Join(names, " ") != want {
		t.Errorf("candidates:\n got %s\nwant %s", strings.Join(names, " "), want)
	}
}

func TestProbePythonRejectsBroken(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "python3.99")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := probePython(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "command not found") {
		t.Errorf("probe of a broken shim: err = %v", err)
	}
}
