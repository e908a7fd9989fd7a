package spec

import (
	"path/filepath"
	"testing"
)

// parallelJob is a valid standalone parallel job; cases change it.
const parallelJob = `type: parallel
inputs:
  data: {type: uri_folder, path: ./data}
  rate: 0.5
outputs:
  scores: {type: uri_file}
input_data: ${{inputs.data}}
mini_batch_size: "3"
resources:
  instance_count: 2
max_concurrency_per_instance: 2
mini_batch_error_threshold: 1
error_threshold: -1
logging_level: DEBUG
retry_settings: {max_retries: 1, timeout: 30}
environment_variables: {A: "1"}
task:
  type: run_function
  code: ./src
  entry_script: score.py
  environment: {image: python}
  program_arguments: --rate ${{inputs.rate}} --out ${{outputs.scores}}
  append_row_to: ${{outputs.scores}}
`

var parallelFiles = map[string]string{"data/a.txt": "a", "src/score.py": "def init(): pass\n"}

func TestParseParallelJob(t *testing.T) {
	t.Parallel()
	files := map[string]string{"main.yml": parallelJob}
	for k, v := range parallelFiles {
		files[k] = v
	}
	dir := writeFiles(t, files)
	j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := j.Parallel
	if j.Type != JobParallel || p == nil || p.Task == nil {
		t.Fatalf("type %q, parallel %+v", j.Type, p)
	}
	if p.InputData != "${{inputs.data}}" || p.MiniBatchSize != "3" || p.InstanceCount != 2 || p.MaxConcurrencyPerInstance != 2 ||
		*p.MiniBatchErrorThreshold != 1 || *p.ErrorThreshold != -1 || p.LoggingLevel != "DEBUG" {
		t.Errorf("parallel = %+v", p)
	}
	if j.Retry == nil || j.Retry.MaxRetries != 1 || j.Retry.TimeoutSeconds != 30 || j.EnvironmentVariables["A"] != "1" {
		t.Errorf("retry %+v, env %v", j.Retry, j.EnvironmentVariables)
	}
	task := p.Task
	if task.Code != filepath.Join(dir, "src") || task.EntryScript != "score.py" || task.AppendRowTo != "${{outputs.scores}}" ||
		task.Environment == nil || task.Environment.Inline.Image != "python" {
		t.Errorf("task = %+v", task)
	}
}

func TestParseParallelStep(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"src/score.py": "", "main.yml": `type: pipeline
inputs:
  table: {type: mltable, path: ./src}
jobs:
  predict:
    type: parallel
    inputs:
      data: ${{parent.inputs.table}}
    outputs:
      out: {type: uri_folder}
    input_data: ${{inputs.data}}
    mini_batch_size: "10kb"
    partition_keys: [Store, Brand]
    output_action: append_row
    task:
      code: ./src
      entry_script: score.py
      environment: azureml:env:1
      append_row_to: ${{outputs.out}}
  after:
    command: cat ${{inputs.x}}
    inputs:
      x: ${{parent.jobs.predict.outputs.out}}
`})
	j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := j.Jobs["predict"]
	if s.Type != JobParallel || s.Parallel.MiniBatchSize != "10kb" || len(s.Parallel.PartitionKeys) != 2 || s.Parallel.Task.Environment.Ref != "azureml:env:1" {
		t.Errorf("step = %+v, parallel %+v", s, s.Parallel)
	}
}

var parallelErrorCases = []struct {
	name string
	sets []string
	want []string
}{
	{"bad mini_batch_size", []string{"mini_batch_size=ten"}, []string{`--set mini_batch_size=ten: mini_batch_size: invalid mini_batch_size "ten"`}},
	{"zero concurrency", []string{"max_concurrency_per_instance=0"}, []string{"--set max_concurrency_per_instance=0: max_concurrency_per_instance: expected a number >= 1, got 0"}},
	{"threshold below -1", []string{"error_threshold=-2"}, []string{"--set error_threshold=-2: error_threshold: expected -1"}},
	{"bad logging level", []string{"logging_level=TRACE"}, []string{`--set logging_level=TRACE: logging_level: unknown value "TRACE"; expected one of DEBUG, INFO, WARNING`}},
	{"bad output action", []string{"output_action=append"}, []string{`--set output_action=append: output_action: unknown value "append"`}},
	{"input_data names no input", []string{"input_data=${{inputs.nope}}"}, []string{`--set input_data=${{inputs.nope}}: input_data: no input "nope" in this job`}},
	{"input_data is a literal", []string{"input_data=${{inputs.rate}}"}, []string{`--set input_data=${{inputs.rate}}: input_data: input "rate" is a literal value`}},
	{"input_data is not a binding", []string{"input_data=./data"}, []string{`--set input_data=./data: input_data: expected ${{inputs.<name>}}`}},
	{"append_row_to names no output", []string{"task.append_row_to=${{outputs.nope}}"}, []string{`--set task.append_row_to=${{outputs.nope}}: task.append_row_to: no output "nope" in this job`}},
	{"summary_only with append_row_to", []string{"output_action=summary_only"}, []string{"main.yml:23:18: task.append_row_to: output_action is summary_only"}},
	{"entry script escapes", []string{"task.entry_script=../x.py"}, []string{`--set task.entry_script=../x.py: task.entry_script: "../x.py": expected a .py file`}},
	{"task type", []string{"task.type=model"}, []string{`--set task.type=model: task.type: task type "model" is not supported`}},
	{"unknown task key", []string{"task.command=echo"}, []string{`--set task.command=echo: task: unknown key "command" in a parallel task`}},
	{"program arguments name no input", []string{"task.program_arguments=--x ${{inputs.nope}}"}, []string{"--set task.program_arguments=--x ${{inputs.nope}}: task.program_arguments: command uses ${{inputs.nope}}"}},
	{"command key", []string{"command=echo"}, []string{"--set command=echo: command: only valid in a command job, not in a parallel job"}},
	{"instance count", []string{"resources.instance_count=0"}, []string{"--set resources.instance_count=0: resources.instance_count: expected a number >= 1, got 0"}},
}

func TestParseParallelErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range parallelErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"main.yml": parallelJob}
			for k, v := range parallelFiles {
				files[k] = v
			}
			dir := writeFiles(t, files)
			j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{Sets: tt.sets})
			if err == nil {
				t.Fatalf("parsed without error: %+v", j)
			}
			checkErrors(t, dir, err, tt.want)
		})
	}
}

func TestParseParallelMissing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, main string }{
		{"no task", "type: parallel\ninputs: {d: {type: uri_folder, path: .}}\ninput_data: ${{inputs.d}}\n"},
		{"no input_data", "type: parallel\ntask: {entry_script: a.py, environment: azureml:e:1}\n"},
		{"no entry script", "type: parallel\ninputs: {d: {type: uri_folder, path: .}}\ninput_data: ${{inputs.d}}\ntask: {environment: azureml:e:1}\n"},
		{"no environment", "type: parallel\ninputs: {d: {type: uri_folder, path: .}}\ninput_data: ${{inputs.d}}\ntask: {entry_script: a.py}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"main.yml": tt.main})
			if _, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{}); err == nil {
				t.Fatal("parsed without error")
			} else if _, ok := err.(*Error); !ok {
				if _, ok := err.(ErrorList); !ok {
					t.Fatalf("error %T: %v", err, err)
				}
			}
		})
	}
}

func TestParseMiniBatchSize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		n       int64
		hasUnit bool
		ok      bool
	}{
		{"10", 10, false, true},
		{"10kb", 10 << 10, true, true},
		{"1 MB", 1 << 20, true, true},
		{" 2Gb ", 2 << 30, true, true},
		{"5b", 5, true, true},
		{"0", 0, false, false},
		{"-1", 0, false, false},
		{"kb", 0, false, false},
		{"10 tb", 0, false, false},
		{"1.5mb", 0, false, false},
		{"99999999999999999999", 0, false, false},
		{"9999999999999gb", 0, false, false},
	} {
		n, unit, err := ParseMiniBatchSize(tt.in)
		if (err == nil) != tt.ok || n != tt.n || unit != tt.hasUnit {
			t.Errorf("ParseMiniBatchSize(%q) = %d, %v, %v; want %d, %v, ok %v", tt.in, n, unit, err, tt.n, tt.hasUnit, tt.ok)
		}
	}
}

// FuzzParseMiniBatchSize checks that no input panics and that what is
// accepted is positive and reads back the same.
func FuzzParseMiniBatchSize(f *testing.F) {
	for _, s := range []string{"10", "10kb", "1 MB", "0", "gb", "9223372036854775807", "8589934592gb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, _, err := ParseMiniBatchSize(s)
		if err != nil {
			return
		}
		if n < 1 {
			t.Fatalf("ParseMiniBatchSize(%q) = %d", s, n)
		}
		if m, _, err := ParseMiniBatchSize(s); err != nil || m != n {
			t.Fatalf("not stable: %d then %d, %v", n, m, err)
		}
	})
}

// FuzzParseParallelJob checks that no change to a parallel job makes the
// parser panic or return both a job and an error.
func FuzzParseParallelJob(f *testing.F) {
	f.Add([]byte(parallelJob))
	f.Add([]byte("type: parallel\nresources: [1]\ntask: {entry_script: ../a.py, append_row_to: x}\nmini_batch_size: 1e9kb\n"))
	f.Add([]byte("type: pipeline\njobs:\n  p: {type: parallel, input_data: '${{inputs.x}}', partition_keys: {a: 1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := ParseJob(filepath.Join("testdata", "fuzz.yml"), data, Options{})
		if (j == nil) == (err == nil) {
			t.Fatalf("ParseJob returned job %v and error %v", j != nil, err)
		}
	})
}
