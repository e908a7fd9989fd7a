package local

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/compute"
)

func task(t *testing.T, script string, timeout time.Duration) compute.Task {
	dir := t.TempDir()
	return compute.Task{
		Dir: dir, Args: []string{"/bin/bash", "-c", script}, Env: append(os.Environ(), "GREETING=hi there"),
		LogPath: filepath.Join(dir, "log.txt"), Timeout: timeout,
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		script   string
		timeout  time.Duration
		exit     int
		timedOut bool
		log      string
	}{
		{"success", "echo out; echo err >&2", 0, 0, false, "out\nerr\n"},
		{"exit code", "exit 7", 0, 7, false, ""},
		{"env and dir", `echo "$GREETING" $(basename "$PWD")`, 0, 0, false, "hi there "},
		{"timeout", "sleep 30", 200 * time.Millisecond, -1, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := task(t, tc.script, tc.timeout)
			started := 0
			tk.OnStart = func(pgid int) { started = pgid }
			res, err := Executor{}.Run(context.Background(), tk)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.exit || res.TimedOut != tc.timedOut {
				t.Errorf("result %+v, want exit %d timedOut %v", res, tc.exit, tc.timedOut)
			}
			if started == 0 {
				t.Error("OnStart not called")
			}
			b, _ := os.ReadFile(tk.LogPath)
			if !strings.HasPrefix(string(b), tc.log) {
				t.Errorf("log %q, want prefix %q", b, tc.log)
			}
		})
	}
}

// Cancelling kills the whole process group, including background children
// the shell started.
func TestCancelKillsGroup(t *testing.T) {
	t.Parallel()
	tk := task(t, "", 0)
	pidFile := filepath.Join(tk.Dir, "child")
	tk.Args[2] = "sleep 60 & echo $! > " + pidFile + "; wait"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := Executor{}.Run(ctx, tk); done <- err }()
	var child int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			child = n
			break
		}
	}
	if child == 0 {
		t.Fatal("child never started")
	}
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("err = %v, want a cancel", err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !running(child) {
			return
		}
	}
	t.Fatalf("background child %d survived the cancel", child)
}

func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	tk := task(t, "true", 0)
	tk.Args = nil
	if _, err := (Executor{}).Run(context.Background(), tk); err == nil {
		t.Error("empty command: want an error")
	}
	tk = task(t, "true", 0)
	tk.Args = []string{"/nonexistent/program"}
	if _, err := (Executor{}).Run(context.Background(), tk); err == nil {
		t.Error("missing program: want an error")
	}
}

// A task given its log already open writes there, after what the caller
// wrote, and leaves it open; the process reads an empty standard input.
func TestRunOpenLog(t *testing.T) {
	t.Parallel()
	tk := task(t, `cat; echo "stdin done"`, 10*time.Second)
	f, err := os.OpenFile(tk.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("[ciel] before\n")
	tk.Log = f
	tk.LogPath = filepath.Join(t.TempDir(), "not-opened.txt")
	res, err := Executor{}.Run(context.Background(), tk)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %+v, %v", res, err)
	}
	if _, err := f.WriteString("[ciel] after\n"); err != nil {
		t.Errorf("the log was closed: %v", err)
	}
	b, _ := os.ReadFile(f.Name())
	if string(b) != "[ciel] before\nstdin done\n[ciel] after\n" {
		t.Errorf("log = %q", b)
	}
	if _, err := os.Stat(tk.LogPath); !os.IsNotExist(err) {
		t.Errorf("LogPath was opened too: %v", err)
	}
}
