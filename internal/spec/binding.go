package spec

import (
	"fmt"
	"strings"
)

// Binding kinds and scopes.
const (
	BindInputs  = "inputs"
	BindOutputs = "outputs"
	BindJobs    = "jobs"
	ScopeParent = "parent"
)

// bindingForms is the list of accepted forms, for error messages.
const bindingForms = "${{parent.inputs.<name>}}, ${{parent.outputs.<name>}}, " +
	"${{parent.jobs.<step>.outputs.<name>}}, ${{parent.jobs.<step>.inputs.<name>}}, " +
	"${{inputs.<name>}} or ${{outputs.<name>}}"

// IsBinding reports whether s is exactly one ${{...}} expression and nothing
// else. It does not check what is inside the braces; ParseBinding does.
func IsBinding(s string) bool {
	if len(s) < 5 || !strings.HasPrefix(s, "${{") || !strings.HasSuffix(s, "}}") {
		return false
	}
	return strings.Index(s[3:], "}}") == len(s)-5
}

// ParseBinding parses one ${{...}} expression. Whitespace is allowed just
// inside the braces ("${{ parent.inputs.x }}"), nowhere else.
func ParseBinding(expr string) (Binding, error) {
	if !IsBinding(expr) {
		return Binding{}, fmt.Errorf("invalid binding %q: expected one of %s", expr, bindingForms)
	}
	inner := strings.TrimSpace(expr[3 : len(expr)-2])
	parts := strings.Split(inner, ".")
	for _, p := range parts {
		if !isIdent(p) {
			return Binding{}, fmt.Errorf("invalid binding %q: %q is not a name (expected letters, digits, '_' or '-', not starting with a digit or '-'); accepted forms: %s", expr, p, bindingForms)
		}
	}
	b, ok := bindingFromParts(parts)
	if !ok {
		return Binding{}, fmt.Errorf("invalid binding %q: expected one of %s", expr, bindingForms)
	}
	return b, nil
}

// bindingFromParts matches the dotted names of a binding to its forms.
func bindingFromParts(p []string) (Binding, bool) {
	isPort := func(s string) bool { return s == BindInputs || s == BindOutputs }
	switch {
	case len(p) == 2 && isPort(p[0]):
		return Binding{Kind: p[0], Port: p[1]}, true
	case len(p) == 3 && p[0] == ScopeParent && isPort(p[1]):
		return Binding{Scope: ScopeParent, Kind: p[1], Port: p[2]}, true
	case len(p) == 5 && p[0] == ScopeParent && p[1] == BindJobs && isPort(p[3]):
		return Binding{Scope: ScopeParent, Kind: BindJobs, Step: p[2], StepKind: p[3], Port: p[4]}, true
	}
	return Binding{}, false
}

// isIdent reports whether s is a port or step name: a letter or '_' first,
// then letters, digits, '_' or '-'.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// String writes the binding back as a ${{...}} expression.
func (b Binding) String() string {
	parts := []string{}
	if b.Scope != "" {
		parts = append(parts, b.Scope)
	}
	parts = append(parts, b.Kind)
	if b.Kind == BindJobs {
		parts = append(parts, b.Step, b.StepKind)
	}
	parts = append(parts, b.Port)
	return "${{" + strings.Join(parts, ".") + "}}"
}
