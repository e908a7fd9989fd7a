package blob

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Modes a tree entry may have. Trees record only whether a file is
// executable, so that a digest does not depend on a umask.
const (
	// ModeFile is the mode of an ordinary file.
	ModeFile uint32 = 0o644
	// ModeExec is the mode of an executable file.
	ModeExec uint32 = 0o755
)

// maxManifestSize bounds how much GetTree reads, so that asking for the tree
// of a large data blob fails instead of filling memory.
const maxManifestSize = 512 << 20

// manifestPrefix starts every canonical manifest; GetTree checks it before
// reading the rest.
const manifestPrefix = `{"entries":[`

var (
	// ErrInvalidTree is returned for a tree that breaks the rules of Tree, and
	// by GetTree for a blob that is not a canonical manifest.
	ErrInvalidTree = errors.New("invalid tree")
	// ErrUnsafePath is returned for a path that could leave the folder it is
	// meant for: absolute, with "..", or a link pointing outside.
	ErrUnsafePath = errors.New("unsafe path")
)

// Entry is one file of a Tree.
type Entry struct {
	// Path is slash-separated and relative to the tree's root.
	Path string `json:"path"`
	// Digest names the file's content blob.
	Digest string `json:"digest"`
	// Size is the content's length in bytes.
	Size int64 `json:"size"`
	// Mode is ModeFile or ModeExec.
	Mode uint32 `json:"mode"`
}

// Tree is a folder: the files under it, sorted by Path. Folders are implied by
// the paths, so empty folders are not kept. A Tree is stored as a canonical
// JSON manifest blob, and the digest of that blob names the folder.
type Tree struct {
	// Entries are sorted by Path (byte order) with no duplicates.
	Entries []Entry `json:"entries"`
}

// TreeFiles returns the number of files in t.
func TreeFiles(t Tree) int { return len(t.Entries) }

// Size returns the total size of t's files in bytes.
func (t Tree) Size() int64 {
	var n int64
	for _, e := range t.Entries {
		n += e.Size
	}
	return n
}

// Validate reports whether t can be stored and materialized: entries sorted
// by Path without duplicates, every path safe (see ErrUnsafePath), valid UTF-8
// without backslashes or NUL bytes, no path both a file and a folder, digests
// well-formed, sizes not negative and modes ModeFile or ModeExec. The error
// wraps ErrInvalidTree.
func (t Tree) Validate() error {
	files := make(map[string]struct{}, len(t.Entries))
	dirs := make(map[string]struct{})
	for i, e := range t.Entries {
		if err := checkPath(e.Path); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidTree, err)
		}
		if i > 0 && t.Entries[i-1].Path >= e.Path {
			return fmt.Errorf("%w: entry %q out of order or repeated", ErrInvalidTree, e.Path)
		}
		if _, err := ParseDigest(e.Digest); err != nil {
			return fmt.Errorf("%w: entry %q: %w", ErrInvalidTree, e.Path, err)
		}
		if e.Size < 0 {
			return fmt.Errorf("%w: entry %q: negative size", ErrInvalidTree, e.Path)
		}
		if e.Mode != ModeFile && e.Mode != ModeExec {
			return fmt.Errorf("%w: entry %q: mode %#o is not 0644 or 0755", ErrInvalidTree, e.Path, e.Mode)
		}
		files[e.Path] = struct{}{}
		for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
			if _, ok := dirs[d]; ok {
				break // its parents are there too
			}
			dirs[d] = struct{}{}
		}
	}
	for d := range dirs {
		if _, ok := files[d]; ok {
			return fmt.Errorf("%w: %q is both a file and a folder", ErrInvalidTree, d)
		}
	}
	return nil
}

