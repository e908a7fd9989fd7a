package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// JobSource finds submitted jobs: a pipeline deployment's job_definition
// names one.
type JobSource interface {
	// GetJob returns a job; store.ErrNotFound when absent.
	GetJob(ctx context.Context, ws, name string) (store.Job, error)
}

// resolvePipeline pins a pipeline deployment to the component it runs, as
// Azure ML does when it creates one: a registered component to its version
// and definition, a job_definition to the component its pipeline job
// implies. Jobs invoked later run what was deployed, whatever becomes of
// the component or the job.
func (s *Service) resolvePipeline(ctx context.Context, ws string, d *spec.BatchDeployment) error {
	switch {
	case d.JobDefinition != "":
		c, err := s.jobComponent(ctx, ws, d.JobDefinition)
		if err != nil {
			return err
		}
		d.Component = &spec.ComponentRef{Inline: c}
	case d.Component == nil:
		return invalidf("batch deployment %s has no component", d.Name)
	case d.Component.Ref != "":
		ref := d.Component.Ref
		name, version := splitRef(strings.TrimPrefix(ref, "azureml:"))
		a, err := s.cfg.Assets.GetAsset(ctx, ws, store.KindComponent, name, version)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("component %s not found in workspace %s; create it with: ciel component create --file <component.yml>", ref, ws)
		}
		if err != nil {
			return fmt.Errorf("component %s: %w", ref, err)
		}
		var c spec.Component
		if err := json.Unmarshal(a.Spec, &c); err != nil {
			return fmt.Errorf("decode component %s: %w", ref, err)
		}
		if c.Type != spec.JobPipeline {
			return invalidf("component %s is a %s component; a pipeline deployment runs a pipeline component (type: pipeline)", ref, c.Type)
		}
		d.Component = &spec.ComponentRef{Ref: "azureml:" + a.Name + ":" + a.Version, Inline: &c}
	}
	if st := d.PipelineSettings; st != nil && st.DefaultCompute != "" && st.DefaultCompute != "serverless" {
		return s.checkCompute(ctx, ws, st.DefaultCompute)
	}
	return nil
}

// jobComponent is the pipeline component a stored pipeline job implies.
func (s *Service) jobComponent(ctx context.Context, ws, name string) (*spec.Component, error) {
	if s.cfg.JobSource == nil {
		return nil, errors.New("this server keeps no jobs")
	}
	j, err := s.cfg.JobSource.GetJob(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("job %s not found in workspace %s; job_definition names a pipeline job (ciel job list)", name, ws)
	}
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", name, err)
	}
	var js spec.Job
	if err := json.Unmarshal(j.Spec, &js); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", name, err)
	}
	if js.Type != spec.JobPipeline {
		return nil, invalidf("job %s is a %s job; job_definition deploys a pipeline job", name, js.Type)
	}
	c := spec.PipelineJobComponent(&js)
	c.Name = name
	return c, nil
}

// pipelineJob builds the pipeline job an invocation of a pipeline
// deployment starts: the deployed component as its one step, the
// invocation's inputs and outputs as the job's, the deployment's settings.
// A single --input goes to the component's one data input.
func (s *Service) pipelineJob(d Deployment, in Invocation) (*spec.Job, error) {
	sp := d.Spec
	if sp.Component == nil || sp.Component.Inline == nil {
		return nil, invalidf("batch deployment %s has no stored component; create it again", d.Name)
	}
	if in.MiniBatchSize != 0 || in.InstanceCount != 0 || in.OutputFileName != "" {
		return nil, invalidf("batch deployment %s runs a pipeline component: mini_batch_size, instance_count and output_file_name apply to model deployments only", d.Name)
	}
	if in.OutputPath != "" {
		return nil, invalidf("batch deployment %s runs a pipeline component: give its outputs' paths by name in an invocation file (--file, outputs: <name>: {path: ...})", d.Name)
	}
	comp := sp.Component.Inline
	inputs := maps.Clone(in.Inputs) // spec.RunComponent drops null ones
	if inputs == nil {
		inputs = map[string]*spec.InputValue{}
	}
	if in.Input != "" {
		name, err := dataInput(d.Name, comp)
		if err != nil {
			return nil, err
		}
		typ := in.InputType
		if typ == "" {
			typ = comp.Inputs[name].Type
		}
		inputs[name] = &spec.InputValue{Type: typ, Path: in.Input}
	}
	job := &spec.Job{
		Type: spec.JobPipeline, Inputs: inputs, Outputs: in.Outputs,
		Component: &spec.ComponentRef{Inline: comp},
	}
	if st := sp.PipelineSettings; st != nil {
		cp := *st
		job.Settings = &cp
	}
	spec.RunComponent(job)
	if err := spec.CheckSubmittedJob(job); err != nil {
		return nil, invalidf("%v", err)
	}
	return job, nil
}

// dataInput names the one data input of a component, where --input goes.
func dataInput(dep string, c *spec.Component) (string, error) {
	var data []string
	for _, name := range slices.Sorted(maps.Keys(c.Inputs)) {
		if in := c.Inputs[name]; in != nil && !spec.IsLiteralType(in.Type) {
			data = append(data, name)
		}
	}
	if len(data) != 1 {
		return "", invalidf("batch deployment %s's component has %d data inputs (%s): give them by name with --file <inputs.yml>", dep, len(data), strings.Join(data, ", "))
	}
	return data[0], nil
}
