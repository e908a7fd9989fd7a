package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// `ciel experiment ...`: a workspace's experiments. Every job names one
// (experiment_name, "Default" when unset); they are the workspace's MLflow
// experiments, so runs logged with mlflow from outside a job show too.

func newExperimentCommand(b *base) *cobra.Command {
	return newGroup("experiment", "List a workspace's experiments (MLflow experiments; each job's experiment_name)",
		newExperimentListCommand(b),
	)
}

// experimentTable is the table view of experiments.
func experimentTable(es ...client.Experiment) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "ID", "Created", "Last update", "State")
		for _, e := range es {
			t.Row(e.Name, e.ExperimentID, formatTimePtr(e.CreationTime), formatTimePtr(e.LastUpdateTime), e.LifecycleStage)
		}
		return t
	}
}

// formatTimePtr is formatTime for an optional time.
func formatTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

// experimentListOpts are the options of `ciel experiment list`.
type experimentListOpts struct {
	scope
	IncludeArchived bool
	MaxResults      int
	output
}

// Validate checks the limit, workspace and output.
func (o *experimentListOpts) Validate() error {
	if o.MaxResults < 0 {
		return fmt.Errorf("--max-results %d: must not be negative", o.MaxResults)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type experimentListCmd struct{ *base }

// Run prints the workspace's experiments, newest first.
func (c *experimentListCmd) Run(ctx context.Context, o *experimentListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	es, err := cl.ListExperiments(ctx, o.Workspace, o.IncludeArchived)
	if err != nil {
		return fmt.Errorf("list experiments: %w", err)
	}
	if o.MaxResults > 0 && len(es) > o.MaxResults {
		es = es[:o.MaxResults]
	}
	if es == nil {
		es = []client.Experiment{}
	}
	return o.print(c.out, es, experimentTable(es...))
}

func newExperimentListCommand(b *base) *cobra.Command {
	opts := &experimentListOpts{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List experiments, newest first",
		Example: `  ciel experiment list -w ml_workspace
  ciel experiment list --query "[].name" -o tsv`,
		RunE: runE(b, &experimentListCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.BoolVar(&opts.IncludeArchived, "include-archived", false, "include deleted experiments")
	f.IntVarP(&opts.MaxResults, "max-results", "r", 0, "list at most this many (0: all)")
	opts.output.bind(f, formatTable)
	return cmd
}
