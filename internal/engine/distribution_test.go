package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// runLauncher runs what distributedLaunch returns for d and script under
// bash in a working directory of its own, as a step would, env last, and
// returns its output, exit code, time and working directory.
func runLauncher(t *testing.T, d *DistPlan, script string, env ...string) (string, int, time.Duration, string) {
	t.Helper()
	launcher, vars, err := distributedLaunch(d, script)
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// As the local executor runs a step: in its own process group, which
	// is killed once the launcher has ended.
	cmd := exec.Command("/bin/bash", "-c", launcher)
	cmd.Dir = t.TempDir()
	cmd.Env = append(append(os.Environ(), vars...), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	took := time.Since(start)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(logf.Name())
	return string(out), code, took, cmd.Dir
}

// checkProcessLogs checks that each process's user_logs file in wd holds
// the line it printed (want[i] for process i) and nothing else.
func checkProcessLogs(t *testing.T, wd string, want []string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(wd, "user_logs"))
	if len(entries) != len(want) {
		t.Errorf("user_logs has %d files, want %d", len(entries), len(want))
	}
	for i, line := range want {
		b, err := os.ReadFile(filepath.Join(wd, "user_logs", fmt.Sprintf("std_log_process_%d.txt", i)))
		if err != nil || string(b) != line+"\n" {
			t.Errorf("process %d's log: %q, %v; want %q", i, b, err, line+"\n")
		}
	}
}

func TestDistributedLaunchPyTorch(t *testing.T) {
	t.Parallel()
	d, err := distPlan("train", &spec.Distribution{Type: spec.DistPyTorch, ProcessCountPerInstance: 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	out, code, _, wd := runLauncher(t, d, `echo "$RANK $LOCAL_RANK $NODE_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $MASTER_ADDR ${MASTER_PORT:+port} ${CIEL_DIST_SCRIPT:-clean}"`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(lines)
	want := []string{"0 0 0 4 2 127.0.0.1 port clean", "1 1 0 4 2 127.0.0.1 port clean", "2 0 1 4 2 127.0.0.1 port clean", "3 1 1 4 2 127.0.0.1 port clean"}
	if code != 0 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, strings.Join(want, "\n"))
	}
	checkProcessLogs(t, wd, want)
}

func TestDistributedLaunchTensorFlow(t *testing.T) {
	t.Parallel()
	d, err := distPlan("train", &spec.Distribution{Type: spec.DistTensorFlow, WorkerCount: 2, ParameterServerCount: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	out, code, _, _ := runLauncher(t, d, `echo "$TF_CONFIG"`)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var tasks []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var cfg struct {
			Cluster map[string][]string `json:"cluster"`
			Task    struct {
				Type  string `json:"type"`
				Index int    `json:"index"`
			} `json:"task"`
		}
		if err := json.Unmarshal([]byte(line), &cfg); err != nil {
			t.Fatalf("TF_CONFIG %q: %v", line, err)
		}
		if len(cfg.Cluster["worker"]) != 2 || len(cfg.Cluster["ps"]) != 1 {
			t.Errorf("cluster = %v", cfg.Cluster)
		}
		tasks = append(tasks, cfg.Task.Type+" "+string(rune('0'+cfg.Task.Index)))
	}
	sort.Strings(tasks)
	if strings.Join(tasks, ",") != "ps 0,worker 0,worker 1" {
		t.Errorf("tasks = %v", tasks)
	}
}

// One process failing stops the others at once, and the step fails with
// its exit code.
func TestDistributedLaunchFailure(t *testing.T) {
	t.Parallel()
	d, err := distPlan("train", &spec.Distribution{Type: spec.DistPyTorch, ProcessCountPerInstance: 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	out, code, took, _ := runLauncher(t, d, `if [ "$RANK" = 1 ]; then exit 3; fi; sleep 30`)
	if code != 3 || took > 10*time.Second || !strings.Contains(out, "process 1 of 3 of the distributed step exited with code 3; stopping the others") {
		t.Errorf("exit %d after %v:\n%s", code, took, out)
	}
}

func TestDistPlanRefuses(t *testing.T) {
	t.Parallel()
	if _, err := distPlan("s", &spec.Distribution{Type: spec.DistPyTorch, ProcessCountPerInstance: 1 << 40}, 1<<40); err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Errorf("huge counts: %v", err)
	}
	if d, err := distPlan("s", &spec.Distribution{Type: spec.DistMPI, ProcessCountPerInstance: 2}, 2); err != nil || d.processes() != 4 {
		t.Errorf("mpi: %+v, %v", d, err)
	}
}

// An mpi step's processes are mpirun's; without mpirun on the step's PATH
// the step fails saying so.
func TestDistributedLaunchMPI(t *testing.T) {
	t.Parallel()
	d, err := distPlan("train", &spec.Distribution{Type: spec.DistMPI, ProcessCountPerInstance: 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no mpirun", func(t *testing.T) {
		out, code, _, _ := runLauncher(t, d, "true", "PATH=/nonexistent")
		if code != 127 || !strings.Contains(out, "starts its processes with mpirun (Open MPI), which is not on the step's PATH") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	if _, err := exec.LookPath("mpirun"); err != nil {
		t.Skip("no mpirun here: scripts/openmpi.sh install")
	}
	out, code, _, wd := runLauncher(t, d, `echo "rank $OMPI_COMM_WORLD_RANK of $OMPI_COMM_WORLD_SIZE ${CIEL_DIST_SCRIPT:-clean}"`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(lines)
	if code != 0 || strings.Join(lines, "\n") != "rank 0 of 3 clean\nrank 1 of 3 clean\nrank 2 of 3 clean" {
		t.Errorf("exit %d:\n%s", code, out)
	}
	checkProcessLogs(t, wd, []string{"rank 0 of 3 clean", "rank 1 of 3 clean", "rank 2 of 3 clean"})
}
