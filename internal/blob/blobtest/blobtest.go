// Package blobtest is the conformance suite every blob.Store backend runs,
// and the folder fixtures tests of blob users build on. It is for tests only.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
)

// File is a file of a test folder.
type File struct {
	// Path is slash-separated, relative to the folder.
	Path string
	// Data is the content.
	Data string
	// Mode is the permission bits; 0 means 0644.
	Mode fs.FileMode
}

// WriteDir creates files under dir, with their folders.
func WriteDir(t testing.TB, dir string, files []File) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.Data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, modeOf(f)); err != nil {
			t.Fatal(err)
		}
	}
}

// CheckDir fails t unless dir holds exactly files as Materialize writes
// them: their contents, and the owner's bits of their modes with nothing
// for group or others. Folders are ignored.
func CheckDir(t testing.TB, dir string, files []File) {
	t.Helper()
	want := make(map[string]File, len(files))
	for _, f := range files {
		want[f.Path] = f
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, ok := want[rel]
		if !ok {
			t.Errorf("unexpected file %s", rel)
			return nil
		}
		delete(want, rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if got, want := info.Mode(), modeOf(f)&0o700; got != want {
			t.Errorf("%s: mode %v, want %v", rel, got, want)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if string(b) != f.Data {
			t.Errorf("%s: content %q, want %q", rel, truncate(b), truncate([]byte(f.Data)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		t.Errorf("missing file %s", p)
	}
}

func modeOf(f File) fs.FileMode {
	if f.Mode == 0 {
		return 0o644
	}
	return f.Mode
}

func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// Run checks that s behaves as blob.Store promises, and that the tree
// functions of package blob work over it. Beyond the interface's contract it
// requires that crafted digests (see blob.ParseDigest) fail with an error and
// that Put with a canceled context fails. Blobs go up to LargeSize bytes,
// stored by several goroutines at once. s should start empty.
func Run(t *testing.T, s blob.Store) {
	t.Run("PutOpen", func(t *testing.T) { testPutOpen(t, s) })
	t.Run("Absent", func(t *testing.T) { testAbsent(t, s) })
	t.Run("InvalidDigest", func(t *testing.T) { testInvalidDigest(t, s) })
	t.Run("ConcurrentPut", func(t *testing.T) { testConcurrentPut(t, s, 256<<10, 16) })
	t.Run("ConcurrentPutLarge", func(t *testing.T) { testConcurrentPut(t, s, LargeSize, 4) })
	t.Run("CanceledPut", func(t *testing.T) { testCanceledPut(t, s) })
	t.Run("EmptyTree", func(t *testing.T) { testEmptyTree(t, s) })
	t.Run("TreeRoundTrip", func(t *testing.T) { testTreeRoundTrip(t, s) })
	t.Run("NotATree", func(t *testing.T) { testNotATree(t, s) })
	if lp, ok := s.(blob.LocalPather); ok {
		t.Run("LocalPath", func(t *testing.T) { testLocalPath(t, s, lp) })
	}
}

// randomBytes returns n bytes that are the same on every run.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustPut(t *testing.T, s blob.Store, data []byte) string {
	t.Helper()
	d, n, err := s.Put(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if want := blob.Digest(data); d != want {
		t.Fatalf("Put digest %s, want %s", d, want)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put size %d, want %d", n, len(data))
	}
	return d
}

func readBlob(t *testing.T, s blob.Store, d string) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	return b
}

func testPutOpen(t *testing.T, s blob.Store) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("hello, ciel\n")},
		{"large", randomBytes(3<<20+7, 1)},
		// Over two of S3's smallest parts (5 MiB), so that a backend
		// uploading in parts of that size sends a short last one.
		{"parts", randomBytes(LargeSize, 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustPut(t, s, tt.data)
			if again := mustPut(t, s, tt.data); again != d {
				t.Errorf("second Put gave %s, want %s", again, d)
			}
			ok, err := s.Has(t.Context(), d)
			if err != nil || !ok {
				t.Errorf("Has = %v, %v; want true", ok, err)
			}
			if got := readBlob(t, s, d); !bytes.Equal(got, tt.data) {
				t.Errorf("Open gave %d bytes, differing from the %d put", len(got), len(tt.data))
			}
		})
	}
}

func testAbsent(t *testing.T, s blob.Store) {
	d := blob.Digest([]byte("never stored in blobtest"))
	ok, err := s.Has(t.Context(), d)
	if err != nil || ok {
		t.Errorf("Has = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.Open(t.Context(), d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open error %v, want ErrNotFound", err)
	}
	if _, err := blob.GetTree(t.Context(), s, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("GetTree error %v, want ErrNotFound", err)
	}
}

// invalidDigests are strings a crafted request could pass as digests.
var invalidDigests = []string{
	"",
	"sha256:",
	"sha256:../../../../etc/passwd",
	"sha256:" + strings.Repeat("a", 63),
	"sha256:" + strings.Repeat("a", 65),
	"sha256:" + strings.Repeat("A", 64),
	"sha256:" + strings.Repeat("a", 62) + "/x",
	"sha256:" + strings.Repeat(".", 64),
	"sha256:" + strings.Repeat("a", 63) + "\x00",
	"sha512:" + strings.Repeat("a", 64),
	strings.Repeat("a", 64),
	"../sha256/" + strings.Repeat("a", 64),
}

func testInvalidDigest(t *testing.T, s blob.Store) {
	for _, d := range invalidDigests {
		t.Run("", func(t *testing.T) {
			if rc, err := s.Open(t.Context(), d); err == nil {
				rc.Close()
				t.Errorf("Open(%q) succeeded", d)
			}
			if ok, err := s.Has(t.Context(), d); err == nil || ok {
				t.Errorf("Has(%q) = %v, %v; want an error", d, ok, err)
			}
			if lp, ok := s.(blob.LocalPather); ok {
				if p, err := lp.LocalPath(d); err == nil {
					t.Errorf("LocalPath(%q) = %q", d, p)
				}
			}
		})
	}
}

// LargeSize is the size of the suite's largest blobs: a backend that
// uploads in parts should be given parts small enough (S3's smallest, 5
// MiB) that these span several.
const LargeSize = 11<<20 + 3

// testConcurrentPut stores the same n bytes from several goroutines at
// once: every Put succeeds with the same digest and the content is whole.
func testConcurrentPut(t *testing.T, s blob.Store, n, puts int) {
	data := randomBytes(n, uint64(n))
	want := blob.Digest(data)
	var wg sync.WaitGroup
	errs := make([]error, puts)
	for i := range errs {
		wg.Go(func() {
			d, n, err := s.Put(t.Context(), bytes.NewReader(data))
			if err == nil && (d != want || n != int64(len(data))) {
				err = errors.New("wrong digest or size " + d)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	if got := readBlob(t, s, want); !bytes.Equal(got, data) {
		t.Error("content differs after concurrent Puts")
	}
}

func testCanceledPut(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.Put(ctx, strings.NewReader("canceled")); err == nil {
		t.Error("Put with a canceled context succeeded")
	}
}

func testEmptyTree(t *testing.T, s blob.Store) {
	empty := t.TempDir()
	for _, dir := range []string{filepath.Join(empty, "missing"), empty} {
		d, err := blob.IngestDir(t.Context(), s, dir)
		if err != nil {
			t.Fatalf("IngestDir(%s): %v", dir, err)
		}
		if d != blob.EmptyTreeDigest {
			t.Fatalf("IngestDir(%s) = %s, want EmptyTreeDigest", dir, d)
		}
	}
	if ok, err := s.Has(t.Context(), blob.EmptyTreeDigest); err != nil || !ok {
		t.Errorf("Has(EmptyTreeDigest) = %v, %v; want true", ok, err)
	}
	if b := readBlob(t, s, blob.EmptyTreeDigest); string(b) != `{"entries":[]}` {
		t.Errorf("empty manifest %q", b)
	}
	tr, err := blob.GetTree(t.Context(), s, blob.EmptyTreeDigest)
	if err != nil || blob.TreeFiles(tr) != 0 {
		t.Errorf("GetTree(empty) = %v, %v", tr, err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := blob.Materialize(t.Context(), s, blob.EmptyTreeDigest, out, false); err != nil {
		t.Fatal(err)
	}
	CheckDir(t, out, nil)
}

// sampleFiles exercise nesting, executables, empty files, shared content and
// names whose byte order differs from a walk's order.
var sampleFiles = []File{
	{Path: "README.md", Data: "# sample\n"},
	{Path: "train.py", Data: "print('train')\n", Mode: 0o755},
	{Path: "a/b/c/deep.txt", Data: "deep"},
	{Path: "a/b/copy.txt", Data: "deep"},
	{Path: "a-b", Data: "dash"},
	{Path: "a/empty", Data: ""},
	{Path: "data/blob.bin", Data: string(randomBytes(70<<10, 3))},
	{Path: "with space/ünïcode.txt", Data: "unicode"},
}

func testTreeRoundTrip(t *testing.T, s blob.Store) {
	ctx := t.Context()
	src := t.TempDir()
	WriteDir(t, src, sampleFiles)
	d, err := blob.IngestDir(ctx, s, src)
	if err != nil {
		t.Fatalf("IngestDir: %v", err)
	}
	tr, err := blob.GetTree(ctx, s, d)
	if err != nil {
		t.Fatalf("GetTree: %v", err)
	}
	if blob.TreeFiles(tr) != len(sampleFiles) {
		t.Errorf("tree has %d files, want %d", blob.TreeFiles(tr), len(sampleFiles))
	}
	var size int64
	for _, f := range sampleFiles {
		size += int64(len(f.Data))
	}
	if tr.Size() != size {
		t.Errorf("tree size %d, want %d", tr.Size(), size)
	}
	if again, err := blob.PutTree(ctx, s, tr); err != nil || again != d {
		t.Errorf("PutTree(GetTree) = %s, %v; want %s", again, err, d)
	}

	var tarball bytes.Buffer
	if err := blob.WriteTar(ctx, s, d, &tarball); err != nil {
		t.Fatalf("WriteTar: %v", err)
	}
	fromTar, err := blob.IngestTar(ctx, s, bytes.NewReader(tarball.Bytes()))
	if err != nil {
		t.Fatalf("IngestTar: %v", err)
	}
	if fromTar != d {
		t.Errorf("IngestTar(WriteTar) = %s, want %s", fromTar, d)
	}

	out := filepath.Join(t.TempDir(), "out")
	if err := blob.Materialize(ctx, s, fromTar, out, false); err != nil {
		t.Fatalf("Materialize: %v", err)
	}
	CheckDir(t, out, sampleFiles)
	if again, err := blob.IngestDir(ctx, s, out); err != nil || again != d {
		t.Errorf("IngestDir(Materialize) = %s, %v; want %s", again, err, d)
	}

	ro := filepath.Join(t.TempDir(), "ro")
	if err := blob.Materialize(ctx, s, d, ro, true); err != nil {
		t.Fatalf("Materialize read-only: %v", err)
	}
	t.Cleanup(func() {
		if err := blob.RemoveMaterialized(ro); err != nil {
			t.Error(err)
		}
	})
	var readOnly []File
	for _, f := range sampleFiles {
		f.Mode = modeOf(f) &^ 0o222
		readOnly = append(readOnly, f)
	}
	CheckDir(t, ro, readOnly)
	for _, dir := range []string{ro, filepath.Join(ro, "a"), filepath.Join(ro, "a", "b", "c")} {
		if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o500 {
			t.Errorf("folder %s: %v, %v; want mode 0500", dir, info.Mode(), err)
		}
	}
}

func testNotATree(t *testing.T, s blob.Store) {
	tests := []struct {
		name string
		data string
	}{
		{"text", "hello"},
		{"json", `{"entries":null}`},
		{"spaced", `{"entries": []}`},
		{"unsorted", `{"entries":[{"path":"b","digest":"` + blob.EmptyTreeDigest + `","size":0,"mode":420},{"path":"a","digest":"` + blob.EmptyTreeDigest + `","size":0,"mode":420}]}`},
		{"dotdot", `{"entries":[{"path":"../x","digest":"` + blob.EmptyTreeDigest + `","size":0,"mode":420}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustPut(t, s, []byte(tt.data))
			if _, err := blob.GetTree(t.Context(), s, d); !errors.Is(err, blob.ErrInvalidTree) {
				t.Errorf("GetTree error %v, want ErrInvalidTree", err)
			}
			out := filepath.Join(t.TempDir(), "out")
			if err := blob.Materialize(t.Context(), s, d, out, false); err == nil {
				t.Error("Materialize of a non-tree succeeded")
			}
		})
	}
}

func testLocalPath(t *testing.T, s blob.Store, lp blob.LocalPather) {
	data := []byte("local path content")
	d := mustPut(t, s, data)
	p, err := lp.LocalPath(d)
	if err != nil {
		t.Fatalf("LocalPath: %v", err)
	}
	if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, data) {
		t.Errorf("file %s: %q, %v", p, b, err)
	}
	if _, err := lp.LocalPath(blob.Digest([]byte("absent from blobtest"))); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("LocalPath of an absent blob: %v, want ErrNotFound", err)
	}
}
