// Package compute defines what a compute target is asked to do: run one
// step's process and report how it ended. Executors live one per package
// (compute/local: processes on this machine; compute/kube: Kubernetes
// Jobs).
package compute

import (
	"context"
	"os"
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
	// Log, when set, is LogPath already open for appending, which a local
	// executor writes to instead of opening the file again; the caller
	// closes it.
	Log *os.File
	// Timeout, when positive, kills the process group after that long.
	Timeout time.Duration
	// OnStart, when set, is called with the process group id once the
	// process has started (so it can be recorded and killed after a crash).
	// Executors that start no local process do not call it.
	OnStart func(pgid int)

	// What follows is for executors whose process runs on another machine
	// and so sees neither this machine's disk nor its environment; the
	// local executor ignores it.

	// Workspace, Job, Step and Attempt name the attempt, for the names
	// and labels of what a remote executor creates.
	Workspace, Job, Step string
	Attempt              int
	// Script is the step's rendered command, which Args runs (perhaps
	// directly, without a shell); a remote executor runs it with
	// /bin/bash -c, its programs found in the image.
	Script string
	// StepEnv is the part of Env that ciel set for the step (its
	// variables, inputs and outputs, tracking), without what the server's
	// own environment passed on.
	StepEnv []string
	// Image is the environment's container image; "" when it has none.
	Image string
	// InstanceType is the size the step asked for (resources.instance_type);
	// "" for the target's default.
	InstanceType string
	// Stage says what the engine put in place under the step's folder and
	// what it collects from it afterwards.
	Stage *Stage
}

// Stage is what a step's folder holds before it runs and what is kept of it
// after: an executor on another machine recreates the folder there, at the
// same path, from the blob store, and stores what Collect names back in it.
type Stage struct {
	// Root is the step's folder; the paths below are relative to it,
	// slash-separated.
	Root string `json:"root"`
	// Trees are blob-store trees to materialise.
	Trees []StagedTree `json:"trees,omitempty"`
	// Dirs are empty folders to create.
	Dirs []string `json:"dirs,omitempty"`
	// Collect are folders whose contents are stored as trees after the
	// command exits, whatever its exit code; a folder that does not exist
	// is skipped.
	Collect []Collected `json:"collect,omitempty"`
}

// StagedTree is one tree of a Stage.
type StagedTree struct {
	Path     string `json:"path"`
	Digest   string `json:"digest"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Collected is one folder a Stage collects, under a key the engine reads
// the tree's digest back by.
type Collected struct {
	Key  string `json:"key"`
	Path string `json:"path"`
}

// Result is how an attempt ended.
type Result struct {
	ExitCode int
	TimedOut bool
	Duration time.Duration
	// Collected holds the digest of each folder the task's Stage
	// collected, by key, when the executor stored them itself; nil means
	// the folders are on this machine's disk for the engine to read.
	Collected map[string]string
}

// Executor runs tasks on a compute target.
type Executor interface {
	// Run starts t and waits for it. A non-zero exit is a Result, not an
	// error; an error means the process could not be run at all. Cancelling
	// ctx kills the whole process group and Run returns an error wrapping
	// ctx.Err(). Run may be called concurrently.
	Run(ctx context.Context, t Task) (Result, error)
}
