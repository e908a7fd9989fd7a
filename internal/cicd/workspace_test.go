package cicd_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
)

// TestStopWorkspace checks deleting a workspace stops its pipeline runs:
// a running step's process is killed, the run records it was canceled, and
// the logs of the workspace's runs are removed.
func TestStopWorkspace(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	done, _ := b.run(t, svc, "steps:\n- bash: echo first\n")
	pidFile := b.dir + "/step.pid"
	b.push(t, "app", map[string]string{"azure-pipelines.yml": "steps:\n- bash: sleep 60 & echo $! > " + pidFile + "; wait\n"})
	q, err := svc.Queue(t.Context(), "ws", "p", "main", "", cicd.ReasonManual, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	deadline := time.Now().Add(time.Minute)
	for pid == 0 {
		if raw, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
		}
		if time.Now().After(deadline) {
			t.Fatal("the step never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	if err := svc.StopWorkspace(t.Context(), "ws"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("StopWorkspace took %s", took)
	}
	r, err := svc.Store().GetRun(t.Context(), "ws", q.ID)
	if err != nil || r.Status != cicd.StatusCompleted || r.Result != cicd.ResultCanceled {
		t.Errorf("run after StopWorkspace: %s/%s (%v), want completed/canceled", r.Status, r.Result, err)
	}
	if len(r.Jobs) > 0 && r.Jobs[0].Result != agent.StatusCanceled {
		t.Errorf("job result %s, want %s", r.Jobs[0].Result, agent.StatusCanceled)
	}
	for _, id := range []int64{done.ID, q.ID} {
		if _, err := os.Stat(svc.LogPath(id)); !os.IsNotExist(err) {
			t.Errorf("log of run %d still there (%v)", id, err)
		}
	}
	waitGone(t, pid)
}

// waitGone waits until process pid has exited.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(raw), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the step's process %d still runs", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
