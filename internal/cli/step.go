package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/internal/compute/staging"
)

// newStepCommand is the hidden `ciel step`: what ciel's binary does inside
// a kubernetes step's pod (package staging) where the helper image holds no
// ciel-step (cmd/ciel-step, the same commands in a binary a tenth the size).
// Nobody types it.
func newStepCommand(b *base) *cobra.Command {
	g := newGroup("step", "Run inside a kubernetes step's pod (internal)", newStageInCommand(b), newStepRunCommand(b))
	g.Hidden = true
	return g
}

func newStageInCommand(b *base) *cobra.Command {
	var tools string
	cmd := &cobra.Command{
		Use:    "stage-in",
		Hidden: true,
		Short:  "Fetch a step's code and inputs from the blob store ($CIEL_STAGE, $CIEL_BLOB)",
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return staging.StageIn(cmd.Context(), b.getenv, tools, staging.TerminationLog, b.out)
		},
	}
	cmd.Flags().StringVar(&tools, "tools", "", "copy this binary into this folder, for the main container")
	return cmd
}

func newStepRunCommand(b *base) *cobra.Command {
	return &cobra.Command{
		Use:    "run -- COMMAND [ARG...]",
		Hidden: true,
		Short:  "Run a step's command, then store its outputs in the blob store and report their digests",
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code := staging.Run(cmd.Context(), staging.RunConfig{
				Args: args, Env: os.Environ(), Stdout: b.out, Stderr: b.errOut,
				ReportPath: staging.TerminationLog, Getenv: b.getenv,
			})
			if code != 0 {
				// The step's own output said why; main prints nothing
				// for an empty message, as a local step adds nothing.
				return &ExitError{Code: code, Err: errors.New("")}
			}
			return nil
		},
	}
}
