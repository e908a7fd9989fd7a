// Package local runs steps as processes on this machine, each in its own
// process group so that a cancel or a timeout kills everything the step
// started, not just its shell.
package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/ciel-mlops/ciel/internal/compute"
)

// devNull is /dev/null, open for reading: every step's standard input.
var devNull = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })

// Executor runs tasks as local processes. The zero value is ready to use.
type Executor struct{}

var _ compute.Executor = (*Executor)(nil)

// Run implements compute.Executor.
func (Executor) Run(ctx context.Context, t compute.Task) (compute.Result, error) {
	if len(t.Args) == 0 {
		return compute.Result{}, errors.New("run step: empty command")
	}
	logf := t.Log
	if logf == nil {
		f, err := os.OpenFile(t.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return compute.Result{}, fmt.Errorf("open step log: %w", err)
		}
		defer f.Close()
		logf = f
	}
	cmd := &exec.Cmd{
		Path:        t.Args[0],
		Args:        t.Args,
		Env:         t.Env,
		Dir:         t.Dir,
		Stdout:      logf,
		Stderr:      logf,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if f, err := devNull(); err == nil {
		// What os/exec would open for a nil Stdin, opened once.
		cmd.Stdin = f
	}
	start := time.Now()
	err := cmd.Start()
	if err != nil {
		return compute.Result{}, fmt.Errorf("start %s: %w", t.Args[0], err)
	}
	pgid := cmd.Process.Pid
	if t.OnStart != nil {
		t.OnStart(pgid)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timeout <-chan time.Time
	if t.Timeout > 0 {
		timer := time.NewTimer(t.Timeout)
		defer timer.Stop()
		timeout = timer.C
	}
	var res compute.Result
	select {
	case err = <-done:
	case <-timeout:
		KillGroup(pgid)
		err = <-done
		res.TimedOut = true
	case <-ctx.Done():
		KillGroup(pgid)
		<-done
		return compute.Result{Duration: time.Since(start), ExitCode: -1}, fmt.Errorf("step killed: %w", ctx.Err())
	}
	// The shell may have exited while children it started in the
	// background still run; they belong to the step and die with it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	res.Duration = time.Since(start)
	res.ExitCode = cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return res, fmt.Errorf("wait for step: %w", err)
	}
	return res, nil
}

// KillGroup terminates a process group: SIGTERM, then SIGKILL shortly after
// if anything is left. It is safe to call on a group that no longer exists.
func KillGroup(pgid int) {
	if pgid <= 0 {
		return
	}
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
