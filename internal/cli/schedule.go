package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func newScheduleCommand(b *base) *cobra.Command {
	return newGroup("schedule", "Run jobs on a schedule (cron or recurrence)",
		newScheduleCreateCommand(b),
		newScheduleUpdateCommand(b),
		newScheduleShowCommand(b),
		newScheduleListCommand(b),
		newScheduleEnableCommand(b, true),
		newScheduleEnableCommand(b, false),
		newScheduleDeleteCommand(b),
	)
}

// scheduleTable is the table view of schedules.
func scheduleTable(list ...client.Schedule) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Enabled", "Trigger", "Time zone", "Next run (UTC)")
		for _, s := range list {
			next := "-"
			if s.NextRunTime != nil {
				next = formatTime(*s.NextRunTime)
			}
			t.Row(s.Name, strconv.FormatBool(s.IsEnabled), describeTrigger(s.Trigger), s.Trigger.TimeZone, next)
		}
		return t
	}
}

// describeTrigger says when a trigger fires, in a table cell.
func describeTrigger(t client.ScheduleTrigger) string {
	if t.Type == "cron" {
		return "cron " + t.Expression
	}
	s := fmt.Sprintf("every %d %s", t.Interval, t.Frequency)
	if p := t.Schedule; p != nil {
		join := func(v []int) string {
			parts := make([]string, len(v))
			for i, x := range v {
				parts[i] = strconv.Itoa(x)
			}
			return strings.Join(parts, ",")
		}
		s += " at hours " + join(p.Hours) + " minutes " + join(p.Minutes)
		if len(p.WeekDays) > 0 {
			s += " on " + strings.Join(p.WeekDays, ",")
		}
		if len(p.MonthDays) > 0 {
			s += " on days " + join(p.MonthDays)
		}
	}
	return s
}

// scheduleCreateOpts are the options of `ciel schedule create`.
type scheduleCreateOpts struct {
	scope
	File   string
	Sets   []string
	Name   string
	NoWait bool // accepted for az compatibility; creating does not wait on anything
	output
}

