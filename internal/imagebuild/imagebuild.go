// Package imagebuild writes an OCI image of a Python environment built on
// this machine, without Docker and without a registry to pull a base image
// from: the base layer is the host's own Python runtime (the interpreter,
// its standard library, bash, sh and busybox's basic commands, and every
// shared library they need), the layer above is a virtualenv that
// internal/envs built, at the same absolute path, so its pyvenv.cfg and
// its scripts' shebang lines hold as they are.
//
// Images are deterministic: the same files give the same layers and the
// same image digest, so building again is a cache hit. Layers are cached,
// compressed, in Options.CacheDir, keyed by their files' metadata.
//
// imagebuild does not run or push images; a caller writes them with
// WriteTarball or serves them. It builds for the machine's own
// architecture only, and a library that a program opens at run time
// (dlopen) rather than through its ELF headers is not found.
package imagebuild

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/ciel-mlops/ciel/internal/envs"
)

// Options says what to build.
type Options struct {
	// Python is the interpreter to base the image on, e.g.
	// /usr/bin/python3.11; "" means the interpreter Env's venv was made
	// from, or python3 on PATH when Env is nil.
	Python string
	// Env is a built environment whose virtualenv becomes the top layer;
	// nil means the host's Python alone, with its system site-packages.
	Env *envs.Env
	// CacheDir keeps the compressed layers between builds (e.g.
	// $CIEL_HOME/images); "" means the user's cache folder.
	CacheDir string
	// Log receives what was built and what was left out (a library no
	// directory provides); nil discards it.
	Log io.Writer
}

// Label keys of the image's configuration.
const (
	LabelPython = "dev.ciel.python"      // the base interpreter's version
	LabelEnv    = "dev.ciel.environment" // the envs key of the venv layer
)

// Build builds the image. It reads the host's files but changes none,
// except for the cache.
func Build(ctx context.Context, o Options) (v1.Image, error) {
	start := time.Now()
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	cache, err := cacheDir(o.CacheDir)
	if err != nil {
		return nil, err
	}
	python := o.Python
	if python == "" && o.Env != nil {
		// The venv's bin/python links to the interpreter it was made
		// from; the link itself belongs to the venv's layer.
		if python, err = filepath.EvalSymlinks(o.Env.Python); err != nil {
			return nil, fmt.Errorf("image build: environment's python: %w", err)
		}
	}
	if python == "" {
		if python, err = exec.LookPath("python3"); err != nil {
			return nil, fmt.Errorf("image build: no python3 on PATH: %w", err)
		}
	}
	py, err := probe(ctx, python)
	if err != nil {
		return nil, err
	}
	venv, systemSite := "", true
	if o.Env != nil {
		if o.Env.VirtualEnv == "" {
			return nil, fmt.Errorf("image build: environment %s has no virtualenv (it runs on the host's python)", o.Env.Key)
		}
		venv = o.Env.VirtualEnv
		systemSite = venvIncludesSystem(venv)
	}
	resolver := newLibResolver()
	base, err := baseFiles(ctx, python, py, systemSite, resolver, logw)
	if err != nil {
		return nil, err
	}
	baseLayer, hit, err := cachedLayer(cache, base.sorted())
	if err != nil {
		return nil, fmt.Errorf("image build: base layer: %w", err)
	}
	fmt.Fprintf(logw, "base layer: the host's Python %s runtime (%s), %d files%s\n", py.Version, python, len(base.entries), cachedNote(hit))
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: baseLayer,
		History: v1.History{CreatedBy: "ciel imagebuild: the host's Python " + py.Version + " runtime", Created: v1.Time{Time: epoch}}})
	if err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	env := []string{"PATH=" + filepath.Dir(python) + ":" + defaultPath, "PYTHONUNBUFFERED=1"}
	labels := map[string]string{LabelPython: py.Version}
	if venv != "" {
		top, err := venvFiles(venv, base.paths(), resolver, logw)
		if err != nil {
			return nil, err
		}
		topLayer, hit, err := cachedLayer(cache, top.sorted())
		if err != nil {
			return nil, fmt.Errorf("image build: environment layer: %w", err)
		}
		fmt.Fprintf(logw, "environment layer: %s, %d files%s\n", venv, len(top.entries), cachedNote(hit))
		img, err = mutate.Append(img, mutate.Addendum{Layer: topLayer,
			History: v1.History{CreatedBy: "ciel imagebuild: virtualenv " + venv, Created: v1.Time{Time: epoch}}})
		if err != nil {
			return nil, fmt.Errorf("image build: %w", err)
		}
		env = []string{"PATH=" + filepath.Join(venv, "bin") + ":" + defaultPath, "VIRTUAL_ENV=" + venv, "PYTHONUNBUFFERED=1"}
		labels[LabelEnv] = o.Env.Key
	}
	img, err = configure(img, env, labels)
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	fmt.Fprintf(logw, "image %s built in %.1fs\n", digest, time.Since(start).Seconds())
	return img, nil
}

