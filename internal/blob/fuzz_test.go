package blob_test

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
)

func FuzzGetTree(f *testing.F) {
	d := blob.Digest([]byte("x"))
	f.Add([]byte(`{"entries":[]}`))
	f.Add([]byte(`{"entries":[{"path":"a","digest":"` + d + `","size":1,"mode":420}]}`))
	f.Add([]byte(`{"entries":[{"path":"a/b","digest":"` + d + `","size":1,"mode":493},{"path":"c","digest":"` + d + `","size":1,"mode":420}]}`))
	f.Add([]byte(`{"entries":[{"path":"../a","digest":"` + d + `","size":1,"mode":420}]}`))
	f.Add([]byte(`{"entries":null}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		s := newMemStore()
		d, _, err := s.Put(t.Context(), bytes.NewReader(manifest))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := blob.GetTree(t.Context(), s, d)
		if err != nil {
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("GetTree returned an invalid tree: %v", err)
		}
		again, err := blob.PutTree(t.Context(), s, tr)
		if err != nil || again != d {
			t.Fatalf("PutTree(GetTree(%s)) = %s, %v: manifest not canonical", d, again, err)
		}
	})
}

func FuzzIngestTar(f *testing.F) {
	seeds := [][]tarEntry{
		{{name: "a", data: "a"}, {name: "d/b", data: "b", mode: 0o755}},
		{{name: "../evil", data: "x"}},
		{{name: "l", link: "../../x", typ: tar.TypeSymlink}},
		{{name: "lib/x", data: "x"}, {name: "lib64", link: "lib", typ: tar.TypeSymlink}, {name: "h", link: "lib64/x", typ: tar.TypeLink}},
		{{name: "loop", link: ".", typ: tar.TypeSymlink}, {name: "f", data: "f"}},
	}
	for _, entries := range seeds {
		f.Add(makeTar(f, entries))
	}
	f.Fuzz(func(t *testing.T, archive []byte) {
		// A sparse entry may expand a few bytes into gigabytes of zeros.
		s := newMemStore()
		s.limit = 1 << 20
		d, err := blob.IngestTar(t.Context(), s, bytes.NewReader(archive))
		if err != nil {
			return
		}
		tr, err := blob.GetTree(t.Context(), s, d)
		if err != nil {
			t.Fatalf("GetTree of an ingested tree: %v", err)
		}
		if tr.Size() > 1<<20 || len(tr.Entries) > 1000 {
			return // keep the disk part of each run small
		}
		base := t.TempDir()
		out := filepath.Join(base, "out")
		if err := blob.Materialize(t.Context(), s, d, out, false); err != nil {
			t.Fatalf("Materialize: %v", err)
		}
		err = filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != base && p != out && !strings.HasPrefix(p, out+string(os.PathSeparator)) {
				t.Errorf("wrote %s outside %s", p, out)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
