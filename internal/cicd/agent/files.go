package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// matcher matches slash-separated relative paths against minimatch-style
// patterns (*, ?, **, leading ! to exclude), one per line, as CopyFiles and
// DeleteFiles take them.
type matcher struct {
	include, exclude []*regexp.Regexp
}

// newMatcher compiles the non-empty lines of patterns.
func newMatcher(patterns string) *matcher {
	m := &matcher{}
	for _, p := range strings.Split(patterns, "\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if strings.HasPrefix(p, "!") {
			m.exclude = append(m.exclude, globRegexp(p[1:]))
		} else {
			m.include = append(m.include, globRegexp(p))
		}
	}
	return m
}

// match reports whether rel is included and not excluded.
func (m *matcher) match(rel string) bool {
	in := false
	for _, re := range m.include {
		if re.MatchString(rel) {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	for _, re := range m.exclude {
		if re.MatchString(rel) {
			return false
		}
	}
	return true
}

// globRegexp turns a glob into an anchored regular expression.
func globRegexp(glob string) *regexp.Regexp {
	glob = strings.TrimPrefix(filepath.ToSlash(glob), "./")
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch {
		case strings.HasPrefix(glob[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// walkMatches lists the files (and, with dirs, folders) under root whose
// relative path matches m, in walk order.
func walkMatches(root string, m *matcher, dirs bool) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root || (d.IsDir() && !dirs) {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if m.match(filepath.ToSlash(rel)) {
			out = append(out, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return out, err
}

// copyFiles carries out CopyFiles@2.
func (r *jobRun) copyFiles(in map[string]string) error {
	if in["targetfolder"] == "" {
		return errors.New("CopyFiles: input TargetFolder is required")
	}
	src := r.resolve(firstNonEmpty(in["sourcefolder"], "."))
	dst := r.resolve(in["targetfolder"])
	if isTrue(in["cleantargetfolder"]) {
		if err := os.RemoveAll(dst); err != nil {
			return fmt.Errorf("CopyFiles: clean %s: %w", dst, err)
		}
	}
	files, err := walkMatches(src, newMatcher(firstNonEmpty(in["contents"], "**")), false)
	if err != nil {
		return fmt.Errorf("CopyFiles: %w", err)
	}
	r.out.line(fmt.Sprintf("found %d files", len(files)))
	for _, rel := range files {
		to := filepath.Join(dst, rel)
		if isTrue(in["flattenfolders"]) {
			to = filepath.Join(dst, filepath.Base(rel))
		}
		if _, err := os.Stat(to); err == nil && !isTrue(in["overwrite"]) {
			r.out.line("skipping existing file " + to)
			continue
		}
		if err := copyFile(filepath.Join(src, rel), to); err != nil {
			return fmt.Errorf("CopyFiles: %w", err)
		}
		r.out.line("Copying " + filepath.Join(src, rel) + " to " + to)
	}
	return os.MkdirAll(dst, 0o755)
}

// copyFile copies one regular file, keeping its mode.
func copyFile(from, to string) error {
	info, err := os.Stat(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return out.Close()
}

// deleteFiles carries out DeleteFiles@1.
func (r *jobRun) deleteFiles(in map[string]string) error {
	src := r.resolve(firstNonEmpty(in["sourcefolder"], "."))
	if isTrue(in["removesourcefolder"]) {
		r.out.line("Removing " + src)
		return os.RemoveAll(src)
	}
	if strings.TrimSpace(in["contents"]) == "" {
		return errors.New("DeleteFiles: input Contents is required")
	}
	matches, err := walkMatches(src, newMatcher(in["contents"]), true)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("DeleteFiles: %w", err)
	}
	for _, rel := range matches {
		r.out.line("Removing " + filepath.Join(src, rel))
		if err := os.RemoveAll(filepath.Join(src, rel)); err != nil {
			return fmt.Errorf("DeleteFiles: %w", err)
		}
	}
	return nil
}
