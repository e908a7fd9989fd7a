package azp

import "strings"

// ExpandMacros replaces each $(name) in s with lookup(name), as the agent
// does when a task starts. A name lookup does not know (ok false) leaves
// $(name) in place as literal text, which is what Azure does; replacements
// are not expanded again.
func ExpandMacros(s string, lookup func(name string) (string, bool)) string {
	if !strings.Contains(s, "$(") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "$(")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i+2:], ')')
		if end < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		name := s[i+2 : i+2+end]
		if validMacroName(name) {
			if v, ok := lookup(name); ok {
				b.WriteString(v)
				s = s[i+3+end:]
				continue
			}
		}
		// Not a macro we can replace: keep "$(" and rescan after it, so that
		// "$($(x))" still expands the inner reference.
		b.WriteString("$(")
		s = s[i+2:]
	}
}

// validMacroName reports whether name can be a variable name in $( ):
// letters, digits, '.', '_', '-' and spaces inside, nothing else.
func validMacroName(name string) bool {
	if strings.TrimSpace(name) == "" {
		return false
	}
	for _, c := range name {
		if !(c == '.' || c == '_' || c == '-' || c == ' ' || (c >= '0' && c <= '9') ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// EnvName is the environment variable a pipeline variable is exposed as to
// scripts: upper-cased, with '.' and ' ' replaced by '_'
// (Build.SourcesDirectory becomes BUILD_SOURCESDIRECTORY).
func EnvName(name string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", " ", "_").Replace(name))
}
