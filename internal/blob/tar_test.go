package blob_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/blob/blobtest"
)

// tarEntry describes one header of a test archive; typ 0 is a regular file.
type tarEntry struct {
	name, link, data string
	typ              byte
	mode             int64
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIngestTarRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry tarEntry
	}{
		{"dotdot", tarEntry{name: "../evil", data: "x"}},
		{"inner dotdot", tarEntry{name: "a/../../evil", data: "x"}},
		{"dot dotdot", tarEntry{name: "./../evil", data: "x"}},
		{"harmless dotdot", tarEntry{name: "a/../b", data: "x"}},
		{"absolute", tarEntry{name: "/etc/cron.d/evil", data: "x"}},
		{"backslash", tarEntry{name: `..\..\evil`, data: "x"}},
		{"dotdot folder", tarEntry{name: "../d/", typ: tar.TypeDir}},
		{"absolute symlink", tarEntry{name: "l", link: "/etc/passwd", typ: tar.TypeSymlink}},
		{"escaping symlink", tarEntry{name: "a/l", link: "../../etc/passwd", typ: tar.TypeSymlink}},
		{"escaping hard link", tarEntry{name: "l", link: "../x", typ: tar.TypeLink}},
		{"absolute hard link", tarEntry{name: "l", link: "/etc/passwd", typ: tar.TypeLink}},
		{"symlink named dotdot", tarEntry{name: "../l", link: "x", typ: tar.TypeSymlink}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			archive := makeTar(t, []tarEntry{{name: "ok", data: "fine"}, tt.entry})
			_, err := blob.IngestTar(t.Context(), newMemStore(), bytes.NewReader(archive))
			if !errors.Is(err, blob.ErrUnsafePath) {
				t.Errorf("IngestTar error %v, want ErrUnsafePath", err)
			}
		})
	}
}

func TestIngestTar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries []tarEntry
		want    []blobtest.File
	}{{
		name: "normalized names and folders",
		entries: []tarEntry{
			{name: "./", typ: tar.TypeDir},
			{name: "./pkg/", typ: tar.TypeDir},
			{name: "./pkg/run.sh", data: "#!/bin/sh", mode: 0o700},
			{name: "pkg//lib.py", data: "lib", mode: 0o600},
		},
		want: []blobtest.File{{Path: "pkg/run.sh", Data: "#!/bin/sh", Mode: 0o755}, {Path: "pkg/lib.py", Data: "lib"}},
	}, {
		name: "links inside become copies",
		entries: []tarEntry{
			{name: "lib/real.so", data: "elf", mode: 0o755},
			{name: "lib/link.so", link: "real.so", typ: tar.TypeSymlink},
			{name: "lib64", link: "lib", typ: tar.TypeSymlink},
			{name: "hard", link: "lib/real.so", typ: tar.TypeLink},
			{name: "chain", link: "lib64/link.so", typ: tar.TypeSymlink},
		},
		want: []blobtest.File{
			{Path: "lib/real.so", Data: "elf", Mode: 0o755},
			{Path: "lib/link.so", Data: "elf", Mode: 0o755},
			{Path: "lib64/real.so", Data: "elf", Mode: 0o755},
			{Path: "lib64/link.so", Data: "elf", Mode: 0o755},
			{Path: "hard", Data: "elf", Mode: 0o755},
			{Path: "chain", Data: "elf", Mode: 0o755},
		},
	}, {
		name: "dropped entries",
		entries: []tarEntry{
			{name: "keep", data: "k"},
			{name: "dangling", link: "nowhere", typ: tar.TypeSymlink},
			{name: "fifo", typ: tar.TypeFifo},
			{name: "dev", typ: tar.TypeChar},
			{name: "self", link: ".", typ: tar.TypeSymlink},
		},
		want: []blobtest.File{{Path: "keep", Data: "k"}, {Path: "self/keep", Data: "k"}},
	}, {
		name: "later entry wins",
		entries: []tarEntry{
			{name: "f", data: "old"},
			{name: "f", data: "new"},
			{name: "g", link: "f", typ: tar.TypeSymlink},
			{name: "g", data: "file again"},
		},
		want: []blobtest.File{{Path: "f", Data: "new"}, {Path: "g", Data: "file again"}},
	}, {
		name:    "empty archive",
		entries: nil,
		want:    nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newMemStore()
			d, err := blob.IngestTar(t.Context(), s, bytes.NewReader(makeTar(t, tt.entries)))
			if err != nil {
				t.Fatalf("IngestTar: %v", err)
			}
			out := filepath.Join(t.TempDir(), "out")
			if err := blob.Materialize(t.Context(), s, d, out, false); err != nil {
				t.Fatalf("Materialize: %v", err)
			}
			blobtest.CheckDir(t, out, tt.want)
		})
	}
}

func TestIngestTarTruncated(t *testing.T) {
	t.Parallel()
	archive := makeTar(t, []tarEntry{{name: "f", data: string(make([]byte, 4096))}})
	if _, err := blob.IngestTar(t.Context(), newMemStore(), bytes.NewReader(archive[:1000])); err == nil {
		t.Error("IngestTar of a truncated archive succeeded")
	}
}

func TestWriteTarIsDeterministic(t *testing.T) {
	t.Parallel()
	s := newMemStore()
	archive := makeTar(t, []tarEntry{{name: "b/c", data: "c"}, {name: "a", data: "a", mode: 0o755}})
	d, err := blob.IngestTar(t.Context(), s, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	if err := blob.WriteTar(t.Context(), s, d, &first); err != nil {
		t.Fatal(err)
	}
	if err := blob.WriteTar(t.Context(), s, d, &second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("WriteTar gave different bytes for one tree")
	}
	tr := tar.NewReader(&first)
	var names []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	if want := []string{"a", "b/", "b/c"}; !slices.Equal(names, want) {
		t.Errorf("tar entries %q, want %q", names, want)
	}
}

func TestIngestTarBlamesTheRightParty(t *testing.T) {
	t.Parallel()
	archive := makeTar(t, []tarEntry{{name: "a", data: strings.Repeat("a", 2000)}, {name: "b", data: "b"}})
	broken := errors.New("connection reset by peer")
	tests := []struct {
		name       string
		stream     io.Reader
		store      *memStore
		badArchive bool
		want       error
	}{
		{"truncated in a file", bytes.NewReader(archive[:1000]), newMemStore(), true, nil},
		{"truncated in a header", bytes.NewReader(archive[:2600]), newMemStore(), true, nil},
		{"garbage", strings.NewReader(strings.Repeat("not a tar ", 100)), newMemStore(), true, nil},
		{"stream broken in a file", io.MultiReader(bytes.NewReader(archive[:1000]), iotest.ErrReader(broken)), newMemStore(), false, broken},
		{"stream broken in a header", io.MultiReader(bytes.NewReader(archive[:2600]), iotest.ErrReader(broken)), newMemStore(), false, broken},
		{"store refuses", bytes.NewReader(archive), &memStore{blobs: map[string][]byte{}, limit: 100}, false, nil},
	}
	for _, tt := range tests {
		_, err := blob.IngestTar(t.Context(), tt.store, tt.stream)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if errors.Is(err, blob.ErrBadArchive) != tt.badArchive {
			t.Errorf("%s: %v; want ErrBadArchive %v", tt.name, err, tt.badArchive)
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v does not wrap the stream's error", tt.name, err)
		}
	}
}
