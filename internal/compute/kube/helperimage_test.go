package kube

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// staticBinary builds a trivial statically linked program at path.
func staticBinary(t *testing.T, path string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", path, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build a static binary: %v: %s", err, out)
	}
}

// imageFiles reads the helper image tarball at path and returns its single
// layer's entries: name -> contents, or "-> target" for a link.
func imageFiles(t *testing.T, path, ref string) map[string]string {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeSymlink {
			files[h.Name] = "-> " + h.Linkname
			continue
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
}

// TestHelperImage: the helper image holds ciel at /ciel and the ciel-step
// found beside it at /ciel-step (a link to ciel without one); the two
// images have different references, and a dynamically linked ciel-step is
// refused.
func TestHelperImage(t *testing.T) {
	dir := t.TempDir()
	ciel := filepath.Join(dir, "ciel")
	staticBinary(t, ciel)
	cielBytes, _ := os.ReadFile(ciel)

	write := func() (string, map[string]string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "helper.tar")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := WriteHelperImage(ciel, f)
		if cerr := f.Close(); err != nil || cerr != nil {
			t.Fatalf("WriteHelperImage: %v %v", err, cerr)
		}
		if want, _ := HelperImageRef(ciel); want != ref {
			t.Errorf("WriteHelperImage ref %s, HelperImageRef %s", ref, want)
		}
		return ref, imageFiles(t, out, ref)
	}

	alone, files := write()
	if files["ciel"] != string(cielBytes) || files["ciel-step"] != "-> ciel" || len(files) != 2 {
		t.Errorf("without ciel-step: entries %v", keysOf(files))
	}

	// A different ciel-step binary (an ELF with a byte more).
	step := filepath.Join(dir, StepBinaryName)
	stepBytes := append(append([]byte(nil), cielBytes...), 0)
	if err := os.WriteFile(step, stepBytes, 0o755); err != nil {
		t.Fatal(err)
	}
	both, files := write()
	if both == alone || !strings.HasPrefix(both, helperRepo+":") {
		t.Errorf("refs %s and %s", alone, both)
	}
	if files["ciel"] != string(cielBytes) || !bytes.Equal([]byte(files["ciel-step"]), stepBytes) {
		t.Errorf("with ciel-step: entries %v", keysOf(files))
	}

	dynamic, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true on PATH")
	}
	b, err := os.ReadFile(dynamic)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(step, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := HelperImageRef(ciel); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("a dynamic ciel-step: %v, want refused", err)
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+" ("+strconv.Itoa(len(v))+" bytes)")
	}
	return out
}
