package sqldb

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// metricCrashEnv names the database TestHelperMetricWriter logs to; when it
// is unset the helper is skipped, so it runs only as a child process.
const metricCrashEnv = "CIEL_SQLITE_METRIC_CRASH_DB"

const (
	metricWriters = 8
	metricAcks    = 400
	crashRunID    = "00000000000000000000000000c0ffee"
)

// TestHelperMetricWriter is the child of TestTrackingCrashDurability: its
// goroutines log metric values one call at a time and print "ack <key>
// <step>" once LogBatch has acknowledged each, until killed.
func TestHelperMetricWriter(t *testing.T) {
	path := os.Getenv(metricCrashEnv)
	if path == "" {
		t.Skip("helper process for TestTrackingCrashDurability")
	}
	s, err := Open(context.Background(), childConfig(path))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for g := range metricWriters {
		wg.Go(func() {
			key := fmt.Sprintf("m%d", g)
			for step := 1; ctx.Err() == nil; step++ {
				m := tracking.Metric{Key: key, Value: float64(step), Step: int64(step), Timestamp: int64(step)}
				if err := s.LogBatch(ctx, "ws", crashRunID, tracking.Batch{Metrics: []tracking.Metric{m}}); err != nil {
					fmt.Fprintln(os.Stderr, "log:", err)
					os.Exit(2)
				}
				fmt.Printf("ack %s %d\n", key, step)
			}
		})
	}
	wg.Wait()
}

// TestTrackingCrashDurability kills a process logging metrics with SIGKILL
// and checks every value it acknowledged is in the history afterwards.
func TestTrackingCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crash.db")
	s := openTest(t, path)
	if err := s.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRun(t.Context(), "ws", tracking.RunInfo{RunID: crashRunID, ExperimentID: "0",
		Status: tracking.StatusRunning, StartTime: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMetricWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), metricCrashEnv+"="+where(testConfig(t, path)))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	acked, total := map[string]int{}, 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		n, _ := strconv.Atoi(f[2])
		acked[f[1]] = max(acked[f[1]], n)
		if total++; total == metricAcks {
			_ = cmd.Process.Kill()
		}
	}
	_ = cmd.Wait()
	if total < metricAcks {
		t.Fatalf("child acknowledged only %d writes", total)
	}

	s = openTest(t, path)
	for key, last := range acked {
		hist, err := s.MetricHistory(t.Context(), "ws", crashRunID, key, 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) < last {
			t.Errorf("metric %s: %d values stored, %d acknowledged", key, len(hist), last)
		}
	}
}
