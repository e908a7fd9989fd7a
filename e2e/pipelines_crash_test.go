package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPipelineRunSurvivesKill9: the server is killed with SIGKILL while a
// run's step sleeps. The next server fails the run saying the server
// stopped, kills the sleep the dead server left running, and runs the next
// push normally.
func TestPipelineRunSurvivesKill9(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	e := newEnv(t)
	base, _ := e.server()
	e.ok("repos", "create", "--name", "crash")
	e.ok("pipelines", "create", "--name", "slow", "--repository", "crash", "--yaml-path", "azure-pipelines.yml")
	pidFile := filepath.Join(e.dir, "sleep.pid")
	yml := fmt.Sprintf(`trigger:
  branches:
    include: [main]
steps:
  - checkout: self
  - script: |
      if [ -f slow ]; then sh -c 'echo $$ > %s; exec sleep 60'; else echo quick run; fi
    displayName: Maybe sleep
`, pidFile)
	src := commitTree(t, map[string]string{"azure-pipelines.yml": yml, "slow": "1"})
	gitOK(t, src, "push", "-q", base+"/git/ws/crash.git", "main")

	var sleepPID int
	waitFor(t, "the step's sleep to start", 2*time.Minute, func() bool {
		b, err := os.ReadFile(pidFile)
		sleepPID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && sleepPID > 0
	})
	if runs := e.runs(); len(runs) != 1 || runs[0].Status != "inProgress" {
		t.Fatalf("runs before the kill: %+v", runs)
	}
	_, pid := e.server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to die", 10*time.Second, func() bool { return !alive(pid) })
	t.Logf("after the kill the step's sleep is alive: %v", alive(sleepPID))

	// Any command starts the next server, which settles the run.
	e.ok("pipelines", "list")
	if _, next := e.server(); next == pid {
		t.Fatal("the server was not restarted")
	}
	runs := e.runs()
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Result != "failed" ||
		!strings.Contains(runs[0].Error, "server stopped") {
		t.Fatalf("the run after the restart: %+v", runs)
	}
	waitFor(t, "the orphaned sleep to be killed", 10*time.Second, func() bool { return !alive(sleepPID) })

	// The next push runs normally.
	base, _ = e.server()
	gitOK(t, src, "rm", "-q", "slow")
	gitOK(t, src, "commit", "-qm", "fast")
	gitOK(t, src, "push", "-q", base+"/git/ws/crash.git", "main")
	var run pipelineRun
	waitFor(t, "the second run to complete", 2*time.Minute, func() bool {
		runs := e.runs()
		if len(runs) != 2 {
			t.Fatalf("runs after the second push: %+v", runs)
		}
		run = runs[0]
		return run.Status == "completed"
	})
	if run.Result != "succeeded" || run.Reason != "individualCI" {
		_, logText := send(t, "GET", fmt.Sprintf("%s/api/v1/workspaces/ws/pipeline-runs/%d/logs", base, run.ID), nil, nil)
		t.Fatalf("second run %+v\nlog:\n%s", run, logText)
	}
}
