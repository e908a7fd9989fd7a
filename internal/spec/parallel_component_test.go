package spec

import (
	"path/filepath"
	"testing"
)

// parallelComponent is a valid parallel component file (Azure ML's
// parallelComponent schema); cases change it.
const parallelComponent = `$schema: https://azuremlschemas.azureedge.net/latest/parallelComponent.schema.json
type: parallel
name: batch_score
version: 1
inputs:
  data: {type: uri_folder}
  rate: {type: number, default: 0.5}
outputs:
  scores: {type: uri_file}
input_data: ${{inputs.data}}
mini_batch_size: "3"
resources: {instance_count: 2}
max_concurrency_per_instance: 2
mini_batch_error_threshold: 1
logging_level: DEBUG
retry_settings: {max_retries: 1, timeout: 30}
environment_variables: {A: "1"}
task:
  type: run_function
  code: ./src
  entry_script: score.py
  environment: {image: python}
  program_arguments: --rate ${{inputs.rate}}
  append_row_to: ${{outputs.scores}}
`

func TestParseParallelComponent(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"score.yml": parallelComponent, "src/score.py": ""})
	c, err := ParseComponentFile(filepath.Join(dir, "score.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Parallel
	if c.Type != JobParallel || c.Name != "batch_score" || p == nil || p.InputData != "${{inputs.data}}" || p.MiniBatchSize != "3" ||
		p.InstanceCount != 2 || p.MaxConcurrencyPerInstance != 2 || p.LoggingLevel != "DEBUG" || *p.MiniBatchErrorThreshold != 1 {
		t.Fatalf("component = %+v, parallel %+v", c, p)
	}
	if c.Retry == nil || c.Retry.MaxRetries != 1 || c.Retry.TimeoutSeconds != 30 || c.EnvironmentVariables["A"] != "1" {
		t.Errorf("retry %+v, environment_variables %v", c.Retry, c.EnvironmentVariables)
	}
	if p.Task == nil || p.Task.Code != filepath.Join(dir, "src") || p.Task.AppendRowTo != "${{outputs.scores}}" {
		t.Errorf("task = %+v", p.Task)
	}
}

// A pipeline step runs a parallel component from a file, its type taken
// from the component or written, with settings of its own that override
// the component's.
func TestParseParallelComponentStep(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"score.yml": parallelComponent, "src/score.py": "", "main.yml": `type: pipeline
inputs:
  files: {type: uri_folder, path: ./src}
jobs:
  inferred:
    component: ./score.yml
    inputs:
      data: ${{parent.inputs.files}}
  written:
    type: parallel
    component: ./score.yml
    inputs:
      data: ${{parent.inputs.files}}
    mini_batch_size: "1"
    resources: {instance_count: 3}
  registered:
    type: parallel
    component: azureml:batch_score:1
    inputs:
      data: ${{parent.inputs.files}}
`})
	j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"inferred", "written", "registered"} {
		if s := j.Jobs[name]; s.Type != JobParallel {
			t.Errorf("step %s: type %q, want parallel", name, s.Type)
		}
	}
	w := j.Jobs["written"]
	if w.Component.Inline == nil || w.Component.Inline.Type != JobParallel || w.Parallel.MiniBatchSize != "1" || w.Parallel.InstanceCount != 3 {
		t.Errorf("step written: component %+v, parallel %+v", w.Component, w.Parallel)
	}
}

func TestParseParallelComponentErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		sets []string
		want []string
	}{
		{"input_data names no input", []string{"input_data=${{inputs.nope}}"}, []string{`--set input_data=${{inputs.nope}}: input_data: no input "nope" in this component (inputs: data, rate)`}},
		{"input_data is a literal", []string{"input_data=${{inputs.rate}}"}, []string{`--set input_data=${{inputs.rate}}: input_data: input "rate" is a literal value`}},
		{"append_row_to names no output", []string{"task.append_row_to=${{outputs.nope}}"}, []string{`--set task.append_row_to=${{outputs.nope}}: task.append_row_to: no output "nope" in this component (outputs: scores)`}},
		{"program arguments name no input", []string{"task.program_arguments=--x ${{inputs.nope}}"}, []string{"--set task.program_arguments=--x ${{inputs.nope}}: task.program_arguments: command uses ${{inputs.nope}}"}},
		{"command key", []string{"command=echo"}, []string{"--set command=echo: command: only valid in a command component, not in a parallel component"}},
		{"code at the top", []string{"code=./src"}, []string{"--set code=./src: code: only valid in a command component, not in a parallel component"}},
		{"too many workers", []string{"resources.instance_count=100", "max_concurrency_per_instance=100"}, []string{"score.yml:1:1: resources.instance_count x max_concurrency_per_instance is 100 x 100"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"score.yml": parallelComponent, "src/score.py": ""})
			c, err := ParseComponentFile(filepath.Join(dir, "score.yml"), Options{Sets: tt.sets})
			if err == nil {
				t.Fatalf("parsed without error: %+v", c)
			}
			checkErrors(t, dir, err, tt.want)
		})
	}
	t.Run("no task", func(t *testing.T) {
		t.Parallel()
		dir := writeFiles(t, map[string]string{"score.yml": "type: parallel\ninputs: {d: {type: uri_folder}}\ninput_data: ${{inputs.d}}\n"})
		_, err := ParseComponentFile(filepath.Join(dir, "score.yml"), Options{})
		checkErrors(t, dir, err, []string{"score.yml:1:1: a parallel component needs task: (type run_function, code, entry_script, environment)"})
	})
}
