package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// factoryRunTable is the table view of pipeline runs.
func factoryRunTable(list ...client.FactoryPipelineRun) func() *textTable {
	return func() *textTable {
		t := newTable("Run ID", "Pipeline", "Status", "Start (UTC)", "Duration", "Message")
		for _, r := range list {
			t.Row(r.RunID, r.PipelineName, r.Status, formatTimePtr(r.RunStart), formatMs(r.DurationInMs), r.Message)
		}
		return t
	}
}

// formatMs formats a duration in milliseconds for tables.
func formatMs(ms *int64) string {
	if ms == nil {
		return ""
	}
	return (time.Duration(*ms) * time.Millisecond).String()
}

// factoryRunOpts are the options of the commands on one pipeline run.
type factoryRunOpts struct {
	factoryScope
	RunID string
	output
}

// Validate checks the run ID and workspace.
func (o *factoryRunOpts) Validate() error {
	if o.RunID == "" {
		return errors.New("--run-id is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func bindFactoryRun(cmd *cobra.Command, o *factoryRunOpts) {
	o.factoryScope.bind(cmd.Flags())
	cmd.Flags().StringVar(&o.RunID, "run-id", "", "the pipeline run's ID")
	o.output.bind(cmd.Flags(), formatJSON)
}

// createRunOpts are the options of `ciel data-factory pipeline create-run`.
type createRunOpts struct {
	factoryScope
	Name       string
	Parameters string
	Wait       bool
	output
}

// Validate checks the pipeline's name and the parameters' JSON.
func (o *createRunOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// parameters reads --parameters: a JSON object, inline or @file.
func (o *createRunOpts) parameters() (map[string]any, error) {
	if o.Parameters == "" {
		return nil, nil
	}
	raw, what := []byte(o.Parameters), "--parameters"
	if file, ok := strings.CutPrefix(o.Parameters, "@"); ok {
		var err error
		if raw, err = os.ReadFile(file); err != nil {
			return nil, err
		}
		what = file
	}
	var params map[string]any
	if err := json.Unmarshal(raw, &params); err != nil {
		return nil, fmt.Errorf("%s: expected a JSON object of parameter values ({\"day\": \"2026-11-01\"}): %v", what, err)
	}
	return params, nil
}

type createRunCmd struct{ *base }

// Run starts the run and prints its ID, or with --wait follows it to its
// end and prints it, failing when it failed.
func (c *createRunCmd) Run(ctx context.Context, o *createRunOpts) error {
	params, err := o.parameters()
	if err != nil {
		return usageError(err)
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	id, err := cl.CreateFactoryPipelineRun(ctx, o.Workspace, o.Name, params)
	if err != nil {
		return fmt.Errorf("run pipeline %q: %w", o.Name, err)
	}
	if !o.Wait {
		return o.print(c.out, map[string]string{"runId": id}, nil)
	}
	run, err := waitFactoryRun(ctx, cl, o.Workspace, id)
	if err != nil {
		return err
	}
	if err := o.print(c.out, run, factoryRunTable(run)); err != nil {
		return err
	}
	if run.Status != "Succeeded" {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("pipeline run %s %s: %s", id, strings.ToLower(run.Status), run.Message)}
	}
	return nil
}

// waitFactoryRun polls a run until it ends.
func waitFactoryRun(ctx context.Context, cl *client.Client, ws, id string) (client.FactoryPipelineRun, error) {
	for {
		run, err := cl.GetFactoryPipelineRun(ctx, ws, id)
		if err != nil {
			return run, fmt.Errorf("follow pipeline run %s: %w", id, err)
		}
		switch run.Status {
		case "Succeeded", "Failed", "Cancelled":
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func newPipelineCreateRunCommand(b *base) *cobra.Command {
	opts := &createRunOpts{}
	cmd := &cobra.Command{
		Use:   "create-run",
		Short: "Start a run of a pipeline",
		Example: `  ciel data-factory pipeline create-run --name copy_orders --parameters '{"day":"2026-11-01"}'
  ciel data-factory pipeline create-run --name copy_orders --wait -o table`,
		RunE: runE(b, &createRunCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.factoryScope.bind(f)
	f.StringVarP(&opts.Name, "name", "n", "", "the pipeline's name")
	f.StringVar(&opts.Parameters, "parameters", "", "parameter values: a JSON object, or @file")
	f.BoolVar(&opts.Wait, "wait", false, "follow the run to its end, print it, and fail when it failed")
	opts.output.bind(f, formatJSON)
	return cmd
}

func newFactoryPipelineRunCommand(b *base) *cobra.Command {
	show := &cobra.Command{Use: "show", Short: "Show a pipeline run: status, duration, parameters"}
	showOpts := &factoryRunOpts{}
	show.RunE = runE(b, runFunc[*factoryRunOpts](func(ctx context.Context, o *factoryRunOpts) error {
		cl, err := b.client(ctx)
		if err != nil {
			return err
		}
		run, err := cl.GetFactoryPipelineRun(ctx, o.Workspace, o.RunID)
		if err != nil {
			return fmt.Errorf("show pipeline run %s: %w", o.RunID, err)
		}
		return o.print(b.out, run, factoryRunTable(run))
	}), showOpts)
	bindFactoryRun(show, showOpts)

	cancel := &cobra.Command{Use: "cancel", Short: "Cancel a pipeline run"}
	cancelOpts := &factoryRunOpts{}
	var recursive bool // az's flag; ciel always cancels the runs a run waits on
	cancel.RunE = runE(b, runFunc[*factoryRunOpts](func(ctx context.Context, o *factoryRunOpts) error {
		cl, err := b.client(ctx)
		if err != nil {
			return err
		}
		if err := cl.CancelFactoryPipelineRun(ctx, o.Workspace, o.RunID); err != nil {
			return fmt.Errorf("cancel pipeline run %s: %w", o.RunID, err)
		}
		return nil
	}), cancelOpts)
	bindFactoryRun(cancel, cancelOpts)
	cancel.Flags().BoolVar(&recursive, "is-recursive", true, "accepted for az's sake: the runs its ExecutePipeline activities wait on are always cancelled too")

	rerun := &cobra.Command{Use: "rerun", Short: "Run a pipeline run again, from its failure or from an activity"}
	rerunOpts := &factoryRunOpts{}
	var ro client.FactoryRerunOptions
	rerun.RunE = runE(b, runFunc[*factoryRunOpts](func(ctx context.Context, o *factoryRunOpts) error {
		cl, err := b.client(ctx)
		if err != nil {
			return err
		}
		id, err := cl.RerunFactoryPipelineRun(ctx, o.Workspace, o.RunID, ro)
		if err != nil {
			return fmt.Errorf("rerun pipeline run %s: %w", o.RunID, err)
		}
		return o.print(b.out, map[string]string{"runId": id}, nil)
	}), rerunOpts)
	bindFactoryRun(rerun, rerunOpts)
	rerun.Flags().BoolVar(&ro.StartFromFailure, "from-failure", false, "reuse the activities that succeeded; run the rest")
	rerun.Flags().StringVar(&ro.StartActivityName, "start-activity", "", "run from this activity on, reusing the ones before it")

	return newGroup("pipeline-run", "Show, query, cancel and rerun pipeline runs",
		show, newPipelineRunQueryCommand(b), cancel, rerun)
}

// runFunc is a command body as a function.
type runFunc[O validator] func(ctx context.Context, o O) error

// Run calls f.
func (f runFunc[O]) Run(ctx context.Context, o O) error { return f(ctx, o) }

// runQueryOpts are the options of the query commands.
type runQueryOpts struct {
	factoryScope
	RunID    string // activity runs: whose
	Name     string // pipeline or trigger name
	Status   string
	Activity string
	After    string
	Before   string
	needRun  bool
	output
}

// Validate checks the times and the run ID when one is needed.
func (o *runQueryOpts) Validate() error {
	if o.needRun && o.RunID == "" {
		return errors.New("--run-id is required")
	}
	for _, t := range []struct{ flag, v string }{{"--last-updated-after", o.After}, {"--last-updated-before", o.Before}} {
		if _, err := parseQueryTime(t.v); err != nil {
			return fmt.Errorf("%s: %v", t.flag, err)
		}
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// parseQueryTime reads an RFC 3339 time or a date; "" is none.
func parseQueryTime(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("%q is not a time: expected RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01)", s)
}

// filter is the query's RunFilterParameters, with nameOperand naming the
// --*-name filter's operand.
func (o *runQueryOpts) filter(nameOperand string) client.FactoryRunFilter {
	var f client.FactoryRunFilter
	f.LastUpdatedAfter, _ = parseQueryTime(o.After)
	f.LastUpdatedBefore, _ = parseQueryTime(o.Before)
	add := func(operand, v string) {
		if v != "" {
			f.Filters = append(f.Filters, client.FactoryRunQueryFilter{Operand: operand, Operator: "Equals", Values: []string{v}})
		}
	}
	add(nameOperand, o.Name)
	add("Status", o.Status)
	add("ActivityName", o.Activity)
	return f
}

func bindRunQuery(cmd *cobra.Command, o *runQueryOpts, def string) {
	f := cmd.Flags()
	o.factoryScope.bind(f)
	f.StringVar(&o.Status, "status", "", "only runs of this status (Queued, InProgress, Succeeded, Failed, Cancelled)")
	f.StringVar(&o.After, "last-updated-after", "", "only runs updated at or after this time (RFC 3339 or a date)")
	f.StringVar(&o.Before, "last-updated-before", "", "only runs updated before this time")
	o.output.bind(f, def)
}

func newPipelineRunQueryCommand(b *base) *cobra.Command {
	opts := &runQueryOpts{}
	cmd := &cobra.Command{Use: "query", Aliases: []string{"query-by-factory"}, Short: "List pipeline runs, newest first, by pipeline, status and time",
		RunE: runE(b, runFunc[*runQueryOpts](func(ctx context.Context, o *runQueryOpts) error {
			cl, err := b.client(ctx)
			if err != nil {
				return err
			}
			res, err := cl.QueryFactoryPipelineRuns(ctx, o.Workspace, o.filter("PipelineName"))
			if err != nil {
				return fmt.Errorf("query pipeline runs: %w", err)
			}
			return o.print(b.out, res, factoryRunTable(res.Value...))
		}), opts)}
	bindRunQuery(cmd, opts, formatJSON)
	cmd.Flags().StringVar(&opts.Name, "pipeline-name", "", "only runs of this pipeline")
	return cmd
}

// activityRunTable is the table view of activity runs: status, rows and
// the error of each.
func activityRunTable(list ...client.FactoryActivityRun) func() *textTable {
	return func() *textTable {
		t := newTable("Activity", "Type", "Status", "Duration", "Rows read", "Rows copied", "Error")
		for _, a := range list {
			var out struct {
				RowsRead   *int64 `json:"rowsRead"`
				RowsCopied *int64 `json:"rowsCopied"`
			}
			_ = json.Unmarshal(a.Output, &out)
			num := func(n *int64) string {
				if n == nil {
					return ""
				}
				return strconv.FormatInt(*n, 10)
			}
			msg := ""
			if a.Error != nil {
				msg = a.Error.Message
			}
			t.Row(a.ActivityName, a.ActivityType, a.Status, formatMs(a.DurationInMs), num(out.RowsRead), num(out.RowsCopied), msg)
		}
		return t
	}
}

func newActivityRunCommand(b *base) *cobra.Command {
	opts := &runQueryOpts{needRun: true}
	query := &cobra.Command{Use: "query", Aliases: []string{"query-by-pipeline-run"},
		Short: "List a pipeline run's activity runs: status, input, output, rows, error",
		RunE: runE(b, runFunc[*runQueryOpts](func(ctx context.Context, o *runQueryOpts) error {
			cl, err := b.client(ctx)
			if err != nil {
				return err
			}
			res, err := cl.QueryFactoryActivityRuns(ctx, o.Workspace, o.RunID, o.filter(""))
			if err != nil {
				return fmt.Errorf("query the activity runs of %s: %w", o.RunID, err)
			}
			return o.print(b.out, res, activityRunTable(res.Value...))
		}), opts)}
	bindRunQuery(query, opts, formatJSON)
	query.Flags().StringVar(&opts.RunID, "run-id", "", "the pipeline run's ID")
	query.Flags().StringVar(&opts.Activity, "activity-name", "", "only runs of this activity")
	return newGroup("activity-run", "Query the activity runs of a pipeline run", query)
}

func newTriggerRunCommand(b *base) *cobra.Command {
	opts := &runQueryOpts{}
	query := &cobra.Command{Use: "query", Aliases: []string{"query-by-factory"}, Short: "List trigger runs: when each trigger fired and the runs it started",
		RunE: runE(b, runFunc[*runQueryOpts](func(ctx context.Context, o *runQueryOpts) error {
			cl, err := b.client(ctx)
			if err != nil {
				return err
			}
			res, err := cl.QueryFactoryTriggerRuns(ctx, o.Workspace, o.filter("TriggerName"))
			if err != nil {
				return fmt.Errorf("query trigger runs: %w", err)
			}
			return o.print(b.out, res, func() *textTable {
				t := newTable("Trigger run ID", "Trigger", "Fired (UTC)", "Status", "Pipelines", "Message")
				for _, r := range res.Value {
					var runs []string
					for p, id := range r.TriggeredPipelines {
						runs = append(runs, p+"="+id)
					}
					t.Row(r.TriggerRunID, r.TriggerName, formatTime(r.TriggerRunTimestamp), r.Status, strings.Join(runs, " "), r.Message)
				}
				return t
			})
		}), opts)}
	bindRunQuery(query, opts, formatJSON)
	query.Flags().StringVar(&opts.Name, "trigger-name", "", "only runs of this trigger")
	return newGroup("trigger-run", "Query trigger runs; run a tumbling window again", query, newTriggerRunRerunCommand(b))
}

type triggerStateCmd struct {
	*base
	start bool
}

// Run starts or stops the trigger and prints it.
func (c *triggerStateCmd) Run(ctx context.Context, o *factoryNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	r, err := cl.SetFactoryTriggerState(ctx, o.Workspace, o.Name, c.start)
	if err != nil {
		verb := "stop"
		if c.start {
			verb = "start"
		}
		return fmt.Errorf("%s trigger %q: %w", verb, o.Name, err)
	}
	return o.print(c.out, r, factoryTable(r))
}

func newTriggerStateCommand(b *base, start bool) *cobra.Command {
	opts := &factoryNameOpts{}
	use, short := "start", "Start a trigger: it fires from now on"
	if !start {
		use, short = "stop", "Stop a trigger: it fires no more (runs it started go on)"
	}
	cmd := &cobra.Command{Use: use, Short: short, RunE: runE(b, &triggerStateCmd{b, start}, opts)}
	bindFactoryName(cmd, opts, "trigger")
	return cmd
}
