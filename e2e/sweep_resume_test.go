package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Sweeps across a server killed mid-run: resumed, with their trials'
// values and their timeout kept.

const resumeSweep = `type: sweep
trial:
  command: python trial.py ${{search_space.x}}
  code: src
sampling_algorithm: {type: random, seed: 3}
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
objective: {goal: maximize, primary_metric: x}
limits: {max_total_trials: 4, max_concurrent_trials: 2}
`

// Kill -9 the server while a sweep's trials run: the new server resumes the
// sweep, runs the unfinished trials again with the values they were given,
// keeps the finished ones and draws the rest.
func TestSweepKill9Resumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	runs := filepath.Join(e.dir, "runs.txt")
	e.write("src/trial.py", logMetricPy+`
import sys
with open(`+strconv.Quote(runs)+`, "a") as f:
    f.write(sys.argv[1] + "\n")
if len(open(`+strconv.Quote(runs)+`).read().split()) > 2:
    time.sleep(3)
log("x", float(sys.argv[1]))
`)
	e.write("resume.yml", resumeSweep)
	name := e.submit("resume.yml")
	waitFor(t, "a slow trial to start", 90*time.Second, func() bool {
		b, _ := os.ReadFile(runs)
		return len(strings.Fields(string(b))) >= 3
	})
	_, pid := e.server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server to die", 10*time.Second, func() bool { return !alive(pid) })
	e.wait(name, 3*time.Minute)
	j := e.sweepShow(name)
	if j.Status != "Completed" {
		t.Fatalf("resumed sweep ended %s: %s", j.Status, j.Error)
	}
	trials := j.trials("")
	if len(trials) != 4 {
		t.Fatalf("%d trials after resume, want 4", len(trials))
	}
	b, _ := os.ReadFile(runs)
	ran := map[string]int{}
	for _, x := range strings.Fields(string(b)) {
		ran[x]++
	}
	for name, s := range trials {
		if s.Status != "Completed" || ran[s.Params["x"]] == 0 {
			t.Errorf("%s: %s with x=%s; values run: %v", name, s.Status, s.Params["x"], ran)
		}
	}
	if len(ran) != 4 {
		t.Errorf("the trials ran with %d different values, want the 4 drawn: %v", len(ran), ran)
	}
}

// A sweep's limits.timeout runs from its first start: a server killed and
// started again mid-sweep does not give the sweep a fresh timeout.
func TestSweepTimeoutSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	runs := filepath.Join(e.dir, "runs.txt")
	e.write("src/trial.py", `import sys, time
with open(`+strconv.Quote(runs)+`, "a") as f:
    f.write(sys.argv[1] + "\n")
time.sleep(120)
`)
	e.write("slow.yml", strings.Replace(strings.Replace(resumeSweep, "max_total_trials: 4", "max_total_trials: 2", 1),
		"limits: {", "limits: {timeout: 8, ", 1))
	submitted := time.Now()
	name := e.submit("slow.yml")
	waitFor(t, "both trials to start", 90*time.Second, func() bool {
		b, _ := os.ReadFile(runs)
		return len(strings.Fields(string(b))) >= 2
	})
	time.Sleep(time.Until(submitted.Add(5 * time.Second)))
	_, pid := e.server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server to die", 10*time.Second, func() bool { return !alive(pid) })
	j := e.wait(name, 2*time.Minute)
	if j.Status != "Failed" || !strings.Contains(j.Error, "limits.timeout") {
		t.Fatalf("sweep ended %s: %s", j.Status, j.Error)
	}
	var times struct {
		EndTime time.Time `json:"end_time"`
	}
	if err := json.Unmarshal([]byte(e.ok("job", "show", "--name", name, "-o", "json").out), &times); err != nil {
		t.Fatal(err)
	}
	// Killed 5 s in with 8 s to run: a fresh timeout after the restart
	// would end it 13 s or more after it was submitted.
	if took := times.EndTime.Sub(submitted); took > 11*time.Second {
		t.Errorf("the sweep ended %s after it was submitted; its 8 s timeout restarted with the server", took.Round(time.Millisecond))
	}
}
