package spec

import (
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// errorAt records a problem at pos; path names the field.
func (d *decoder) errorAt(pos Pos, path, format string, args ...any) {
	e := Errorf(pos, format, args...)
	if path != "" {
		e.Msg = path + ": " + e.Msg
	}
	d.s.errs = append(d.s.errs, e)
}

// nameList lists the names in set for a message, or "none".
func nameList(set map[string]bool) string {
	if len(set) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(set), ", ")
}

// byPos returns the keys of m in the order they were written.
func byPos[V any](m map[string]V, pos func(V) Pos) []string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := pos(m[keys[i]]), pos(m[keys[j]])
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return keys
}

func inputPos(v *InputValue) Pos   { return v.Pos }
func outputPos(v *OutputValue) Pos { return v.Pos }
func jobPos(v *Job) Pos            { return v.Pos }

// pipelineScope is what the ${{parent...}} bindings of a pipeline's steps
// may name: the pipeline's inputs and outputs, and its steps.
type pipelineScope struct {
	inputs  map[string]bool
	outputs map[string]bool
	jobs    map[string]*Job
}

// validatePipeline checks the steps of one pipeline (a pipeline job, or a
// pipeline component) against each other and their scope.
func (d *decoder) validatePipeline(path string, sc pipelineScope) {
	names := byPos(sc.jobs, jobPos)
	deps := map[string][]string{}
	for _, name := range names {
		step := sc.jobs[name]
		sp := joinPath(path, "jobs."+name)
		deps[name] = d.checkStepInputs(sp, name, step, sc)
		d.checkStepOutputs(sp, step, sc)
		d.checkStepComponent(sp, step)
		d.checkStepCompute(sp, step, sc)
	}
	d.checkCycles(path, names, deps, sc.jobs)
}

// checkStepInputs checks the bindings of a step's inputs and returns the
// steps it depends on.
func (d *decoder) checkStepInputs(sp, self string, step *Job, sc pipelineScope) []string {
	var deps []string
	for _, name := range byPos(step.Inputs, inputPos) {
		in := step.Inputs[name]
		b, err := ParseBinding(in.Binding)
		if in.Binding == "" || err != nil {
			continue
		}
		ip := sp + ".inputs." + name
		switch {
		case b.Scope == "":
			d.errorAt(in.Pos, ip, "a step input binds with ${{parent.inputs.<name>}} or ${{parent.jobs.<step>.outputs.<name>}}, not %s", in.Binding)
		case b.Kind == BindInputs:
			if !sc.inputs[b.Port] {
				d.errorAt(in.Pos, ip, "dangling binding: no input %q in this pipeline (inputs: %s)", b.Port, nameList(sc.inputs))
			}
		case b.Kind == BindOutputs:
			d.errorAt(in.Pos, ip, "a step input cannot read the pipeline output %s; bind to the step that writes it", in.Binding)
		case d.checkStepRef(ip, in.Pos, self, b, sc):
			deps = append(deps, b.Step)
		}
	}
	return deps
}

// checkStepRef checks ${{parent.jobs.X.outputs.Y}} (or .inputs.Y) in step
// self and reports whether it names a real step to depend on.
func (d *decoder) checkStepRef(ip string, pos Pos, self string, b Binding, sc pipelineScope) bool {
	target := sc.jobs[b.Step]
	switch {
	case target == nil:
		d.errorAt(pos, ip, "dangling binding: no step %q in this pipeline (steps: %s)", b.Step, nameList(keySet(sc.jobs)))
		return false
	case b.Step == self:
		d.errorAt(pos, ip, "step %q binds to its own %s", self, b.StepKind)
		return false
	}
	ports, known := stepPorts(target, b.StepKind)
	if known && !ports[b.Port] {
		d.errorAt(pos, ip, "dangling binding: step %q has no %s %q (%s: %s)", b.Step, strings.TrimSuffix(b.StepKind, "s"), b.Port, b.StepKind, nameList(ports))
	}
	return true
}

// stepPorts returns the names of a step's inputs or outputs (kind), and
// whether they are known: not when the step runs a registered component.
func stepPorts(step *Job, kind string) (map[string]bool, bool) {
	if c := step.Component; c != nil {
		if c.Inline == nil {
			return nil, false
		}
		if kind == BindInputs {
			return keySet(c.Inline.Inputs), true
		}
		return keySet(c.Inline.Outputs), true
	}
	if kind == BindInputs {
		return keySet(step.Inputs), true
	}
	return keySet(step.Outputs), true
}

// checkStepOutputs checks that a step's output bindings name outputs of the
// pipeline.
func (d *decoder) checkStepOutputs(sp string, step *Job, sc pipelineScope) {
	for _, name := range byPos(step.Outputs, outputPos) {
		out := step.Outputs[name]
		b, err := ParseBinding(out.Binding)
		if out.Binding == "" || err != nil {
			continue
		}
		op := sp + ".outputs." + name
		switch {
		case b.Scope != ScopeParent || b.Kind != BindOutputs:
			d.errorAt(out.Pos, op, "a step output binds with ${{parent.outputs.<name>}}, not %s", out.Binding)
		case !sc.outputs[b.Port]:
			d.errorAt(out.Pos, op, "dangling binding: no output %q in this pipeline (outputs: %s)", b.Port, nameList(sc.outputs))
		}
	}
}

