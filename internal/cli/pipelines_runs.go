package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/progress"
)

// Statuses and results of a pipeline run, as Azure DevOps spells them.
const (
	runStatusCompleted = "completed"
	runResultFailed    = "failed"
	runResultCanceled  = "canceled"
)

// newPipelineRunsCommand is `ciel pipelines runs`: the runs of pipelines
// and the artifacts they published.
func newPipelineRunsCommand(b *base) *cobra.Command {
	return newGroup("runs", "Manage pipeline runs",
		newRunsListCommand(b),
		newRunsShowCommand(b),
		newRunsCancelCommand(b),
		newGroup("artifact", "List and download what a run published",
			newArtifactListCommand(b),
			newArtifactDownloadCommand(b),
		),
	)
}

// runTable is the table view of runs.
func pipelineRunTable(runs ...client.PipelineRun) func() *textTable {
	return func() *textTable {
		t := newTable("ID", "Pipeline", "Status", "Result", "Branch", "Commit", "Queued")
		for _, r := range runs {
			t.Row(strconv.FormatInt(r.ID, 10), r.Definition.Name, r.Status, r.Result,
				strings.TrimPrefix(r.SourceBranch, "refs/heads/"), shortCommit(r.SourceVersion), formatTime(r.QueueTime))
		}
		return t
	}
}

