package staging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

// RunConfig configures Run.
type RunConfig struct {
	// Args is the step's command; Args[0] is found on PATH.
	Args []string
	// Env is the helper's environment; the step gets it without the
	// blob store's URL, keys and the stage.
	Env []string
	// Stdout and Stderr receive the step's output.
	Stdout, Stderr io.Writer
	// ReportPath is where the Report goes (the termination message file).
	ReportPath string
	// Getenv reads the helper's environment (os.Getenv).
	Getenv func(string) string
}

// Run runs the step's command, then stores the folders the stage collects,
// whatever the exit code, and writes the Report. It returns the exit code
// the helper should exit with: the command's, or 1 when staging failed
// after a command that succeeded. SIGTERM and SIGINT are passed on to the
// command.
func Run(ctx context.Context, cfg RunConfig) int {
	report := Report{}
	code, err := runCommand(cfg)
	if err != nil {
		report.Error = err.Error()
		fmt.Fprintf(cfg.Stderr, "[ciel] %v\n", err)
	}
	if serr := collect(ctx, cfg, &report); serr != nil {
		report.Error = strings.TrimPrefix(report.Error+"; ", "; ") + serr.Error()
		fmt.Fprintf(cfg.Stderr, "[ciel] %v\n", serr)
		if code == 0 {
			code = 1
		}
	}
	if werr := WriteReport(cfg.ReportPath, report); werr != nil {
		fmt.Fprintf(cfg.Stderr, "[ciel] write report: %v\n", werr)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// collect stores the stage's folders into report.
func collect(ctx context.Context, cfg RunConfig, report *Report) error {
	st, err := ParseStage(cfg.Getenv(EnvStage))
	if err != nil {
		return err
	}
	s, err := OpenStore(ctx, cfg.Getenv)
	if err != nil {
		return err
	}
	report.Collected, err = Out(ctx, s, st)
	return err
}

// runCommand runs the step and returns its exit code; an error means it
// could not start (code 127, as a shell says).
func runCommand(cfg RunConfig) (int, error) {
	if len(cfg.Args) == 0 {
		return 127, errors.New("no command")
	}
	path, err := exec.LookPath(cfg.Args[0])
	if err != nil {
		return 127, fmt.Errorf("start %s: %w", cfg.Args[0], err)
	}
	cmd := &exec.Cmd{Path: path, Args: cfg.Args, Env: stepEnviron(cfg.Env), Stdout: cfg.Stdout, Stderr: cfg.Stderr}
	if err := cmd.Start(); err != nil {
		return 127, fmt.Errorf("start %s: %w", cfg.Args[0], err)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case err := <-done:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				return 1, fmt.Errorf("wait for the step: %w", err)
			}
			code := cmd.ProcessState.ExitCode()
			if code < 0 { // killed by a signal
				if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					code = 128 + int(ws.Signal())
				}
			}
			return code, nil
		}
	}
}

// stepEnviron is env without what only the helper needs.
func stepEnviron(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case EnvStage, EnvBlob, EnvBlobKeyID, EnvBlobSecret, EnvBlobToken:
			continue
		}
		out = append(out, kv)
	}
	return out
}
