package azp

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Allowed keys per level, as Azure's schema has them (those ciel models).
var (
	pipelineKeys = []string{"name", "appendCommitMessageToRunName", "trigger", "pr", "schedules", "variables", "parameters",
		"resources", "pool", "stages", "jobs", "steps", "strategy", "continueOnError", "timeoutInMinutes", "lockBehavior"}
	stageKeys      = []string{"stage", "displayName", "dependsOn", "condition", "variables", "pool", "jobs", "lockBehavior", "isSkippable"}
	jobKeys        = []string{"job", "displayName", "dependsOn", "condition", "continueOnError", "timeoutInMinutes", "cancelTimeoutInMinutes", "strategy", "pool", "variables", "steps", "workspace"}
	deploymentKeys = []string{"deployment", "displayName", "dependsOn", "condition", "continueOnError", "timeoutInMinutes", "cancelTimeoutInMinutes", "strategy", "pool", "variables", "environment", "workspace"}
	stepKinds      = []string{"script", "bash", "pwsh", "checkout", "task", "publish", "download", "template"}
	stepCommonKeys = []string{"displayName", "name", "condition", "continueOnError", "enabled", "env", "timeoutInMinutes", "retryCountOnTaskFailure", "target"}
	stepKindKeys   = map[StepKind][]string{
		StepScript:   {"workingDirectory", "failOnStderr"},
		StepBash:     {"workingDirectory", "failOnStderr"},
		StepPwsh:     {"workingDirectory", "failOnStderr", "errorActionPreference", "ignoreLASTEXITCODE", "warningPreference"},
		StepTask:     {"inputs"},
		StepCheckout: {"clean", "fetchDepth", "fetchTags", "lfs", "submodules", "path", "persistCredentials"},
		StepPublish:  {"artifact"},
		StepDownload: {"artifact", "patterns", "path"},
		StepTemplate: {"parameters"},
	}
)

