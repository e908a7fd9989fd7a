package azp

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// steps decodes steps:.
func (d *decoder) steps(k, v *yaml.Node) ([]*Step, error) {
	items, err := d.sequence(k, v)
	if err != nil {
		return nil, err
	}
	out := make([]*Step, 0, len(items))
	for _, it := range items {
		s, err := d.step(it)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// step decodes one step; its kind is the first key that names one.
func (d *decoder) step(it *yaml.Node) (*Step, error) {
	if it.Kind != yaml.MappingNode {
		return nil, d.errorf(it, "a step: expected a mapping such as script:, task:, checkout:, got %s", describe(it))
	}
	s := &Step{Enabled: true, Pos: d.pos(it)}
	for _, key := range mapKeys(it) {
		if contains(stepKinds, key) {
			if s.Kind != "" {
				return nil, d.errorf(it, "a step has both %s: and %s:; write one step kind per step", s.Kind, key)
			}
			s.Kind = StepKind(key)
		}
	}
	if s.Kind == "" {
		return nil, d.errorf(it, "a step needs one of %s", strings.Join(stepKinds, ", "))
	}
	allowed := append(append([]string{string(s.Kind)}, stepCommonKeys...), stepKindKeys[s.Kind]...)
	err := d.fields(it, string(s.Kind)+" step", allowed, func(k, v *yaml.Node) error { return d.stepField(s, k, v) })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// stepField decodes one key of a step.
func (d *decoder) stepField(s *Step, k, v *yaml.Node) error {
	var err error
	switch k.Value {
	case "task":
		var ref string
		if ref, err = d.str(k, v); err == nil {
			s.Task, err = d.taskRef(v, ref)
		}
	case "script", "bash", "pwsh", "checkout", "publish", "download", "template":
		s.Script, err = d.str(k, v)
	case "inputs":
		s.Inputs, err = d.stringMap(k, v)
	case "env":
		s.Env, err = d.stringMap(k, v)
	case "displayName":
		s.DisplayName, err = d.str(k, v)
	case "name":
		s.Name, err = d.str(k, v)
	case "condition":
		s.Condition, err = d.str(k, v)
	case "continueOnError":
		s.ContinueOnError, err = d.boolean(k, v)
	case "enabled":
		s.Enabled, err = d.boolean(k, v)
	case "timeoutInMinutes":
		s.TimeoutInMinutes, err = d.integer(k, v)
	case "retryCountOnTaskFailure":
		s.RetryCount, err = d.integer(k, v)
	case "workingDirectory":
		s.WorkingDirectory, err = d.str(k, v)
	case "failOnStderr":
		s.FailOnStderr, err = d.boolean(k, v)
	case "parameters":
		return d.errorf(k, "a template step must be expanded: use Expand, not a bare decode")
	default:
		var val string
		if v.Kind == yaml.SequenceNode {
			var list []string
			list, err = d.strings(k, v)
			val = strings.Join(list, "\n")
		} else {
			val, err = d.str(k, v)
		}
		if s.Options == nil {
			s.Options = map[string]string{}
		}
		s.Options[k.Value] = val
	}
	return err
}

// taskRef splits Name@Version.
func (d *decoder) taskRef(v *yaml.Node, ref string) (TaskRef, error) {
	name, version, _ := strings.Cut(strings.TrimSpace(ref), "@")
	if name == "" {
		return TaskRef{}, d.errorf(v, "task: expected Name@Version such as UsePythonVersion@0, got %q", ref)
	}
	if version != "" {
		for _, c := range version {
			if c < '0' || c > '9' {
				return TaskRef{}, d.errorf(v, "task: the version after @ must be a major version number, got %q", ref)
			}
		}
	}
	return TaskRef{Name: name, Version: version}, nil
}
