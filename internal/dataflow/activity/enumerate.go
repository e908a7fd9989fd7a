package activity

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
)

// MaxFiles bounds how many files one activity enumerates.
const MaxFiles = 1_000_000

// selection is which files of a target a source, GetMetadata or Delete
// acts on: its storeSettings.
type selection struct {
	recursive      bool
	wildcardFolder string
	wildcardFile   string
	modifiedStart  time.Time
	modifiedEnd    time.Time
	prefix         string
}

// parseSelection reads storeSettings; recursive defaults to def.
func parseSelection(store map[string]any, def bool) (selection, error) {
	s := selection{recursive: def}
	if v, ok := store["recursive"]; ok && v != nil {
		b, err := asBool(v)
		if err != nil {
			return s, fmt.Errorf("storeSettings.recursive: %w", err)
		}
		s.recursive = b
	}
	s.wildcardFolder, _ = store["wildcardFolderPath"].(string)
	s.wildcardFile, _ = store["wildcardFileName"].(string)
	s.prefix, _ = store["prefix"].(string)
	for key, dst := range map[string]*time.Time{"modifiedDatetimeStart": &s.modifiedStart, "modifiedDatetimeEnd": &s.modifiedEnd} {
		v, _ := store[key].(string)
		if v == "" {
			continue
		}
		t, err := parseTime(v)
		if err != nil {
			return s, fmt.Errorf("storeSettings.%s: %w", key, err)
		}
		*dst = t
	}
	if l, _ := store["fileListPath"].(string); l != "" {
		return s, errors.New("storeSettings.fileListPath is not supported by ciel: use wildcardFileName or a ForEach over GetMetadata's childItems")
	}
	return s, nil
}

func parseTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (expected e.g. 2026-11-01T00:00:00Z)", s)
}

func asBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("expected true or false, got %v", v)
}

// filtered reports whether a selection filters by more than the dataset's
// path.
func (s selection) filtered() bool {
	return s.wildcardFolder != "" || s.wildcardFile != "" || !s.modifiedStart.IsZero() || !s.modifiedEnd.IsZero() || s.prefix != ""
}

// keep applies the time window [start, end) and the prefix.
func (s selection) keep(f files.Info, rel string) bool {
	if !s.modifiedStart.IsZero() && f.ModTime.Before(s.modifiedStart) {
		return false
	}
	if !s.modifiedEnd.IsZero() && !f.ModTime.Before(s.modifiedEnd) {
		return false
	}
	return s.prefix == "" || strings.HasPrefix(rel, s.prefix)
}

// found is one file selected, with its path relative to where the
// selection started (kept by a Binary copy's PreserveHierarchy).
type found struct {
	files.Info
	rel string
}

// enumerate lists the files a selection picks from t, by path. A missing
// file or folder is an error wrapping fs.ErrNotExist.
func enumerate(ctx context.Context, t *fileTarget, s selection) ([]found, error) {
	if t.readOnly { // an HTTP file: the one URL
		info, err := t.fs.Stat(ctx, t.path())
		if err != nil {
			return nil, err
		}
		return []found{{Info: info, rel: "content"}}, nil
	}
	start := t.folder
	folders := []string{t.folder}
	if s.wildcardFolder != "" {
		start = t.root
		var err error
		if folders, err = matchFolders(ctx, t.fs, t.root, strings.Split(strings.Trim(s.wildcardFolder, "/"), "/")); err != nil {
			return nil, err
		}
	}
	var out []found
	add := func(f files.Info) error {
		rel := strings.TrimPrefix(strings.TrimPrefix(f.Path, start), "/")
		if s.keep(f, rel) {
			if len(out) >= MaxFiles {
				return fmt.Errorf("more than %d files selected", MaxFiles)
			}
			out = append(out, found{Info: f, rel: rel})
		}
		return nil
	}
	if s.wildcardFile == "" && s.wildcardFolder == "" && t.file != "" {
		info, err := t.fs.Stat(ctx, t.path())
		if err != nil {
			return nil, err
		}
		if info.Dir {
			return nil, fmt.Errorf("%s is a folder, not a file", t.path())
		}
		info.Path = t.path()
		if !s.keep(info, t.file) {
			return nil, nil
		}
		return []found{{Info: info, rel: t.file}}, nil
	}
	pattern := s.wildcardFile
	for _, dir := range folders {
		if err := walk(ctx, t.fs, dir, s.recursive, func(f files.Info) error {
			if pattern != "" && !wildcardMatch(pattern, f.Name) {
				return nil
			}
			return add(f)
		}); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// walk calls fn for each file in dir (and, recursive, its subfolders).
func walk(ctx context.Context, fsys files.FS, dir string, recursive bool, fn func(files.Info) error) error {
	kids, err := fsys.List(ctx, dir)
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if k.Dir {
			if recursive {
				if err := walk(ctx, fsys, k.Path, true, fn); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			continue
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// matchFolders returns the folders under root whose path matches the
// wildcard segments.
func matchFolders(ctx context.Context, fsys files.FS, root string, segs []string) ([]string, error) {
	dirs := []string{root}
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return nil, fmt.Errorf("wildcardFolderPath: segment %q: expected folder names or patterns", seg)
		}
		var next []string
		for _, d := range dirs {
			if !strings.ContainsAny(seg, "*?") {
				p, err := files.Join(d, unescapeWildcard(seg))
				if err != nil {
					return nil, fmt.Errorf("wildcardFolderPath: %w", err)
				}
				if info, err := fsys.Stat(ctx, p); err == nil && info.Dir {
					next = append(next, p)
				}
				continue
			}
			kids, err := fsys.List(ctx, d)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			for _, k := range kids {
				if k.Dir && wildcardMatch(seg, k.Name) {
					next = append(next, k.Path)
				}
			}
		}
		dirs = next
	}
	return dirs, nil
}

// wildcardMatch matches ADF's wildcards: '*' any run of characters, '?'
// one character, '^' escaping the next (ADF's escape for a literal * or
// ?).
func wildcardMatch(pattern, name string) bool {
	p, n := []rune(pattern), []rune(name)
	var match func(i, j int) bool
	memo := map[[2]int]bool{}
	match = func(i, j int) bool {
		if v, ok := memo[[2]int{i, j}]; ok {
			return v
		}
		var r bool
		switch {
		case i == len(p):
			r = j == len(n)
		case p[i] == '*':
			r = match(i+1, j) || (j < len(n) && match(i, j+1))
		case p[i] == '?':
			r = j < len(n) && match(i+1, j+1)
		case p[i] == '^' && i+1 < len(p):
			r = j < len(n) && n[j] == p[i+1] && match(i+2, j+1)
		default:
			r = j < len(n) && n[j] == p[i] && match(i+1, j+1)
		}
		memo[[2]int{i, j}] = r
		return r
	}
	return match(0, 0)
}

func unescapeWildcard(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '^' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
