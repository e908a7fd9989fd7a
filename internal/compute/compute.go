// Package compute defines what a compute target is asked to do: run one
// step's process and report how it ended. Executors live one per package
// (compute/local now, compute/kube later).
package compute

import (
	"context"
	"time"
)

// Task is one attempt of one step.
type Task struct {
	// Dir is the working directory; it exists.
	Dir string
	// Args is the argv to run; Args[0] is an absolute path.
	Args []string
	// Env is the complete environment of the process.
	Env []string
	// LogPath receives stdout and stderr, appended.
	LogPath string
	// Timeout, when positive, kills the process group after that long.
	Timeout time.Duration
	// OnStart, when set, is called with the process group id once the
	// process has started (so it can be recorded and killed after a crash).
	OnStart func(pgid int)
}

// Result is how an attempt ended.
type Result struct {
	ExitCode int
	TimedOut bool
	Duration time.Duration
}

// Executor runs tasks on a compute target.
type Executor interface {
	// Run starts t and waits for it. A non-zero exit is a Result, not an
	// error; an error means the process could not be run at all. Cancelling
	// ctx kills the whole process group and Run returns an error wrapping
	// ctx.Err(). Run may be called concurrently.
	Run(ctx context.Context, t Task) (Result, error)
}
