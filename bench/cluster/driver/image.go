package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// stepImage writes the steps' image to out and returns its reference: the
// host's bash (ciel runs a step's command with /bin/bash -c) with the
// libraries it links, and busybox for `true` (the floor's command). The
// cluster has no registry to pull a real image from.
func stepImage(out string) (string, error) {
	files := map[string]string{"bin/bash": "/bin/bash", "bin/busybox": "/bin/busybox"}
	ldd, err := exec.Command("ldd", "/bin/bash").Output()
	if err != nil {
		return "", fmt.Errorf("ldd /bin/bash: %w", err)
	}
	for _, m := range regexp.MustCompile(`(/\S+\.so[.\d]*)`).FindAllString(string(ldd), -1) {
		files[strings.TrimPrefix(m, "/")] = m
	}
	layer, err := layerOf(files, []string{"sh", "true"})
	if err != nil {
		return "", err
	}
	l, err := layer.Layer()
	if err != nil {
		return "", fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return "", fmt.Errorf("image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/bash"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", fmt.Errorf("image config: %w", err)
	}
	sum := sha256.Sum256(layer.data)
	ref := "localhost/ciel-bench-bash:" + hex.EncodeToString(sum[:6])
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", err
	}
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		return "", fmt.Errorf("write %s: %w", out, err)
	}
	return ref, nil
}

// memLayer is an uncompressed layer held in memory.
type memLayer struct{ data []byte }

func (l memLayer) open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(l.data)), nil }

// Layer makes a go-containerregistry layer of l.
func (l memLayer) Layer() (v1.Layer, error) { return tarball.LayerFromOpener(l.open) }

// layerOf tars files (path in the image -> host path), their folders, /tmp
// and busybox applet links.
func layerOf(files map[string]string, applets []string) (memLayer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	dirs := map[string]bool{"tmp": true}
	for n := range files {
		names = append(names, n)
		for d := filepath.Dir(n); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	sort.Strings(names)
	dirList := make([]string, 0, len(dirs))
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			return memLayer{}, err
		}
	}
	for _, n := range names {
		b, err := os.ReadFile(files[n])
		if err != nil {
			return memLayer{}, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return memLayer{}, err
		}
		if _, err := tw.Write(b); err != nil {
			return memLayer{}, err
		}
	}
	for _, a := range applets {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Linkname: "busybox", Typeflag: tar.TypeSymlink, Mode: 0o777}); err != nil {
			return memLayer{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return memLayer{}, err
	}
	return memLayer{data: buf.Bytes()}, nil
}
