package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// `ciel run ...`: the MLflow runs of a workspace (every job and pipeline
// step is one), read through the workspace's MLflow API.

func newRunCommand(b *base) *cobra.Command {
	return newGroup("run", "List, show and compare experiment-tracking runs (MLflow runs)",
		newRunListCommand(b),
		newRunShowCommand(b),
		newRunCompareCommand(b),
	)
}

// formatMetric prints a metric value compactly.
func formatMetric(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// pairs prints a map as "k=v, ..." in key order.
func pairs[V any](m map[string]V, format func(V) string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + format(m[k])
	}
	return strings.Join(parts, ", ")
}

func runStart(r client.Run) string {
	if r.StartTime == nil {
		return ""
	}
	return formatTime(*r.StartTime)
}

// runTable is the table view of runs.
func runTable(runs ...client.Run) func() *textTable {
	return func() *textTable {
		t := newTable("Run ID", "Name", "Status", "Started", "Metrics", "Params")
		for _, r := range runs {
			t.Row(r.RunID, r.RunName, r.Status, runStart(r), pairs(r.Metrics, formatMetric),
				pairs(r.Params, func(s string) string { return s }))
		}
		return t
	}
}

// runListOpts are the options of `ciel run list`.
type runListOpts struct {
	scope
	Experiment string
	Filter     string
	OrderBy    []string
	MaxResults int
	output
}

