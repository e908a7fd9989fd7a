package imagebuild

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	typeDir     = tar.TypeDir
	typeReg     = tar.TypeReg
	typeSymlink = tar.TypeSymlink
)

// layerFormat is hashed into every layer's cache key; bump it when the
// way a layer is written changes.
const layerFormat = "ciel-imagebuild-layer/1"

// layerKey is the cache key of a layer: a hash of every entry's metadata
// (and the contents of generated files). A host file that changes changes
// its size or modification time, so the key changes with it.
func layerKey(entries []*entry) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", layerFormat)
	for _, e := range entries {
		fmt.Fprintf(h, "%q %c %o %d %d %q %q %x\n", e.Path, e.Type, e.Mode, e.Size, e.ModTime.Unix(), e.Link, e.Source, sha256.Sum256(e.Data))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// layerInfo is what the cache keeps beside a layer's file, so a cached
// layer is used without reading it again.
type layerInfo struct {
	Digest v1.Hash `json:"digest"`
	DiffID v1.Hash `json:"diff_id"`
	Size   int64   `json:"size"`
}

// cachedLayer returns the layer of entries from the cache folder dir,
// writing it first when absent, and whether it was there.
func cachedLayer(dir string, entries []*entry) (v1.Layer, bool, error) {
	key := layerKey(entries)
	blob := filepath.Join(dir, key+".tar.gz")
	infoPath := filepath.Join(dir, key+".json")
	if b, err := os.ReadFile(infoPath); err == nil {
		var info layerInfo
		if json.Unmarshal(b, &info) == nil {
			if fi, err := os.Stat(blob); err == nil && fi.Size() == info.Size {
				l, err := partial.CompressedToLayer(&fileLayer{path: blob, info: info})
				return l, true, err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("layer cache: %w", err)
	}
	info, err := writeLayer(blob, entries)
	if err != nil {
		return nil, false, err
	}
	b, _ := json.Marshal(info)
	if err := writeFileAtomic(infoPath, b); err != nil {
		return nil, false, fmt.Errorf("layer cache: %w", err)
	}
	l, err := partial.CompressedToLayer(&fileLayer{path: blob, info: info})
	return l, false, err
}

// writeLayer writes the gzip-compressed tar of entries to path in one
// pass, hashing the tar (the diff ID) and the compressed bytes (the
// digest) as they go by.
func writeLayer(path string, entries []*entry) (layerInfo, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".layer-*")
	if err != nil {
		return layerInfo{}, fmt.Errorf("layer cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	digest, diffID := sha256.New(), sha256.New()
	counter := &countWriter{}
	// BestSpeed: an environment layer is hundreds of megabytes and the
	// machine building it is the one serving it; level 1 costs some size
	// and saves most of the time.
	zw, err := gzip.NewWriterLevel(io.MultiWriter(tmp, digest, counter), gzip.BestSpeed)
	if err != nil {
		return layerInfo{}, err
	}
	if err := writeTar(io.MultiWriter(zw, diffID), entries); err != nil {
		return layerInfo{}, err
	}
	if err := zw.Close(); err != nil {
		return layerInfo{}, fmt.Errorf("compress layer: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return layerInfo{}, fmt.Errorf("layer cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return layerInfo{}, fmt.Errorf("layer cache: %w", err)
	}
	return layerInfo{Digest: sha256Hash(digest), DiffID: sha256Hash(diffID), Size: counter.n}, nil
}

func sha256Hash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// writeTar writes entries, in order, as a tar with owner root and no
// other varying field.
func writeTar(w io.Writer, entries []*entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		name := strings.TrimPrefix(e.Path, "/")
		if e.Type == typeDir {
			name += "/"
		}
		hdr := &tar.Header{Name: name, Typeflag: e.Type, Mode: e.Mode, ModTime: e.ModTime, Linkname: e.Link, Format: tar.FormatPAX}
		if e.Type == typeReg {
			hdr.Size = e.Size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("layer: %s: %w", e.Path, err)
		}
		if e.Type != typeReg {
			continue
		}
		if e.Source == "" {
			if _, err := tw.Write(e.Data); err != nil {
				return fmt.Errorf("layer: %s: %w", e.Path, err)
			}
			continue
		}
		if err := copyFile(tw, e); err != nil {
			return err
		}
	}
	return tw.Close()
}

// copyFile copies a host file into the tar, refusing one that changed size
// since it was listed (the header is written already).
func copyFile(tw *tar.Writer, e *entry) error {
	f, err := os.Open(e.Source)
	if err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(tw, io.LimitReader(f, e.Size))
	if err != nil {
		return fmt.Errorf("layer: %s: %w", e.Source, err)
	}
	if n != e.Size {
		return fmt.Errorf("layer: %s changed while being read", e.Source)
	}
	return nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// fileLayer is a compressed layer in the cache whose digests are known:
// go-containerregistry's tarball.LayerFromFile would read and decompress
// the whole file again to learn them.
type fileLayer struct {
	path string
	info layerInfo
}

var _ partial.WithDiffID = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.info.Digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.info.DiffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.info.Size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// writeFileAtomic writes b to path through a temporary file and a rename,
// so a reader never sees half of it.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
