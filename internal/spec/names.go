package spec

import (
	"fmt"
	"regexp"
	"strings"
)

// Names that become paths. A job's name, its steps, inputs and outputs, a
// workspace, an asset and its version all end up as a folder under
// CIEL_HOME, a segment of a URL, or a folder a download writes. Each is held
// to Azure ML's own rule for it, and every rule here accepts only names that
// are one plain path segment: never empty, absolute, ".", "..", or holding a
// separator or a control character.

// MaxNameLen is the longest name Azure ML accepts for an asset, a job, a
// version, an input or an output.
const MaxNameLen = 255

// namePattern is what Azure ML accepts as an asset, job or workspace name
// and as a version.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$`)

// CheckName reports why s cannot name a data asset, environment, component,
// compute, model, job or workspace, or be a version: Azure ML's rule,
// letters, digits, '_', '.' and '-', starting with a letter or digit, at
// most 255. what names the field in the error.
func CheckName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is required", what)
	}
	if !namePattern.MatchString(s) {
		return fmt.Errorf("invalid %s %q: expected letters, digits, '_', '.' or '-', starting with a letter or digit (at most %d)", what, s, MaxNameLen)
	}
	return nil
}

// IsPortName reports whether s can name an input, an output or a pipeline
// step. Azure ML asks for a Python identifier; ciel's files have always also
// taken '-' after the first character, so the rule is letters, digits, '_'
// and '-', starting with a letter or '_', at most 255.
func IsPortName(s string) bool {
	return len(s) <= MaxNameLen && isIdent(s)
}

// portNameRule says what IsPortName accepts, for messages.
const portNameRule = "expected letters, digits, '_' or '-', starting with a letter or '_' (at most 255)"

// IsStepPath reports whether s names a leaf step of a job the way the
// engine does: "main" for a command job, a step name, or the names of
// nested pipeline steps joined with '/' ("train/fit").
func IsStepPath(s string) bool {
	for _, part := range strings.Split(s, "/") {
		if !IsPortName(part) {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds a control character (NUL, newline,
// escape...), which no name and no process argument may carry.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}
