package cli

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/internal/serving"
)

// newServingCommand is the hidden `ciel serving`: what ciel's binary does
// inside an online deployment's pod on a kubernetes compute. Nobody types
// it.
func newServingCommand(b *base) *cobra.Command {
	g := newGroup("serving", "Serve inside an online deployment's pod (internal)", newServingInstanceCommand(b))
	g.Hidden = true
	return g
}

func newServingInstanceCommand(b *base) *cobra.Command {
	var dir string
	var drain time.Duration
	cmd := &cobra.Command{
		Use:    "instance",
		Hidden: true,
		Short:  "Run one instance of a deployment: its worker, scoring on port " + strconv.Itoa(serving.InstancePort) + " ($CIEL_INSTANCE)",
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", ":"+strconv.Itoa(serving.InstancePort))
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			// The kubelet stops a pod with SIGTERM; the instance then
			// stops being ready and finishes what it holds.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return serving.RunInstance(ctx, serving.InstanceConfig{
				Listener: ln, Getenv: b.getenv, Environ: os.Environ(), Dir: dir, Log: b.out, Drain: drain,
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", os.TempDir(), "a writable folder for the worker's script")
	cmd.Flags().DurationVar(&drain, "drain", 3*time.Second, "how long a stopping instance answers after it stops being ready")
	return cmd
}
