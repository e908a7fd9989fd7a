package githost

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ChangedFiles returns the paths (relative to the repository root, '/'
// separated, sorted as git sorts them) of the files that differ between
// commits oldSHA and newSHA of ws/name. An oldSHA that is empty or all
// zeros (a new branch) compares newSHA with its first parent, or lists
// every file of newSHA when it has none. Both must be full 40-hex-digit
// shas (ErrBadName otherwise); renames count as a deletion and an addition,
// so both paths are listed.
func (h *Host) ChangedFiles(ctx context.Context, ws, name, oldSHA, newSHA string) ([]string, error) {
	r, err := h.Get(ctx, ws, name)
	if err != nil {
		return nil, fmt.Errorf("changed files: %w", err)
	}
	if !isSHA(newSHA) || oldSHA != "" && !isSHA(oldSHA) {
		return nil, fmt.Errorf("changed files in %s/%s: %q..%q: expected 40-hex-digit shas: %w", ws, name, oldSHA, newSHA, ErrBadName)
	}
	gitDir := "--git-dir=" + r.Dir
	if strings.Trim(oldSHA, "0") == "" {
		out, err := h.output(ctx, gitDir, "rev-list", "--parents", "-n", "1", newSHA+"^{commit}", "--")
		if err != nil {
			return nil, fmt.Errorf("changed files in %s/%s: parents of %s: %w", ws, name, newSHA, err)
		}
		fields := strings.Fields(out)
		if len(fields) < 2 {
			out, err := h.output(ctx, gitDir, "ls-tree", "-r", "-z", "--name-only", newSHA+"^{commit}", "--")
			if err != nil {
				return nil, fmt.Errorf("changed files in %s/%s: files of %s: %w", ws, name, newSHA, err)
			}
			return splitNUL(out), nil
		}
		oldSHA = fields[1]
	}
	out, err := h.output(ctx, gitDir, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv",
		oldSHA+"^{commit}", newSHA+"^{commit}", "--")
	if err != nil {
		return nil, fmt.Errorf("changed files in %s/%s between %s and %s: %w", ws, name, oldSHA, newSHA, err)
	}
	return splitNUL(out), nil
}

// isSHA reports whether s is a full SHA-1 object name.
func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// splitNUL splits git's -z output into its names.
func splitNUL(out string) []string {
	var names []string
	for n := range strings.SplitSeq(out, "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// Workspaces returns the names of the workspaces that hold repositories,
// sorted; none is an empty list.
func (h *Host) Workspaces(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(h.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	names := []string{}
	for _, e := range entries {
		if e.IsDir() && ValidName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	return names, ctx.Err()
}
