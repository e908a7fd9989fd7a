package envs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// requireInstaller skips the test when this machine can build nothing: no uv
// and no working python3 -m venv.
func requireInstaller(t *testing.T, b *Builder) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a real virtualenv from PyPI; skipped with -short")
	}
	tool, err := b.installer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tool.uv != nil {
		return
	}
	python, err := b.host()
	if err != nil {
		t.Skip("no python3 on PATH")
	}
	if exec.Command(python, "-m", "venv", "--help").Run() != nil {
		t.Skip("neither uv nor python3 -m venv works here")
	}
}

// syncBuffer is a progress writer safe for the concurrent reads in tests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func runPython(t *testing.T, env Env, code string) string {
	t.Helper()
	cmd := exec.Command(env.Python, "-c", code)
	cmd.Env = env.Environ(os.Environ())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -c %q: %v\n%s", env.Python, code, err, out)
	}
	return strings.TrimSpace(string(out))
}

const sixConda = `name: tiny
channels: [conda-forge]
dependencies:
  - python=3.12
  - pip
  - pip:
    - six==1.16.0
`

func TestEnsureBuildsVirtualenv(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	requireInstaller(t, b)
	ctx := context.Background()
	spec := Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", CondaFile: sixConda}

	// Two concurrent callers share one build.
	var (
		wg       sync.WaitGroup
		envs     [2]Env
		errs     [2]error
		progress [2]syncBuffer
	)
	for i := range 2 {
		wg.Go(func() { envs[i], errs[i] = b.Ensure(ctx, spec, &progress[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Ensure %d: %v\nprogress:\n%s", i, err, progress[i].String())
		}
	}
	if n := b.builds.Load(); n != 1 {
		t.Errorf("concurrent Ensure ran %d builds, want 1", n)
	}
	if envs[0].Python != envs[1].Python || envs[0].Key != b.Key(spec) {
		t.Errorf("concurrent callers got %+v and %+v", envs[0], envs[1])
	}
	env := envs[0]
	out := progress[0].String() + progress[1].String()
	for _, part := range []string{"building environment " + env.Key[:12] + " (six==1.16.0) ...", "six", "environment ready in "} {
		if !strings.Contains(out, part) {
			t.Errorf("progress lacks %q:\n%s", part, out)
		}
	}
	if log, err := os.ReadFile(filepath.Join(b.dir, env.Key+".log")); err != nil || !strings.Contains(string(log), "environment ready") {
		t.Errorf("build log: %v\n%s", err, log)
	}

	checkPrivate(t, env.VirtualEnv)
	got := runPython(t, env, "import sys, six; print(six.__version__); print(sys.prefix)")
	if want := "1.16.0\n" + env.VirtualEnv; got != want {
		t.Errorf("python in env printed %q, want %q", got, want)
	}
	if !strings.HasPrefix(env.Python, env.BinDir) || !strings.HasPrefix(env.BinDir, env.VirtualEnv) {
		t.Errorf("inconsistent paths: %+v", env)
	}

	// Warm: memoized in this builder, and found by marker in a fresh one.
	start := time.Now()
	again, err := b.Ensure(ctx, spec, nil)
	if d := time.Since(start); err != nil || d > 50*time.Millisecond || again.Python != env.Python {
		t.Errorf("second Ensure: %v in %v (%+v)", err, d, again)
	}
	fresh, err := New(Config{Dir: b.dir})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	reloaded, err := fresh.Ensure(ctx, spec, nil)
	if d := time.Since(start); err != nil || d > 50*time.Millisecond || reloaded.Python != env.Python || fresh.builds.Load() != 0 {
		t.Errorf("Ensure in a new builder: %v in %v, builds %d (%+v)", err, d, fresh.builds.Load(), reloaded)
	}
	if strings.Join(reloaded.Notes, "|") != strings.Join(env.Notes, "|") {
		t.Errorf("notes not kept in the marker: %q vs %q", reloaded.Notes, env.Notes)
	}
}

// TestEnsureAcrossBuilders stands in for two processes sharing Dir: each
// Builder has its own memory, so only the file lock keeps them to one build.
// It also plants a half-built directory, which must be redone.
func TestEnsureAcrossBuilders(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "envs")
	b1, _ := New(Config{Dir: dir})
	b2, _ := New(Config{Dir: dir})
	requireInstaller(t, b1)
	spec := Spec{CondaFile: "dependencies:\n  - six=1.16\n"}
	key := b1.Key(spec)
	if err := os.MkdirAll(filepath.Join(dir, key, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, key, "junk"), []byte("crashed build"), 0o644); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var envs [2]Env
	var errs [2]error
	for i, b := range []*Builder{b1, b2} {
		wg.Go(func() { envs[i], errs[i] = b.Ensure(context.Background(), spec, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	if n := b1.builds.Load() + b2.builds.Load(); n != 1 {
		t.Errorf("two builders ran %d builds, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, key, "junk")); !os.IsNotExist(err) {
		t.Errorf("half-built directory was reused (stat junk: %v)", err)
	}
	if got := runPython(t, envs[1], "import six; print(six.__version__)"); !strings.HasPrefix(got, "1.16") {
		t.Errorf("six version %q", got)
	}
	if !strings.Contains(strings.Join(envs[0].Notes, "\n"), "six==1.16.* (conda: six=1.16)") {
		t.Errorf("notes %q lack the conda translation", envs[0].Notes)
	}
}

func TestEnsureBuildFailure(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	requireInstaller(t, b)
	spec := Spec{CondaFile: "dependencies:\n  - pip:\n    - ciel-no-such-package-f7d2c1==0.0.1\n"}
	_, err := b.Ensure(context.Background(), spec, nil)
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BuildError", err)
	}
	if !strings.Contains(err.Error(), "ciel-no-such-package-f7d2c1") || len(be.Tail) == 0 || len(be.Tail) > 21 {
		t.Errorf("error lacks a useful tail: %v", err)
	}
	if _, err := os.Stat(filepath.Join(b.dir, be.Key)); !os.IsNotExist(err) {
		t.Errorf("failed build left its directory (stat: %v)", err)
	}
	if _, err := os.Stat(be.Log); err != nil {
		t.Errorf("build log: %v", err)
	}
}

func TestEnsureVenvPipFallback(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	b.noUV = true
	requireInstaller(t, b)
	env, err := b.Ensure(context.Background(), Spec{CondaFile: "dependencies: [{pip: [six==1.16.0]}]"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := runPython(t, env, "import six; print(six.__version__)"); got != "1.16.0" {
		t.Errorf("six version %q", got)
	}
	checkPrivate(t, env.VirtualEnv)
}

// checkPrivate fails t for every file or folder under dir that grants its
// group or others anything (venv writes its activate scripts 0644 and pip
// its entry points 0755, whatever the umask).
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		fi, err := d.Info()
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, readable by others", p, fi.Mode().Perm())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEnsureCancelled(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	requireInstaller(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := b.Ensure(ctx, Spec{CondaFile: "dependencies: [{pip: [six==1.16.0]}]\nname: cancelled\n"}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}

// plantEnv makes Dir look as if s had been built, with the host's python
// standing in for the venv's, so warm paths can be measured without a build.
func plantEnv(tb testing.TB, b *Builder, s Spec) {
	tb.Helper()
	host, err := b.host()
	if err != nil {
		tb.Skip("no python3 on PATH")
	}
	key := b.Key(s)
	bin := filepath.Join(b.dir, key, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(bin, "python")); err != nil {
		tb.Fatal(err)
	}
	m := marker{Version: builderVersion, Key: key, Notes: []string{"planted"}}
	if err := writeMarker(filepath.Join(b.dir, key, markerName), m); err != nil {
		tb.Fatal(err)
	}
}

func TestEnsureUsesMarker(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(t)
	spec := Spec{CondaFile: sixConda}
	plantEnv(t, b, spec)
	env, err := b.Ensure(context.Background(), spec, nil)
	if err != nil || b.builds.Load() != 0 || len(env.Notes) != 1 || env.Notes[0] != "planted" {
		t.Fatalf("Ensure = %+v, %v; builds %d", env, err, b.builds.Load())
	}
	env.Notes[0] = "caller scribbles"
	if again, _ := b.Ensure(context.Background(), spec, nil); again.Notes[0] != "planted" {
		t.Error("callers can mutate the memoized notes")
	}
	start := time.Now()
	const n = 1000
	for range n {
		b.Ensure(context.Background(), spec, nil)
	}
	if per := time.Since(start) / n; per > time.Millisecond {
		t.Errorf("warm Ensure takes %v, want well under 1ms", per)
	}
}

func BenchmarkEnsureWarm(b *testing.B) {
	for _, bc := range []struct {
		name string
		spec Spec
	}{
		{"venv", Spec{Image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", CondaFile: sklearnConda}},
		{"host", Spec{Image: "mcr.microsoft.com/azureml/curated/sklearn-1.5:1"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			builder, err := New(Config{Dir: filepath.Join(b.TempDir(), "envs")})
			if err != nil {
				b.Fatal(err)
			}
			if bc.spec.CondaFile != "" {
				plantEnv(b, builder, bc.spec)
			}
			ctx := context.Background()
			if _, err := builder.Ensure(ctx, bc.spec, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := builder.Ensure(ctx, bc.spec, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