// pipeline decodes the expanded top-level mapping.
func (d *decoder) pipeline(root *yaml.Node) (*Pipeline, error) {
	p := &Pipeline{}
	var shape, body *yaml.Node
	implicit := &Job{Name: DefaultJob, Pos: d.pos(root)}
	err := d.fields(root, "the pipeline", pipelineKeys, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "name":
			p.Name, err = d.str(k, v)
		case "trigger":
			p.Trigger, err = d.trigger(k, v)
		case "pr":
			p.PR, err = d.trigger(k, v)
		case "schedules":
			p.Schedules, err = d.schedules(k, v)
		case "variables":
			p.Variables, err = d.variables(k, v)
		case "parameters":
			p.Parameters, err = d.parameters(k, v)
		case "resources":
			p.Resources, err = d.resources(k, v)
		case "pool":
			p.Pool, err = d.pool(k, v)
		case "stages", "jobs", "steps":
			if shape != nil {
				return d.errorf(k, "%s: the pipeline already has %s: (write one of stages:, jobs:, steps:)", k.Value, shape.Value)
			}
			shape, body = k, v
		case "strategy", "continueOnError", "timeoutInMinutes":
			err = d.jobField(implicit, k, v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if shape == nil {
		return nil, d.errorf(root, "the pipeline has no stages:, jobs: or steps:")
	}
	if shape.Value != "steps" && (implicit.Strategy != nil || implicit.ContinueOnError || implicit.TimeoutInMinutes != 0) {
		return nil, d.errorf(root, "strategy:, continueOnError: and timeoutInMinutes: belong to a job when the pipeline has %s:", shape.Value)
	}
	switch shape.Value {
	case "steps":
		implicit.Steps, err = d.steps(shape, body)
		p.Stages = []*Stage{{Name: DefaultStage, Jobs: []*Job{implicit}, Pos: d.pos(root)}}
	case "jobs":
		var jobs []*Job
		jobs, err = d.jobs(shape, body)
		p.Stages = []*Stage{{Name: DefaultStage, Jobs: jobs, Pos: d.pos(root)}}
	case "stages":
		p.Stages, err = d.stages(shape, body)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// sequence checks that v is a sequence (null is an empty one).
func (d *decoder) sequence(k, v *yaml.Node) ([]*yaml.Node, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, d.errorf(v, "%s: expected a sequence, got %s", k.Value, describe(v))
	}
	return v.Content, nil
}

// stages decodes stages:.
func (d *decoder) stages(k, v *yaml.Node) ([]*Stage, error) {
	items, err := d.sequence(k, v)
	if err != nil {
		return nil, err
	}
	var out []*Stage
	for _, it := range items {
		s := &Stage{Pos: d.pos(it)}
		err := d.fields(it, "a stage", stageKeys, func(fk, fv *yaml.Node) error {
			var err error
			switch fk.Value {
			case "stage":
				s.Name, err = d.str(fk, fv)
			case "displayName":
				s.DisplayName, err = d.str(fk, fv)
			case "dependsOn":
				s.DependsOn, err = d.strings(fk, fv)
				s.DependsOnSet = true
			case "condition":
				s.Condition, err = d.str(fk, fv)
			case "variables":
				s.Variables, err = d.variables(fk, fv)
			case "pool":
				s.Pool, err = d.pool(fk, fv)
			case "jobs":
				s.Jobs, err = d.jobs(fk, fv)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if mapGet(it, "stage") == nil {
			return nil, d.errorf(it, "a stage needs stage: (its name)")
		}
		out = append(out, s)
	}
	return out, d.uniqueNames(items, len(out), func(i int) string { return out[i].Name }, "stage")
}

// uniqueNames rejects two stages or jobs with the same name.
func (d *decoder) uniqueNames(items []*yaml.Node, n int, name func(int) string, what string) error {
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		key := strings.ToLower(name(i))
		if seen[key] {
			return d.errorf(items[i], "%s %q is defined twice", what, name(i))
		}
		seen[key] = true
	}
	return nil
}

// jobs decodes jobs:.
func (d *decoder) jobs(k, v *yaml.Node) ([]*Job, error) {
	items, err := d.sequence(k, v)
	if err != nil {
		return nil, err
	}
	var out []*Job
	for i, it := range items {
		j := &Job{Pos: d.pos(it)}
		allowed := jobKeys
		if mapGet(it, "deployment") != nil {
			allowed, j.Deployment = deploymentKeys, &Deployment{}
		}
		if err := d.fields(it, "a job", allowed, func(fk, fv *yaml.Node) error { return d.jobField(j, fk, fv) }); err != nil {
			return nil, err
		}
		if j.Name == "" {
			j.Name = DefaultJob
			if i > 0 {
				j.Name += strconv.Itoa(i)
			}
		}
		out = append(out, j)
	}
	return out, d.uniqueNames(items, len(out), func(i int) string { return out[i].Name }, "job")
}

// jobField decodes one key of a job or deployment job.
func (d *decoder) jobField(j *Job, k, v *yaml.Node) error {
	var err error
	switch k.Value {
	case "job", "deployment":
		j.Name, err = d.str(k, v)
	case "displayName":
		j.DisplayName, err = d.str(k, v)
	case "dependsOn":
		j.DependsOn, err = d.strings(k, v)
		j.DependsOnSet = true
	case "condition":
		j.Condition, err = d.str(k, v)
	case "continueOnError":
		j.ContinueOnError, err = d.boolean(k, v)
	case "timeoutInMinutes":
		j.TimeoutInMinutes, err = d.integer(k, v)
	case "cancelTimeoutInMinutes":
		j.CancelTimeout, err = d.integer(k, v)
	case "pool":
		j.Pool, err = d.pool(k, v)
	case "variables":
		j.Variables, err = d.variables(k, v)
	case "steps":
		j.Steps, err = d.steps(k, v)
	case "environment":
		j.Deployment.Environment, err = d.environment(k, v)
	case "strategy":
		if j.Deployment != nil {
			return d.deployStrategy(j, k, v)
		}
		j.Strategy, err = d.strategy(k, v)
	}
	return err
}

// environment reads a deployment's environment: name or {name, ...}.
func (d *decoder) environment(k, v *yaml.Node) (string, error) {
	if v.Kind == yaml.ScalarNode {
		return v.Value, nil
	}
	var name string
	err := d.fields(v, "environment", []string{"name", "resourceName", "resourceType", "resourceId", "tags"}, func(fk, fv *yaml.Node) error {
		var err error
		if fk.Value == "name" {
			name, err = d.str(fk, fv)
		}
		return err
	})
	return name, err
}

// deployStrategy reads strategy: runOnce: deploy: steps: of a deployment.
func (d *decoder) deployStrategy(j *Job, k, v *yaml.Node) error {
	return d.fields(v, "a deployment strategy (only runOnce is supported)", []string{"runOnce"}, func(rk, rv *yaml.Node) error {
		j.Deployment.Strategy = "runOnce"
		return d.fields(rv, "runOnce", []string{"deploy"}, func(dk, dv *yaml.Node) error {
			return d.fields(dv, "deploy", []string{"steps", "pool"}, func(sk, sv *yaml.Node) error {
				var err error
				if sk.Value == "steps" {
					j.Steps, err = d.steps(sk, sv)
				} else {
					j.Pool, err = d.pool(sk, sv)
				}
				return err
			})
		})
	})
}

// strategy reads a job's strategy: matrix, parallel, maxParallel.
func (d *decoder) strategy(k, v *yaml.Node) (*Strategy, error) {
	s := &Strategy{}
	err := d.fields(v, "strategy", []string{"matrix", "parallel", "maxParallel"}, func(fk, fv *yaml.Node) error {
		var err error
		switch fk.Value {
		case "parallel":
			s.Parallel, err = d.integer(fk, fv)
		case "maxParallel":
			s.MaxParallel, err = d.integer(fk, fv)
		case "matrix":
			if fv.Kind == yaml.ScalarNode {
				s.MatrixExpr = fv.Value
				return nil
			}
			if fv.Kind != yaml.MappingNode {
				return d.errorf(fv, "matrix: expected a mapping of named configurations, got %s", describe(fv))
			}
			for i := 0; i+1 < len(fv.Content); i += 2 {
				vars, err := d.variables(fv.Content[i], fv.Content[i+1])
				if err != nil {
					return err
				}
				s.Matrix = append(s.Matrix, MatrixLeg{Name: fv.Content[i].Value, Variables: vars})
			}
		}
		return err
	})
	if err == nil && s.Parallel > 0 && (len(s.Matrix) > 0 || s.MatrixExpr != "") {
		return nil, d.errorf(v, "strategy: write matrix: or parallel:, not both")
	}
	return s, err
}
