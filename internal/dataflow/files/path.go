package files

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// ErrEscape is wrapped by the error for a path that could lead out of a
// file system's root: absolute, with "..", a backslash, a control
// character, or through a symbolic link to outside.
var ErrEscape = errors.New("path leads out of the file system")

// MaxPathLen bounds a path.
const MaxPathLen = 4096

// Clean checks that p is a relative slash-separated path that stays
// inside its root and returns it without a trailing slash ("" and "." are
// the root). Errors wrap ErrEscape.
func Clean(p string) (string, error) {
	p = strings.TrimSuffix(p, "/")
	switch {
	case p == "" || p == ".":
		return "", nil
	case len(p) > MaxPathLen:
		return "", escape(p, fmt.Sprintf("longer than %d bytes", MaxPathLen))
	case !utf8.ValidString(p) || strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "", escape(p, "holds a control character or is not UTF-8")
	case strings.HasPrefix(p, "/"):
		return "", escape(p, "is absolute; expected a path relative to the root")
	case strings.Contains(p, `\`):
		return "", escape(p, `holds '\'; expected '/' between folders`)
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return "", escape(p, "has an empty segment ('//')")
		case seg == "." || seg == "..":
			return "", escape(p, "holds '.' or '..'")
		case len(seg) > 255:
			return "", escape(p, "has a segment longer than 255 bytes")
		}
	}
	return p, nil
}

// Join joins cleaned path segments, each checked with Clean, skipping
// empty ones.
func Join(parts ...string) (string, error) {
	var out []string
	for _, s := range parts {
		c, err := Clean(strings.TrimPrefix(s, "/"))
		if err != nil {
			return "", err
		}
		if c != "" {
			out = append(out, c)
		}
	}
	return path.Join(out...), nil
}

func escape(p, why string) error {
	if len(p) > 200 {
		p = p[:200] + "..."
	}
	return fmt.Errorf("path %q %s: %w", p, why, ErrEscape)
}