// Validate checks a file is given.
func (o *scheduleCreateOpts) Validate() error {
	if o.File == "" {
		return errors.New("--file is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// scheduleCreateCmd creates a schedule; with update set, only one that
// exists (az ml schedule update), which it replaces.
type scheduleCreateCmd struct {
	*base
	update bool
}

// Run parses the schedule and the job it names, uploads the job's local
// paths (so every firing runs the code as it is now), and creates the
// schedule.
func (c *scheduleCreateCmd) Run(ctx context.Context, o *scheduleCreateOpts) error {
	sc, err := spec.ParseScheduleFile(o.File, spec.Options{Sets: o.Sets})
	if err != nil {
		return usageError(err)
	}
	if o.Name != "" {
		sc.Name = o.Name
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if c.update {
		if _, err := cl.GetSchedule(ctx, o.Workspace, sc.Name); err != nil {
			return fmt.Errorf("update schedule %q: %w", sc.Name, err)
		}
	}
	up := newPathRewriter(uploader(cl, o.Workspace))
	if err := up.job(ctx, sc.CreateJob.Job); err != nil {
		return err
	}
	if ov := sc.CreateJob.Overrides; ov != nil {
		// The overrides of an existing job: their data inputs and
		// environment are uploaded the same way.
		if err := up.job(ctx, &spec.Job{Inputs: ov.Inputs, Environment: ov.Environment}); err != nil {
			return err
		}
	}
	sc.Tags = c.withLineage(sc.Tags)
	created, err := cl.CreateSchedule(ctx, o.Workspace, sc)
	if err != nil {
		return fmt.Errorf("create schedule %q from %s: %w", sc.Name, o.File, err)
	}
	return o.print(c.out, created, scheduleTable(created))
}

func newScheduleCreateCommand(b *base) *cobra.Command {
	opts := &scheduleCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a schedule, or replace the one of its name",
		Long: `Create a schedule from an Azure ML schedule file: a cron or recurrence
trigger and the job each firing submits (create_job). The job's code and data
are uploaded now, so every firing runs them as they are now; an existing job
(create_job: azureml:<job name>) is copied as it was submitted.`,
		Example: `  ciel schedule create --file cron-job-schedule.yml
  ciel schedule create --file cron-job-schedule.yml --set name=nightly trigger.expression="0 2 * * *"`,
		RunE: runE(b, &scheduleCreateCmd{base: b}, opts),
	}
	bindScheduleCreate(cmd, opts)
	return cmd
}

func newScheduleUpdateCommand(b *base) *cobra.Command {
	opts := &scheduleCreateOpts{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Replace an existing schedule with the one a file describes",
		Long: `Replace an existing schedule, found by the file's name (or --name), with the
schedule the file describes, as create does; a name with no schedule is an
error rather than a new schedule. The job's code and data are uploaded again.`,
		Example: `  ciel schedule update --file cron-job-schedule.yml --set trigger.expression="0 3 * * *"`,
		RunE:    runE(b, &scheduleCreateCmd{base: b, update: true}, opts),
	}
	bindScheduleCreate(cmd, opts)
	return cmd
}

// bindScheduleCreate binds the flags create and update share.
func bindScheduleCreate(cmd *cobra.Command, opts *scheduleCreateOpts) {
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "schedule YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "schedule name (default: the file's)")
	f.BoolVar(&opts.NoWait, "no-wait", false, "ignored (accepted for az compatibility)")
	opts.output.bind(f, formatJSON)
}

// scheduleNameOpts are the options of the commands on one schedule.
type scheduleNameOpts struct {
	scope
	Name   string
	NoWait bool
	Yes    bool
	output
}

// Validate checks the name and workspace.
func (o *scheduleNameOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func bindScheduleName(cmd *cobra.Command, o *scheduleNameOpts) {
	o.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&o.Name, "name", "n", "", "schedule name")
}

type scheduleShowCmd struct{ *base }

// Run prints the schedule and its latest firings.
func (c *scheduleShowCmd) Run(ctx context.Context, o *scheduleNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	s, err := cl.GetSchedule(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("show schedule %q: %w", o.Name, err)
	}
	return o.print(c.out, s, scheduleTable(s))
}

func newScheduleShowCommand(b *base) *cobra.Command {
	opts := &scheduleNameOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a schedule, its next run and the jobs it started",
		RunE: runE(b, &scheduleShowCmd{b}, opts)}
	bindScheduleName(cmd, opts)
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}

// scheduleListOpts are the options of `ciel schedule list`.
type scheduleListOpts struct {
	scope
	output
}

// Validate checks the workspace.
func (o *scheduleListOpts) Validate() error {
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type scheduleListCmd struct{ *base }

// Run prints the workspace's schedules.
func (c *scheduleListCmd) Run(ctx context.Context, o *scheduleListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	list, err := cl.ListSchedules(ctx, o.Workspace)
	if err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	if list == nil {
		list = []client.Schedule{}
	}
	return o.print(c.out, list, scheduleTable(list...))
}

func newScheduleListCommand(b *base) *cobra.Command {
	opts := &scheduleListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List the workspace's schedules", RunE: runE(b, &scheduleListCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

type scheduleEnableCmd struct {
	*base
	enable bool
}

// Run enables or disables the schedule and prints it.
func (c *scheduleEnableCmd) Run(ctx context.Context, o *scheduleNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	s, err := cl.SetScheduleEnabled(ctx, o.Workspace, o.Name, c.enable)
	if err != nil {
		verb := "disable"
		if c.enable {
			verb = "enable"
		}
		return fmt.Errorf("%s schedule %q: %w", verb, o.Name, err)
	}
	return o.print(c.out, s, scheduleTable(s))
}

func newScheduleEnableCommand(b *base, enable bool) *cobra.Command {
	opts := &scheduleNameOpts{}
	use, short := "enable", "Enable a schedule: it fires from its next time on (missed times do not fire)"
	if !enable {
		use, short = "disable", "Disable a schedule: it fires no more until enabled"
	}
	cmd := &cobra.Command{Use: use, Short: short, RunE: runE(b, &scheduleEnableCmd{b, enable}, opts)}
	bindScheduleName(cmd, opts)
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "ignored (accepted for az compatibility)")
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}

type scheduleDeleteCmd struct{ *base }

// Run deletes the schedule; the jobs it started stay.
func (c *scheduleDeleteCmd) Run(ctx context.Context, o *scheduleNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeleteSchedule(ctx, o.Workspace, o.Name); err != nil {
		return fmt.Errorf("delete schedule %q: %w", o.Name, err)
	}
	return nil
}

func newScheduleDeleteCommand(b *base) *cobra.Command {
	opts := &scheduleNameOpts{output: output{Format: formatJSON}}
	cmd := &cobra.Command{Use: "delete", Short: "Delete a disabled schedule (the jobs it started stay)",
		RunE: runE(b, &scheduleDeleteCmd{b}, opts)}
	bindScheduleName(cmd, opts)
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "ignored (accepted for az compatibility)")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "ignored: delete does not ask (accepted for az compatibility)")
	return cmd
}
