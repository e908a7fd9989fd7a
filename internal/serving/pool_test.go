package serving

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestPoolAnswers(t *testing.T) {
	t.Parallel()
	b := startPool(t, testSettings(2))
	tests := []struct {
		body   string
		status int
		code   string
		want   string
	}{
		{body: `{"data":[[1,2]]}`, status: 200, want: `{"data":[[1,2]]}`},
		{body: "error", status: 500, want: "run() raised"},
		{body: "sleep:10", status: 200, want: "sleep:10"},
	}
	for _, tt := range tests {
		r := b.score(tt.body)
		if r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
			t.Errorf("score(%q) = %d %s; want %d containing %q", tt.body, r.status, r.body, tt.status, tt.want)
		}
	}
}

func TestPoolRefusals(t *testing.T) {
	t.Parallel()
	t.Run("request timeout", func(t *testing.T) {
		t.Parallel()
		s := testSettings(1)
		s.requestTimeout = 150 * time.Millisecond
		b := startPool(t, s)
		r := b.score("sleep:1000")
		if r.status != http.StatusRequestTimeout || r.code != "RequestTimeout" {
			t.Fatalf("got %d %s, want 408 RequestTimeout", r.status, r.body)
		}
	})
	t.Run("queue wait", func(t *testing.T) {
		t.Parallel()
		s := testSettings(1)
		s.queueWait = 100 * time.Millisecond
		b := startPool(t, s)
		go b.score("sleep:600")
		time.Sleep(50 * time.Millisecond)
		r := b.score("x")
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("got %d %s, want 429", r.status, r.body)
		}
	})
	t.Run("no ready instance", func(t *testing.T) {
		t.Parallel()
		p := newPool("ep", "blue", newMetricsRegistry().get("ep", "blue"))
		r := p.submit(context.Background(), []byte("x"))
		if r.status != http.StatusServiceUnavailable || r.code != "NoHealthyInstance" {
			t.Fatalf("got %d %s, want 503 NoHealthyInstance", r.status, r.body)
		}
	})
}

// workerPID asks a worker of the pool for its process id.
func workerPID(t *testing.T, b testBundle) int {
	t.Helper()
	r := b.score("pid")
	pid, err := strconv.Atoi(string(r.body))
	if r.status != 200 || err != nil {
		t.Fatalf("pid: %d %s", r.status, r.body)
	}
	return pid
}

func TestWorkerCrashIsRestarted(t *testing.T) {
	t.Parallel()
	b := startPool(t, testSettings(1))
	before := workerPID(t, b)
	r := b.score("crash")
	if r.status != 500 || r.code != "WorkerCrashed" {
		t.Fatalf("crash answered %d %s, want 500 WorkerCrashed", r.status, r.body)
	}
	waitUntil(t, "a restarted worker", 10*time.Second, func() bool { return b.pool.ready.Load() == 1 })
	if after := workerPID(t, b); after == before {
		t.Fatalf("worker pid %d did not change after a crash", after)
	}
	if n := b.pool.metrics.restarts.Load(); n != 1 {
		t.Errorf("restarts = %d, want 1", n)
	}
	if log := b.logText(t); !strings.Contains(log, "crashing on purpose") || !strings.Contains(log, "restarting") {
		t.Errorf("the log does not tell the crash:\n%s", log)
	}
}

func TestWorkerKilledUnderLoadLosesNoRequest(t *testing.T) {
	t.Parallel()
	b := startPool(t, testSettings(2))
	var (
		ok, failed atomic.Int64
		stop       = make(chan struct{})
		wg         sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r := b.score("sleep:5"); r.status == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
					t.Logf("failed: %d %s", r.status, r.body)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	victim := b.gen.pids()[0]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the killed instance back", 10*time.Second, func() bool {
		p := b.gen.pids()[0]
		return p != 0 && p != victim
	})
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 || ok.Load() < 50 {
		t.Fatalf("%d requests failed, %d succeeded; want none failed", failed.Load(), ok.Load())
	}
}

func TestInitFailureFailsProvisioning(t *testing.T) {
	t.Parallel()
	logs, err := openLog(t.TempDir() + "/dep.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logs.close()
	p := newPool("ep", "blue", newMetricsRegistry().get("ep", "blue"))
	g := newGeneration(p, testSettings(2), testLaunch(t, "CIEL_FAKE_INIT=fail"), logs, slog.New(slog.DiscardHandler))
	g.start(true)
	err = g.waitReady(context.Background())
	g.drain(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no model") {
		t.Fatalf("waitReady = %v, want the init failure", err)
	}
}

func TestLivenessProbeRestartsHungWorker(t *testing.T) {
	t.Parallel()
	b := startPool(t, testSettings(1), "CIEL_FAKE_PING=ignore")
	waitUntil(t, "a liveness restart", 10*time.Second, func() bool { return b.pool.metrics.restarts.Load() > 0 })
	if log := b.logText(t); !strings.Contains(log, "failed its liveness probe") {
		t.Errorf("the log does not say why:\n%s", log)
	}
}

func TestBatchingGroupsConcurrentRequests(t *testing.T) {
	t.Parallel()
	s := testSettings(1)
	s.batchMax, s.batchWait = 8, 50*time.Millisecond
	b := startPool(t, s)
	go b.score("sleep:100") // keeps the worker busy while the batch gathers
	time.Sleep(20 * time.Millisecond)
	var wg sync.WaitGroup
	sizes := make([]int, 8)
	for i := range sizes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.score("batch")
			sizes[i], _ = strconv.Atoi(string(r.body))
		}()
	}
	wg.Wait()
	if largest := slices.Max(sizes); largest < 4 {
		t.Fatalf("batch sizes %v: concurrent requests were not batched", sizes)
	}
}

func TestDrainFinishesHeldRequests(t *testing.T) {
	t.Parallel()
	b := startPool(t, testSettings(1))
	done := make(chan reply, 1)
	go func() { done <- b.score("sleep:300") }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.gen.drain(ctx)
	if r := <-done; r.status != 200 {
		t.Fatalf("request held during a drain: %d %s", r.status, r.body)
	}
	if n := b.pool.ready.Load(); n != 0 {
		t.Errorf("ready = %d after drain", n)
	}
}

func TestSettingsDefaults(t *testing.T) {
	t.Parallel()
	s := settingsOf(&spec.OnlineDeployment{})
	if s.requestTimeout != 5*time.Second || s.queueWait != 500*time.Millisecond || s.concurrency != 1 ||
		s.liveness.failures != 30 || s.readiness.period != 10*time.Second || s.instances != 1 || s.batchMax != 1 {
		t.Fatalf("defaults: %+v", s)
	}
}

func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
