package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Parallel jobs (type: parallel) through the real binary: a driver in the
// step's environment splits the input into mini-batches and runs the entry
// script's init() once per worker process and run() per mini-batch.

// parallelScore is an entry script over files: each result row is the
// file's name and first line; each call also leaves a trace file (pid,
// start, end) in the --trace folder, and fails on a file named bad*, and
// once (then succeeds) on a file named flaky*.
const parallelScore = `import argparse, os, time

def init():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--trace")
    p.add_argument("--sleep", type=float, default=0)
    args, _ = p.parse_known_args()
    print("init in", os.getpid(), "worker", os.environ.get("CIEL_PARALLEL_WORKER"), flush=True)

def run(mini_batch):
    start = time.time()
    rows = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name.startswith("bad"):
            raise ValueError("cannot score " + name)
        if name.startswith("flaky") and args.trace:
            marker = os.path.join(args.trace, name + ".tried")
            if not os.path.exists(marker):
                open(marker, "w").close()
                raise RuntimeError("first try of " + name + " fails")
        if name.startswith("slow"):
            time.sleep(30)
        with open(path) as f:
            rows.append(name + " " + f.readline().strip())
    time.sleep(args.sleep)
    if args.trace:
        with open(os.path.join(args.trace, "%s.%d" % (os.path.basename(mini_batch[0]), os.getpid())), "w") as f:
            f.write("%d %f %f\n" % (os.getpid(), start, time.time()))
    return rows
`

// writeInputs writes n files named <prefix>1.txt ... with "line <i>".
func writeInputs(e *env, dir string, names ...string) {
	for _, n := range names {
		e.write(filepath.Join(dir, n), "line of "+n+"\n")
	}
}

// parallelFiles names f01.txt ... f<n>.txt.
func parallelFiles(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("f%02d.txt", i))
	}
	return out
}

func TestParallelJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("uri_folder 2 instances x 2 workers", func(t *testing.T) {
		t.Parallel()
		e := &env{t: t, home: e.home, dir: e.dir}
		writeInputs(e, "conc/data", parallelFiles(8)...)
		e.write("conc/src/score.py", parallelScore)
		e.write("conc/job.yml", `type: parallel
inputs:
  files: {type: uri_folder, path: ./data}
outputs:
  scores: {type: uri_file}
  trace: {type: uri_folder}
input_data: ${{inputs.files}}
mini_batch_size: "2"
resources: {instance_count: 2}
max_concurrency_per_instance: 2
logging_level: DEBUG
task:
  type: run_function
  code: ./src
  entry_script: score.py
  environment: {image: python}
  program_arguments: --trace ${{outputs.trace}} --sleep 2
  append_row_to: ${{outputs.scores}}
`)
		r := e.run("job", "create", "--file", "conc/job.yml", "--stream")
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s\n%s", r.code, r.out, r.err)
		}
		for _, w := range []string{"4 mini-batch(es) of uri_folder; 4 worker(s) (2 per instance)", "worker 3 (instance 1) ran init()",
			"done: 4 of 4 mini-batch(es) succeeded, 0 failed; 8 item(s), 0 failed; 8 row(s) appended to scores"} {
			if !strings.Contains(r.out, w) {
				t.Errorf("stream lacks %q:\n%s", w, r.out)
			}
		}
		name := runIDLine.FindStringSubmatch(r.out)[1]
		// Rows in mini-batch order, whatever order the workers finished in.
		var want strings.Builder
		for _, f := range parallelFiles(8) {
			fmt.Fprintf(&want, "%s line of %s\n", f, f)
		}
		out := downloadOutput(t, e, name, "scores")
		if got := readFile(t, filepath.Join(out, "scores")); got != want.String() {
			t.Errorf("appended rows:\n%s\nwant:\n%s", got, want.String())
		}
		checkConcurrent(t, downloadOutput(t, e, name, "trace"), 4)
	})
	t.Run("summary_only", func(t *testing.T) {
		t.Parallel()
		e := &env{t: t, home: e.home, dir: e.dir}
		writeInputs(e, "summary/data", parallelFiles(3)...)
		e.write("summary/src/score.py", parallelScore)
		e.write("summary/job.yml", `type: parallel
inputs:
  files: {type: uri_folder, path: ./data}
outputs:
  trace: {type: uri_folder}
input_data: ${{inputs.files}}
mini_batch_size: "1"
output_action: summary_only
task:
  code: ./src
  entry_script: score.py
  environment: {image: python}
  program_arguments: --trace ${{outputs.trace}}
`)
		r := e.ok("job", "create", "--file", "summary/job.yml", "--stream")
		if !strings.Contains(r.out, "done: 3 of 3 mini-batch(es) succeeded, 0 failed; 3 item(s), 0 failed\n") {
			t.Errorf("stream:\n%s", r.out)
		}
		name := runIDLine.FindStringSubmatch(r.out)[1]
		if n := len(listDir(t, downloadOutput(t, e, name, "trace"))); n != 3 {
			t.Errorf("run() wrote %d trace files, want 3", n)
		}
		res := jobResult(t, e, name)
		if res["status"] != "Completed" || res["mini_batches"] != 3.0 || res["items"] != 3.0 {
			t.Errorf("job_result.json = %v", res)
		}
	})
	t.Run("failing batch retried then counted", func(t *testing.T) {
		t.Parallel()
		e := &env{t: t, home: e.home, dir: e.dir}
		writeInputs(e, "retry/data", "a.txt", "bad.txt", "flaky.txt", "z.txt")
		e.write("retry/src/score.py", parallelScore)
		e.write("retry/job.yml", `type: parallel
inputs:
  files: {type: uri_folder, path: ./data}
outputs:
  scores: {type: uri_folder}
  trace: {type: uri_folder}
input_data: ${{inputs.files}}
mini_batch_size: "1"
mini_batch_error_threshold: 1
retry_settings: {max_retries: 1, timeout: 20}
max_concurrency_per_instance: 2
task:
  code: ./src
  entry_script: score.py
  environment: {image: python}
  program_arguments: --trace ${{outputs.trace}}
  append_row_to: ${{outputs.scores}}
`)
		r := e.ok("job", "create", "--file", "retry/job.yml", "--stream")
		for _, w := range []string{
			"mini-batch 1 (1 file(s) from bad.txt) attempt 1 of 2 failed; retrying: ValueError: cannot score bad.txt",
			"mini-batch 1 (1 file(s) from bad.txt) failed after 2 attempt(s): run() raised:",
			"mini-batch 2 (1 file(s) from flaky.txt) attempt 1 of 2 failed; retrying: RuntimeError: first try of flaky.txt fails",
			"done: 3 of 4 mini-batch(es) succeeded, 1 failed; 4 item(s), 1 failed; 3 row(s) appended to parallel_run_step.txt",
		} {
			if !strings.Contains(r.out, w) {
				t.Errorf("stream lacks %q:\n%s", w, r.out)
			}
		}
		name := runIDLine.FindStringSubmatch(r.out)[1]
		got := readFile(t, filepath.Join(downloadOutput(t, e, name, "scores"), "parallel_run_step.txt"))
		if want := "a.txt line of a.txt\nflaky.txt line of flaky.txt\nz.txt line of z.txt\n"; got != want {
			t.Errorf("rows = %q, want %q", got, want)
		}
		if res := jobResult(t, e, name); res["mini_batches_failed"] != 1.0 || res["items_failed"] != 1.0 {
			t.Errorf("job_result.json = %v", res)
		}
	})
	t.Run("error_threshold exceeded fails the job", func(t *testing.T) {
		t.Parallel()
		e := &env{t: t, home: e.home, dir: e.dir}
		writeInputs(e, "threshold/data", "a.txt", "bad1.txt", "bad2.txt", "slow.txt")
		e.write("threshold/src/score.py", parallelScore)
		e.write("threshold/job.yml", `type: parallel
inputs:
  files: {type: uri_folder, path: ./data}
input_data: ${{inputs.files}}
mini_batch_size: "1"
error_threshold: 1
retry_settings: {max_retries: 0, timeout: 3}
task:
  code: ./src
  entry_script: score.py
  environment: {image: python}
`)
		r := e.run("job", "create", "--file", "threshold/job.yml", "--stream")
		if r.code == 0 {
			t.Fatalf("job succeeded:\n%s", r.out)
		}
		name := runIDLine.FindStringSubmatch(r.out)[1]
		j := e.show(name)
		want := "parallel job failed: 2 item(s) failed, more than error_threshold 1; first failed: mini-batch 1 (1 file(s) from bad1.txt): ValueError: cannot score bad1.txt"
		if j.Status != "Failed" || !strings.Contains(j.Error, want) {
			t.Errorf("job %s: %s\nwant error %q", j.Status, j.Error, want)
		}
	})
	t.Run("timeout kills the mini-batch", func(t *testing.T) {
		t.Parallel()
		e := &env{t: t, home: e.home, dir: e.dir}
		writeInputs(e, "timeout/data", "a.txt", "slow.txt")
		e.write("timeout/src/score.py", parallelScore)
		e.write("timeout/job.yml", `type: parallel
inputs:
  files: {type: uri_folder, path: ./data}
input_data: ${{inputs.files}}
mini_batch_size: "1"
retry_settings: {max_retries: 0, timeout: 2}
task:
  code: ./src
  entry_script: score.py
  environment: {image: python}
`)
		r := e.ok("job", "create", "--file", "timeout/job.yml", "--stream")
		for _, w := range []string{"mini-batch 1 (1 file(s) from slow.txt) failed after 1 attempt(s): timed out after 2s (retry_settings.timeout)",
			"done: 1 of 2 mini-batch(es) succeeded, 1 failed"} {
			if !strings.Contains(r.out, w) {
				t.Errorf("stream lacks %q:\n%s", w, r.out)
			}
		}
	})
	t.Run("parallel step in a pipeline", func(t *testing.T) {
		t.Parallel()
		e := &env{t: t, home: e.home, dir: e.dir}
		e.write("pipe/src/score.py", parallelScore)
		e.write("pipe/pipeline.yml", `type: pipeline
jobs:
  prep:
    command: for i in 1 2 3 4 5; do echo "row $i" > ${{outputs.files}}/in$i.txt; done
    environment: {image: python}
    outputs:
      files: {type: uri_folder}
  score:
    type: parallel
    inputs:
      files: ${{parent.jobs.prep.outputs.files}}
    outputs:
      scores: {type: uri_file}
    input_data: ${{inputs.files}}
    mini_batch_size: "2"
    max_concurrency_per_instance: 2
    task:
      code: ./src
      entry_script: score.py
      environment: {image: python}
      append_row_to: ${{outputs.scores}}
  report:
    command: wc -l < ${{inputs.scores}} && cat ${{inputs.scores}}
    environment: {image: python}
    inputs:
      scores: {type: uri_file, path: "${{parent.jobs.score.outputs.scores}}"}
`)
		r := e.ok("job", "create", "--file", "pipe/pipeline.yml", "--stream")
		for _, w := range []string{"[score] [parallel]", "[report] 5\n", "[report] in1.txt row 1\n", "[report] in5.txt row 5\n"} {
			if !strings.Contains(r.out, w) {
				t.Errorf("stream lacks %q:\n%s", w, r.out)
			}
		}
	})
	t.Run("mltable tabular", func(t *testing.T) {
		t.Parallel()
		if why := buildsEnvironments(); why != "" {
			t.Skip(why)
		}
		e := &env{t: t, home: e.home, dir: e.dir}
		var csv strings.Builder
		csv.WriteString("id,x\n")
		for i := 1; i <= 40; i++ {
			fmt.Fprintf(&csv, "%d,%d\n", i, i*i)
		}
		e.write("table/data/MLTable", "paths:\n  - pattern: ./*.csv\ntransformations:\n  - read_delimited:\n      delimiter: ','\n      header: all_files_same_headers\n")
		e.write("table/data/part.csv", csv.String())
		e.write("table/src/score.py", `import os
def init():
    pass
def run(df):
    out = df.copy()
    out["double"] = out["x"] * 2
    out["rows"] = len(df)
    return out
`)
		e.write("table/conda.yml", "dependencies:\n  - python=3.11\n  - pip:\n    - pandas\n    - pyyaml\n")
		e.write("table/job.yml", `type: parallel
inputs:
  table: {type: mltable, path: ./data}
outputs:
  scores: {type: uri_folder}
input_data: ${{inputs.table}}
mini_batch_size: "100b"
max_concurrency_per_instance: 2
task:
  code: ./src
  entry_script: score.py
  environment: {image: python, conda_file: ./conda.yml}
  append_row_to: ${{outputs.scores}}
`)
		r := e.ok("job", "create", "--file", "table/job.yml", "--stream")
		name := runIDLine.FindStringSubmatch(r.out)[1]
		got := readFile(t, filepath.Join(downloadOutput(t, e, name, "scores"), "parallel_run_step.txt"))
		// part.csv is 273 bytes for 40 rows, 6.825 bytes a row: 15 rows
		// make a mini-batch of 100 bytes or more, and 10 are left.
		var want strings.Builder
		for i := 1; i <= 40; i++ {
			rows := 15
			if i > 30 {
				rows = 10
			}
			fmt.Fprintf(&want, "%d %d %d %d\n", i, i*i, 2*i*i, rows)
		}
		if got != want.String() {
			t.Errorf("rows:\n%s\nwant:\n%s", got, want.String())
		}
		if !strings.Contains(r.out, "3 mini-batch(es) of mltable") {
			t.Errorf("stream:\n%s", r.out)
		}
	})
}

