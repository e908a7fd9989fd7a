package blob_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/blob/blobtest"
)

func contextCanceled(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx, cancel
}

// putFiles stores files as a tree in s and returns its digest.
func putFiles(t *testing.T, s blob.Store, files []blobtest.File) string {
	t.Helper()
	var tr blob.Tree
	for _, f := range files {
		d, n, err := s.Put(t.Context(), strings.NewReader(f.Data))
		if err != nil {
			t.Fatal(err)
		}
		mode := blob.ModeFile
		if f.Mode&0o111 != 0 {
			mode = blob.ModeExec
		}
		tr.Entries = append(tr.Entries, blob.Entry{Path: f.Path, Digest: d, Size: n, Mode: mode})
	}
	d, err := blob.PutTree(t.Context(), s, tr)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMaterializeStaysInside(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	out := filepath.Join(base, "out")
	for _, d := range []string{outside, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A link planted in the destination must not carry writes outside it.
	if err := os.Symlink(outside, filepath.Join(out, "a")); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	d := putFiles(t, s, []blobtest.File{{Path: "a/evil", Data: "x"}})
	if err := blob.Materialize(t.Context(), s, d, out, false); err == nil {
		t.Error("Materialize through an escaping link succeeded")
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Errorf("Materialize wrote %d files outside", len(left))
	}
}

func TestMaterializeReplaces(t *testing.T) {
	t.Parallel()
	s := newMemStore()
	out := t.TempDir()
	keep := blobtest.File{Path: "keep", Data: "k", Mode: 0o600}
	blobtest.WriteDir(t, out, []blobtest.File{{Path: "f", Data: "stale", Mode: 0o444}, keep})
	files := []blobtest.File{{Path: "f", Data: "fresh"}}
	if err := blob.Materialize(t.Context(), s, putFiles(t, s, files), out, false); err != nil {
		t.Fatal(err)
	}
	blobtest.CheckDir(t, out, append(files, keep))
}

func TestMaterializeErrors(t *testing.T) {
	t.Parallel()
	s := newMemStore()
	good := putFiles(t, s, []blobtest.File{{Path: "f", Data: "data"}})
	missing, err := blob.PutTree(t.Context(), s, blob.Tree{Entries: []blob.Entry{
		{Path: "f", Digest: blob.Digest([]byte("not stored")), Size: 10, Mode: blob.ModeFile},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wrongSize, err := blob.PutTree(t.Context(), s, blob.Tree{Entries: []blob.Entry{
		{Path: "f", Digest: blob.Digest([]byte("data")), Size: 99, Mode: blob.ModeFile},
	}})
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := contextCanceled(t)
	defer cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		digest string
		is     error
	}{
		{"missing blob", t.Context(), missing, blob.ErrNotFound},
		{"missing tree", t.Context(), blob.Digest([]byte("no tree")), blob.ErrNotFound},
		{"crafted digest", t.Context(), "sha256:../../etc", blob.ErrInvalidDigest},
		{"wrong size", t.Context(), wrongSize, nil},
		{"canceled", canceled, good, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := blob.Materialize(tt.ctx, s, tt.digest, t.TempDir(), false)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("Materialize error %v, want %v", err, tt.is)
			}
		})
	}
}

func TestRemoveMaterialized(t *testing.T) {
	t.Parallel()
	s := newMemStore()
	d := putFiles(t, s, []blobtest.File{{Path: "a/b/c", Data: "c"}, {Path: "x", Data: "x", Mode: 0o755}})
	out := filepath.Join(t.TempDir(), "ro")
	if err := blob.Materialize(t.Context(), s, d, out, true); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(out, "x")); err != nil || info.Mode().Perm() != 0o500 {
		t.Errorf("executable: %v, %v; want 0500", info.Mode(), err)
	}
	if os.Geteuid() != 0 {
		if err := os.WriteFile(filepath.Join(out, "a", "new"), nil, 0o644); err == nil {
			t.Error("wrote into a read-only folder")
		}
	}
	if err := blob.RemoveMaterialized(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("folder still there: %v", err)
	}
	if err := blob.RemoveMaterialized(out); err != nil {
		t.Errorf("removing a missing folder: %v", err)
	}
}