// checkPath reports whether p may name a file in a tree.
func checkPath(p string) error {
	switch {
	case p == "" || p == ".":
		return fmt.Errorf("%w: empty path", ErrUnsafePath)
	case !utf8.ValidString(p):
		return fmt.Errorf("%w: %q is not UTF-8", ErrUnsafePath, p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%w: %q has a backslash or NUL", ErrUnsafePath, p)
	case !fs.ValidPath(p):
		return fmt.Errorf("%w: %q is not a clean relative path", ErrUnsafePath, p)
	}
	return nil
}

// sortEntries returns entries sorted by Path, copying them only when they
// are out of order.
func sortEntries(entries []Entry) []Entry {
	byPath := func(a, b Entry) int { return cmp.Compare(a.Path, b.Path) }
	if slices.IsSortedFunc(entries, byPath) {
		return entries
	}
	entries = slices.Clone(entries)
	slices.SortFunc(entries, byPath)
	return entries
}

// encodeTree returns t's canonical manifest: compact JSON with fields in
// declaration order.
func encodeTree(t Tree) ([]byte, error) {
	if len(t.Entries) == 0 {
		return []byte(emptyManifest), nil
	}
	return json.Marshal(t)
}

// PutTree stores t's manifest and returns its digest. Entries need not be
// sorted; PutTree sorts a copy and then validates it. The files' blobs are
// not checked: callers store them first. A manifest already stored is not
// written again, so putting the empty tree costs one Has.
func PutTree(ctx context.Context, s Store, t Tree) (string, error) {
	t.Entries = sortEntries(t.Entries)
	if err := t.Validate(); err != nil {
		return "", err
	}
	b, err := encodeTree(t)
	if err != nil {
		return "", fmt.Errorf("encode tree: %w", err)
	}
	want := EmptyTreeDigest
	if len(t.Entries) > 0 {
		want = Digest(b)
	}
	if ok, err := s.Has(ctx, want); err != nil {
		return "", fmt.Errorf("put tree %s: %w", want, err)
	} else if ok {
		return want, nil
	}
	got, _, err := s.Put(ctx, bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("put tree %s: %w", want, err)
	}
	if got != want {
		return "", fmt.Errorf("put tree: store returned digest %s for %s", got, want)
	}
	return want, nil
}

// GetTree reads the tree named by digest. It fails with ErrNotFound when the
// blob is absent and with ErrInvalidTree when the blob is not a canonical
// manifest of a valid tree, so a digest names at most one tree and a tree
// has exactly one digest. EmptyTreeDigest is answered without reading s.
func GetTree(ctx context.Context, s Store, digest string) (Tree, error) {
	if _, err := ParseDigest(digest); err != nil {
		return Tree{}, err
	}
	if digest == EmptyTreeDigest {
		return Tree{Entries: []Entry{}}, nil
	}
	rc, err := s.Open(ctx, digest)
	if err != nil {
		return Tree{}, fmt.Errorf("get tree %s: %w", digest, err)
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	if head, err := br.Peek(len(manifestPrefix)); err != nil || string(head) != manifestPrefix {
		return Tree{}, fmt.Errorf("get tree %s: %w: not a manifest", digest, ErrInvalidTree)
	}
	b, err := io.ReadAll(io.LimitReader(br, maxManifestSize+1))
	if err != nil {
		return Tree{}, fmt.Errorf("get tree %s: %w", digest, err)
	}
	if len(b) > maxManifestSize {
		return Tree{}, fmt.Errorf("get tree %s: %w: manifest over %d bytes", digest, ErrInvalidTree, maxManifestSize)
	}
	if got := Digest(b); got != digest {
		return Tree{}, fmt.Errorf("get tree %s: content has digest %s", digest, got)
	}
	t, err := decodeTree(b)
	if err != nil {
		return Tree{}, fmt.Errorf("get tree %s: %w", digest, err)
	}
	return t, nil
}

// decodeTree parses a manifest, accepting only the canonical encoding of a
// valid tree.
func decodeTree(b []byte) (Tree, error) {
	var t Tree
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Tree{}, fmt.Errorf("%w: %w", ErrInvalidTree, err)
	}
	if t.Entries == nil {
		return Tree{}, fmt.Errorf("%w: no entries list", ErrInvalidTree)
	}
	if err := t.Validate(); err != nil {
		return Tree{}, err
	}
	canon, err := encodeTree(t)
	if err != nil {
		return Tree{}, fmt.Errorf("%w: %w", ErrInvalidTree, err)
	}
	if !bytes.Equal(canon, b) {
		return Tree{}, fmt.Errorf("%w: manifest is not canonical", ErrInvalidTree)
	}
	return t, nil
}