// defaultPath is the PATH after the environment's own bin folder.
const defaultPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

func cachedNote(hit bool) string {
	if hit {
		return " (cached)"
	}
	return ""
}

func cacheDir(dir string) (string, error) {
	if dir != "" {
		return filepath.Join(dir, "layers"), nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("image build: no cache folder: %w", err)
	}
	return filepath.Join(base, "ciel", "images", "layers"), nil
}

// configure sets the image's configuration: no date, so the digest
// depends on the files alone.
func configure(img v1.Image, env []string, labels map[string]string) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{Env: env, Cmd: []string{"/bin/bash"}, Labels: labels, WorkingDir: "/"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	return img, nil
}

// WriteTarball writes img to path as a tarball tagged ref, which
// `docker load` and `ctr image import` read.
func WriteTarball(img v1.Image, ref, path string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image tarball: reference %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return fmt.Errorf("image tarball: %w", err)
	}
	return nil
}

// pythonInfo is what the base interpreter says about itself.
type pythonInfo struct {
	Version    string   `json:"version"`
	Stdlib     string   `json:"stdlib"`
	PlatStdlib string   `json:"platstdlib"`
	Dynload    []string `json:"dynload"`
	Site       []string `json:"site"`
}

// probeScript prints where the interpreter's standard library and system
// site-packages are. -I: no environment variables or user site.
const probeScript = `import json, site, sys, sysconfig
print(json.dumps({"version": "%d.%d" % sys.version_info[:2],
  "stdlib": sysconfig.get_path("stdlib"), "platstdlib": sysconfig.get_path("platstdlib"),
  "dynload": [p for p in sys.path if p.endswith("lib-dynload")],
  "site": site.getsitepackages() if hasattr(site, "getsitepackages") else []}))`

func probe(ctx context.Context, python string) (pythonInfo, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-I", "-c", probeScript)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return pythonInfo{}, fmt.Errorf("image build: probe %s: %w: %s", python, err, strings.TrimSpace(stderr.String()))
	}
	var info pythonInfo
	if err := json.Unmarshal(out, &info); err != nil || info.Stdlib == "" {
		return pythonInfo{}, fmt.Errorf("image build: probe %s: unexpected answer %q", python, out)
	}
	return info, nil
}

