package serving

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests run the test binary itself as a worker (fakeWorker) when
// CIEL_FAKE_WORKER is set, so the pool, generation and front end are tested
// against real processes and sockets without Python.

func TestMain(m *testing.M) {
	if os.Getenv("CIEL_FAKE_WORKER") == "1" {
		fakeWorker()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeWorker speaks worker.py's protocol on fd 3. A request body says what
// to do: "sleep:<ms>" answers after a pause, "crash" exits, "kill" kills
// itself with SIGKILL, "error" answers 500, "pid" answers the process id;
// anything else is echoed. CIEL_FAKE_INIT=fail fails init, =slow:<ms>
// delays READY; CIEL_FAKE_PING=ignore never answers probes.
func fakeWorker() {
	conn, err := net.FileConn(os.NewFile(3, "sock"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		os.Exit(2)
	}
	br, bw := bufio.NewReader(conn), bufio.NewWriter(conn)
	send := func(f frame) {
		_ = writeFrame(bw, f)
		_ = bw.Flush()
	}
	switch init := os.Getenv("CIEL_FAKE_INIT"); {
	case init == "fail":
		fmt.Fprintln(os.Stderr, "Traceback: init() raised ValueError: no model")
		send(frame{Type: frameInitFailed, Payload: []byte("ValueError: no model")})
		os.Exit(3)
	case strings.HasPrefix(init, "slow:"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(init, "slow:"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	fmt.Println("fake model loaded")
	send(frame{Type: frameReady, Payload: []byte(`{}`)})
	var batch []frame
	for {
		f, err := readFrame(br)
		if err != nil {
			os.Exit(0)
		}
		switch f.Type {
		case framePing:
			if os.Getenv("CIEL_FAKE_PING") != "ignore" {
				send(frame{Type: framePong, ID: f.ID})
			}
			continue
		case frameRequest:
		default:
			continue
		}
		batch = append(batch, f)
		if f.Flags&flagMore != 0 {
			continue
		}
		for _, r := range batch {
			status, body := fakeScore(r.Payload, len(batch))
			_ = writeFrame(bw, frame{Type: frameReply, ID: r.ID, Status: status, Payload: body})
		}
		_ = bw.Flush()
		batch = batch[:0]
	}
}

func fakeScore(body []byte, batchSize int) (uint16, []byte) {
	s := string(body)
	switch {
	case strings.HasPrefix(s, "sleep:"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(s, "sleep:"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return 200, body
	case s == "crash":
		fmt.Fprintln(os.Stderr, "crashing on purpose")
		os.Exit(1)
	case s == "kill":
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Kill()
		time.Sleep(time.Second)
	case s == "error":
		return 500, []byte(`{"error":{"code":"ScoringError","message":"run() raised"}}`)
	case s == "pid":
		return 200, []byte(strconv.Itoa(os.Getpid()))
	case s == "batch":
		return 200, []byte(strconv.Itoa(batchSize))
	}
	return 200, body
}

// testLaunch is a launch that runs fakeWorker with extra environment.
func testLaunch(t testing.TB, env ...string) launch {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return launch{python: exe, script: "-test.run=^$", dir: t.TempDir(),
		env: append(append(os.Environ(), "CIEL_FAKE_WORKER=1"), env...)}
}

// testSettings are quick settings for tests: short probes and timeouts.
func testSettings(instances int) settings {
	p := probe{delay: 50 * time.Millisecond, period: 50 * time.Millisecond, timeout: 200 * time.Millisecond, successes: 1, failures: 3}
	// Readiness bounds how long a worker may take to load; a race-built
	// fake worker on a loaded 2-core machine can take over a second.
	ready := p
	ready.failures = 200
	return settings{instances: instances, requestTimeout: 2 * time.Second, queueWait: time.Second, concurrency: 1,
		batchMax: 1, liveness: p, readiness: ready}
}

// testBundle is a pool served by a running generation.
type testBundle struct {
	pool *pool
	gen  *generation
	logs *logSink
}

// startPool starts a generation of fake workers and waits until it serves.
func startPool(t testing.TB, s settings, env ...string) testBundle {
	t.Helper()
	logs, err := openLog(t.TempDir() + "/dep.log")
	if err != nil {
		t.Fatal(err)
	}
	p := newPool("ep", "blue", newMetricsRegistry().get("ep", "blue"))
	g := newGeneration(p, s, testLaunch(t, env...), logs, slog.New(slog.DiscardHandler))
	g.start(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.waitReady(ctx); err != nil {
		t.Fatalf("workers did not start: %v", err)
	}
	p.swap(g)
	g.activate()
	waitPulling(p, 5*time.Second)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.drain(ctx)
		logs.close()
	})
	return testBundle{pool: p, gen: g, logs: logs}
}

// score submits one request and returns the reply.
func (b testBundle) score(body string) reply {
	return b.pool.submit(context.Background(), []byte(body))
}

// logText returns what the deployment log holds.
func (b testBundle) logText(t testing.TB) string {
	t.Helper()
	f, err := os.Open(b.logs.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, f)
	return buf.String()
}
