package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func newBatchEndpointCommand(b *base) *cobra.Command {
	return newGroup("batch-endpoint", "Manage batch endpoints: score folders of data with a deployment, as jobs",
		newBatchEndpointCreateCommand(b),
		newBatchEndpointShowCommand(b),
		newBatchEndpointListCommand(b),
		newBatchEndpointUpdateCommand(b),
		newBatchEndpointDeleteCommand(b),
		newBatchEndpointInvokeCommand(b),
		newBatchListJobsCommand(b, false),
	)
}

// batchEndpointTable is the table view of batch endpoints.
func batchEndpointTable(es ...client.BatchEndpoint) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Default deployment", "State", "Description")
		for _, e := range es {
			t.Row(e.Name, e.Defaults.DeploymentName, e.ProvisioningState, e.Description)
		}
		return t
	}
}

// batchEndpointCreateOpts are the options of `ciel batch-endpoint create`.
type batchEndpointCreateOpts struct {
	scope
	File   string
	Sets   []string
	Name   string
	NoWait bool
	output
}

// Validate checks a file or a name is given.
func (o *batchEndpointCreateOpts) Validate() error {
	if len(o.Sets) > 0 && o.File == "" {
		return errors.New("--set needs --file")
	}
	if o.File == "" && o.Name == "" {
		return errors.New("give --file endpoint.yml, or --name")
	}
	if o.Name != "" {
		if err := spec.CheckEndpointName("endpoint", o.Name); err != nil {
			return err
		}
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type batchEndpointCreateCmd struct{ *base }

// Run creates the endpoint (or changes the one of that name) and prints
// it.
func (c *batchEndpointCreateCmd) Run(ctx context.Context, o *batchEndpointCreateOpts) error {
	e := &spec.BatchEndpoint{}
	if o.File != "" {
		var err error
		if e, err = spec.ParseBatchEndpointFile(o.File, spec.Options{Sets: o.Sets}); err != nil {
			return usageError(err)
		}
	}
	if o.Name != "" {
		e.Name = o.Name
	}
	e.Tags = c.withLineage(e.Tags)
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	out, err := cl.CreateBatchEndpoint(ctx, o.Workspace, e)
	if err != nil {
		return fmt.Errorf("create batch endpoint %q: %w", e.Name, err)
	}
	return o.print(c.out, out, batchEndpointTable(out))
}

func newBatchEndpointCreateCommand(b *base) *cobra.Command {
	opts := &batchEndpointCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a batch endpoint (or change the one of that name)",
		Example: `  ciel batch-endpoint create --file endpoint.yml
  ciel batch-endpoint create --name heart-classifier-batch`,
		RunE: runE(b, &batchEndpointCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "endpoint YAML file (batchEndpoint schema)")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ... (e.g. defaults.deployment_name=blue)")
	f.StringVarP(&opts.Name, "name", "n", "", "endpoint name (overrides the file's)")
	f.BoolVar(&opts.NoWait, "no-wait", false, "accepted for az compatibility: a batch endpoint is ready at once")
	opts.output.bind(f, formatJSON)
	return cmd
}

type batchEndpointShowCmd struct{ *base }

// Run prints one endpoint.
func (c *batchEndpointShowCmd) Run(ctx context.Context, o *endpointNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	e, err := cl.GetBatchEndpoint(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("show batch endpoint %q: %w", o.Name, err)
	}
	return o.print(c.out, e, batchEndpointTable(e))
}

func newBatchEndpointShowCommand(b *base) *cobra.Command {
	opts := &endpointNameOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a batch endpoint: its default deployment and invocation URI",
		RunE: runE(b, &batchEndpointShowCmd{b}, opts)}
	bindEndpointName(cmd, opts, formatJSON)
	return cmd
}

type batchEndpointListCmd struct{ *base }

// Run lists the workspace's batch endpoints.
func (c *batchEndpointListCmd) Run(ctx context.Context, o *endpointListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	es, err := cl.ListBatchEndpoints(ctx, o.Workspace)
	if err != nil {
		return fmt.Errorf("list batch endpoints: %w", err)
	}
	return o.print(c.out, es, batchEndpointTable(es...))
}

func newBatchEndpointListCommand(b *base) *cobra.Command {
	opts := &endpointListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List batch endpoints", RunE: runE(b, &batchEndpointListCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

// batchEndpointUpdateOpts are the options of `ciel batch-endpoint update`.
type batchEndpointUpdateOpts struct {
	scope
	Name   string
	File   string
	Sets   []string
	NoWait bool
	output
}

// Validate checks a name (or file) and that something changes.
func (o *batchEndpointUpdateOpts) Validate() error {
	if o.Name == "" && o.File == "" {
		return errors.New("--name is required")
	}
	if o.File == "" && len(o.Sets) == 0 {
		return errors.New("nothing to change: give --set defaults.deployment_name=<deployment> (or description=, tags.<k>=), or --file")
	}
	if o.File == "" {
		if _, err := batchEndpointSets(o.Sets); err != nil {
			return err
		}
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// batchEndpointSets reads the --set values an update without a file takes.
func batchEndpointSets(sets []string) (client.BatchEndpointUpdate, error) {
	var u client.BatchEndpointUpdate
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		switch {
		case !ok:
			return u, fmt.Errorf("--set %q: expected path=value", s)
		case k == "defaults.deployment_name":
			if err := spec.CheckEndpointName("deployment", v); err != nil {
				return u, fmt.Errorf("--set %s: %w", k, err)
			}
			u.Defaults = &client.BatchDefaults{DeploymentName: v}
		case k == "description":
			u.Description = &v
		case strings.HasPrefix(k, "tags.") && len(k) > len("tags."):
			if u.Tags == nil {
				u.Tags = map[string]string{}
			}
			u.Tags[strings.TrimPrefix(k, "tags.")] = v
		default:
			return u, fmt.Errorf("--set %q: a batch endpoint's settable fields are defaults.deployment_name, description and tags.<key>", k)
		}
	}
	return u, nil
}

type batchEndpointUpdateCmd struct{ *base }

// Run changes the endpoint and prints it.
func (c *batchEndpointUpdateCmd) Run(ctx context.Context, o *batchEndpointUpdateOpts) error {
	name := o.Name
	var u client.BatchEndpointUpdate
	if o.File != "" {
		e, err := spec.ParseBatchEndpointFile(o.File, spec.Options{Sets: o.Sets})
		if err != nil {
			return usageError(err)
		}
		if name == "" {
			name = e.Name
		}
		u.Description, u.Tags = &e.Description, e.Tags
		if e.DefaultDeployment != "" {
			u.Defaults = &client.BatchDefaults{DeploymentName: e.DefaultDeployment}
		}
	} else {
		u, _ = batchEndpointSets(o.Sets)
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	e, err := cl.UpdateBatchEndpoint(ctx, o.Workspace, name, u)
	if err != nil {
		return fmt.Errorf("update batch endpoint %q: %w", name, err)
	}
	return o.print(c.out, e, batchEndpointTable(e))
}

func newBatchEndpointUpdateCommand(b *base) *cobra.Command {
	opts := &batchEndpointUpdateOpts{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Change a batch endpoint's default deployment, description or tags",
		Example: `  ciel batch-endpoint update --name heart-classifier-batch --set defaults.deployment_name=classifier-xgboost-custom
  ciel batch-endpoint update --file endpoint.yml`,
		RunE: runE(b, &batchEndpointUpdateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.Name, "name", "n", "", "endpoint name")
	f.StringVarP(&opts.File, "file", "f", "", "endpoint YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "values to set: defaults.deployment_name=<deployment>, description=..., tags.<key>=...")
	f.BoolVar(&opts.NoWait, "no-wait", false, "accepted for az compatibility: the change is immediate")
	opts.output.bind(f, formatJSON)
	return cmd
}

type batchEndpointDeleteCmd struct{ *base }

// Run deletes the endpoint and its deployments after asking, unless --yes.
func (c *batchEndpointDeleteCmd) Run(ctx context.Context, o *endpointDeleteOpts) error {
	if !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete batch endpoint %q and all its deployments (its jobs stay)?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeleteBatchEndpoint(ctx, o.Workspace, o.Name); err != nil {
		return fmt.Errorf("delete batch endpoint %q: %w", o.Name, err)
	}
	return nil
}

func newBatchEndpointDeleteCommand(b *base) *cobra.Command {
	opts := &endpointDeleteOpts{}
	cmd := &cobra.Command{Use: "delete", Short: "Delete a batch endpoint and its deployments; the jobs it started stay",
		RunE: runE(b, &batchEndpointDeleteCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "endpoint name")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().Bool("no-wait", false, "accepted for az compatibility: deletion is immediate")
	return cmd
}

// batchInvokeOpts are the options of `ciel batch-endpoint invoke`.
type batchInvokeOpts struct {
	scope
	Name           string
	Deployment     string
	Input          string
	InputType      string
	JobName        string
	ExperimentName string
	MiniBatchSize  int
	InstanceCount  int
	Sets           []string
	OutputPath     string
	File           string
	output
	outputFileName string
	fileSets       []string // --set inputs.* and outputs.*, applied to File
}

// Validate checks the endpoint, the input and the overrides.
func (o *batchInvokeOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	switch o.InputType {
	case "", spec.TypeURIFolder, spec.TypeURIFile:
	default:
		return fmt.Errorf("--input-type %q: want uri_folder or uri_file", o.InputType)
	}
	if o.MiniBatchSize < 0 || o.InstanceCount < 0 {
		return errors.New("--mini-batch-size and --instance-count must be positive")
	}
	for _, s := range o.Sets {
		k, v, ok := strings.Cut(s, "=")
		switch {
		case !ok:
			return fmt.Errorf("--set %q: expected path=value", s)
		case k == "output_file_name":
			if err := spec.CheckOutputFileName(v); err != nil {
				return err
			}
			o.outputFileName = v
		case k == "mini_batch_size" || k == "instance_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("--set %s=%s: expected a number from 1 up", k, v)
			}
			if k == "mini_batch_size" {
				o.MiniBatchSize = n
			} else {
				o.InstanceCount = n
			}
		case strings.HasPrefix(k, "inputs.") || strings.HasPrefix(k, "outputs."):
			if o.File == "" {
				return fmt.Errorf("--set %s: inputs and outputs are set in an invocation file; give --file <inputs.yml>", k)
			}
			o.fileSets = append(o.fileSets, s)
		default:
			return fmt.Errorf("--set %q: an invocation can set output_file_name, mini_batch_size, instance_count, and, with --file, inputs.<name> and outputs.<name> values", k)
		}
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type batchInvokeCmd struct{ *base }

// Run uploads a local input, starts the scoring job and prints it.
func (c *batchInvokeCmd) Run(ctx context.Context, o *batchInvokeOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	rw := newPathRewriter(uploader(cl, o.Workspace))
	input := o.Input
	if err := rw.path(ctx, &input, "--input", spec.Pos{}); err != nil {
		return err
	}
	inv := client.BatchInvocation{
		Deployment: o.Deployment, Input: input, InputType: o.InputType, JobName: o.JobName,
		ExperimentName: o.ExperimentName, MiniBatchSize: o.MiniBatchSize, InstanceCount: o.InstanceCount,
		OutputFileName: o.outputFileName, OutputPath: o.OutputPath,
	}
	if o.File != "" {
		if err := invocationFile(ctx, rw, o.File, o.fileSets, &inv); err != nil {
			return err
		}
	}
	j, err := cl.InvokeBatchEndpoint(ctx, o.Workspace, o.Name, inv)
	if err != nil {
		return fmt.Errorf("invoke batch endpoint %q: %w", o.Name, err)
	}
	return o.print(c.out, j, jobShowTable(j))
}

func newBatchEndpointInvokeCommand(b *base) *cobra.Command {
	opts := &batchInvokeOpts{}
	cmd := &cobra.Command{
		Use:   "invoke",
		Short: "Score data with a batch endpoint: starts a job whose output score holds the results",
		Example: `  ciel batch-endpoint invoke --name heart-classifier-batch --input azureml:heart-dataset-unlabeled@latest
  ciel batch-endpoint invoke --name mnist-batch --deployment-name mnist-torch-dpl --input ./images --input-type uri_folder
  ciel batch-endpoint invoke --name uci-classifier-score --file inputs.yml
  ciel job download --name <job> --output-name score --download-path ./`,
		RunE: runE(b, &batchInvokeCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.Name, "name", "n", "", "endpoint name")
	f.StringVarP(&opts.Deployment, "deployment-name", "d", "", "deployment to run (default: the endpoint's default deployment)")
	f.StringVarP(&opts.Input, "input", "i", "", "data to score (a pipeline deployment: its component's one data input): azureml:<name>@latest, azureml:<name>:<version>, a local folder or file")
	f.StringVarP(&opts.InputType, "input-type", "t", "", "type of a path input: uri_folder (default) or uri_file")
	f.StringVar(&opts.JobName, "job-name", "", "name of the job (default: a generated one)")
	f.StringVarP(&opts.ExperimentName, "experiment-name", "e", "", "experiment of the job (default: the endpoint's name)")
	f.IntVarP(&opts.MiniBatchSize, "mini-batch-size", "m", 0, "files per run() call for this job (default: the deployment's)")
	f.IntVarP(&opts.InstanceCount, "instance-count", "c", 0, "instances for this job (default: the deployment's)")
	f.StringArrayVar(&opts.Sets, "set", nil, "overrides for this job: output_file_name=..., mini_batch_size=..., instance_count=...")
	f.StringVarP(&opts.OutputPath, "output-path", "p", "", "a datastore folder the results are also written to: azureml://datastores/<datastore>/paths/<path> (${{name}} is the job's name)")
	f.StringVarP(&opts.File, "file", "f", "", "invocation file: the inputs and outputs of a pipeline deployment's job, by name (inputs:, outputs:)")
	opts.output.bind(f, formatJSON)
	return cmd
}

// batchListJobsOpts are the options of `list-jobs`, of an endpoint or of
// one deployment.
type batchListJobsOpts struct {
	scope
	Name         string
	EndpointName string
	deployment   bool
	output
}

// Validate checks the names, workspace and output format.
func (o *batchListJobsOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if o.deployment && o.EndpointName == "" {
		return errors.New("--endpoint-name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type batchListJobsCmd struct{ *base }

// Run lists the jobs the endpoint (or deployment) started.
func (c *batchListJobsCmd) Run(ctx context.Context, o *batchListJobsOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	endpoint, deployment := o.Name, ""
	if o.deployment {
		endpoint, deployment = o.EndpointName, o.Name
	}
	jobs, err := cl.ListBatchJobs(ctx, o.Workspace, endpoint, deployment)
	if err != nil {
		return fmt.Errorf("list jobs of %q: %w", o.Name, err)
	}
	return o.print(c.out, jobs, jobTable(jobs...))
}

// newBatchListJobsCommand is `batch-endpoint list-jobs` or, with
// deployment, `batch-deployment list-jobs`.
func newBatchListJobsCommand(b *base, deployment bool) *cobra.Command {
	opts := &batchListJobsOpts{deployment: deployment}
	cmd := &cobra.Command{Use: "list-jobs", Short: "List the scoring jobs a batch endpoint started, newest first",
		RunE: runE(b, &batchListJobsCmd{b}, opts)}
	f := cmd.Flags()
	opts.scope.bind(f)
	if deployment {
		cmd.Short = "List the scoring jobs a batch deployment ran, newest first"
		f.StringVarP(&opts.Name, "name", "n", "", "deployment name")
		f.StringVarP(&opts.EndpointName, "endpoint-name", "e", "", "endpoint name")
	} else {
		f.StringVarP(&opts.Name, "name", "n", "", "endpoint name")
	}
	opts.output.bind(f, formatTable)
	return cmd
}

// invocationFile reads an invocation file into inv, uploading the local
// paths it names.
func invocationFile(ctx context.Context, rw *pathRewriter, file string, sets []string, inv *client.BatchInvocation) error {
	f, err := spec.ParseBatchInvocationFile(file, spec.Options{Sets: sets})
	if err != nil {
		return usageError(err)
	}
	if err := rw.job(ctx, &spec.Job{Inputs: f.Inputs}); err != nil {
		return err
	}
	if inv.Inputs, err = json.Marshal(f.Inputs); err != nil {
		return err
	}
	inv.Outputs, err = json.Marshal(f.Outputs)
	return err
}