// shortCommit is the 7-character abbreviation git prints.
func shortCommit(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// timelineTable is the table view of one run: each job, then its steps.
func timelineTable(r client.PipelineRun) func() *textTable {
	return func() *textTable {
		t := newTable("Job", "Step", "Status", "Duration")
		for _, j := range r.Jobs {
			t.Row(jobLabel(j), "", outcome(j.Status, j.Result), duration(j.StartTime, j.FinishTime))
			for _, s := range j.Steps {
				t.Row("", displayName(s.DisplayName, s.Name), s.Status, duration(s.StartTime, s.FinishTime))
			}
		}
		if tr := r.TestResults; tr != nil {
			t.Row("Tests", fmt.Sprintf("%d passed, %d failed, %d skipped of %d", tr.Passed, tr.Failed, tr.Skipped, tr.Total), "", "")
		}
		for _, c := range r.Created {
			name := c.Name
			if c.Version != "" {
				name += ":" + c.Version
			}
			t.Row("Created", c.Kind+" "+name, "", "")
		}
		return t
	}
}

func jobLabel(j client.RunJob) string {
	name := displayName(j.DisplayName, j.Name)
	if j.Stage != "" && j.Stage != "__default" {
		return j.Stage + "/" + name
	}
	return name
}

func displayName(display, name string) string {
	if display != "" {
		return display
	}
	return name
}

// outcome is "status" or, once there is one, "status/result".
func outcome(status, result string) string {
	if result == "" {
		return status
	}
	return status + "/" + result
}

// duration is how long something ran, blank until it has finished.
func duration(start, finish *time.Time) string {
	if start == nil || finish == nil {
		return ""
	}
	d := finish.Sub(*start)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// runsListOpts are the options of `ciel pipelines runs list`.
type runsListOpts struct {
	scope
	Pipeline string
	Top      int
	output
}

// Validate checks the workspace and that --top is not negative.
func (o *runsListOpts) Validate() error {
	if o.Top < 0 {
		return fmt.Errorf("--top %d: want a positive number", o.Top)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type runsListCmd struct{ *base }

// Run prints runs, newest first, at most --top of them.
func (c *runsListCmd) Run(ctx context.Context, o *runsListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	runs, err := cl.ListPipelineRuns(ctx, o.Workspace, o.Pipeline)
	if err != nil {
		return fmt.Errorf("list pipeline runs: %w", err)
	}
	if runs == nil {
		runs = []client.PipelineRun{}
	}
	if o.Top > 0 && len(runs) > o.Top {
		runs = runs[:o.Top]
	}
	return o.print(c.out, runs, pipelineRunTable(runs...))
}

func newRunsListCommand(b *base) *cobra.Command {
	opts := &runsListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List pipeline runs, newest first", RunE: runE(b, &runsListCmd{b}, opts)}
	f := cmd.Flags()
	f.StringVar(&opts.Pipeline, "pipeline-name", "", "only the runs of this pipeline")
	f.IntVar(&opts.Top, "top", 0, "at most this many runs (0: all)")
	opts.scope.bind(f)
	opts.output.bind(f, formatTable)
	return cmd
}

// runOpts are the options of the runs commands that name one run.
type runOpts struct {
	scope
	ID     int64
	Stream bool
	output
}

// Validate checks a run id and a workspace are given.
func (o *runOpts) Validate() error {
	if o.ID <= 0 {
		return errors.New("--id is required (a run id, see `ciel pipelines runs list`)")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func bindRun(cmd *cobra.Command, o *runOpts) {
	f := cmd.Flags()
	f.Int64Var(&o.ID, "id", 0, "run id")
	o.scope.bind(f)
	o.output.bind(f, formatJSON)
}

type runsShowCmd struct{ *base }

// Run prints a run with its timeline or, with --stream, follows its log to
// the end and prints its summary.
func (c *runsShowCmd) Run(ctx context.Context, o *runOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	run, err := cl.GetPipelineRun(ctx, o.Workspace, o.ID)
	if err != nil {
		return fmt.Errorf("show pipeline run %d: %w", o.ID, err)
	}
	if o.Stream {
		return c.follow(ctx, cl, o.Workspace, run)
	}
	return o.print(c.out, run, timelineTable(run))
}

// follow copies the run's log to out as it arrives, waits for the run to
// complete, and prints its summary. It returns nil when the run succeeded,
// an *ExitError with ExitFailure when it failed or was canceled, and
// ExitInterrupted when ctx ended first (the run goes on).
func (c *runsShowCmd) follow(ctx context.Context, cl *client.Client, ws string, run client.PipelineRun) error {
	fmt.Fprintf(c.out, "Run: %d (pipeline %s)\n\n", run.ID, run.Definition.Name)
	streamErr := c.copyLog(ctx, cl, ws, run.ID)
	if ctx.Err() != nil {
		return runInterrupted(run.ID)
	}
	if streamErr != nil {
		fmt.Fprintf(c.errOut, "WARNING: log stream ended early (%v); waiting for run %d to end\n", streamErr, run.ID)
	}
	final, err := waitPipelineRun(ctx, cl, ws, run.ID)
	if ctx.Err() != nil {
		return runInterrupted(run.ID)
	}
	if err != nil {
		return fmt.Errorf("wait for pipeline run %d: %w", run.ID, err)
	}
	writeRunSummary(c.out, final)
	return runOutcome(final)
}

func (c *runsShowCmd) copyLog(ctx context.Context, cl *client.Client, ws string, id int64) error {
	body, err := cl.PipelineRunLog(ctx, ws, id, true)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(c.out, body)
	return err
}

// waitPipelineRun polls a run until it has completed.
func waitPipelineRun(ctx context.Context, cl *client.Client, ws string, id int64) (client.PipelineRun, error) {
	for {
		run, err := cl.GetPipelineRun(ctx, ws, id)
		if err != nil || run.Status == runStatusCompleted {
			return run, err
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

func runInterrupted(id int64) error {
	return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf(
		"stopped following pipeline run %d; it keeps running (follow it with `ciel pipelines runs show --id %d --stream`, stop it with `ciel pipelines runs cancel --id %d`)",
		id, id, id)}
}

// writeRunSummary prints the run's result and its timeline.
func writeRunSummary(w io.Writer, r client.PipelineRun) {
	fmt.Fprintf(w, "\nRun Summary\n===========\nRun: %d (pipeline %s)\nStatus: %s\n", r.ID, r.Definition.Name, r.Status)
	if r.Result != "" {
		fmt.Fprintf(w, "Result: %s\n", r.Result)
	}
	if len(r.Jobs) == 0 {
		return
	}
	fmt.Fprintln(w)
	_ = timelineTable(r)().write(w)
}

// runOutcome is nil unless the run failed or was canceled, and then an
// ExitFailure error that says why.
func runOutcome(r client.PipelineRun) error {
	if r.Result != runResultFailed && r.Result != runResultCanceled {
		return nil
	}
	var parts []string
	if r.Error != "" {
		parts = append(parts, r.Error)
	}
	for _, j := range r.Jobs {
		for _, s := range j.Steps {
			if s.Error != "" {
				parts = append(parts, fmt.Sprintf("%s, step %s: %s", jobLabel(j), displayName(s.DisplayName, s.Name), s.Error))
			}
		}
	}
	text := fmt.Sprintf("pipeline run %d %s", r.ID, r.Result)
	if len(parts) > 0 {
		text += ": " + strings.Join(parts, "\n")
	}
	return &ExitError{Code: ExitFailure, Err: errors.New(text)}
}

func newRunsShowCommand(b *base) *cobra.Command {
	opts := &runOpts{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a run and its jobs and steps, or follow its log",
		Example: "  ciel pipelines runs show --id 12 -o table\n" +
			"  ciel pipelines runs show --id 12 --stream   # exit 1 unless it succeeds",
		RunE: runE(b, &runsShowCmd{b}, opts),
	}
	bindRun(cmd, opts)
	cmd.Flags().BoolVarP(&opts.Stream, "stream", "s", false, "follow the run's log until it ends; exit 1 if it fails or is canceled")
	return cmd
}

type runsCancelCmd struct{ *base }

// Run cancels a run and prints it.
func (c *runsCancelCmd) Run(ctx context.Context, o *runOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	run, err := cl.CancelPipelineRun(ctx, o.Workspace, o.ID)
	if err != nil {
		return fmt.Errorf("cancel pipeline run %d: %w", o.ID, err)
	}
	return o.print(c.out, run, pipelineRunTable(run))
}

func newRunsCancelCommand(b *base) *cobra.Command {
	opts := &runOpts{}
	cmd := &cobra.Command{Use: "cancel", Short: "Cancel a run", RunE: runE(b, &runsCancelCmd{b}, opts)}
	bindRun(cmd, opts)
	return cmd
}

// artifactOpts are the options of `ciel pipelines runs artifact`.
type artifactOpts struct {
	scope
	RunID int64
	Name  string // download only
	Path  string // download only
}

func (o *artifactOpts) validateRun() error {
	if o.RunID <= 0 {
		return errors.New("--run-id is required")
	}
	return o.scope.validate()
}

// artifactListOpts are the options of `ciel pipelines runs artifact list`.
type artifactListOpts struct {
	artifactOpts
	output
}

// Validate checks a run and a workspace are given.
func (o *artifactListOpts) Validate() error {
	if err := o.validateRun(); err != nil {
		return err
	}
	return o.output.validate()
}

type artifactListCmd struct{ *base }

// Run prints what the run published.
func (c *artifactListCmd) Run(ctx context.Context, o *artifactListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	arts, err := cl.ListRunArtifacts(ctx, o.Workspace, o.RunID)
	if err != nil {
		return fmt.Errorf("list artifacts of pipeline run %d: %w", o.RunID, err)
	}
	if arts == nil {
		arts = []client.RunArtifact{}
	}
	return o.print(c.out, arts, func() *textTable {
		t := newTable("Name", "Files", "Size")
		for _, a := range arts {
			t.Row(a.Name, strconv.Itoa(a.Resource.Files), strconv.FormatInt(a.Resource.Size, 10))
		}
		return t
	})
}

func newArtifactListCommand(b *base) *cobra.Command {
	opts := &artifactListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List the artifacts a run published", RunE: runE(b, &artifactListCmd{b}, opts)}
	f := cmd.Flags()
	f.Int64Var(&opts.RunID, "run-id", 0, "run id")
	opts.scope.bind(f)
	opts.output.bind(f, formatTable)
	return cmd
}

// artifactDownloadOpts are the options of `ciel pipelines runs artifact
// download`.
type artifactDownloadOpts struct{ artifactOpts }

// Validate checks the run, the artifact and the destination are given.
func (o *artifactDownloadOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--artifact-name is required")
	}
	if o.Path == "" {
		return errors.New("--path is required")
	}
	return o.validateRun()
}

type artifactDownloadCmd struct{ *base }

// Run extracts the artifact's files under --path; an entry that would land
// outside it stops the download.
func (c *artifactDownloadCmd) Run(ctx context.Context, o *artifactDownloadOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	body, err := cl.DownloadRunArtifact(ctx, o.Workspace, o.RunID, o.Name)
	if err != nil {
		return fmt.Errorf("download artifact %q of pipeline run %d: %w", o.Name, o.RunID, err)
	}
	defer body.Close()
	meter := progress.Reader(body, progress.Terminal(), "Downloading "+o.Name)
	n, err := extractTar(meter, o.Path)
	meter.Done()
	if err != nil {
		return fmt.Errorf("download artifact %q of pipeline run %d: %w", o.Name, o.RunID, err)
	}
	fmt.Fprintf(c.out, "Downloaded artifact %s of run %d to %s (%s)\n", o.Name, o.RunID, o.Path, plural(n, "file"))
	return nil
}

func newArtifactDownloadCommand(b *base) *cobra.Command {
	opts := &artifactDownloadOpts{}
	cmd := &cobra.Command{
		Use:     "download",
		Short:   "Download an artifact's files into a folder",
		Example: "  ciel pipelines runs artifact download --run-id 12 --artifact-name model --path ./model",
		RunE:    runE(b, &artifactDownloadCmd{b}, opts),
	}
	f := cmd.Flags()
	f.Int64Var(&opts.RunID, "run-id", 0, "run id")
	f.StringVar(&opts.Name, "artifact-name", "", "artifact name")
	f.StringVar(&opts.Path, "path", "", "folder to extract the files into")
	opts.scope.bind(f)
	return cmd
}
