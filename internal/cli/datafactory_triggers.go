package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// newTriggerWindowsCommand is `ciel data-factory trigger windows`: a
// tumbling window trigger's windows and where each stands.
func newTriggerWindowsCommand(b *base) *cobra.Command {
	opts := &factoryNameOpts{}
	cmd := &cobra.Command{Use: "windows", Short: "List a tumbling window trigger's windows: status, attempts, the run of each",
		RunE: runE(b, runFunc[*factoryNameOpts](func(ctx context.Context, o *factoryNameOpts) error {
			cl, err := b.client(ctx)
			if err != nil {
				return err
			}
			list, err := cl.ListFactoryTriggerWindows(ctx, o.Workspace, o.Name)
			if err != nil {
				return fmt.Errorf("windows of trigger %q: %w", o.Name, err)
			}
			if list == nil {
				list = []client.FactoryTriggerWindow{}
			}
			return o.print(b.out, list, windowTable(list...))
		}), opts)}
	opts.factoryScope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "trigger name")
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

func windowTable(list ...client.FactoryTriggerWindow) func() *textTable {
	return func() *textTable {
		t := newTable("Window start (UTC)", "Window end (UTC)", "Status", "Attempt", "Pipeline run ID", "Message")
		for _, w := range list {
			t.Row(formatTime(w.WindowStartTime), formatTime(w.WindowEndTime), w.Status, strconv.Itoa(w.Attempt), w.RunID, w.Message)
		}
		return t
	}
}

// triggerRerunOpts are the options of `ciel data-factory trigger-run
// rerun`.
type triggerRerunOpts struct {
	factoryScope
	Trigger     string
	RunID       string
	WindowStart string
	output
}

// Validate checks that the trigger and one of the run and the window are
// named.
func (o *triggerRerunOpts) Validate() error {
	switch {
	case o.Trigger == "":
		return errors.New("--trigger-name is required")
	case (o.RunID == "") == (o.WindowStart == ""):
		return errors.New("give --run-id (a trigger run of the window) or --window-start, one of them")
	}
	if _, err := parseQueryTime(o.WindowStart); err != nil {
		return fmt.Errorf("--window-start: %v", err)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// newTriggerRunRerunCommand is `ciel data-factory trigger-run rerun`: a
// tumbling window run again, as az datafactory trigger-run rerun does.
func newTriggerRunRerunCommand(b *base) *cobra.Command {
	opts := &triggerRerunOpts{}
	cmd := &cobra.Command{Use: "rerun", Short: "Run a finished tumbling window again",
		Example: `  ciel data-factory trigger-run rerun --trigger-name hourly --run-id 0b5d...
  ciel data-factory trigger-run rerun --trigger-name hourly --window-start 2026-11-01T03:00:00Z`,
		RunE: runE(b, runFunc[*triggerRerunOpts](func(ctx context.Context, o *triggerRerunOpts) error {
			cl, err := b.client(ctx)
			if err != nil {
				return err
			}
			var start time.Time
			if t, _ := parseQueryTime(o.WindowStart); t != nil {
				start = *t
			}
			w, err := cl.RerunFactoryTriggerWindow(ctx, o.Workspace, o.Trigger, o.RunID, start)
			if err != nil {
				return fmt.Errorf("rerun a window of trigger %q: %w", o.Trigger, err)
			}
			return o.print(b.out, w, windowTable(w))
		}), opts)}
	f := cmd.Flags()
	opts.factoryScope.bind(f)
	f.StringVar(&opts.Trigger, "trigger-name", "", "the tumbling window trigger")
	f.StringVar(&opts.RunID, "run-id", "", "a trigger run of the window")
	f.StringVar(&opts.WindowStart, "window-start", "", "the window's start time (RFC 3339)")
	opts.output.bind(f, formatJSON)
	return cmd
}
