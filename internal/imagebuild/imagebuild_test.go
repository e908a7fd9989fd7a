package imagebuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/ciel-mlops/ciel/internal/envs"
)

// sklearnPackages are what scikit-learn imports, as installed in a venv.
var sklearnPackages = []string{"sklearn", "scikit_learn", "numpy", "scipy", "joblib", "threadpoolctl", "narwhals", "cloudpickle"}

// sklearnVenv returns a venv with scikit-learn and only what it needs,
// copied from the shared test venv (the repository's .venv, or
// CIEL_TEST_VENV): the whole of it (mlflow, pandas, pyarrow) would make
// the test three times slower for nothing.
func sklearnVenv(t *testing.T) *envs.Env {
	t.Helper()
	src := os.Getenv("CIEL_TEST_VENV")
	if src == "" {
		src = "../../.venv"
	}
	src, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	if src, err = filepath.EvalSymlinks(src); err != nil {
		t.Skipf("no test venv: %v", err)
	}
	if err := exec.Command(filepath.Join(src, "bin", "python"), "-c", "import sklearn").Run(); err != nil {
		t.Skipf("the test venv %s has no scikit-learn: %v", src, err)
	}
	sites, _ := filepath.Glob(filepath.Join(src, "lib", "python3*", "site-packages"))
	if len(sites) != 1 {
		t.Skipf("the test venv %s has %d site-packages", src, len(sites))
	}
	venv := filepath.Join(t.TempDir(), "venv")
	rel, _ := filepath.Rel(src, sites[0])
	site := filepath.Join(venv, rel)
	if err := os.MkdirAll(site, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(venv, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(src, "pyvenv.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(venv, "pyvenv.cfg"), cfg, 0o644)
	link, err := os.Readlink(filepath.Join(src, "bin", "python"))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(link) {
		link = filepath.Join(src, "bin", link)
	}
	os.Symlink(link, filepath.Join(venv, "bin", "python"))
	os.Symlink("python", filepath.Join(venv, "bin", "python3"))
	entries, err := os.ReadDir(sites[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		for _, p := range sklearnPackages {
			if e.Name() == p || e.Name() == p+".py" || strings.HasPrefix(e.Name(), p+"-") || strings.HasPrefix(e.Name(), p+".") {
				if out, err := exec.Command("cp", "-a", filepath.Join(sites[0], e.Name()), site).CombinedOutput(); err != nil {
					t.Fatalf("copy %s: %v: %s", e.Name(), err, out)
				}
			}
		}
	}
	py := filepath.Join(venv, "bin", "python")
	if out, err := exec.Command(py, "-c", "import sklearn.linear_model").CombinedOutput(); err != nil {
		t.Fatalf("the copied venv does not import sklearn: %v: %s", err, out)
	}
	return &envs.Env{Key: "test-venv", Python: py, BinDir: filepath.Join(venv, "bin"), VirtualEnv: venv}
}

// extract applies the image's layers in order under root with the host's
// tar, which decompresses faster than Go code under the race detector.
func extract(t *testing.T, img v1.Image, root string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("tar", "-xzf", "-", "-C", root)
		cmd.Stdin = rc
		out, err := cmd.CombinedOutput()
		rc.Close()
		if err != nil {
			t.Fatalf("extract a layer: %v: %s", err, out)
		}
	}
}

// chrootRun runs argv inside root, as the image's only files.
func chrootRun(t *testing.T, root string, env []string, argv ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Skip("no chroot")
	}
	cmd := exec.Command(chroot, append([]string{root}, argv...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in the image: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// TestBuildSklearnRunsInImage builds the image of a venv with
// scikit-learn, extracts its layers into an empty root and, chrooted
// there, imports sklearn and fits a model with the image's python: the
// base layer and the library closure are all the venv needs.
func TestBuildSklearnRunsInImage(t *testing.T) {
	env := sklearnVenv(t)
	var log bytes.Buffer
	cache := t.TempDir()
	start := time.Now()
	img, err := Build(context.Background(), Options{Env: env, CacheDir: cache, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	t.Logf("build log:\n%s", log.String())
	log.Reset()
	start = time.Now()
	again, err := Build(context.Background(), Options{Env: env, CacheDir: cache, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	warm := time.Since(start)
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 || strings.Count(log.String(), "(cached)") != 2 {
		t.Fatalf("rebuild: digest %v then %v, log %s", d1, d2, log.String())
	}
	var sizes []int64
	if layers, err := img.Layers(); err == nil {
		for _, l := range layers {
			n, _ := l.Size()
			sizes = append(sizes, n)
		}
	}
	t.Logf("cold build %v, warm (cached) %v, compressed layers (base, environment) %v bytes", cold, warm, sizes)
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers: %d, %v; want the base and the environment", len(layers), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantPath := "PATH=" + env.BinDir + ":"
	if !strings.HasPrefix(cf.Config.Env[0], wantPath) || !contains(cf.Config.Env, "VIRTUAL_ENV="+env.VirtualEnv) || !contains(cf.Config.Env, "PYTHONUNBUFFERED=1") {
		t.Fatalf("image env %q: want the venv's bin first on PATH, VIRTUAL_ENV and PYTHONUNBUFFERED", cf.Config.Env)
	}
	root := t.TempDir()
	extract(t, img, root)
	script := `import sys, sklearn
from sklearn.linear_model import LogisticRegression
m = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
print("sklearn", sklearn.__version__, "prefix", sys.prefix, "predict", [int(x) for x in m.predict([[0.2], [2.8]])])`
	out := chrootRun(t, root, cf.Config.Env, "/bin/bash", "-c", "cd /tmp && python -c '"+script+"' && ls / >/tmp/ls.txt && cat /etc/passwd | head -1")
	if !strings.Contains(out, "prefix "+env.VirtualEnv) || !strings.Contains(out, "predict [0, 1]") || !strings.Contains(out, "root:x:0:0") {
		t.Fatalf("in the image: %s", out)
	}
	t.Logf("in the image: %s", out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBuildDeterministic builds the same image three times: twice with
// one cache (the second is a cache hit) and once with a fresh cache; all
// three have one digest, and the tarball loads back with it.
func TestBuildDeterministic(t *testing.T) {
	cache := t.TempDir()
	var digests []v1.Hash
	var took []time.Duration
	for _, dir := range []string{cache, cache, t.TempDir()} {
		var log bytes.Buffer
		start := time.Now()
		img, err := Build(context.Background(), Options{CacheDir: dir, Log: &log, Python: hostPython(t)})
		if err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
		if len(digests) == 2 && !strings.Contains(log.String(), "(cached)") {
			t.Errorf("second build with the same cache: no cache hit in %q", log.String())
		}
	}
	if digests[0] != digests[1] || digests[0] != digests[2] {
		t.Fatalf("digests differ: %v", digests)
	}
	t.Logf("digest %s; cold %v, warm %v, cold again %v", digests[0], took[0], took[1], took[2])

	img, err := Build(context.Background(), Options{CacheDir: cache, Python: hostPython(t)})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteTarball(img, "ciel.local/test:1", path); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := back.Digest(); err != nil || d != digests[0] {
		t.Fatalf("tarball image digest %v, %v; want %v", d, err, digests[0])
	}
	if err := WriteTarball(img, "not a reference", path); err == nil {
		t.Fatal("a bad reference was accepted")
	}
}

// hostPython is a python without a venv, to build a base-only image.
func hostPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no system python3")
	return ""
}

// TestClosure checks the shared libraries found for the host's bash and
// the venv's interpreter against what the host's loader says (ldd): every
// library ldd resolves is in the set, at the path ldd gives, with the
// symbolic links on the way (/lib -> usr/lib).
func TestClosure(t *testing.T) {
	env := sklearnVenv(t)
	python, err := filepath.EvalSymlinks(env.Python)
	if err != nil {
		t.Fatal(err)
	}
	for _, prog := range []string{"/bin/bash", python} {
		t.Run(filepath.Base(prog), func(t *testing.T) {
			s := newFileSet(nil)
			if err := s.addPath(prog); err != nil {
				t.Fatal(err)
			}
			missing, err := s.addClosure(newLibResolver())
			if err != nil || len(missing) > 0 {
				t.Fatalf("closure: %v, missing %v", err, missing)
			}
			out, err := exec.Command("ldd", prog).Output()
			if err != nil {
				t.Skipf("ldd: %v", err)
			}
			n := 0
			for _, line := range strings.Split(string(out), "\n") {
				f := strings.Fields(line)
				var lib string
				switch {
				case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
					lib = f[2]
				case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
					lib = f[0]
				default:
					continue
				}
				n++
				if e := lookupInSet(s, lib, 0); e == nil || e.Type != typeReg {
					t.Errorf("ldd finds %s, the closure does not (has %d entries)", lib, len(s.entries))
				}
			}
			if n < 2 {
				t.Fatalf("ldd listed %d libraries: %s", n, out)
			}
		})
	}
}

// lookupInSet resolves path among the set's entries alone, following its
// symbolic links as the kernel would in the image.
func lookupInSet(s *fileSet, path string, depth int) *entry {
	if depth > 40 {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(filepath.Clean(path), "/"), "/")
	cur := "/"
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		e := s.entries[cur]
		if e == nil {
			return nil
		}
		if e.Type == typeSymlink {
			target := e.Link
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(cur), target)
			}
			return lookupInSet(s, filepath.Join(append([]string{target}, parts[i+1:]...)...), depth+1)
		}
		if i == len(parts)-1 {
			return e
		}
	}
	return nil
}