// buildsEnvironments is a reason to skip a test that builds a Python
// environment from PyPI, or "".
func buildsEnvironments() string {
	if testing.Short() {
		return "builds a conda environment"
	}
	if _, err := exec.LookPath("uv"); err != nil && exec.Command("python3", "-m", "venv", "--help").Run() != nil {
		return "neither uv nor python3 -m venv available"
	}
	return ""
}

// downloadOutput downloads one named output of a job.
func downloadOutput(t *testing.T, e *env, job, output string) string {
	t.Helper()
	dst := t.TempDir()
	e.ok("job", "download", "--name", job, "--output-name", output, "--download-path", dst)
	return filepath.Join(dst, "named-outputs", output)
}

// jobResult reads the summary the driver keeps with the job's artifacts.
func jobResult(t *testing.T, e *env, job string) map[string]any {
	t.Helper()
	dst := t.TempDir()
	e.ok("job", "download", "--name", job, "--all", "--download-path", dst)
	var res map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dst, "artifacts", "logs", "job_result.json"))), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		out = append(out, en.Name())
	}
	return out
}

// checkConcurrent reads the trace files run() left (pid start end) and
// checks that n calls ran, in more than one process, some at once.
func checkConcurrent(t *testing.T, dir string, n int) {
	t.Helper()
	type span struct{ start, end float64 }
	var spans []span
	pids := map[string]bool{}
	for _, name := range listDir(t, dir) {
		f := strings.Fields(readFile(t, filepath.Join(dir, name)))
		if len(f) != 3 {
			t.Fatalf("trace %s: %q", name, f)
		}
		s, _ := strconv.ParseFloat(f[1], 64)
		en, _ := strconv.ParseFloat(f[2], 64)
		spans = append(spans, span{s, en})
		pids[f[0]] = true
	}
	if len(spans) != n || len(pids) < 2 {
		t.Fatalf("%d calls in %d processes, want %d calls in 2 or more", len(spans), len(pids), n)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	overlaps := 0
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			overlaps++
		}
	}
	if overlaps == 0 {
		t.Errorf("no two run() calls overlapped: %v", spans)
	}
}