// Validate checks the experiment is named.
func (o *runListOpts) Validate() error {
	if o.Experiment == "" {
		return errors.New("--experiment is required (a job's experiment_name; \"Default\" when unset)")
	}
	if o.MaxResults < 0 {
		return fmt.Errorf("--max-results %d: must not be negative", o.MaxResults)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type runListCmd struct{ *base }

// Run prints the experiment's runs, newest first unless --order-by says
// otherwise.
func (c *runListCmd) Run(ctx context.Context, o *runListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	exp, err := cl.GetExperimentByName(ctx, o.Workspace, o.Experiment)
	if err != nil {
		return fmt.Errorf("list runs of experiment %q: %w", o.Experiment, err)
	}
	runs, err := cl.SearchRuns(ctx, o.Workspace, client.RunSearch{ExperimentIDs: []string{exp.ExperimentID},
		Filter: o.Filter, OrderBy: o.OrderBy, MaxResults: o.MaxResults})
	if err != nil {
		return fmt.Errorf("list runs of experiment %q: %w", o.Experiment, err)
	}
	if runs == nil {
		runs = []client.Run{}
	}
	return o.print(c.out, runs, runTable(runs...))
}

func newRunListCommand(b *base) *cobra.Command {
	opts := &runListOpts{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List an experiment's runs",
		Example: `  ciel run list --experiment breast-cancer
  ciel run list --experiment breast-cancer --filter "metrics.accuracy > 0.9" --order-by "metrics.accuracy DESC"`,
		RunE: runE(b, &runListCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.Experiment, "experiment", "e", "", "experiment name")
	f.StringVar(&opts.Filter, "filter", "", "MLflow search filter, e.g. \"params.lr = '0.1' and metrics.loss < 0.5\"")
	f.StringArrayVar(&opts.OrderBy, "order-by", nil, "order, e.g. \"metrics.loss ASC\" (repeatable)")
	f.IntVarP(&opts.MaxResults, "max-results", "r", 0, "list at most this many runs (0: all)")
	opts.output.bind(f, formatTable)
	return cmd
}

// runShowOpts are the options of `ciel run show`.
type runShowOpts struct {
	scope
	RunID string
	output
}

// Validate checks the run is named.
func (o *runShowOpts) Validate() error {
	if o.RunID == "" {
		return errors.New("--run-id is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type runShowCmd struct{ *base }

// Run prints one run: its fields, then every metric, param and tag.
func (c *runShowCmd) Run(ctx context.Context, o *runShowOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	r, err := cl.GetRun(ctx, o.Workspace, o.RunID)
	if err != nil {
		return fmt.Errorf("show run %s: %w", o.RunID, err)
	}
	return o.print(c.out, r, func() *textTable {
		t := newTable("Field", "Value")
		t.Row("run_id", r.RunID)
		t.Row("name", r.RunName)
		t.Row("experiment_id", r.ExperimentID)
		t.Row("status", r.Status)
		t.Row("start_time", runStart(r))
		if r.EndTime != nil {
			t.Row("end_time", formatTime(*r.EndTime))
		}
		t.Row("artifact_uri", r.ArtifactURI)
		for _, row := range runFields(r) {
			t.Row(row[0], row[1])
		}
		return t
	})
}

// runFields are a run's metrics, params and tags as (name, value) rows:
// "metrics.x", "params.y", "tags.z", each group in key order.
func runFields(r client.Run) [][2]string {
	var rows [][2]string
	for _, k := range sortedMapKeys(r.Metrics) {
		rows = append(rows, [2]string{"metrics." + k, formatMetric(r.Metrics[k])})
	}
	for _, k := range sortedMapKeys(r.Params) {
		rows = append(rows, [2]string{"params." + k, r.Params[k]})
	}
	for _, k := range sortedMapKeys(r.Tags) {
		rows = append(rows, [2]string{"tags." + k, r.Tags[k]})
	}
	return rows
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func newRunShowCommand(b *base) *cobra.Command {
	opts := &runShowOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a run with its metrics, params and tags",
		Example: "  ciel run show --run-id 3f2a...", RunE: runE(b, &runShowCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVar(&opts.RunID, "run-id", "", "run ID")
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

// runCompareOpts are the options of `ciel run compare`.
type runCompareOpts struct {
	scope
	RunIDs []string
	output
}

// Validate checks at least two runs are named.
func (o *runCompareOpts) Validate() error {
	if len(o.RunIDs) < 2 {
		return errors.New("name at least two runs: ciel run compare RUN_ID RUN_ID [...]")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type runCompareCmd struct{ *base }

// Run prints the runs side by side: one column per run, one row per param
// and metric any of them has ("-" where a run lacks it).
func (c *runCompareCmd) Run(ctx context.Context, o *runCompareOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	runs := make([]client.Run, len(o.RunIDs))
	for i, id := range o.RunIDs {
		if runs[i], err = cl.GetRun(ctx, o.Workspace, id); err != nil {
			return fmt.Errorf("compare runs: run %s: %w", id, err)
		}
	}
	return o.print(c.out, runs, func() *textTable { return compareTable(runs) })
}

// compareTable lays runs out side by side.
func compareTable(runs []client.Run) *textTable {
	header := []string{""}
	for _, r := range runs {
		header = append(header, r.RunName+" ("+shortID(r.RunID)+")")
	}
	t := newTable(header...)
	row := func(name string, cell func(client.Run) string) {
		cells := []string{name}
		for _, r := range runs {
			c := cell(r)
			if c == "" {
				c = "-" // a blank cell would end the row early and break the columns
			}
			cells = append(cells, c)
		}
		t.Row(cells...)
	}
	row("status", func(r client.Run) string { return r.Status })
	row("start_time", runStart)
	params, metrics := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for k := range r.Params {
			params[k] = true
		}
		for k := range r.Metrics {
			metrics[k] = true
		}
	}
	for _, k := range sortedMapKeys(params) {
		row("params."+k, func(r client.Run) string { return r.Params[k] })
	}
	for _, k := range sortedMapKeys(metrics) {
		row("metrics."+k, func(r client.Run) string {
			if v, ok := r.Metrics[k]; ok {
				return formatMetric(v)
			}
			return ""
		})
	}
	return t
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func newRunCompareCommand(b *base) *cobra.Command {
	opts := &runCompareOpts{}
	run := runE(b, &runCompareCmd{b}, opts)
	cmd := &cobra.Command{
		Use:     "compare RUN_ID RUN_ID [RUN_ID...]",
		Short:   "Compare runs side by side: their params and metrics",
		Example: "  ciel run compare 3f2a... 9c1b...",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RunIDs = append(opts.RunIDs, args...)
			return run(cmd, nil)
		},
	}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringSliceVar(&opts.RunIDs, "run-ids", nil, "runs to compare (or give them as arguments)")
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}
