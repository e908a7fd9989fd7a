package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func newJobCommand(b *base) *cobra.Command {
	return newGroup("job", "Submit, follow and manage jobs",
		newJobCreateCommand(b),
		newJobShowCommand(b),
		newJobListCommand(b),
		newJobStreamCommand(b),
		newJobCancelCommand(b),
		newJobArchiveCommand(b, true),
		newJobArchiveCommand(b, false),
		newJobDownloadCommand(b),
	)
}

// jobTable is the table view of jobs.
func jobTable(jobs ...client.Job) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Display name", "Type", "Status", "Created")
		for _, j := range jobs {
			t.Row(j.Name, j.DisplayName, j.Type, j.Status, formatTime(j.CreationContext.CreatedAt))
		}
		return t
	}
}

// jobCreateOpts are the options of `ciel job create`.
type jobCreateOpts struct {
	scope
	File           string
	Sets           []string
	Name           string
	ExperimentName string
	DisplayName    string
	Description    string
	Stream         bool
	Web            bool // accepted for az compatibility; there is no browser to open
	output
}

// Validate checks a file is given.
func (o *jobCreateOpts) Validate() error {
	if o.File == "" {
		return errors.New("--file is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// job parses the file with --set, then the flags that override fields,
// applied before the file is checked.
func (o *jobCreateOpts) job() (*spec.Job, error) {
	j, err := spec.ParseJobFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
		{Flag: "--name", Key: "name", Value: o.Name},
		{Flag: "--experiment-name", Key: "experiment_name", Value: o.ExperimentName},
		{Flag: "--display-name", Key: "display_name", Value: o.DisplayName},
		{Flag: "--description", Key: "description", Value: o.Description},
	}})
	if err != nil {
		return nil, usageError(err)
	}
	return j, nil
}

type jobCreateCmd struct{ *base }

// Run parses the job, uploads every local path it names, submits it, and
// prints it or, with --stream, follows it to the end.
func (c *jobCreateCmd) Run(ctx context.Context, o *jobCreateOpts) error {
	j, err := o.job()
	if err != nil {
		return err
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := newPathRewriter(uploader(cl, o.Workspace)).job(ctx, j); err != nil {
		return err
	}
	j.Tags = c.withLineage(j.Tags)
	created, err := cl.CreateJob(ctx, o.Workspace, j)
	if err != nil {
		return fmt.Errorf("create job from %s: %w", o.File, err)
	}
	for _, w := range created.Warnings {
		fmt.Fprintln(c.errOut, "WARNING: "+w)
	}
	if !o.Stream {
		return o.print(c.out, created, jobTable(created))
	}
	return c.follow(ctx, cl, o.Workspace, created)
}

func newJobCreateCommand(b *base) *cobra.Command {
	opts := &jobCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Submit a command or pipeline job",
		Example: `  ciel job create --file pipeline.yml --stream
  ciel job create --file job.yml --set inputs.learning_rate=0.05 compute=azureml:cpu-cluster`,
		RunE: runE(b, &jobCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "job YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "job name (default: generated)")
	f.StringVarP(&opts.ExperimentName, "experiment-name", "e", "", "experiment name")
	f.StringVar(&opts.DisplayName, "display-name", "", "display name")
	f.StringVar(&opts.Description, "description", "", "description")
	f.BoolVarP(&opts.Stream, "stream", "s", false, "follow the job's logs until it ends; exit 1 unless it completes")
	f.BoolVar(&opts.Web, "web", false, "ignored (accepted for az compatibility)")
	opts.output.bind(f, formatJSON)
	return cmd
}

// jobNameOpts are the options of the commands on one job.
type jobNameOpts struct {
	scope
	Name string
	output
}

// Validate checks the name and workspace.
func (o *jobNameOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func bindJobName(cmd *cobra.Command, o *jobNameOpts) {
	o.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&o.Name, "name", "n", "", "job name")
}

type jobShowCmd struct{ *base }

// Run prints the job.
func (c *jobShowCmd) Run(ctx context.Context, o *jobNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	j, err := cl.GetJob(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("show job %q: %w", o.Name, err)
	}
	return o.print(c.out, j, jobShowTable(j))
}

// jobShowTable is the table of `job show`: the job, then each pipeline step,
// with the run tracking made of it and its latest metrics and params.
func jobShowTable(j client.Job) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Type", "Status", "Created", "Run ID", "Metrics", "Params")
		str := func(s string) string { return s }
		// "-" stands for nothing, so a step without a run or metrics
		// reads as such rather than as a gap.
		dash := func(s string) string {
			if s == "" {
				return "-"
			}
			return s
		}
		t.Row(j.Name, j.Type, j.Status, formatTime(j.CreationContext.CreatedAt), dash(j.RunID),
			dash(pairs(j.Metrics, formatMetric)), dash(pairs(j.Params, str)))
		for _, name := range sortedMapKeys(j.Jobs) {
			st := j.Jobs[name]
			t.Row("  "+name, "step", st.Status, "-", dash(st.RunID), dash(pairs(st.Metrics, formatMetric)), dash(pairs(st.Params, str)))
		}
		return t
	}
}

