package kube

import (
	"archive/tar"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

// StepBinaryName is the small binary a step's pod runs (cmd/ciel-step),
// looked for beside ciel's.
const StepBinaryName = "ciel-step"

// StepBinary is the path of the ciel-step beside the ciel binary at path,
// "" when there is none: the helper image then holds ciel alone, which
// steps run in its place (ten times the bytes to copy and start in every
// step's pod).
func StepBinary(path string) (string, error) {
	p := filepath.Join(filepath.Dir(path), StepBinaryName)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("helper image: %w", err)
	}
	if err := checkStatic(p); err != nil {
		return "", err
	}
	return p, nil
}

// HelperImageRef is the reference of the helper image of the ciel binary
// at path (and the ciel-step beside it, if any). The binaries must be
// statically linked (CGO_ENABLED=0), as they run in images that may have no
// C library.
func HelperImageRef(path string) (string, error) {
	ref, _, err := helperRef(path)
	return ref, err
}

// helperRef is HelperImageRef, and the ciel-step it took ("" for none).
func helperRef(path string) (ref, step string, err error) {
	if err := checkStatic(path); err != nil {
		return "", "", err
	}
	if step, err = StepBinary(path); err != nil {
		return "", "", err
	}
	h := sha256.New()
	if err := hashFile(h, path); err != nil {
		return "", "", err
	}
	if step != "" {
		h.Write([]byte("\x00" + StepBinaryName + "\x00"))
		if err := hashFile(h, step); err != nil {
			return "", "", err
		}
	}
	return helperRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16], step, nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("helper image: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("helper image: read %s: %w", path, err)
	}
	return nil
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
// reference. The image is the binary at /ciel, and the ciel-step beside it
// at /ciel-step (or, without one, /ciel-step a link to /ciel).
func WriteHelperImage(path string, w io.Writer) (string, error) {
	ref, step, err := helperRef(path)
	if err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return binaryLayer(path, step) })
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

// binaryLayer streams an uncompressed tar holding the binary at /ciel and
// step at /ciel-step, or a link there to /ciel when step is "".
func binaryLayer(path, step string) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := addFile(tw, helperBinary[1:], path)
		switch {
		case err != nil:
		case step != "":
			err = addFile(tw, stepBinary[1:], step)
		default:
			err = tw.WriteHeader(&tar.Header{Name: stepBinary[1:], Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: helperBinary[1:]})
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// addFile writes the executable at path into tw as name.
func addFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
