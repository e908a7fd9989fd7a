package blob_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/blob/blobtest"
)

func TestIngestDirSpecialFiles(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	blobtest.WriteDir(t, outside, []blobtest.File{{Path: "secret", Data: "s"}})
	src := filepath.Join(base, "src")
	blobtest.WriteDir(t, src, []blobtest.File{{Path: "real.txt", Data: "r"}, {Path: "sub/x", Data: "x"}})
	symlinks := map[string]string{
		"inside":   "real.txt",    // followed
		"sub/up":   "../real.txt", // followed
		"escape":   "../outside/secret",
		"absolute": filepath.Join(outside, "secret"),
		"dangling": "missing",
		"folder":   "sub",
	}
	for name, target := range symlinks {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(src, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	s := newMemStore()
	d, err := blob.IngestDir(t.Context(), s, src)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := blob.Materialize(t.Context(), s, d, out, false); err != nil {
		t.Fatal(err)
	}
	blobtest.CheckDir(t, out, []blobtest.File{
		{Path: "real.txt", Data: "r"},
		{Path: "sub/x", Data: "x"},
		{Path: "inside", Data: "r"},
		{Path: "sub/up", Data: "r"},
	})

	// A symbolic link to the folder is followed as the root.
	link := filepath.Join(base, "link")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	if again, err := blob.IngestDir(t.Context(), s, link); err != nil || again != d {
		t.Errorf("IngestDir through a link = %s, %v; want %s", again, err, d)
	}
}

func TestIngestDirErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blobtest.WriteDir(t, dir, []blobtest.File{{Path: "file", Data: "f"}})
	if _, err := blob.IngestDir(t.Context(), newMemStore(), filepath.Join(dir, "file")); err == nil {
		t.Error("IngestDir of a file succeeded")
	}
	if os.Geteuid() != 0 {
		locked := filepath.Join(dir, "locked")
		blobtest.WriteDir(t, locked, []blobtest.File{{Path: "f", Data: "f"}})
		if err := os.Chmod(filepath.Join(locked, "f"), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := blob.IngestDir(t.Context(), newMemStore(), locked); err == nil {
			t.Error("IngestDir of an unreadable file succeeded")
		}
	}
	ctx, cancel := contextCanceled(t)
	defer cancel()
	if _, err := blob.IngestDir(ctx, newMemStore(), dir); err == nil {
		t.Error("IngestDir with a canceled context succeeded")
	}
}

func TestIngestFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blobtest.WriteDir(t, dir, []blobtest.File{{Path: "model.pkl", Data: "weights", Mode: 0o700}})
	s := newMemStore()
	d, err := blob.IngestFile(t.Context(), s, filepath.Join(dir, "model.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := blob.GetTree(t.Context(), s, d)
	if err != nil {
		t.Fatal(err)
	}
	want := blob.Entry{Path: "model.pkl", Digest: blob.Digest([]byte("weights")), Size: 7, Mode: blob.ModeExec}
	if len(tr.Entries) != 1 || tr.Entries[0] != want {
		t.Errorf("tree %+v, want one %+v", tr.Entries, want)
	}
	for _, bad := range []string{dir, filepath.Join(dir, "missing")} {
		if _, err := blob.IngestFile(t.Context(), s, bad); err == nil {
			t.Errorf("IngestFile(%s) succeeded", bad)
		} else if bad != dir && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("IngestFile(%s) error %v, want not-exist", bad, err)
		}
	}
}
