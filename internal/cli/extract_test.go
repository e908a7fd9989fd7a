package cli

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarEntry is one entry of a test archive.
type tarEntry struct {
	name, body, link string
	typ              byte
}

func makeTar(t *testing.T, entries ...tarEntry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestExtractTar(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "named-outputs", "model")
	archive := makeTar(t,
		tarEntry{name: "./", typ: tar.TypeDir},
		tarEntry{name: "model.pkl", body: "weights"},
		tarEntry{name: "sub/", typ: tar.TypeDir},
		tarEntry{name: "sub/metrics.json", body: "{}"},
		tarEntry{name: "deep/er/file.txt", body: "x"},
		tarEntry{name: "latest", typ: tar.TypeSymlink, link: "sub/metrics.json"},
	)
	n, err := extractTar(archive, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("extracted %d files, want 3", n)
	}
	for name, want := range map[string]string{"model.pkl": "weights", "sub/metrics.json": "{}", "deep/er/file.txt": "x", "latest": "{}"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestExtractTarRefusesEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry tarEntry
	}{
		{"parent", tarEntry{name: "../evil.txt", body: "x"}},
		{"nested parent", tarEntry{name: "a/../../evil.txt", body: "x"}},
		{"absolute", tarEntry{name: "/tmp/evil.txt", body: "x"}},
		{"link to parent", tarEntry{name: "l", typ: tar.TypeSymlink, link: "../outside"}},
		{"absolute link", tarEntry{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			_, err := extractTar(makeTar(t, tt.entry), dir)
			if err == nil || !strings.Contains(err.Error(), "outside the download directory") {
				t.Fatalf("extractTar(%q) = %v, want a refusal", tt.entry.name, err)
			}
			if _, err := os.Lstat(filepath.Join(parent, "evil.txt")); err == nil {
				t.Error("a file was written outside the download directory")
			}
		})
	}
}

func TestExtractTarThroughPlantedLink(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A link already in the download directory must not lead a write out.
	if err := os.Symlink(parent, filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	_, err := extractTar(makeTar(t, tarEntry{name: "up/evil.txt", body: "x"}), dir)
	if err == nil {
		t.Fatal("extractTar through a planted link succeeded")
	}
	if _, err := os.Lstat(filepath.Join(parent, "evil.txt")); err == nil {
		t.Error("a file was written outside the download directory")
	}
}
