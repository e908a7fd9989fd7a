package cicd

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// ReasonBatchedCI is the reason of the run a batched trigger starts when
// the run that held back its pushes completes (Azure's Build.Reason).
const ReasonBatchedCI = "batchedCI"

// ChangeLister is an optional ability of Repos: the files a push changed,
// for path filters. githost.Host has it; without it path filters match
// every push.
type ChangeLister interface {
	// ChangedFiles returns the paths that differ between commits oldSHA and
	// newSHA of ws/name; an empty or all-zero oldSHA compares newSHA with
	// its first parent (all its files when it has none).
	ChangedFiles(ctx context.Context, ws, name, oldSHA, newSHA string) ([]string, error)
}

// TriggerMatches reports whether a CI trigger starts a run for a push to
// ref, paths aside (see PathsMatch). A branch (refs/heads/...): no trigger
// key means every branch, trigger: none none; otherwise the branch must
// match an include (none given: all) and no exclude, with '*' matching any
// run of characters, case-insensitively, as in Azure. A tag (refs/tags/...)
// starts a run only when the trigger names tags: it must match a tags
// include (none given: all) and no tags exclude, or a branches include
// written as refs/tags/<pattern>. Other refs start nothing.
func TriggerMatches(t *azp.Trigger, ref string) bool {
	if tag, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return tagMatches(t, tag)
	}
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return false
	}
	if t == nil {
		return true
	}
	if t.None {
		return false
	}
	match := func(pats []string) bool {
		for _, p := range pats {
			if !strings.HasPrefix(p, "refs/tags/") && globMatch(strings.TrimPrefix(p, "refs/heads/"), branch) {
				return true
			}
		}
		return false
	}
	if len(t.Branches.Include) > 0 && !match(t.Branches.Include) {
		return false
	}
	return !match(t.Branches.Exclude)
}

// tagMatches is TriggerMatches for tag name tag.
func tagMatches(t *azp.Trigger, tag string) bool {
	if t == nil || t.None {
		return false
	}
	match := func(pats []string, prefixed bool) bool {
		for _, p := range pats {
			p, ok := strings.CutPrefix(p, "refs/tags/")
			if (ok || !prefixed) && globMatch(p, tag) {
				return true
			}
		}
		return false
	}
	if match(t.Branches.Include, true) && !match(t.Tags.Exclude, false) {
		return true
	}
	if len(t.Tags.Include) == 0 && len(t.Tags.Exclude) == 0 {
		return false
	}
	if len(t.Tags.Include) > 0 && !match(t.Tags.Include, false) {
		return false
	}
	return !match(t.Tags.Exclude, false)
}

// PathsMatch reports whether a push that changed files passes a trigger's
// paths filter: some file matches an include (none given: every file)
// and no exclude. A pattern without wildcards is a folder or file prefix
// ("src" and "src/" match src and everything under it, not srcs/); with
// wildcards, '*' matches within one path segment, '**' across segments,
// '?' one character. Leading '/' is ignored; matching is case-sensitive,
// as Azure's path filters are. A push that changed no files matches only an
// empty filter.
func PathsMatch(f azp.Filter, files []string) bool {
	if len(f.Include) == 0 && len(f.Exclude) == 0 {
		return true
	}
	match := func(pats []string, file string) bool {
		for _, p := range pats {
			if pathMatch(p, file) {
				return true
			}
		}
		return false
	}
	for _, file := range files {
		if (len(f.Include) == 0 || match(f.Include, file)) && !match(f.Exclude, file) {
			return true
		}
	}
	return false
}

// pathMatch matches file against one path filter pattern (see PathsMatch).
func pathMatch(pattern, file string) bool {
	pattern = strings.Trim(pattern, "/")
	if pattern == "" || pattern == "*" || pattern == "**" {
		return true
	}
	if !strings.ContainsAny(pattern, "*?") {
		return file == pattern || strings.HasPrefix(file, pattern+"/")
	}
	// A pattern matches a file or a folder above it.
	for p := file; ; {
		if wildMatch(pattern, p) {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// wildMatch matches s against pattern: '**' any characters, '*' any but
// '/', '?' one character but '/'; the rest literally.
func wildMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch {
		case strings.HasPrefix(pattern, "**"):
			rest := strings.TrimLeft(pattern, "*")
			rest = strings.TrimPrefix(rest, "/")
			for i := 0; i <= len(s); i++ {
				if wildMatch(rest, s[i:]) {
					return true
				}
			}
			return false
		case pattern[0] == '*':
			for i := 0; i <= len(s); i++ {
				if wildMatch(pattern[1:], s[i:]) {
					return true
				}
				if i < len(s) && s[i] == '/' {
					return false
				}
			}
			return false
		case len(s) == 0:
			return false
		case pattern[0] == '?':
			if s[0] == '/' {
				return false
			}
		case pattern[0] != s[0]:
			return false
		}
		pattern, s = pattern[1:], s[1:]
	}
	return len(s) == 0
}

// globMatch matches s against pattern, '*' standing for any characters,
// case-insensitively (branch and tag filters).
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return strings.EqualFold(pattern, s)
	}
	ls, lp := strings.ToLower(s), make([]string, len(parts))
	for i, p := range parts {
		lp[i] = strings.ToLower(p)
	}
	if !strings.HasPrefix(ls, lp[0]) {
		return false
	}
	ls = ls[len(lp[0]):]
	for _, p := range lp[1 : len(lp)-1] {
		i := strings.Index(ls, p)
		if i < 0 {
			return false
		}
		ls = ls[i+len(p):]
	}
	return strings.HasSuffix(ls, lp[len(lp)-1])
}

// ciTrigger reads p's CI trigger from its YAML at commit sha. found is
// false when the commit has no YAML (nothing starts). A YAML that does
// not parse is returned as found with a nil trigger and the error: it
// starts a run, which fails saying why (as Azure does).
func (s *Service) ciTrigger(ctx context.Context, p Pipeline, ref, sha string) (t *azp.Trigger, found bool, err error) {
	pl, found, err := s.readTriggers(ctx, p, ref, sha, ReasonCI)
	if pl == nil {
		return nil, found, err
	}
	return pl.Trigger, found, err
}

// readTriggers reads p's YAML at commit sha, expanded as for a run on ref
// with reason, for its triggers; found and err as ciTrigger's (pl is nil
// unless found without error).
func (s *Service) readTriggers(ctx context.Context, p Pipeline, ref, sha, reason string) (pl *azp.Pipeline, found bool, err error) {
	dir, err := os.MkdirTemp(filepath.Join(s.cfg.Dir, "agent"), "trigger-")
	if err != nil {
		return nil, false, err
	}
	defer os.RemoveAll(dir)
	if _, err := s.cfg.Repos.Checkout(ctx, p.Workspace, p.Repository, sha, filepath.Join(dir, "s")); err != nil {
		return nil, false, err
	}
	if _, err := os.Stat(filepath.Join(dir, "s", filepath.FromSlash(p.YAMLPath))); err != nil {
		return nil, false, nil
	}
	pl, err = azp.Config{Variables: map[string]string{"Build.SourceBranch": ref,
		"Build.SourceBranchName": path.Base(ref), "Build.Reason": reason}}.Expand(os.DirFS(filepath.Join(dir, "s")), p.YAMLPath, nil)
	if err != nil {
		return nil, true, err
	}
	return pl, true, nil
}