// A parallel step holds one slot of its compute per instance, as each of
// an Azure ML parallel job's instances takes a node: on a compute of two,
// a two-instance parallel step and a command step run one after the other,
// not side by side.
func TestParallelStepTakesASlotPerInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok("compute", "create", "--name", "two", "--type", "local", "--max-concurrency", "2")
	writeInputs(e, "data", "a.txt", "b.txt")
	e.write("src/score.py", parallelScore)
	e.write("src/cmd.py", "import os, sys, time\nstart = time.time()\ntime.sleep(2)\n"+
		"open(os.path.join(sys.argv[1], 'cmd'), 'w').write('%d %f %f\\n' % (os.getpid(), start, time.time()))\n")
	e.write("pipeline.yml", `type: pipeline
settings: {default_compute: azureml:two}
outputs:
  par_trace: {type: uri_folder}
  cmd_trace: {type: uri_folder}
jobs:
  par:
    type: parallel
    inputs:
      files: {type: uri_folder, path: ./data}
    outputs:
      trace: ${{parent.outputs.par_trace}}
    input_data: ${{inputs.files}}
    mini_batch_size: "1"
    resources: {instance_count: 2}
    task:
      type: run_function
      code: ./src
      entry_script: score.py
      environment: {image: python}
      program_arguments: --trace ${{outputs.trace}} --sleep 2
  cmd:
    code: ./src
    outputs:
      trace: ${{parent.outputs.cmd_trace}}
    command: python cmd.py ${{outputs.trace}}
`)
	r := e.run("job", "create", "--file", "pipeline.yml", "--stream")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", r.code, r.out, r.err)
	}
	name := runIDLine.FindStringSubmatch(r.out)[1]
	span := func(dir, file string) [2]float64 {
		f := strings.Fields(readFile(t, filepath.Join(dir, file)))
		s, _ := strconv.ParseFloat(f[1], 64)
		en, _ := strconv.ParseFloat(f[2], 64)
		return [2]float64{s, en}
	}
	parTrace := downloadOutput(t, e, name, "par_trace")
	cmd := span(downloadOutput(t, e, name, "cmd_trace"), "cmd")
	checkConcurrent(t, parTrace, 2) // the step's two instances ran side by side
	for _, f := range listDir(t, parTrace) {
		if p := span(parTrace, f); p[0] < cmd[1] && cmd[0] < p[1] {
			t.Errorf("the command step (%v) ran beside the parallel step's run() %v on a compute of two", cmd, p)
		}
	}
}