// checkStepCompute checks a compute taken from a pipeline input.
func (d *decoder) checkStepCompute(sp string, step *Job, sc pipelineScope) {
	b, err := ParseBinding(step.Compute)
	if !IsBinding(step.Compute) || err != nil {
		return
	}
	if b.Scope != ScopeParent || b.Kind != BindInputs {
		d.errorAt(step.Pos, sp+".compute", "a step's compute binds with ${{parent.inputs.<name>}}, not %s", step.Compute)
	} else if !sc.inputs[b.Port] {
		d.errorAt(step.Pos, sp+".compute", "dangling binding: no input %q in this pipeline (inputs: %s)", b.Port, nameList(sc.inputs))
	}
}

// componentLabel names a component in messages.
func componentLabel(c *Component) string {
	if c.Name != "" {
		return "component " + c.Name
	}
	return "component " + filepath.Base(c.File)
}

// checkStepComponent checks a step's inputs and outputs against the
// component it runs, when that component is known.
func (d *decoder) checkStepComponent(sp string, step *Job) {
	if step.Component == nil || step.Component.Inline == nil {
		return
	}
	c := step.Component.Inline
	label := componentLabel(c)
	for _, name := range byPos(step.Inputs, inputPos) {
		in := step.Inputs[name]
		decl := c.Inputs[name]
		ip := sp + ".inputs." + name
		if decl == nil {
			// Azure ML accepts an input its component does not declare;
			// the server warns about it when the job is submitted.
			continue
		}
		d.checkInputValue(ip, in, decl)
	}
	for _, name := range sortedKeys(c.Inputs) {
		decl := c.Inputs[name]
		if !decl.Optional && decl.Default == nil && step.Inputs[name] == nil {
			d.errorAt(step.Pos, sp, "%s needs input %q (it is not optional and has no default)", label, name)
		}
	}
	for _, name := range byPos(step.Outputs, outputPos) {
		if c.Outputs[name] == nil {
			d.errorAt(step.Outputs[name].Pos, sp+".outputs."+name, "output %q is not declared by %s (outputs: %s)", name, label, nameList(keySet(c.Outputs)))
		}
	}
}

// checkInputValue checks what a step gives an input against its
// declaration.
func (d *decoder) checkInputValue(ip string, in *InputValue, decl *InputDecl) {
	literal := contains(literalTypes, decl.Type)
	switch {
	case in.Value != nil && literal:
		if msg := decl.CheckValue(*in.Value); msg != "" {
			d.errorAt(in.Pos, ip, "%s", msg)
		}
	case in.Path != "" && literal:
		d.errorAt(in.Pos, ip, "the input is a %s; give a value, not a path", decl.Type)
	}
}

// checkCycles reports a dependency cycle among the steps, if any.
func (d *decoder) checkCycles(path string, names []string, deps map[string][]string, jobs map[string]*Job) {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string) bool
	visit = func(n string) bool {
		state[n] = active
		stack = append(stack, n)
		for _, m := range deps[n] {
			switch state[m] {
			case active:
				i := len(stack) - 1
				for stack[i] != m {
					i--
				}
				chain := append(append([]string{}, stack[i:]...), m)
				d.errorAt(jobs[m].Pos, joinPath(path, "jobs."+m), "dependency cycle: %s", strings.Join(chain, " -> "))
				return true
			case unseen:
				if visit(m) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return false
	}
	for _, n := range names {
		if state[n] == unseen && visit(n) {
			return
		}
	}
}

// commandPorts is what a command's placeholders may name.
type commandPorts struct {
	inputs, outputs map[string]bool
	// declared is set for components, whose every placeholder must name a
	// declared port; a command job needs only the inputs used outside
	// $[[ ]] to be given.
	declared bool
}

// checkCommand parses a command and checks its placeholders against ports.
func (d *decoder) checkCommand(path string, n *yaml.Node, cmd string, ports commandPorts) {
	t, err := ParseCommand(cmd)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return
	}
	owner, inputVerb, where := "the job", "gives", " outside $[[ ]]"
	if ports.declared {
		owner, inputVerb, where = "the component", "declares", ""
	}
	required := map[Binding]bool{}
	for _, b := range t.RequiredRefs() {
		required[b] = true
	}
	for _, b := range t.Refs() {
		switch {
		case b.Kind == BindOutputs && !ports.outputs[b.Port]:
			d.errorf(n, path, "command uses %s but %s declares no output %q (outputs: %s)", b, owner, b.Port, nameList(ports.outputs))
		case b.Kind == BindInputs && !ports.inputs[b.Port] && (ports.declared || required[b]):
			d.errorf(n, path, "command uses %s%s but %s %s no input %q (inputs: %s)", b, where, owner, inputVerb, b.Port, nameList(ports.inputs))
		}
	}
}
