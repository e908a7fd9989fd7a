package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKubeParallelJob runs a parallel job on the kubernetes compute (then a
// distributed command in the same image): the
// driver, staged from the blob store beside the step's working directory,
// runs its workers in the step's pod, in an image of a plain Python
// environment the server builds; the rows come back through the S3 blob
// store, in mini-batch order.
func TestKubeParallelJob(t *testing.T) {
	t.Parallel()
	e, k, _ := kubeSetup(t, "CIEL_TOKEN=e2e-kubeparallel-"+randomSuffix(t))
	writeInputs(e, "data", parallelFiles(6)...)
	e.write("src/score.py", parallelScore)
	e.write("conda.yml", "name: plain\ndependencies:\n  - python=3.11\n")
	e.write("job.yml", `type: parallel
compute: azureml:k8s
inputs:
  files: {type: uri_folder, path: ./data}
outputs:
  scores: {type: uri_file}
input_data: ${{inputs.files}}
mini_batch_size: "2"
max_concurrency_per_instance: 2
task:
  type: run_function
  code: ./src
  entry_script: score.py
  environment: {image: python, conda_file: conda.yml}
  append_row_to: ${{outputs.scores}}
`)
	r := e.ok("job", "create", "--file", "job.yml", "--name", "par-1", "--stream")
	for _, w := range []string{"3 mini-batch(es) of uri_folder; 2 worker(s) (2 per instance)",
		"done: 3 of 3 mini-batch(es) succeeded, 0 failed; 6 item(s), 0 failed; 6 row(s) appended to scores", "Completed"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("stream lacks %q:\n%s\n%s", w, r.out, r.err)
		}
	}
	if !builtImage.MatchString(r.out) {
		t.Errorf("the step did not run in a built image:\n%s", r.out)
	}
	e.ok("job", "download", "--name", "par-1", "--output-name", "scores", "--download-path", "out")
	var want strings.Builder
	for _, f := range parallelFiles(6) {
		fmt.Fprintf(&want, "%s line of %s\n", f, f)
	}
	if got := readAt(t, filepath.Join(e.dir, "out", "named-outputs", "scores", "scores")); got != want.String() {
		t.Errorf("appended rows:\n%s\nwant:\n%s", got, want.String())
	}
	waitFor(t, "the step's Job to be marked succeeded", time.Minute, func() bool {
		jobs := k.stepJobs(t, "par-1")
		return len(jobs) == 1 && jobs["main"].Status.Succeeded == 1
	})

	// A distributed command in the same image: its two ranks run in the
	// step's pod and meet at the master's address.
	e.write("src/train.py", rendezvous)
	e.write("dist.yml", `type: command
compute: azureml:k8s
code: ./src
command: python train.py ${{outputs.out}}
environment: {image: python, conda_file: conda.yml}
outputs:
  out: {type: uri_folder}
distribution: {type: pytorch, process_count_per_instance: 2}
`)
	r = e.ok("job", "create", "--file", "dist.yml", "--name", "dist-1", "--stream")
	if strings.Count(r.out, " of 2 done") != 2 {
		t.Errorf("stream lacks two ranks:\n%s", r.out)
	}
	e.ok("job", "download", "--name", "dist-1", "--output-name", "out", "--download-path", "dist")
	if got := readAt(t, filepath.Join(e.dir, "dist", "named-outputs", "out", "rendezvous.txt")); got != "1\n" {
		t.Errorf("rank 0 met %q, want rank 1", got)
	}
}
