// Package filestest is the conformance suite every files.FS backend runs
// (local folders, S3 buckets). It is for tests only.
package filestest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
)

// Put writes data at p and commits it, failing t on error.
func Put(t testing.TB, fsys files.FS, p, data string) {
	t.Helper()
	f, err := fsys.Create(context.Background(), p)
	if err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	if _, err := io.WriteString(f, data); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	if err := f.Commit(); err != nil {
		t.Fatalf("commit %s: %v", p, err)
	}
}

// Get reads the file at p, failing t on error.
func Get(t testing.TB, fsys files.FS, p string) string {
	t.Helper()
	r, err := fsys.Open(context.Background(), p)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

// TestFS runs the suite on fresh, empty file systems made by newFS (one
// per subtest).
func TestFS(t *testing.T, newFS func(t *testing.T) files.FS) {
	ctx := context.Background()
	t.Run("CommitMakesVisible", func(t *testing.T) {
		fsys := newFS(t)
		f, err := fsys.Create(ctx, "a/b/c.txt")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.Stat(ctx, "a/b/c.txt"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("before Commit: Stat = %v, want ErrNotExist", err)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := Get(t, fsys, "a/b/c.txt"); got != "hello" {
			t.Fatalf("read back %q", got)
		}
		info, err := fsys.Stat(ctx, "a/b/c.txt")
		if err != nil || info.Size != 5 || info.Dir || info.Name != "c.txt" || info.Path != "a/b/c.txt" || info.ModTime.IsZero() {
			t.Fatalf("Stat = %+v, %v", info, err)
		}
		if d, err := fsys.Stat(ctx, "a/b"); err != nil || !d.Dir {
			t.Fatalf("Stat folder = %+v, %v", d, err)
		}
		if f.Commit() == nil {
			t.Fatal("a second Commit succeeded")
		}
	})
	t.Run("AbortLeavesNothing", func(t *testing.T) {
		fsys := newFS(t)
		Put(t, fsys, "keep.txt", "old")
		f, err := fsys.Create(ctx, "keep.txt")
		if err != nil {
			t.Fatal(err)
		}
		// More than S3's smallest part, so a multipart upload has begun.
		_, _ = f.Write(bytes.Repeat([]byte("x"), 6<<20))
		if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		if got := Get(t, fsys, "keep.txt"); got != "old" {
			t.Fatalf("aborted write replaced the file: %q", got[:min(len(got), 10)])
		}
		kids, err := fsys.List(ctx, "")
		if err != nil || len(kids) != 1 {
			t.Fatalf("List after Abort = %+v, %v; want only keep.txt", kids, err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		fsys := newFS(t)
		Put(t, fsys, "x/y.txt", "1")
		for name, err := range map[string]error{
			"Open":   errOf(fsys.Open(ctx, "nope.txt")),
			"Stat":   errOf(fsys.Stat(ctx, "x/nope")),
			"List":   errOf(fsys.List(ctx, "nope")),
			"Delete": fsys.Delete(ctx, "x/nope", true),
		} {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s of a missing path: %v, want ErrNotExist", name, err)
			}
		}
	})
	t.Run("List", func(t *testing.T) {
		fsys := newFS(t)
		Put(t, fsys, "d/b.csv", "bb")
		Put(t, fsys, "d/a.csv", "a")
		Put(t, fsys, "d/sub/c.csv", "ccc")
		Put(t, fsys, "d.csv", "x")
		got, err := fsys.List(ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		want := []files.Info{{Name: "a.csv", Path: "d/a.csv", Size: 1}, {Name: "b.csv", Path: "d/b.csv", Size: 2}, {Name: "sub", Path: "d/sub", Dir: true}}
		if len(got) != len(want) {
			t.Fatalf("List = %+v, want %+v", got, want)
		}
		for i := range want {
			g := got[i]
			if g.Name != want[i].Name || g.Path != want[i].Path || g.Size != want[i].Size || g.Dir != want[i].Dir {
				t.Errorf("List[%d] = %+v, want %+v", i, g, want[i])
			}
		}
		root, err := fsys.List(ctx, "")
		if err != nil || len(root) != 2 || root[0].Name != "d" || !root[0].Dir || root[1].Name != "d.csv" {
			t.Fatalf("List root = %+v, %v", root, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		fsys := newFS(t)
		Put(t, fsys, "d/a", "1")
		Put(t, fsys, "d/e/b", "2")
		Put(t, fsys, "other", "3")
		if err := fsys.Delete(ctx, "d", false); err == nil {
			t.Fatal("non-recursive Delete of a full folder succeeded")
		}
		if err := fsys.Delete(ctx, "d/a", false); err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.Stat(ctx, "d/a"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("deleted file still there: %v", err)
		}
		if err := fsys.Delete(ctx, "d", true); err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.Stat(ctx, "d/e/b"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("file of a deleted folder still there: %v", err)
		}
		if Get(t, fsys, "other") != "3" {
			t.Fatal("Delete touched another file")
		}
	})
	t.Run("Escapes", func(t *testing.T) {
		fsys := newFS(t)
		for _, p := range []string{"../x", "a/../../x", "/etc/passwd", `a\..\x`, "a//b", "a/./b", "a\x00b"} {
			for name, err := range map[string]error{
				"Open":   errOf(fsys.Open(ctx, p)),
				"Create": errOf(fsys.Create(ctx, p)),
				"Stat":   errOf(fsys.Stat(ctx, p)),
				"List":   errOf(fsys.List(ctx, p)),
				"Delete": fsys.Delete(ctx, p, true),
			} {
				if !errors.Is(err, files.ErrEscape) {
					t.Errorf("%s(%q) = %v, want ErrEscape", name, p, err)
				}
			}
		}
	})
	t.Run("ReaderAtSeeker", func(t *testing.T) {
		fsys := newFS(t)
		Put(t, fsys, "r.bin", "0123456789")
		r, err := fsys.Open(ctx, "r.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		ra, ok := r.(interface {
			io.ReaderAt
			io.Seeker
		})
		if !ok {
			t.Fatalf("Open's reader %T is not an io.ReaderAt and io.Seeker", r)
		}
		b := make([]byte, 3)
		if n, err := ra.ReadAt(b, 7); n != 3 || string(b) != "789" {
			t.Fatalf("ReadAt = %d %q %v", n, b, err)
		}
		if end, err := ra.Seek(0, io.SeekEnd); end != 10 || err != nil {
			t.Fatalf("Seek end = %d, %v", end, err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		fsys := newFS(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := fsys.Create(ctx, fmt.Sprintf("c/%d.txt", i))
				if err == nil {
					_, err = fmt.Fprintf(f, "file %d", i)
				}
				if err == nil {
					err = f.Commit()
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if kids, err := fsys.List(ctx, "c"); err != nil || len(kids) != 8 {
			t.Fatalf("List = %d files, %v", len(kids), err)
		}
		if Get(t, fsys, "c/5.txt") != "file 5" {
			t.Fatal("wrong content")
		}
	})
}

func errOf[T any](_ T, err error) error { return err }