func newJobShowCommand(b *base) *cobra.Command {
	opts := &jobNameOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a job and its steps", RunE: runE(b, &jobShowCmd{b}, opts)}
	bindJobName(cmd, opts)
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}

// jobListOpts are the options of `ciel job list`.
type jobListOpts struct {
	scope
	AllResults      bool
	IncludeArchived bool
	MaxResults      int
	// ParentJobName lists that job's children instead: a pipeline's steps,
	// a sweep's trials ("<job>/<sweep step>" for a sweep step's trials).
	ParentJobName string
	output
}

// Validate checks the result limit.
func (o *jobListOpts) Validate() error {
	if !o.AllResults && o.MaxResults <= 0 {
		return fmt.Errorf("--max-results %d: must be positive (or pass --all-results)", o.MaxResults)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type jobListCmd struct{ *base }

// Run prints the newest jobs, at most --max-results unless --all-results.
func (c *jobListCmd) Run(ctx context.Context, o *jobListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	var jobs []client.Job
	if o.ParentJobName != "" {
		jobs, err = cl.ListChildJobs(ctx, o.Workspace, o.ParentJobName)
	} else {
		jobs, err = cl.ListJobs(ctx, o.Workspace, o.IncludeArchived)
	}
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	if !o.AllResults && len(jobs) > o.MaxResults {
		jobs = jobs[:o.MaxResults]
	}
	if jobs == nil {
		jobs = []client.Job{}
	}
	return o.print(c.out, jobs, jobTable(jobs...))
}

func newJobListCommand(b *base) *cobra.Command {
	opts := &jobListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List jobs, newest first", RunE: runE(b, &jobListCmd{b}, opts)}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.BoolVar(&opts.AllResults, "all-results", false, "list every job, ignoring --max-results")
	f.BoolVar(&opts.IncludeArchived, "include-archived", false, "include archived jobs")
	f.IntVarP(&opts.MaxResults, "max-results", "r", 50, "list at most this many jobs")
	f.StringVarP(&opts.ParentJobName, "parent-job-name", "p", "", "list the child jobs of this job: a pipeline's steps, a sweep's trials (<job>/<sweep step> for a pipeline's sweep step)")
	opts.output.bind(f, formatTable)
	return cmd
}

type jobStreamCmd struct{ *base }

// Run follows the job's logs to its end, with the exit codes of
// `job create --stream`.
func (c *jobStreamCmd) Run(ctx context.Context, o *jobNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	j, err := cl.GetJob(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("stream job %q: %w", o.Name, err)
	}
	return c.follow(ctx, cl, o.Workspace, j)
}

func newJobStreamCommand(b *base) *cobra.Command {
	opts := &jobNameOpts{output: output{Format: formatJSON}}
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Follow a job's logs until it ends; exit 1 unless it completes",
		RunE:  runE(b, &jobStreamCmd{b}, opts),
	}
	bindJobName(cmd, opts)
	return cmd
}

type jobCancelCmd struct{ *base }

// Run asks the server to cancel the job.
func (c *jobCancelCmd) Run(ctx context.Context, o *jobNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if _, err := cl.CancelJob(ctx, o.Workspace, o.Name); err != nil {
		return fmt.Errorf("cancel job %q: %w", o.Name, err)
	}
	return nil
}

func newJobCancelCommand(b *base) *cobra.Command {
	opts := &jobNameOpts{output: output{Format: formatJSON}}
	cmd := &cobra.Command{Use: "cancel", Short: "Cancel a job (its running steps are killed)", RunE: runE(b, &jobCancelCmd{b}, opts)}
	bindJobName(cmd, opts)
	return cmd
}

type jobArchiveCmd struct {
	*base
	archived bool
}

// Run archives or restores the job.
func (c *jobArchiveCmd) Run(ctx context.Context, o *jobNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if _, err := cl.ArchiveJob(ctx, o.Workspace, o.Name, c.archived); err != nil {
		verb := "archive"
		if !c.archived {
			verb = "restore"
		}
		return fmt.Errorf("%s job %q: %w", verb, o.Name, err)
	}
	return nil
}

func newJobArchiveCommand(b *base, archived bool) *cobra.Command {
	opts := &jobNameOpts{output: output{Format: formatJSON}}
	use, short := "archive", "Archive a job (hide it from lists)"
	if !archived {
		use, short = "restore", "Restore an archived job"
	}
	cmd := &cobra.Command{Use: use, Short: short, RunE: runE(b, &jobArchiveCmd{b, archived}, opts)}
	bindJobName(cmd, opts)
	return cmd
}
