package staging

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

// TerminationLog is where Kubernetes reads a container's termination
// message from, where the helper leaves its Report.
const TerminationLog = "/dev/termination-log"

// StageIn is `step stage-in`: it copies the running binary into tools
// (when not ""), for the main container to run the step under, and
// recreates the stage its environment names from the blob store. What went
// wrong also goes to reportPath as a Report, which the executor reads.
func StageIn(ctx context.Context, getenv func(string) string, tools, reportPath string, log io.Writer) error {
	err := stageIn(ctx, getenv, tools, log)
	if err != nil && reportPath != "" {
		_ = WriteReport(reportPath, Report{Error: err.Error()})
	}
	return err
}

func stageIn(ctx context.Context, getenv func(string) string, tools string, log io.Writer) error {
	st, err := ParseStage(getenv(EnvStage))
	if err != nil {
		return err
	}
	if tools != "" {
		if err := CopySelf(tools); err != nil {
			return err
		}
	}
	s, err := OpenStore(ctx, getenv)
	if err != nil {
		return err
	}
	return In(ctx, s, st, log)
}

// Main is the command line of ciel-step (cmd/ciel-step), the small binary a
// step's pod runs: `step stage-in [--tools DIR]` and `step run -- COMMAND
// [ARG...]`, the same words as ciel's own hidden `ciel step`, so a helper
// image may hold either. The Report goes to reportPath (TerminationLog in
// a pod). It returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, reportPath string) int {
	usage := func() int {
		fmt.Fprintln(stderr, "usage: ciel-step step stage-in [--tools DIR] | ciel-step step run -- COMMAND [ARG...]")
		return 2
	}
	if len(args) < 2 || args[0] != "step" {
		return usage()
	}
	switch args[1] {
	case "stage-in":
		fs := flag.NewFlagSet("stage-in", flag.ContinueOnError)
		fs.SetOutput(stderr)
		tools := fs.String("tools", "", "copy this binary into this folder, for the main container")
		if err := fs.Parse(args[2:]); err != nil || fs.NArg() != 0 {
			return usage()
		}
		if err := StageIn(ctx, os.Getenv, *tools, reportPath, stdout); err != nil {
			fmt.Fprintln(stderr, "ERROR:", err)
			return 1
		}
		return 0
	case "run":
		cmd := args[2:]
		if len(cmd) > 0 && cmd[0] == "--" {
			cmd = cmd[1:]
		}
		if len(cmd) == 0 {
			return usage()
		}
		return Run(ctx, RunConfig{Args: cmd, Env: os.Environ(), Stdout: stdout, Stderr: stderr,
			ReportPath: reportPath, Getenv: os.Getenv})
	}
	return usage()
}
