package githost

import (
	"fmt"
	"path/filepath"
	"strings"
)

// MaxNameLen is the longest workspace or repository name.
const MaxNameLen = 64

// ValidName reports whether s may name a workspace or a repository: Azure
// DevOps' repository rules narrowed to one safe path segment. A name is 1 to
// 64 characters of ASCII letters, digits, '_', '.' and '-', starts with a
// letter or digit, and ends neither in '.' nor in ".git" (any case), so it
// can never be "..", hold a separator, or be mistaken for a bare directory.
// The error wraps ErrBadName.
func ValidName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("name is empty: %w", ErrBadName)
	case len(s) > MaxNameLen:
		return fmt.Errorf("name %.20q... is longer than %d characters: %w", s, MaxNameLen, ErrBadName)
	case !isAlnum(s[0]):
		return fmt.Errorf("name %q must start with a letter or digit: %w", s, ErrBadName)
	case s[len(s)-1] == '.':
		return fmt.Errorf("name %q must not end with '.': %w", s, ErrBadName)
	case len(s) >= 4 && strings.EqualFold(s[len(s)-4:], ".git"):
		return fmt.Errorf("name %q must not end with \".git\": %w", s, ErrBadName)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return fmt.Errorf("name %q may only hold letters, digits, '_', '.' and '-': %w", s, ErrBadName)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// repoDir validates ws and name and returns the bare repository's folder,
// checked to lie exactly two levels inside h.dir.
func (h *Host) repoDir(ws, name string) (string, error) {
	if err := ValidName(ws); err != nil {
		return "", fmt.Errorf("workspace: %w", err)
	}
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("repository: %w", err)
	}
	return joinInside(h.dir, ws, name+".git")
}

// joinInside joins the segments under root and fails unless the result is a
// path strictly inside root with exactly len(segs) components.
func joinInside(root string, segs ...string) (string, error) {
	p := filepath.Join(append([]string{root}, segs...)...)
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == "." || filepath.IsAbs(rel) || rel == ".." ||
		strings.HasPrefix(rel, ".."+string(filepath.Separator)) ||
		len(strings.Split(rel, string(filepath.Separator))) != len(segs) {
		return "", fmt.Errorf("path %q escapes %q: %w", strings.Join(segs, "/"), root, ErrBadName)
	}
	return p, nil
}

// cleanPrefix normalises Config.Prefix to "" or "/a/b" (no trailing slash).
func cleanPrefix(p string) (string, error) {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", nil
	}
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, "%?#") {
		return "", fmt.Errorf("githost: prefix %q must be an absolute URL path", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("githost: prefix %q must not hold dot segments", p)
		}
	}
	return p, nil
}

// service is one of the three smart-HTTP request shapes.
type service int

const (
	svcAdvertise   service = iota + 1 // GET .../info/refs?service=...
	svcUploadPack                     // POST .../git-upload-pack
	svcReceivePack                    // POST .../git-receive-pack
)

// gitRequest is a parsed smart-HTTP request path.
type gitRequest struct {
	ws, name string
	svc      service
	// program is "git-upload-pack" or "git-receive-pack": the service asked
	// for in info/refs, or the one posted to.
	program string
}

// parseGitPath parses a request's escaped path (prefix already stripped) and
// its service query value into one of the smart-HTTP shapes:
//
//	/<ws>/<name>[.git]/info/refs     with service=git-upload-pack|git-receive-pack
//	/<ws>/<name>[.git]/git-upload-pack
//	/<ws>/<name>[.git]/git-receive-pack
//
// Anything else — dumb-protocol paths, escapes, dot segments, bad names,
// another service — fails with an error wrapping ErrNotFound or ErrBadName.
func parseGitPath(p, queryService string) (gitRequest, error) {
	var r gitRequest
	if strings.ContainsAny(p, "%\\\x00") {
		return r, fmt.Errorf("path %q is not a git path: %w", p, ErrNotFound)
	}
	segs := strings.Split(p, "/")
	if len(segs) < 4 || segs[0] != "" {
		return r, fmt.Errorf("path %q is not a git path: %w", p, ErrNotFound)
	}
	r.ws = segs[1]
	r.name = strings.TrimSuffix(segs[2], ".git")
	if err := ValidName(r.ws); err != nil {
		return r, fmt.Errorf("workspace: %w", err)
	}
	if err := ValidName(r.name); err != nil {
		return r, fmt.Errorf("repository: %w", err)
	}
	switch rest := strings.Join(segs[3:], "/"); rest {
	case "info/refs":
		if queryService != "git-upload-pack" && queryService != "git-receive-pack" {
			return r, fmt.Errorf("service %q is not served: %w", queryService, ErrNotFound)
		}
		r.svc, r.program = svcAdvertise, queryService
	case "git-upload-pack":
		r.svc, r.program = svcUploadPack, rest
	case "git-receive-pack":
		r.svc, r.program = svcReceivePack, rest
	default:
		return r, fmt.Errorf("path %q is not a git path: %w", p, ErrNotFound)
	}
	return r, nil
}
