package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Kill -9 the server while a pipeline's middle step runs; the next command
// starts a new server, which finishes the pipeline without re-running the
// completed first step.
func TestKill9MidPipelineResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	runs := filepath.Join(e.dir, "runs.txt")
	started := filepath.Join(e.dir, "slow-started")
	e.write("p.yml", `
type: pipeline
jobs:
  first:
    type: command
    outputs: {o: {type: uri_folder}}
    command: echo first >> `+runs+` && echo data > ${{outputs.o}}/d.txt
  slow:
    type: command
    inputs: {i: "${{parent.jobs.first.outputs.o}}"}
    outputs: {o: {type: uri_folder}}
    command: echo slow >> `+runs+` && touch `+started+` && sleep 3 && cp ${{inputs.i}}/d.txt ${{outputs.o}}/d.txt
  last:
    type: command
    inputs: {i: "${{parent.jobs.slow.outputs.o}}"}
    command: echo last >> `+runs+` && cat ${{inputs.i}}/d.txt
`)
	name := e.submit("p.yml")
	waitFor(t, "slow step to start", 60*time.Second, func() bool { _, err := os.Stat(started); return err == nil })
	_, pid := e.server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server to die", 10*time.Second, func() bool { return !alive(pid) })

	// Any command starts a new server, which resumes the job.
	j := e.wait(name, 90*time.Second)
	if j.Status != "Completed" {
		t.Fatalf("resumed job ended %s: %s", j.Status, j.Error)
	}
	if _, newPID := e.server(); newPID == pid {
		t.Fatal("server was not restarted")
	}
	b, _ := os.ReadFile(runs)
	lines := strings.Fields(string(b))
	if strings.Count(string(b), "first") != 1 {
		t.Errorf("completed step re-ran after resume: %v", lines)
	}
	if strings.Count(string(b), "last") != 1 {
		t.Errorf("last step ran %d times: %v", strings.Count(string(b), "last"), lines)
	}
	r := e.ok("job", "stream", "--name", name)
	if !strings.Contains(r.out, "data") {
		t.Errorf("stream after resume lacks the last step's output:\n%s", r.out)
	}
}
