package spec

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// batchPipelineDeployment decodes a pipeline component deployment
// (pipelineComponentBatchDeployment schema): the pipeline component to run,
// given as component: (a registered one, a component file, or a pipeline
// job file standing in for one) or job_definition: (an existing pipeline
// job, azureml:<job name>), and the settings of the pipeline jobs it runs.
func (d *decoder) batchPipelineDeployment(n *yaml.Node, dep *BatchDeployment) {
	dep.Type = BatchDeploymentPipeline
	known := d.batchDeploymentHead(dep)
	known["type"] = func(string, *yaml.Node) {}
	known["component"] = func(p string, v *yaml.Node) { dep.Component = d.componentRef(p, v) }
	known["job_definition"] = func(p string, v *yaml.Node) {
		if s, ok := d.str(p, v); ok {
			name, err := JobDefinitionName(s)
			if err != nil {
				d.errorf(v, p, "%v", err)
			}
			dep.JobDefinition = name
		}
	}
	known["settings"] = func(p string, v *yaml.Node) { dep.PipelineSettings = d.settings(p, v) }
	d.fields(n, "", "a pipeline component batch deployment", known, batchDeploymentIgnored)
	d.require(n, "a batch deployment", "name")
	comp, job := d.lookup(n, "component"), d.lookup(n, "job_definition")
	switch {
	case comp == nil && job == nil:
		d.errorf(n, "", "a pipeline component batch deployment needs component: (azureml:<name>@latest or a pipeline component file) or job_definition: (azureml:<pipeline job name>)")
	case comp != nil && job != nil:
		d.errorf(job, "job_definition", "give component: or job_definition:, not both")
	case dep.Component != nil && dep.Component.Inline != nil && dep.Component.Inline.Type != JobPipeline:
		d.errorf(comp, "component", "a pipeline deployment runs a pipeline component (type: pipeline), not a %s component", dep.Component.Inline.Type)
	}
}

// JobDefinitionName reads a pipeline deployment's job_definition, the
// pipeline job it deploys: azureml:<job name> (or azureml://jobs/<name>).
func JobDefinitionName(s string) (string, error) {
	name, ok := strings.CutPrefix(s, "azureml:")
	if !ok {
		return "", fmt.Errorf("%q: expected azureml:<pipeline job name>; a pipeline job file is deployed as component: <file>", s)
	}
	if rest, ok := strings.CutPrefix(name, "//jobs/"); ok {
		name = rest
	}
	if err := CheckName("job", name); err != nil {
		return "", err
	}
	return name, nil
}

// checkBatchPipeline checks a pipeline deployment received over the API.
func checkBatchPipeline(dep *BatchDeployment) error {
	switch {
	case (dep.Component == nil) == (dep.JobDefinition == ""):
		return errors.New("a pipeline deployment needs one of component and job_definition")
	case dep.JobDefinition != "":
		if err := CheckName("job_definition", dep.JobDefinition); err != nil {
			return err
		}
	case dep.Component.Inline != nil:
		if dep.Component.Inline.Type != JobPipeline {
			return fmt.Errorf("component: a pipeline deployment runs a pipeline component, not a %s component", dep.Component.Inline.Type)
		}
		if err := CheckSubmittedComponent(dep.Component.Inline); err != nil {
			return fmt.Errorf("component.%w", err)
		}
	case !isAzureRef(dep.Component.Ref):
		return fmt.Errorf("component %q: expected azureml:<name>:<version> or azureml:<name>@latest", dep.Component.Ref)
	}
	if s := dep.PipelineSettings; s != nil && s.DefaultCompute != "" {
		if err := CheckName("settings.default_compute", s.DefaultCompute); err != nil {
			return err
		}
	}
	return nil
}

// BatchInvocation is an invocation file of a batch endpoint (`ciel
// batch-endpoint invoke --file inputs.yml`): the inputs and outputs of the
// job it starts, written as a job's are.
type BatchInvocation struct {
	Inputs  map[string]*InputValue  `json:"inputs,omitempty"`
	Outputs map[string]*OutputValue `json:"outputs,omitempty"`
}

// ParseBatchInvocationFile reads and parses an invocation file. Local
// paths are resolved against the file's folder and must exist.
func ParseBatchInvocationFile(path string, opts Options) (*BatchInvocation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read invocation file: %w", err)
	}
	return ParseBatchInvocation(path, data, opts)
}

// ParseBatchInvocation parses an invocation file's content.
func ParseBatchInvocation(path string, data []byte, opts Options) (*BatchInvocation, error) {
	var inv *BatchInvocation
	err := parseAsset(path, data, opts, func(d *decoder, root *yaml.Node) {
		inv = &BatchInvocation{}
		d.fields(root, "", "a batch invocation", map[string]fieldFunc{
			"inputs":  func(p string, v *yaml.Node) { inv.Inputs = d.jobInputs(p, v) },
			"outputs": func(p string, v *yaml.Node) { inv.Outputs = d.jobOutputs(p, v) },
		}, nil)
		for name, in := range inv.Inputs {
			if in.Binding != "" {
				d.errorAt(in.Pos, "inputs."+name, "an invocation has no parent to bind to; give a value or a path")
			}
		}
		for name, out := range inv.Outputs {
			if out.Binding != "" {
				d.errorAt(out.Pos, "outputs."+name, "an invocation has no parent to bind to; give a type, mode or path")
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}