// venvIncludesSystem reads include-system-site-packages from pyvenv.cfg.
func venvIncludesSystem(venv string) bool {
	b, err := os.ReadFile(filepath.Join(venv, "pyvenv.cfg"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "include-system-site-packages" {
			return strings.EqualFold(strings.TrimSpace(v), "true")
		}
	}
	return false
}

// skipStdlib leaves out of the standard library what no step imports and
// weighs: its test suite, IDLE and the static libpython (config-*/*.a).
// site-packages is skipped here and added on its own when wanted.
func skipStdlib(stdlib string) func(string, fs.DirEntry) bool {
	return func(path string, d fs.DirEntry) bool {
		rel, _ := filepath.Rel(stdlib, path)
		switch rel {
		case "test", "idlelib", "turtledemo", "site-packages", "dist-packages":
			return true
		}
		return strings.HasSuffix(path, ".a") && !d.IsDir()
	}
}

// baseFiles lists the base layer: the interpreter, its standard library
// (with lib-dynload), its system site-packages when wanted, bash, sh,
// busybox with its applets, a minimal /etc and /tmp, and the closure of
// shared libraries of all of it.
func baseFiles(ctx context.Context, python string, py pythonInfo, systemSite bool, r *libResolver, logw io.Writer) (*fileSet, error) {
	s := newFileSet(nil)
	if err := s.addPath(python); err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	roots := append([]string{py.Stdlib, py.PlatStdlib}, py.Dynload...)
	for _, root := range dedupe(roots) {
		real, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue // a platstdlib that does not exist
		}
		if err := s.addPath(root); err != nil {
			return nil, fmt.Errorf("image build: %w", err)
		}
		if err := s.addTree(real, skipStdlib(real)); err != nil {
			return nil, fmt.Errorf("image build: standard library: %w", err)
		}
	}
	if systemSite {
		for _, dir := range py.Site {
			real, err := filepath.EvalSymlinks(dir)
			if err != nil {
				continue
			}
			if err := s.addTree(real, nil); err != nil {
				return nil, fmt.Errorf("image build: site-packages: %w", err)
			}
		}
	}
	if err := addShells(ctx, s); err != nil {
		return nil, err
	}
	s.addFile("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"))
	s.addFile("/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	s.put(&entry{Path: "/tmp", Type: typeDir, Mode: 0o1777, ModTime: epoch})
	// The loader's cache, for libraries in directories only ld.so.conf
	// names (the image's loader knows only the default ones).
	if _, err := os.Stat("/etc/ld.so.cache"); err == nil {
		if err := s.addPath("/etc/ld.so.cache"); err != nil {
			return nil, fmt.Errorf("image build: %w", err)
		}
	}
	if err := s.addClosureLogged(r, logw); err != nil {
		return nil, err
	}
	return s, nil
}

// addShells adds /bin/bash, /bin/sh and busybox with a link for each of
// its applets that the image has no program for (cat, ls, mkdir, ...):
// steps run `/bin/bash -c script` and scripts use the basic commands.
func addShells(ctx context.Context, s *fileSet) error {
	for _, p := range []string{"/bin/bash", "/bin/sh"} {
		if err := s.addPath(p); err != nil {
			return fmt.Errorf("image build: %w", err)
		}
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("image build: busybox is needed for the basic commands (apt-get install busybox): %w", err)
	}
	if err := s.addPath(bb); err != nil {
		return fmt.Errorf("image build: %w", err)
	}
	out, err := exec.CommandContext(ctx, bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("image build: busybox --list: %w", err)
	}
	real, err := filepath.EvalSymlinks(bb)
	if err != nil {
		return fmt.Errorf("image build: %w", err)
	}
	dir := filepath.Dir(real)
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		p := filepath.Join(dir, applet)
		if !s.has(p) {
			s.put(&entry{Path: p, Type: typeSymlink, Mode: 0o777, Link: filepath.Base(real), ModTime: epoch})
		}
	}
	return nil
}

// venvFiles lists the environment layer: the venv at its path, and the
// shared libraries its extension modules need that the base lacks.
func venvFiles(venv string, base map[string]bool, r *libResolver, logw io.Writer) (*fileSet, error) {
	s := newFileSet(base)
	if err := s.addPath(venv); err != nil {
		return nil, fmt.Errorf("image build: environment: %w", err)
	}
	real, err := filepath.EvalSymlinks(venv)
	if err != nil {
		return nil, fmt.Errorf("image build: environment: %w", err)
	}
	if err := s.addTree(real, nil); err != nil {
		return nil, fmt.Errorf("image build: environment: %w", err)
	}
	if err := s.addClosureLogged(r, logw); err != nil {
		return nil, err
	}
	return s, nil
}

// addClosureLogged adds the shared-library closure of the set's ELF files,
// telling logw of each library no directory provides.
func (s *fileSet) addClosureLogged(r *libResolver, logw io.Writer) error {
	missing, err := s.addClosure(r)
	if err != nil {
		return fmt.Errorf("image build: shared libraries: %w", err)
	}
	for _, m := range missing {
		fmt.Fprintf(logw, "warning: shared library not found: %s\n", m)
	}
	return nil
}
