package engine

import (
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// undeclaredInput notes a step input its component does not declare. Azure
// ML accepts such a job, so it is a warning, not an error; the input is
// not passed to the step, whose command cannot name it.
func (p *planner) undeclaredInput(path, name string, v *spec.InputValue, comp *spec.Component) {
	label := "its component"
	if comp.Name != "" {
		label = "component " + comp.Name
	}
	p.plan.Warnings = append(p.plan.Warnings, spec.Errorf(v.Pos,
		"step %s: input %q is not declared by %s (inputs: %s); it is ignored",
		path, name, label, orDefault(strings.Join(sortedKeys(comp.Inputs), ", "), "none")))
}

// checkLiteralInput checks a literal a step input gets, written on the step
// or on a pipeline input it binds, against the type, enum, min and max its
// component declares, so a bad value is refused at submit rather than when
// the step runs. The error is placed where the literal was written: the
// file position, or the --set flag that gave it.
func checkLiteralInput(path, name string, v *spec.InputValue, pi *PlanInput, decl *spec.InputDecl) *spec.Error {
	if pi.Value == nil || !isLiteralType(decl.Type) {
		return nil
	}
	msg := decl.CheckValue(*pi.Value)
	if msg == "" {
		return nil
	}
	at := pi.at
	if at == (spec.Pos{}) {
		at = v.Pos
	}
	given := ""
	if v.Binding != "" {
		given = fmt.Sprintf(" (given by %s)", v.Binding)
	}
	return spec.Errorf(at, "step %s, input %q%s: %s", path, name, given, msg)
}

// isLiteralType reports whether t is a literal input type (string, integer,
// number, boolean).
func isLiteralType(t string) bool {
	switch t {
	case spec.TypeString, spec.TypeInteger, spec.TypeNumber, spec.TypeBoolean:
		return true
	}
	return false
}
