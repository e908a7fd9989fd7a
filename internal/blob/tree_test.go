package blob_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/blob/blobtest"
)

func TestMemStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, newMemStore())
}

func TestEmptyTreeDigest(t *testing.T) {
	t.Parallel()
	if got := blob.Digest([]byte(`{"entries":[]}`)); got != blob.EmptyTreeDigest {
		t.Errorf("EmptyTreeDigest = %s, want %s", blob.EmptyTreeDigest, got)
	}
	s := newMemStore()
	for _, tr := range []blob.Tree{{}, {Entries: []blob.Entry{}}} {
		d, err := blob.PutTree(t.Context(), s, tr)
		if err != nil || d != blob.EmptyTreeDigest {
			t.Errorf("PutTree(%#v) = %s, %v", tr, d, err)
		}
	}
	if s.len() != 1 {
		t.Errorf("%d blobs, want 1", s.len())
	}
}

var (
	d1 = blob.Digest([]byte("one"))
	d2 = blob.Digest([]byte("two"))
)

func entry(p string) blob.Entry { return blob.Entry{Path: p, Digest: d1, Size: 3, Mode: blob.ModeFile} }

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries []blob.Entry
		unsafe  bool // the error also wraps ErrUnsafePath
	}{
		{"dotdot", []blob.Entry{entry("../x")}, true},
		{"inner dotdot", []blob.Entry{entry("a/../../x")}, true},
		{"absolute", []blob.Entry{entry("/etc/passwd")}, true},
		{"empty path", []blob.Entry{entry("")}, true},
		{"dot", []blob.Entry{entry(".")}, true},
		{"dot element", []blob.Entry{entry("a/./b")}, true},
		{"trailing slash", []blob.Entry{entry("a/")}, true},
		{"double slash", []blob.Entry{entry("a//b")}, true},
		{"backslash", []blob.Entry{entry(`..\x`)}, true},
		{"nul", []blob.Entry{entry("a\x00b")}, true},
		{"not utf8", []blob.Entry{entry("a\xffb")}, true},
		{"unsorted", []blob.Entry{entry("b"), entry("a")}, false},
		{"duplicate", []blob.Entry{entry("a"), entry("a")}, false},
		{"file and folder", []blob.Entry{entry("a"), entry("a/b")}, false},
		{"file and deep folder", []blob.Entry{entry("a"), entry("a-b"), entry("a/b/c")}, false},
		{"bad digest", []blob.Entry{{Path: "a", Digest: "sha256:nope", Mode: blob.ModeFile}}, false},
		{"negative size", []blob.Entry{{Path: "a", Digest: d1, Size: -1, Mode: blob.ModeFile}}, false},
		{"mode", []blob.Entry{{Path: "a", Digest: d1, Mode: 0o600}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := blob.Tree{Entries: tt.entries}.Validate()
			if !errors.Is(err, blob.ErrInvalidTree) {
				t.Fatalf("Validate error %v, want ErrInvalidTree", err)
			}
			if tt.unsafe && !errors.Is(err, blob.ErrUnsafePath) {
				t.Errorf("Validate error %v, want ErrUnsafePath too", err)
			}
		})
	}
	ok := blob.Tree{Entries: []blob.Entry{entry("a-b"), entry("a/b"), entry("a/c/d"), {Path: "run", Digest: d2, Size: 3, Mode: blob.ModeExec}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(valid tree): %v", err)
	}
}

func TestPutTreeSortsAndIsStable(t *testing.T) {
	t.Parallel()
	s := newMemStore()
	sorted := []blob.Entry{entry("a-b"), entry("a/b"), entry("z")}
	shuffled := []blob.Entry{sorted[2], sorted[0], sorted[1]}
	d1, err := blob.PutTree(t.Context(), s, blob.Tree{Entries: sorted})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := blob.PutTree(t.Context(), s, blob.Tree{Entries: shuffled})
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("order changed the digest: %s vs %s", d1, d2)
	}
	if shuffled[0].Path != "z" {
		t.Error("PutTree reordered the caller's slice")
	}
	tr, err := blob.GetTree(t.Context(), s, d1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Entries) != 3 || tr.Entries[0].Path != "a-b" || tr.Size() != 9 || blob.TreeFiles(tr) != 3 {
		t.Errorf("GetTree = %+v", tr)
	}
	if _, err := blob.PutTree(t.Context(), s, blob.Tree{Entries: []blob.Entry{entry("a"), entry("a")}}); !errors.Is(err, blob.ErrInvalidTree) {
		t.Errorf("PutTree with duplicates: %v", err)
	}
}

func TestGetTreeRejects(t *testing.T) {
	t.Parallel()
	valid := `{"entries":[{"path":"a","digest":"` + d1 + `","size":3,"mode":420}]}`
	tests := []struct {
		name     string
		manifest string
	}{
		{"not json", "plain text"},
		{"trailing newline", valid + "\n"},
		{"trailing garbage", valid + "{}"},
		{"extra field", strings.Replace(valid, `"mode":420`, `"mode":420,"x":1`, 1)},
		{"key case", strings.Replace(valid, `"path"`, `"Path"`, 1)},
		{"field order", `{"entries":[{"digest":"` + d1 + `","path":"a","size":3,"mode":420}]}`},
		{"float size", strings.Replace(valid, `"size":3`, `"size":3.0`, 1)},
		{"null entries", `{"entries":null}`},
		{"absolute", strings.Replace(valid, `"path":"a"`, `"path":"/a"`, 1)},
		{"traversal", strings.Replace(valid, `"path":"a"`, `"path":"../../a"`, 1)},
		{"exec bit only", strings.Replace(valid, `420`, `448`, 1)},
	}
	s := newMemStore()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, _, err := s.Put(t.Context(), strings.NewReader(tt.manifest))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := blob.GetTree(t.Context(), s, d); !errors.Is(err, blob.ErrInvalidTree) {
				t.Errorf("GetTree error %v, want ErrInvalidTree", err)
			}
		})
	}
	if _, err := blob.GetTree(t.Context(), s, "sha256:../../x"); !errors.Is(err, blob.ErrInvalidDigest) {
		t.Errorf("GetTree of a crafted digest: %v", err)
	}
}

func TestParseDigest(t *testing.T) {
	t.Parallel()
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		in string
		ok bool
	}{
		{"sha256:" + hex, true},
		{"sha256:" + strings.ToUpper(hex), false},
		{"sha256:" + hex[:63], false},
		{"sha256:" + hex + "0", false},
		{"sha256:" + hex[:62] + "..", false},
		{"SHA256:" + hex, false},
		{"sha256/" + hex, false},
		{"", false},
	}
	for _, tt := range tests {
		h, err := blob.ParseDigest(tt.in)
		if tt.ok != (err == nil) || (tt.ok && h != hex) {
			t.Errorf("ParseDigest(%q) = %q, %v", tt.in, h, err)
		}
		if err != nil && !errors.Is(err, blob.ErrInvalidDigest) {
			t.Errorf("ParseDigest(%q) error %v, want ErrInvalidDigest", tt.in, err)
		}
	}
}
