package envs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestBuilder(t *testing.T) *Builder {
	t.Helper()
	b, err := New(Config{Dir: filepath.Join(t.TempDir(), "envs")})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const sklearnConda = `name: sklearn-env
channels: [conda-forge]
dependencies:
  - python=3.10
  - pip
  - pip:
    - scikit-learn==1.5.2
    - pandas
`

func TestKey(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	base := b.Key(Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", CondaFile: sklearnConda})
	tests := []struct {
		name string
		spec Spec
		same bool
	}{
		{"identical", Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", CondaFile: sklearnConda}, true},
		{"image whitespace", Spec{Image: " mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n", CondaFile: sklearnConda}, true},
		{"comments, name, CRLF and flow style", Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
			CondaFile: "# mine\r\nname: other\r\ndependencies: [python=3.10, pip, {pip: [scikit-learn==1.5.2, pandas]}]\r\n"}, true},
		{"other image", Spec{Image: "python:3.10", CondaFile: sklearnConda}, false},
		{"other python", Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", CondaFile: strings.Replace(sklearnConda, "3.10", "3.11", 1)}, false},
		{"other package", Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", CondaFile: strings.Replace(sklearnConda, "pandas", "polars", 1)}, false},
		{"package order matters", Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
			CondaFile: "dependencies: [python=3.10, {pip: [pandas, scikit-learn==1.5.2]}]"}, false},
	}
	for _, tt := range tests {
		got := b.Key(tt.spec)
		if (got == base) != tt.same {
			t.Errorf("%s: key %s vs %s, same=%v, want same=%v", tt.name, got[:12], base[:12], got == base, tt.same)
		}
	}
	if len(base) != 64 {
		t.Errorf("key %q is not a hex sha256", base)
	}
	// Stable across builders and processes: a fresh builder agrees, and the
	// value is pinned so an accidental change to hashing shows up here
	// (bump builderVersion on purpose instead).
	if other := newTestBuilder(t).Key(Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", CondaFile: sklearnConda}); other != base {
		t.Errorf("key differs between builders: %s vs %s", other, base)
	}
	if got, want := specKey(Spec{CondaFile: "dependencies: [six]"}), pinnedSixKey; got != want {
		t.Errorf("specKey changed: got %s, want %s", got, want)
	}
	bad := b.Key(Spec{CondaFile: "dependencies: [oops"})
	if bad == b.Key(Spec{CondaFile: "dependencies: [oops2"}) || bad != b.Key(Spec{CondaFile: "dependencies: [oops  \n"}) {
		t.Error("unparsable conda files should hash as normalized text")
	}
}

// pinnedSixKey is specKey(Spec{CondaFile: "dependencies: [six]"}).
const pinnedSixKey = "7b0a89a3dac4c5c033b0c592ff7ffb64632e881987607dedbea633d44372a06b"

func TestEnsureHost(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	for _, s := range []Spec{{}, {Image: "mcr.microsoft.com/azureml/curated/sklearn-1.5:1"}, {CondaFile: " \n\t"}} {
		env, err := b.Ensure(context.Background(), s, nil)
		if errors.Is(err, ErrNoPython) {
			t.Skip("no python3 on PATH")
		}
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsAbs(env.Python) || env.BinDir != "" || env.VirtualEnv != "" || env.Key != b.Key(s) {
			t.Errorf("host env for %+v = %+v", s, env)
		}
	}
	if _, err := os.Stat(b.dir); !os.IsNotExist(err) {
		t.Errorf("host environments must not touch Dir (stat err %v)", err)
	}
	start := time.Now()
	const n = 1000
	for range n {
		if _, err := b.Ensure(context.Background(), Spec{Image: "x"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if per := time.Since(start) / n; per > time.Millisecond {
		t.Errorf("warm host Ensure takes %v, want < 1ms", per)
	}
}

func TestEnsureHostMissingPython(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	b.lookPath = func(string) (string, error) { return "", errors.New("not found") }
	if _, err := b.Ensure(context.Background(), Spec{}, nil); !errors.Is(err, ErrNoPython) {
		t.Errorf("err = %v, want ErrNoPython", err)
	}
}

func TestEnsureBadConda(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	_, err := b.Ensure(context.Background(), Spec{CondaFile: "dependencies:\n  - pip: [\n"}, nil)
	if !errors.Is(err, ErrInvalidConda) {
		t.Fatalf("err = %v, want ErrInvalidConda", err)
	}
	if _, err := os.Stat(b.dir); !os.IsNotExist(err) {
		t.Errorf("a bad conda file must not start a build (stat err %v)", err)
	}
}

func TestNewRequiresDir(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil {
		t.Error("New with no Dir succeeded")
	}
}

func TestEnvEnviron(t *testing.T) {
	t.Parallel()
	base := []string{"HOME=/root", "PATH=/usr/bin:/bin", "VIRTUAL_ENV=/old", "PYTHONHOME=/x"}
	venv := Env{BinDir: "/e/k/bin", VirtualEnv: "/e/k"}
	got := venv.Environ(base)
	want := []string{"HOME=/root", "PATH=/e/k/bin:/usr/bin:/bin", "VIRTUAL_ENV=/e/k"}
	if !slices.Equal(got, want) {
		t.Errorf("venv Environ = %q, want %q", got, want)
	}
	if got := (Env{Python: "/usr/bin/python3"}).Environ(base); !slices.Equal(got, base) {
		t.Errorf("host Environ = %q, want base unchanged", got)
	}
}

func TestTailWriter(t *testing.T) {
	t.Parallel()
	tw := &tailWriter{max: 3}
	for _, chunk := range []string{"one\ntw", "o\nthree\r\nfour\n", "fi", "ve"} {
		tw.Write([]byte(chunk))
	}
	if got, want := tw.lines(), []string{"two", "three", "four", "five"}; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

func TestBuildErrorMessage(t *testing.T) {
	t.Parallel()
	err := &BuildError{Key: strings.Repeat("ab", 32), Log: "/envs/x.log", Tail: []string{"ERROR: No matching distribution"}, Err: errors.New("install requirements: exit status 1")}
	msg := err.Error()
	for _, part := range []string{"abababababab", "exit status 1", "/envs/x.log", "No matching distribution"} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q lacks %q", msg, part)
		}
	}
}
