package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// defaultYAMLPath is the pipeline file az pipelines create looks for.
const defaultYAMLPath = "azure-pipelines.yml"

// newPipelinesCommand is `ciel pipelines`, as `az pipelines` (the
// azure-devops extension): pipelines defined by a YAML file of a repository
// hosted with `ciel repos`, their runs and what the runs published.
func newPipelinesCommand(b *base) *cobra.Command {
	return newGroup("pipelines", "Manage CI/CD pipelines (Azure Pipelines YAML) and their runs",
		newPipelineCreateCommand(b),
		newPipelineListCommand(b),
		newPipelineShowCommand(b),
		newPipelineDeleteCommand(b),
		newPipelineRunCommand(b),
		newPipelineRunsCommand(b),
		newPipelineExpandCommand(b),
		newPipelinePoolCommand(b),
		newVariableGroupCommand(b),
	)
}

// pipelineTable is the table view of pipelines.
func pipelineTable(ps ...client.Pipeline) func() *textTable {
	return func() *textTable {
		t := newTable("ID", "Name", "Repository", "YAML")
		for _, p := range ps {
			t.Row(strconv.FormatInt(p.ID, 10), p.Name, p.Repository.Name, p.Process.YAMLFilename)
		}
		return t
	}
}

// pipelineCreateOpts are the options of `ciel pipelines create`.
type pipelineCreateOpts struct {
	scope
	Name          string
	Repository    string
	RepositoryURL string
	Branch        string
	YAMLPath      string
	output
}

