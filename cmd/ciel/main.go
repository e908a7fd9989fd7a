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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.NewRoot(cli.Config{}).ExecuteContext(ctx)
	stop()
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "ERROR: "+msg)
		}
		os.Exit(cli.ExitCode(err))
	}
}
