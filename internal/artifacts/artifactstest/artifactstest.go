// Package artifactstest is the conformance suite of MLflow artifact roots
// (artifacts/local, artifacts/s3): every backend runs the same tests of
// what the artifact proxy and the registry rely on, path attacks included.
package artifactstest

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/artifacts"
)

// Store is what the suite tests: the methods tracking.ArtifactStore and
// registry.ArtifactFiles declare.
type Store interface {
	Put(ctx context.Context, ws, rel string, body io.Reader, size int64) (int64, error)
	Open(ctx context.Context, ws, rel string) (artifacts.File, error)
	List(ctx context.Context, ws, rel string) ([]artifacts.Entry, error)
	Delete(ctx context.Context, ws, rel string) error
	Usage(ctx context.Context, ws string) (int64, error)
}

// Run runs the suite; newStore returns a new empty store each call.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("ReadWrite", func(t *testing.T) { t.Parallel(); testReadWrite(t, newStore(t)) })
	t.Run("ListDelete", func(t *testing.T) { t.Parallel(); testListDelete(t, newStore(t)) })
	t.Run("BadPaths", func(t *testing.T) { t.Parallel(); testBadPaths(t, newStore(t)) })
}

func put(t *testing.T, s Store, ws, rel, data string) int64 {
	t.Helper()
	old, err := s.Put(context.Background(), ws, rel, strings.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("put %s/%s: %v", ws, rel, err)
	}
	return old
}

func read(t *testing.T, s Store, ws, rel string) (string, error) {
	t.Helper()
	f, err := s.Open(context.Background(), ws, rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func testReadWrite(t *testing.T, s Store) {
	ctx := context.Background()
	if old := put(t, s, "ws", "0/r/artifacts/a.txt", "hello world"); old != 0 {
		t.Errorf("first put replaced %d bytes", old)
	}
	if old := put(t, s, "ws", "0/r/artifacts/a.txt", "bonjour le monde"); old != 11 {
		t.Errorf("second put replaced %d bytes, want 11", old)
	}
	// Unknown length, as a PUT without Content-Length.
	if _, err := s.Put(ctx, "ws", "0/r/artifacts/b.bin", strings.NewReader("streamed"), -1); err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(ctx, "ws", "0/r/artifacts/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != 16 || f.ModTime().IsZero() {
		t.Errorf("size %d, modtime %v", f.Size(), f.ModTime())
	}
	if _, err := f.Seek(8, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(f); string(b) != "le monde" {
		t.Errorf("read after seek: %q", b)
	}
	if got, err := read(t, s, "ws", "0/r/artifacts/b.bin"); got != "streamed" || err != nil {
		t.Errorf("streamed file: %q %v", got, err)
	}
	for _, rel := range []string{"0/r/artifacts/missing", "0/r/artifacts", "0/r/artifacts/a.txt/x"} {
		if _, err := read(t, s, "ws", rel); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("open %s: %v, want fs.ErrNotExist", rel, err)
		}
	}
	if _, err := read(t, s, "other", "0/r/artifacts/a.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("another workspace reads the file: %v", err)
	}
	if n, err := s.Usage(ctx, "ws"); n != 16+8 || err != nil {
		t.Errorf("usage %d %v, want 24", n, err)
	}
}

func names(es []artifacts.Entry) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Name)
		if e.IsDir {
			b.WriteString("/")
		}
		b.WriteString(" ")
	}
	return strings.TrimSpace(b.String())
}

func testListDelete(t *testing.T, s Store) {
	ctx := context.Background()
	for _, rel := range []string{"1/r/artifacts/model/MLmodel", "1/r/artifacts/model/data/w.bin", "1/r/artifacts/modelx.txt", "1/r/artifacts/z.txt"} {
		put(t, s, "ws", rel, rel)
	}
	for rel, want := range map[string]string{
		"": "1/", "1/r/artifacts": "model/ modelx.txt z.txt", "1/r/artifacts/model": "MLmodel data/",
		"1/r/artifacts/z.txt": "", "1/r/artifacts/nope": "", "1/r/artifacts/mod": "",
	} {
		es, err := s.List(ctx, "ws", rel)
		if err != nil || names(es) != want {
			t.Errorf("list %q: %q %v, want %q", rel, names(es), err, want)
		}
	}
	es, _ := s.List(ctx, "ws", "1/r/artifacts")
	for _, e := range es {
		if e.Name == "z.txt" && e.Size != int64(len("1/r/artifacts/z.txt")) {
			t.Errorf("z.txt size %d", e.Size)
		}
	}
	// Deleting a folder takes what is under it, not its namesakes.
	if err := s.Delete(ctx, "ws", "1/r/artifacts/model"); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.List(ctx, "ws", "1/r/artifacts"); names(es) != "modelx.txt z.txt" {
		t.Errorf("after deleting model/: %q", names(es))
	}
	if err := s.Delete(ctx, "ws", "1/r/artifacts/z.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "ws", "1/r/artifacts/never"); err != nil {
		t.Errorf("deleting nothing: %v", err)
	}
	if es, _ := s.List(ctx, "ws", "1/r/artifacts"); names(es) != "modelx.txt" {
		t.Errorf("after deleting z.txt: %q", names(es))
	}
}

// testBadPaths: every method refuses a workspace or path that could leave
// the workspace's root, with artifacts.ErrBadPath, and writes nothing.
func testBadPaths(t *testing.T, s Store) {
	ctx := context.Background()
	put(t, s, "ws", "0/r/artifacts/kept.txt", "kept")
	put(t, s, "other", "secret.txt", "secret")
	bad := []struct{ ws, rel string }{
		{"ws", "../other/secret.txt"}, {"ws", "0/../../other/secret.txt"}, {"ws", "a/.."}, {"ws", ".."},
		{"ws", "a/\x00/b"}, {"..", "other/secret.txt"}, {"", "secret.txt"}, {"ws/../other", "secret.txt"},
		{`ws\..\other`, "secret.txt"}, {".hidden", "x"}, {"ws\x00", "x"},
	}
	for _, b := range bad {
		if _, err := s.Put(ctx, b.ws, b.rel, strings.NewReader("evil"), 4); !errors.Is(err, artifacts.ErrBadPath) {
			t.Errorf("put %q %q: %v", b.ws, b.rel, err)
		}
		if _, err := s.Open(ctx, b.ws, b.rel); !errors.Is(err, artifacts.ErrBadPath) {
			t.Errorf("open %q %q: %v", b.ws, b.rel, err)
		}
		if _, err := s.List(ctx, b.ws, b.rel); !errors.Is(err, artifacts.ErrBadPath) {
			t.Errorf("list %q %q: %v", b.ws, b.rel, err)
		}
		if err := s.Delete(ctx, b.ws, b.rel); !errors.Is(err, artifacts.ErrBadPath) {
			t.Errorf("delete %q %q: %v", b.ws, b.rel, err)
		}
	}
	// A file is never the workspace's root.
	for _, rel := range []string{"", ".", "/", "./"} {
		if _, err := s.Put(ctx, "ws", rel, strings.NewReader("evil"), 4); !errors.Is(err, artifacts.ErrBadPath) {
			t.Errorf("put the root as %q: %v", rel, err)
		}
	}
	if got, err := read(t, s, "other", "secret.txt"); got != "secret" || err != nil {
		t.Errorf("the other workspace's file: %q %v", got, err)
	}
	if es, _ := s.List(ctx, "ws", ""); names(es) != "0/" {
		t.Errorf("ws holds %q after the attacks", names(es))
	}
}