// Validate checks the name, that one repository is named (hosted, or
// outside ciel with --repository-url; the server checks the URL) and the
// YAML path.
func (o *pipelineCreateOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if o.Repository != "" && o.RepositoryURL != "" {
		return errors.New("give --repository or --repository-url, not both")
	}
	if o.Repository == "" && o.RepositoryURL == "" {
		return errors.New("--repository is required (a repository hosted with `ciel repos create`), or --repository-url for one outside ciel")
	}
	if o.YAMLPath == "" {
		return errors.New("--yaml-path must not be empty")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type pipelineCreateCmd struct{ *base }

// Run creates the pipeline and prints it.
func (c *pipelineCreateCmd) Run(ctx context.Context, o *pipelineCreateOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	p, err := cl.CreatePipeline(ctx, o.Workspace, client.PipelineCreate{Name: o.Name, Repository: o.Repository,
		RepositoryURL: o.RepositoryURL, Branch: o.Branch, YAMLPath: o.YAMLPath})
	if err != nil {
		return fmt.Errorf("create pipeline %q: %w", o.Name, err)
	}
	return o.print(c.out, p, pipelineTable(p))
}

func newPipelineCreateCommand(b *base) *cobra.Command {
	opts := &pipelineCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a pipeline from a YAML file of a hosted repository",
		Example: "  ciel pipelines create --name churn-ci --repository churn\n" +
			"  ciel pipelines create --name churn-ci --repository churn --yaml-path ci/train.yml\n" +
			"  ciel pipelines create --name ext --repository-url https://github.com/org/churn.git --branch main",
		RunE: runE(b, &pipelineCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Name, "name", "n", "", "pipeline name")
	f.StringVar(&opts.Repository, "repository", "", "name of the repository hosted by ciel (ciel repos create)")
	f.StringVar(&opts.RepositoryURL, "repository-url", "", "repository outside ciel to mirror and watch: an absolute path or an http(s)://, ssh:// or git:// URL; the answer holds the webhook secret")
	f.StringVar(&opts.Branch, "branch", "", "branch manual runs take when none is given (default main)")
	f.StringVar(&opts.YAMLPath, "yaml-path", defaultYAMLPath, "path of the pipeline YAML in the repository")
	opts.scope.bind(f)
	opts.output.bind(f, formatJSON)
	return cmd
}

// pipelineOpts are the options of the pipelines commands that name one.
type pipelineOpts struct {
	scope
	Name       string
	Yes        bool
	ShowSecret bool
	output
}

// Validate checks a pipeline and a workspace are named.
func (o *pipelineOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func bindPipeline(cmd *cobra.Command, o *pipelineOpts, format string) {
	f := cmd.Flags()
	f.StringVarP(&o.Name, "name", "n", "", "pipeline name")
	o.scope.bind(f)
	o.output.bind(f, format)
}

type pipelineShowCmd struct{ *base }

// Run prints one pipeline.
func (c *pipelineShowCmd) Run(ctx context.Context, o *pipelineOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	get := cl.GetPipeline
	if o.ShowSecret {
		get = cl.GetPipelineWithSecret
	}
	p, err := get(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("show pipeline %q: %w", o.Name, err)
	}
	return o.print(c.out, p, pipelineTable(p))
}

func newPipelineShowCommand(b *base) *cobra.Command {
	opts := &pipelineOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a pipeline", RunE: runE(b, &pipelineShowCmd{b}, opts)}
	bindPipeline(cmd, opts, formatJSON)
	cmd.Flags().BoolVar(&opts.ShowSecret, "show-secret", false, "include an external pipeline's webhook secret")
	return cmd
}

// pipelineListOpts are the options of `ciel pipelines list`.
type pipelineListOpts struct {
	scope
	output
}

// Validate checks a workspace is named.
func (o *pipelineListOpts) Validate() error {
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type pipelineListCmd struct{ *base }

// Run prints the workspace's pipelines.
func (c *pipelineListCmd) Run(ctx context.Context, o *pipelineListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	ps, err := cl.ListPipelines(ctx, o.Workspace)
	if err != nil {
		return fmt.Errorf("list pipelines: %w", err)
	}
	if ps == nil {
		ps = []client.Pipeline{}
	}
	return o.print(c.out, ps, pipelineTable(ps...))
}

func newPipelineListCommand(b *base) *cobra.Command {
	opts := &pipelineListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List pipelines", RunE: runE(b, &pipelineListCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

type pipelineDeleteCmd struct{ *base }

// Run deletes a pipeline and its runs, after asking unless --yes.
func (c *pipelineDeleteCmd) Run(ctx context.Context, o *pipelineOpts) error {
	if !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete pipeline %q and all its runs?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeletePipeline(ctx, o.Workspace, o.Name); err != nil {
		return fmt.Errorf("delete pipeline %q: %w", o.Name, err)
	}
	return nil
}

func newPipelineDeleteCommand(b *base) *cobra.Command {
	opts := &pipelineOpts{}
	cmd := &cobra.Command{Use: "delete", Short: "Delete a pipeline and its runs", RunE: runE(b, &pipelineDeleteCmd{b}, opts)}
	bindPipeline(cmd, opts, formatJSON)
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// pipelineRunOpts are the options of `ciel pipelines run`.
type pipelineRunOpts struct {
	pipelineOpts
	Branch     string
	Parameters []string
}

// Validate checks the pipeline is named and every --parameters word is
// key=value.
func (o *pipelineRunOpts) Validate() error {
	if err := o.pipelineOpts.Validate(); err != nil {
		return err
	}
	_, err := parseKeyValues("--parameters", o.Parameters)
	return err
}

type pipelineRunCmd struct{ *base }

// Run queues a manual run and prints it.
func (c *pipelineRunCmd) Run(ctx context.Context, o *pipelineRunOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	req := client.RunRequest{Branch: o.Branch}
	if len(o.Parameters) > 0 {
		req.Parameters, _ = parseKeyValues("--parameters", o.Parameters) // validated
	}
	run, err := cl.RunPipeline(ctx, o.Workspace, o.Name, req)
	if err != nil {
		return fmt.Errorf("run pipeline %q: %w", o.Name, err)
	}
	return o.print(c.out, run, pipelineRunTable(run))
}

func newPipelineRunCommand(b *base) *cobra.Command {
	opts := &pipelineRunOpts{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Queue a run of a pipeline",
		Example: "  ciel pipelines run --name churn-ci\n" +
			"  ciel pipelines run --name churn-ci --branch dev --parameters epochs=5 lr=0.01",
		RunE: runE(b, &pipelineRunCmd{b}, opts),
	}
	bindPipeline(cmd, &opts.pipelineOpts, formatJSON)
	f := cmd.Flags()
	f.StringVar(&opts.Branch, "branch", "", "branch to run (default: the repository's default branch)")
	f.StringArrayVar(&opts.Parameters, "parameters", nil, "pipeline parameters: key=value ...")
	return cmd
}
