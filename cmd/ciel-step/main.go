// Command ciel-step is the small binary that runs inside a step's pod on a
// kubernetes compute: the init container's `ciel-step step stage-in`
// copies it into the pod and fetches the step's code and inputs, the main
// container's `ciel-step step run -- COMMAND` runs the step and stores its
// outputs (package staging does both). ciel's own binary can do the same
// (`ciel step ...`), but it is over ten times larger, and each step's pod
// copies and starts it twice; `ciel compute helper-image` puts ciel-step in
// the helper image when it finds it beside ciel.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ciel-mlops/ciel/internal/compute/staging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := staging.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, staging.TerminationLog)
	stop()
	os.Exit(code)
}
