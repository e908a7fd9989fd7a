package local_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/blob/blobtest"
	"github.com/ciel-mlops/ciel/internal/blob/local"
)

func setup(t *testing.T) (*local.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := local.Open(local.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func TestConformance(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	blobtest.Run(t, s)
}

func TestOpenNeedsDir(t *testing.T) {
	t.Parallel()
	if _, err := local.Open(local.Config{}); err == nil {
		t.Error("Open with no Dir succeeded")
	}
}

// countBlobs returns the files under dir/sha256 and fails on any that is
// writable or misplaced.
func countBlobs(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "sha256"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Perm() != 0o400 {
			t.Errorf("%s: mode %v, want 0400", p, info.Mode())
		}
		name := filepath.Base(p)
		if filepath.Base(filepath.Dir(p)) != name[:2] || len(name) != 64 {
			t.Errorf("%s: misplaced", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLayoutAndDedup(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	ctx := t.Context()
	for range 3 {
		if _, _, err := s.Put(ctx, strings.NewReader("same")); err != nil {
			t.Fatal(err)
		}
	}
	d, _, err := s.Put(ctx, strings.NewReader("same"))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := blob.ParseDigest(d)
	if _, err := os.Stat(filepath.Join(dir, "sha256", h[:2], h)); err != nil {
		t.Errorf("blob not at Dir/sha256/ab/<hex>: %v", err)
	}
	if n := countBlobs(t, dir); n != 1 {
		t.Errorf("%d blob files, want 1", n)
	}

	// A folder whose files share content stores each content once, plus
	// the manifest.
	src := t.TempDir()
	blobtest.WriteDir(t, src, []blobtest.File{
		{Path: "x/1", Data: "dup"}, {Path: "x/2", Data: "dup"}, {Path: "y", Data: "dup"}, {Path: "z", Data: "same"},
	})
	if _, err := blob.IngestDir(ctx, s, src); err != nil {
		t.Fatal(err)
	}
	if _, err := blob.IngestDir(ctx, s, src); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, dir); n != 3 {
		t.Errorf("%d blob files, want 3 (same, dup, manifest)", n)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Errorf("%d temporary files left", len(left))
	}
}

func TestInvalidDigestTouchesNothing(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	// A file a traversal would reach if the digest were used as a path.
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"sha256:../secret", "sha256:../../secret", "sha256:" + strings.Repeat("0", 62) + "/../../secret"} {
		if _, err := s.Open(t.Context(), d); err == nil {
			t.Errorf("Open(%q) succeeded", d)
		}
		if p, err := s.LocalPath(d); err == nil {
			t.Errorf("LocalPath(%q) = %s", d, p)
		}
	}
}

// TestEmptyIngestIsCheap is not parallel: AllocsPerRun forbids it.
func TestEmptyIngestIsCheap(t *testing.T) {
	s, dir := setup(t)
	ctx := t.Context()
	empty := t.TempDir()
	if _, err := blob.IngestDir(ctx, s, empty); err != nil {
		t.Fatal(err)
	}
	before := countBlobs(t, dir)
	allocs := testing.AllocsPerRun(100, func() {
		if d, err := blob.IngestDir(ctx, s, filepath.Join(empty, "outputs")); err != nil || d != blob.EmptyTreeDigest {
			t.Fatalf("IngestDir = %s, %v", d, err)
		}
	})
	if allocs > 40 {
		t.Errorf("IngestDir of a missing folder made %v allocations", allocs)
	}
	if after := countBlobs(t, dir); after != before {
		t.Errorf("blob files went from %d to %d", before, after)
	}
}

// streamOnly hides LocalPath, so Materialize has to stream.
type streamOnly struct{ blob.Store }

func TestMaterializeWithoutLocalPath(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	files := []blobtest.File{{Path: "bin/run", Data: "#!/bin/sh\n", Mode: 0o755}, {Path: "cfg.json", Data: "{}"}}
	src := t.TempDir()
	blobtest.WriteDir(t, src, files)
	d, err := blob.IngestDir(t.Context(), s, src)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := blob.Materialize(t.Context(), streamOnly{s}, d, out, false); err != nil {
		t.Fatal(err)
	}
	blobtest.CheckDir(t, out, files)
}

func TestMaterializeDoesNotLinkStore(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	content := []byte("do not corrupt me")
	fd, n, err := s.Put(t.Context(), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	td, err := blob.PutTree(t.Context(), s, blob.Tree{Entries: []blob.Entry{{Path: "f", Digest: fd, Size: n, Mode: blob.ModeFile}}})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := blob.Materialize(t.Context(), s, td, out, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "f"), []byte("overwritten"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _ := s.LocalPath(fd)
	if b, _ := os.ReadFile(p); !bytes.Equal(b, content) {
		t.Errorf("store file changed to %q", b)
	}
	src, _ := os.Stat(p)
	dst, _ := os.Stat(filepath.Join(out, "f"))
	if os.SameFile(src, dst) {
		t.Error("materialized file is the store's file")
	}
}

// BenchmarkIngestEmpty measures what every step without outputs pays.
func BenchmarkIngestEmpty(b *testing.B) {
	s, err := local.Open(local.Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	missing := filepath.Join(b.TempDir(), "outputs")
	for b.Loop() {
		if _, err := blob.IngestDir(b.Context(), s, missing); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOpenSweepsOnlyAbandonedTemporaryFiles(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	// A Put in flight: its reader waits for the test.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, _, err := s.Put(t.Context(), pr)
		done <- err
	}()
	if _, err := pw.Write([]byte("in flight")); err != nil {
		t.Fatal(err)
	}
	// What a crash leaves: a temporary file no one holds.
	left := filepath.Join(dir, "tmp", "put-crashed")
	if err := os.WriteFile(left, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(local.Config{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the crashed Put's file survived Open: %v", err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Errorf("the Put in flight failed after another Open: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil || len(entries) != 0 {
		t.Errorf("tmp holds %v, %v", entries, err)
	}
	if n := countBlobs(t, dir); n != 1 {
		t.Errorf("%d blobs, want 1", n)
	}
}

func TestFailedPutLeavesNothing(t *testing.T) {
	t.Parallel()
	s, dir := setup(t)
	broken := io.MultiReader(strings.NewReader("half"), iotest.ErrReader(errors.New("connection reset")))
	if _, _, err := s.Put(t.Context(), broken); err == nil {
		t.Fatal("Put of a broken reader succeeded")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil || len(entries) != 0 {
		t.Errorf("tmp holds %v, %v", entries, err)
	}
	if n := countBlobs(t, dir); n != 0 {
		t.Errorf("%d blobs, want 0", n)
	}
}
