package kube

import (
	"archive/tar"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// helperRepo is the repository of helper images; the tag is the binary's
// hash, so a server and the image it names always match.
const helperRepo = "ciel.local/ciel-helper"

// HelperImageRef is the reference of the helper image of the ciel binary
// at path. The binary must be statically linked (CGO_ENABLED=0), as it runs
// in images that may have no C library.
func HelperImageRef(path string) (string, error) {
	if err := checkStatic(path); err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("helper image: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("helper image: read %s: %w", path, err)
	}
	return helperRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// checkStatic refuses a dynamically linked binary.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("helper image: %s is not an ELF binary: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("helper image: %s is dynamically linked; build ciel with CGO_ENABLED=0 so it runs in any image", path)
		}
	}
	return nil
}

// WriteHelperImage writes the helper image of the binary at path to w as a
// tarball that `ctr image import` and `docker load` read, and returns its
// reference. The image is the binary alone, at /ciel.
func WriteHelperImage(path string, w io.Writer) (string, error) {
	ref, err := HelperImageRef(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("helper image: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return binaryLayer(path, fi.Size()) })
	if err != nil {
		return "", fmt.Errorf("helper image: layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", fmt.Errorf("helper image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("helper image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Entrypoint: []string{helperBinary}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", fmt.Errorf("helper image: %w", err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("helper image: %w", err)
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return "", fmt.Errorf("helper image: write: %w", err)
	}
	return ref, nil
}

// binaryLayer streams an uncompressed tar holding the binary at /ciel.
func binaryLayer(path string, size int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: helperBinary[1:], Mode: 0o755, Size: size, Typeflag: tar.TypeReg})
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}
