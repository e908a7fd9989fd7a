package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/engine"
)

// parallelFolder is a job folder with an entry script src/score.py and a
// data folder data/ of one file.
func parallelFolder(t *testing.T) string {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "score.py"), []byte("def run(b): return b\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "a.txt"), []byte("a"), 0o644)
	return dir
}

func TestPlanParallelStep(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	dir := parallelFolder(t)
	j := parse(t, dir, `type: pipeline
jobs:
  score:
    type: parallel
    inputs:
      files: {type: uri_folder, path: ./data}
      tag: x
    outputs:
      rows: {type: uri_file}
    input_data: ${{inputs.files}}
    mini_batch_size: "3"
    resources: {instance_count: 3}
    max_concurrency_per_instance: 2
    mini_batch_error_threshold: 4
    retry_settings: {max_retries: 5, timeout: 9}
    environment_variables: {A: b}
    task:
      code: ./src
      entry_script: score.py
      environment: {image: python}
      program_arguments: --tag ${{inputs.tag}}
      append_row_to: ${{outputs.rows}}
`)
	plan, err := e.BuildPlan(context.Background(), "ws", j)
	if err != nil {
		t.Fatal(err)
	}
	ps := plan.Steps[0]
	want := `python3 "$CIEL_PARALLEL_DRIVER" --input-data ${{inputs.files}} --append-row-to ${{outputs.rows}} -- --tag ${{inputs.tag}}`
	if ps.Command != want || ps.MaxRetries != 0 || ps.TimeoutSecs != 0 || ps.EnvVars["A"] != "b" || ps.Code == "" {
		t.Errorf("step = %+v\ncommand %s\nwant    %s", ps, ps.Command, want)
	}
	var cfg engine.ParallelConfig
	if err := json.Unmarshal([]byte(ps.EnvVars[engine.ParallelConfigEnv]), &cfg); err != nil {
		t.Fatal(err)
	}
	if ps.Parallel == nil || cfg.Workers != 6 || cfg.WorkersPerInstance != 2 || cfg.MaxRetries != 5 || cfg.TimeoutSeconds != 9 ||
		cfg.MiniBatchErrorThreshold != 4 || cfg.ErrorThreshold != -1 || cfg.InputType != "uri_folder" || cfg.OutputAction != "append_row" ||
		cfg.LoggingLevel != "INFO" || cfg.Driver == "" {
		t.Errorf("config = %+v", cfg)
	}
}

func TestParallelCommandRefuses(t *testing.T) {
	t.Parallel()
	ok := engine.ParallelTask{InputData: "in", Config: engine.ParallelConfig{EntryScript: "s.py", Workers: 1, WorkersPerInstance: 1}}
	for _, tt := range []struct {
		name string
		edit func(*engine.ParallelTask)
		err  string
	}{
		{"entry script outside the code", func(p *engine.ParallelTask) { p.Config.EntryScript = "../s.py" }, "entry script"},
		{"bad input name", func(p *engine.ParallelTask) { p.InputData = "a b" }, "port names"},
		{"no workers", func(p *engine.ParallelTask) { p.Config.Workers = 0 }, "workers"},
		{"bad size", func(p *engine.ParallelTask) { p.Config.MiniBatchSize = "x" }, "mini_batch_size"},
	} {
		task := ok
		tt.edit(&task)
		if _, _, err := engine.ParallelCommand(task); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
		}
	}
	if cmd, env, err := engine.ParallelCommand(ok); err != nil || !strings.HasSuffix(cmd, "--input-data ${{inputs.in}} --") || env[engine.ParallelConfigEnv] == "" {
		t.Errorf("ParallelCommand = %q, %v, %v", cmd, env, err)
	}
}

func TestParallelAppendRowFileName(t *testing.T) {
	t.Parallel()
	task := engine.ParallelTask{InputData: "in", AppendRowTo: "out", Config: engine.ParallelConfig{EntryScript: "s.py", Workers: 1, WorkersPerInstance: 1}}
	for name, ok := range map[string]bool{"predictions.csv": true, "../x": false, "a/b": false, "..": false, "a\nb": false} {
		task.Config.AppendRowFileName = name
		if _, _, err := engine.ParallelCommand(task); (err == nil) != ok {
			t.Errorf("file name %q: err %v, want ok %v", name, err, ok)
		}
	}
}

// A pipeline step runs a parallel component: the component's settings,
// overridden by those the step gives.
func TestPlanParallelComponentStep(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	dir := parallelFolder(t)
	os.WriteFile(filepath.Join(dir, "score.yml"), []byte(`type: parallel
name: batch_score
version: 1
inputs:
  files: {type: uri_folder}
  tag: {type: string, default: x}
outputs:
  rows: {type: uri_file}
input_data: ${{inputs.files}}
mini_batch_size: "3"
resources: {instance_count: 2}
max_concurrency_per_instance: 2
retry_settings: {max_retries: 1, timeout: 30}
environment_variables: {A: from-component, B: from-component}
task:
  code: ./src
  entry_script: score.py
  environment: {image: python}
  program_arguments: --tag ${{inputs.tag}}
  append_row_to: ${{outputs.rows}}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "train.yml"), []byte("name: train\nversion: 1\ncommand: echo\n"), 0o644)
	j := parse(t, dir, `type: pipeline
inputs:
  data: {type: uri_folder, path: ./data}
jobs:
  score:
    component: ./score.yml
    inputs:
      files: ${{parent.inputs.data}}
    mini_batch_size: "1"
    resources: {instance_count: 3}
    environment_variables: {B: from-step}
`)
	plan, err := e.BuildPlan(context.Background(), "ws", j)
	if err != nil {
		t.Fatal(err)
	}
	ps := plan.Steps[0]
	want := `python3 "$CIEL_PARALLEL_DRIVER" --input-data ${{inputs.files}} --append-row-to ${{outputs.rows}} -- --tag ${{inputs.tag}}`
	if ps.Command != want || ps.Component != "batch_score:1" || ps.EnvVars["A"] != "from-component" || ps.EnvVars["B"] != "from-step" ||
		ps.Inputs["tag"].Value == nil || *ps.Inputs["tag"].Value != "x" || ps.Outputs["rows"].Type != "uri_file" {
		t.Errorf("step = %+v\ncommand %s\nwant    %s", ps, ps.Command, want)
	}
	var cfg engine.ParallelConfig
	if err := json.Unmarshal([]byte(ps.EnvVars[engine.ParallelConfigEnv]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Workers != 6 || cfg.WorkersPerInstance != 2 || cfg.MiniBatchSize != "1" || cfg.MaxRetries != 1 || cfg.TimeoutSeconds != 30 {
		t.Errorf("config = %+v", cfg)
	}

}
