package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// addPipeline flattens the steps of a pipeline (a job or a pipeline
// component) whose own inputs are already resolved; outTypes are the types
// of the pipeline's own outputs. It returns the pipeline's outputs, each
// pointing at the leaf step output that produces it.
func (p *planner) addPipeline(prefix string, jobs map[string]*spec.Job, inputs map[string]PlanInput, outTypes map[string]string) (map[string]PortRef, error) {
	order, err := stepOrder(jobs)
	if err != nil {
		return nil, err
	}
	stepOuts := map[string]map[string]PortRef{}
	pipeOuts := map[string]PortRef{}
	for _, name := range order {
		step := jobs[name]
		comp, err := p.component(step)
		if err != nil {
			return nil, err
		}
		if step.Component == nil {
			inheritOutputTypes(comp, step, outTypes)
		}
		ins, err := p.stepInputs(prefix+name, step, comp, inputs, stepOuts, jobs)
		if err != nil {
			return nil, err
		}
		var outs map[string]PortRef
		switch {
		case comp.Type == spec.JobPipeline:
			outs, err = p.addPipeline(prefix+name+"/", comp.Jobs, ins, declTypes(comp.Outputs))
		case step.Type == spec.JobSweep:
			var compute string
			if compute, err = computeOf(step, inputs); err == nil {
				outs, err = p.addSweep(prefix+name, step, comp, ins, compute)
			}
		case step.Type == spec.JobParallel || comp.Type == spec.JobParallel:
			var compute string
			if compute, err = computeOf(step, inputs); err == nil {
				outs, err = p.addParallel(prefix+name, step, comp, ins, compute)
			}
		default:
			var compute string
			if compute, err = computeOf(step, inputs); err == nil {
				outs, err = p.addCommand(prefix+name, step, comp, ins, compute)
			}
		}
		if err != nil {
			return nil, err
		}
		stepOuts[name] = outs
		if err := p.outputSettings(step.Outputs, outs); err != nil {
			return nil, err
		}
		for _, oname := range sortedKeys(step.Outputs) {
			ov := step.Outputs[oname]
			if ov.Binding == "" {
				continue
			}
			b, err := spec.ParseBinding(ov.Binding)
			if err != nil {
				return nil, spec.Errorf(ov.Pos, "%s.outputs.%s: %v", name, oname, err)
			}
			ref, ok := outs[oname]
			if !ok {
				return nil, spec.Errorf(ov.Pos, "step %s has no output %q", name, oname)
			}
			if b.Kind != "outputs" {
				return nil, spec.Errorf(ov.Pos, "%s.outputs.%s: expected ${{parent.outputs.<name>}}, got %s", name, oname, ov.Binding)
			}
			pipeOuts[b.Port] = ref
		}
	}
	return pipeOuts, nil
}

// inheritOutputTypes gives an inline step's outputs that are bound to an
// output of the pipeline, and say no type of their own, the pipeline
// output's type: a step writing ${{parent.outputs.report}} of type uri_file
// gets a file path, as in Azure ML.
func inheritOutputTypes(comp *spec.Component, step *spec.Job, outTypes map[string]string) {
	for name, ov := range step.Outputs {
		decl := comp.Outputs[name]
		if ov.Binding == "" || ov.Type != "" || decl == nil {
			continue
		}
		b, err := spec.ParseBinding(ov.Binding)
		if err != nil || b.Kind != "outputs" {
			continue
		}
		if t := outTypes[b.Port]; t != "" {
			decl.Type = t
		}
	}
}

// declTypes returns the type of each declared output.
func declTypes(decls map[string]*spec.OutputDecl) map[string]string {
	out := make(map[string]string, len(decls))
	for name, d := range decls {
		out[name] = d.Type
	}
	return out
}

// computeOf is a step's compute, which may be bound to a pipeline input
// (compute: ${{parent.inputs.cluster}}).
func computeOf(step *spec.Job, inputs map[string]PlanInput) (string, error) {
	if !spec.IsBinding(step.Compute) {
		return step.Compute, nil
	}
	b, err := spec.ParseBinding(step.Compute)
	if err != nil || b.Kind != "inputs" {
		return "", spec.Errorf(step.Pos, "compute %s: expected ${{parent.inputs.<name>}}", step.Compute)
	}
	in, ok := inputs[b.Port]
	if !ok || in.Value == nil {
		return "", spec.Errorf(step.Pos, "compute %s: pipeline input %q has no literal value", step.Compute, b.Port)
	}
	return *in.Value, nil
}

