package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// parallelComponentFile is a parallel component (Azure ML's
// parallelComponent schema) over a folder of files: one row per file.
const parallelComponentFile = `$schema: https://azuremlschemas.azureedge.net/latest/parallelComponent.schema.json
type: parallel
name: batch_score
version: 1
display_name: Score files in parallel
inputs:
  files: {type: uri_folder}
  sleep: {type: number, default: 0}
outputs:
  scores: {type: uri_file}
input_data: ${{inputs.files}}
mini_batch_size: "2"
max_concurrency_per_instance: 2
retry_settings: {max_retries: 1, timeout: 60}
environment_variables: {SCORE_FROM: component}
task:
  type: run_function
  code: ./src
  entry_script: score.py
  environment: {image: python}
  program_arguments: --sleep ${{inputs.sleep}}
  append_row_to: ${{outputs.scores}}
`

// parallelComponentPipeline runs COMPONENT as step score on five files
// made by a first step, and prints its rows in a third; nothing is reused,
// so each run shows what its component did.
const parallelComponentPipeline = `type: pipeline
settings: {force_rerun: true}
jobs:
  prep:
    command: for i in 1 2 3 4 5; do echo "row $i" > ${{outputs.files}}/in$i.txt; done
    environment: {image: python}
    outputs:
      files: {type: uri_folder}
  score:
    type: parallel
    component: COMPONENT
    inputs:
      files: ${{parent.jobs.prep.outputs.files}}
    mini_batch_size: "1"
    resources: {instance_count: 2}
  report:
    command: wc -l < ${{inputs.scores}} && cat ${{inputs.scores}}
    environment: {image: python}
    inputs:
      scores: {type: uri_file, path: "${{parent.jobs.score.outputs.scores}}"}
`

// A pipeline step runs a parallel component from its file and, once
// registered, by reference; the step's own settings (mini_batch_size,
// resources) override the component's.
func TestParallelComponent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("pc/src/score.py", parallelScore)
	e.write("pc/score.yml", parallelComponentFile)
	e.write("pc/train.yml", "name: train\nversion: 1\ncommand: echo train\nenvironment: {image: python}\n")
	for _, c := range []struct{ name, ref string }{{"file", "./score.yml"}, {"registered", "azureml:batch_score:1"}} {
		if c.name == "registered" {
			e.ok("component", "create", "--file", "pc/score.yml")
			var comp struct {
				Type     string `json:"type"`
				Parallel struct {
					MiniBatchSize string `json:"mini_batch_size"`
					Task          struct{ Code string }
				} `json:"parallel"`
			}
			if err := json.Unmarshal([]byte(e.ok("component", "show", "--name", "batch_score", "--version", "1", "-o", "json").out), &comp); err != nil {
				t.Fatal(err)
			}
			if comp.Type != "parallel" || comp.Parallel.MiniBatchSize != "2" || !strings.HasPrefix(comp.Parallel.Task.Code, "blob:") {
				t.Errorf("component show: %+v", comp)
			}
		}
		e.write("pc/"+c.name+".yml", strings.Replace(parallelComponentPipeline, "COMPONENT", c.ref, 1))
		r := e.ok("job", "create", "--file", "pc/"+c.name+".yml", "--stream")
		// mini_batch_size 1 and two instances of two workers: the step's
		// settings, not the component's two files per mini-batch.
		for _, w := range []string{"5 mini-batch(es) of uri_folder; 4 worker(s) (2 per instance)",
			"[report] 5\n", "[report] in1.txt row 1\n", "[report] in5.txt row 5\n"} {
			if !strings.Contains(r.out, w) {
				t.Errorf("%s: stream lacks %q:\n%s", c.name, w, r.out)
			}
		}
		name := runIDLine.FindStringSubmatch(r.out)[1]
		var job struct {
			Jobs map[string]struct {
				Component            string            `json:"component"`
				EnvironmentVariables map[string]string `json:"environment_variables"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(e.ok("job", "show", "--name", name, "-o", "json").out), &job); err != nil {
			t.Fatal(err)
		}
		if s := job.Jobs["score"]; s.Component != "batch_score:1" || s.EnvironmentVariables["SCORE_FROM"] != "component" {
			t.Errorf("%s: step score = %+v", c.name, s)
		}
	}

	e.ok("component", "create", "--file", "pc/train.yml")
	e.write("pc/wrong.yml", strings.Replace(parallelComponentPipeline, "COMPONENT", "azureml:train:1", 1))
	r := e.run("job", "create", "--file", "pc/wrong.yml")
	if r.code == 0 || !strings.Contains(r.err, "step score: a parallel step runs a parallel component; component train:1 is a command component") {
		t.Errorf("a command component as a parallel step: exit %d\n%s", r.code, r.err)
	}
}
