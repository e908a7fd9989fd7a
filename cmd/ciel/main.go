// Command ciel runs Azure ML CLI v2 jobs, pipelines and assets locally; see
// internal/cli for its commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ciel-mlops/ciel/internal/cli"
)

// version and commit are set at build time with
// -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)";
// empty for a development build, which reports what Go recorded.
var version, commit string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.NewRoot(cli.Config{Version: version, Commit: commit}).ExecuteContext(ctx)
	stop()
	if err != nil {
		if msg := cli.ErrorText(err); msg != "" {
			fmt.Fprintln(os.Stderr, "ERROR: "+msg)
		}
		os.Exit(cli.ExitCode(err))
	}
}