// stepOrder sorts a pipeline's steps so every step comes after the steps
// whose outputs it binds; ties go by name.
func stepOrder(jobs map[string]*spec.Job) ([]string, error) {
	deps := map[string][]string{}
	for name, j := range jobs {
		for _, in := range j.Inputs {
			if in.Binding == "" {
				continue
			}
			b, err := spec.ParseBinding(in.Binding)
			if err == nil && b.Kind == "jobs" {
				if _, ok := jobs[b.Step]; !ok {
					return nil, spec.Errorf(in.Pos, "dangling binding %s: no step %q in this pipeline (steps: %s)",
						in.Binding, b.Step, strings.Join(sortedKeys(jobs), ", "))
				}
				deps[name] = append(deps[name], b.Step)
			}
		}
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return spec.Errorf(jobs[n].Pos, "steps form a cycle through %q", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range deps[n] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range sortedKeys(jobs) {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// component returns the component a step runs.
func (p *planner) component(step *spec.Job) (*spec.Component, error) {
	if step.Component == nil {
		if step.Type == spec.JobPipeline && len(step.Jobs) > 0 {
			return &spec.Component{Type: spec.JobPipeline, Jobs: step.Jobs, Pos: step.Pos}, nil
		}
		return componentOfCommand(step), nil
	}
	if step.Component.Inline != nil {
		c := step.Component.Inline
		if c.Type == "" {
			c.Type = spec.JobCommand
			if len(c.Jobs) > 0 {
				c.Type = spec.JobPipeline
			}
		}
		return c, nil
	}
	ref := step.Component.Ref
	name, version := splitRef(strings.TrimPrefix(ref, "azureml:"))
	a, err := p.st.GetAsset(p.ctx, p.ws, store.KindComponent, name, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, spec.Errorf(step.Component.Pos, "component %s not found in workspace %s; register it with: ciel component create --file <component.yml>", refLabel(name, version), p.ws)
	}
	if err != nil {
		return nil, err
	}
	var c spec.Component
	if err := json.Unmarshal(a.Spec, &c); err != nil {
		return nil, fmt.Errorf("decode component %s: %w", ref, err)
	}
	if c.Type == "" {
		c.Type = spec.JobCommand
	}
	if c.Version == "" {
		c.Version = a.Version
	}
	return &c, nil
}

// stepInputs resolves what a step gives each input of its component.
func (p *planner) stepInputs(path string, step *spec.Job, comp *spec.Component, parent map[string]PlanInput,
	stepOuts map[string]map[string]PortRef, siblings map[string]*spec.Job) (map[string]PlanInput, error) {
	out := map[string]PlanInput{}
	for _, name := range sortedKeys(step.Inputs) {
		v := step.Inputs[name]
		decl := comp.Inputs[name]
		if decl == nil && step.Component != nil {
			p.undeclaredInput(path, name, v, comp)
			continue
		}
		var pi *PlanInput
		if v.Binding != "" {
			b, err := spec.ParseBinding(v.Binding)
			if err != nil {
				return nil, spec.Errorf(v.Pos, "step %s input %s: %v", path, name, err)
			}
			switch b.Kind {
			case "inputs":
				if got, ok := parent[b.Port]; ok {
					pi = &got
				}
			case "jobs":
				if _, ok := siblings[b.Step]; !ok {
					return nil, spec.Errorf(v.Pos, "dangling binding %s: no step %q in this pipeline (steps: %s)", v.Binding, b.Step, strings.Join(sortedKeys(siblings), ", "))
				}
				ref, ok := stepOuts[b.Step][b.Port]
				if !ok {
					return nil, spec.Errorf(v.Pos, "dangling binding %s: step %q has no output %q (outputs: %s)", v.Binding, b.Step, b.Port, strings.Join(sortedKeys(stepOuts[b.Step]), ", "))
				}
				pi = &PlanInput{From: &ref}
			default:
				return nil, spec.Errorf(v.Pos, "step %s input %s: %s cannot be bound to an input", path, name, v.Binding)
			}
		} else {
			var err error
			if pi, err = p.value(name, v); err != nil {
				return nil, err
			}
		}
		if pi == nil {
			continue
		}
		if decl != nil {
			if err := checkLiteralInput(path, name, v, pi, decl); err != nil {
				p.badValues = append(p.badValues, err)
			}
			if decl.Type != "" {
				pi.Type = decl.Type
			}
			pi.Optional = decl.Optional
		}
		out[name] = *pi
	}
	for _, name := range sortedKeys(comp.Inputs) {
		decl := comp.Inputs[name]
		if _, ok := out[name]; ok {
			continue
		}
		switch {
		case decl.Default != nil:
			out[name] = PlanInput{Type: decl.Type, Value: decl.Default}
		case !decl.Optional:
			return nil, spec.Errorf(step.Pos, "step %s: required input %q is not given (and has no default)", path, name)
		}
	}
	return out, nil
}

// addCommand adds one leaf command step and returns its outputs.
func (p *planner) addCommand(name string, step *spec.Job, comp *spec.Component, inputs map[string]PlanInput, compute string) (map[string]PortRef, error) {
	ps := &PlanStep{
		Name: name, Command: comp.Command, Inputs: inputs, Outputs: map[string]PlanOutput{},
		EnvVars: map[string]string{}, Deterministic: comp.IsDeterministic == nil || *comp.IsDeterministic,
	}
	if comp.Name != "" {
		ps.Component = refLabel(comp.Name, comp.Version)
	}
	if strings.TrimSpace(comp.Command) == "" {
		return nil, spec.Errorf(comp.Pos, "step %s: command is empty", name)
	}
	if compute == "" {
		compute = p.defaultCompute
	}
	ps.Compute = localCompute(compute)
	if err := p.checkCompute(ps.Compute, step.Pos); err != nil {
		return nil, err
	}
	instances := 1
	if step.Resources != nil {
		ps.InstanceType, instances = step.Resources.InstanceType, step.Resources.InstanceCount
	}
	dist := comp.Distribution
	if step.Component != nil && step.Distribution != nil {
		dist = step.Distribution
	}
	var err error
	if ps.Distribution, err = distPlan(name, dist, instances); err != nil {
		return nil, err
	}
	envRef := comp.Environment
	if step.Component != nil && step.Environment != nil {
		envRef = step.Environment
	}
	env, err := p.environment(envRef)
	if err != nil {
		return nil, err
	}
	ps.Env = env
	if len(comp.AdditionalIncludes) > 0 {
		// The CLI merges them into the code snapshot it uploads.
		return nil, spec.Errorf(comp.Pos, "step %s: additional_includes were not merged into the code snapshot; submit the job with the ciel CLI", name)
	}
	if comp.Code != "" {
		ref, err := p.dataPath(comp.Code, comp.Pos, "code")
		if err != nil {
			return nil, err
		}
		if ref.uri != "" {
			return nil, spec.Errorf(comp.Pos, "step %s: code %s: expected a local folder (uploaded by the CLI), not a data URI", name, comp.Code)
		}
		ps.Code = ref.digest
	}
	for k, v := range comp.EnvironmentVariables {
		ps.EnvVars[k] = v
	}
	if step.Component != nil {
		for k, v := range step.EnvironmentVariables {
			ps.EnvVars[k] = v
		}
	}
	if step.Limits != nil {
		ps.TimeoutSecs = step.Limits.TimeoutSeconds
	}
	if step.Retry != nil {
		ps.MaxRetries = step.Retry.MaxRetries
	}
	outs := map[string]PortRef{}
	for oname, decl := range comp.Outputs {
		ps.Outputs[oname] = PlanOutput{Type: orDefault(decl.Type, spec.TypeURIFolder)}
		outs[oname] = PortRef{Step: name, Port: oname}
	}
	seen := map[string]bool{}
	for _, in := range inputs {
		if in.From != nil && !seen[in.From.Step] {
			seen[in.From.Step] = true
			ps.Deps = append(ps.Deps, in.From.Step)
		}
	}
	if err := checkPlaceholders(ps, comp); err != nil {
		return nil, err
	}
	p.plan.Steps = append(p.plan.Steps, ps)
	return outs, nil
}

// checkPlaceholders renders the command with stand-in values so a
// placeholder naming an input that is neither given nor optional fails at
// submission, not halfway through the pipeline.
func checkPlaceholders(ps *PlanStep, comp *spec.Component) error {
	tmpl, err := spec.ParseCommand(ps.Command)
	if err != nil {
		return spec.Errorf(comp.Pos, "step %s: command: %v", ps.Name, err)
	}
	_, _, err = tmpl.Render(func(kind, name string) (string, bool) {
		if kind == "outputs" {
			_, ok := ps.Outputs[name]
			return "x", ok
		}
		_, ok := ps.Inputs[name]
		return "x", ok
	})
	if err != nil {
		return spec.Errorf(comp.Pos, "step %s: command: %v", ps.Name, err)
	}
	return nil
}

// LocalCompute is the built-in compute every workspace has.
const LocalCompute = "local"

// ServerlessCompute is Azure ML's compute managed for the user
// (default_compute: azureml:serverless); here it is the local compute.
const ServerlessCompute = "serverless"

// localCompute is the compute a step named (or "" for none) runs on: the
// name without azureml:, and the built-in local compute for none or for
// serverless.
func localCompute(name string) string {
	name = strings.TrimPrefix(name, "azureml:")
	if name == "" || name == ServerlessCompute {
		return LocalCompute
	}
	return name
}

func (p *planner) checkCompute(name string, pos spec.Pos) error {
	if name == LocalCompute {
		return nil
	}
	if p.computesFound[name] {
		return nil
	}
	_, err := p.st.GetAsset(p.ctx, p.ws, store.KindCompute, name, "")
	if err == nil {
		if p.computesFound == nil {
			p.computesFound = map[string]bool{}
		}
		p.computesFound[name] = true
	}
	if errors.Is(err, store.ErrNotFound) {
		return spec.Errorf(pos, "compute %q not found in workspace %s; create it with: ciel compute create --name %s --type local --max-concurrency 2", name, p.ws, name)
	}
	return err
}
