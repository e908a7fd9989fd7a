package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func newBatchDeploymentCommand(b *base) *cobra.Command {
	return newGroup("batch-deployment", "Manage batch deployments: a model and how a batch endpoint scores files with it, or a pipeline component it runs",
		newBatchDeploymentCreateCommand(b, false),
		batchDeployments.showCommand(b, "Show a batch deployment: model, scoring script and settings"),
		batchDeployments.listCommand(b, "List a batch endpoint's deployments"),
		newBatchDeploymentCreateCommand(b, true),
		newBatchDeploymentDeleteCommand(b),
		newBatchListJobsCommand(b, true),
	)
}

// batchDeploymentTable is the table view of batch deployments.
func batchDeploymentTable(ds ...client.BatchDeployment) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Endpoint", "Default", "Model", "Mini-batch", "Concurrency", "Output")
		for _, d := range ds {
			def := ""
			if d.IsDefault {
				def = "yes"
			}
			if d.Type == spec.BatchDeploymentPipeline {
				t.Row(d.Name, d.EndpointName, def, "pipeline "+d.Component, "-", "-", "-")
				continue
			}
			out := d.Settings.OutputAction
			if d.Settings.OutputFileName != "" {
				out += " " + d.Settings.OutputFileName
			}
			t.Row(d.Name, d.EndpointName, def, d.Model, strconv.Itoa(d.Settings.MiniBatchSize),
				fmt.Sprintf("%dx%d", d.Resources.InstanceCount, d.Settings.MaxConcurrencyPerInstance), out)
		}
		return t
	}
}

// batchDeploymentFileOpts are the options of `ciel batch-deployment create`
// and `update`.
type batchDeploymentFileOpts struct {
	scope
	File         string
	Sets         []string
	Name         string
	EndpointName string
	SetDefault   bool
	NoWait       bool
	output
}

// Validate checks a file is given and the names are good.
func (o *batchDeploymentFileOpts) Validate() error {
	if o.File == "" {
		return errors.New("--file is required (a batch deployment YAML file, modelBatchDeployment or pipelineComponentBatchDeployment schema)")
	}
	if o.Name != "" {
		if err := spec.CheckEndpointName("deployment", o.Name); err != nil {
			return err
		}
	}
	if o.EndpointName != "" {
		if err := spec.CheckEndpointName("endpoint", o.EndpointName); err != nil {
			return err
		}
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// deployment parses the file with the flags applied.
func (o *batchDeploymentFileOpts) deployment() (*spec.BatchDeployment, error) {
	d, err := spec.ParseBatchDeploymentFile(o.File, spec.Options{Sets: o.Sets})
	if err != nil {
		return nil, usageError(err)
	}
	if o.Name != "" {
		d.Name = o.Name
	}
	if o.EndpointName != "" {
		d.EndpointName = o.EndpointName
	}
	if d.EndpointName == "" {
		return nil, usageErrorf("%s: no endpoint_name in the file; give --endpoint-name", o.File)
	}
	return d, nil
}

// uploadBatch replaces the deployment's local paths (model, code, build
// context; a pipeline component's code) with uploaded references.
func uploadBatch(ctx context.Context, up uploadFunc, d *spec.BatchDeployment) error {
	if c := d.Component; c != nil && c.Inline != nil {
		return newPathRewriter(up).component(ctx, c.Inline)
	}
	return uploadDeploymentFiles(ctx, up, d.Model, d.CodeConfiguration, d.Environment)
}

type batchDeploymentCreateCmd struct {
	*base
	update bool
}

// Run uploads the deployment's files, creates (or updates) it and prints
// it.
func (c *batchDeploymentCreateCmd) Run(ctx context.Context, o *batchDeploymentFileOpts) error {
	d, err := o.deployment()
	if err != nil {
		return err
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := uploadBatch(ctx, uploader(cl, o.Workspace), d); err != nil {
		return err
	}
	d.Tags = c.withLineage(d.Tags)
	verb := "create"
	if c.update {
		verb = "update"
	}
	got, err := cl.PutBatchDeployment(ctx, o.Workspace, d.EndpointName, d.Name, d, o.SetDefault, c.update)
	if err != nil {
		return fmt.Errorf("%s batch deployment %q: %w", verb, d.Name, err)
	}
	return o.print(c.out, got, batchDeploymentTable(got))
}

func newBatchDeploymentCreateCommand(b *base, update bool) *cobra.Command {
	opts := &batchDeploymentFileOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a batch deployment (or replace the one of that name); an endpoint's first becomes its default",
		Example: `  ciel batch-deployment create --file deployment.yml --endpoint-name heart-classifier-batch --set-default
  ciel batch-deployment create --file deployment.yml --set settings.mini_batch_size=5`,
		RunE: runE(b, &batchDeploymentCreateCmd{b, update}, opts),
	}
	if update {
		cmd.Use, cmd.Short = "update", "Change an existing batch deployment; jobs already started keep what they had"
		cmd.Example = `  ciel batch-deployment update --file deployment.yml --set settings.max_concurrency_per_instance=4`
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "deployment YAML file (modelBatchDeployment or pipelineComponentBatchDeployment schema)")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ... (e.g. settings.mini_batch_size=5)")
	f.StringVarP(&opts.Name, "name", "n", "", "deployment name (overrides the file's)")
	f.StringVarP(&opts.EndpointName, "endpoint-name", "e", "", "endpoint name (overrides the file's endpoint_name)")
	// az accepts any unambiguous prefix of a flag, and azureml-examples
	// write --endpoint for --endpoint-name.
	f.StringVar(&opts.EndpointName, "endpoint", "", "same as --endpoint-name")
	_ = f.MarkHidden("endpoint")
	f.BoolVar(&opts.SetDefault, "set-default", false, "make this the endpoint's default deployment")
	f.BoolVar(&opts.NoWait, "no-wait", false, "accepted for az compatibility: a batch deployment is ready at once")
	opts.output.bind(f, formatJSON)
	return cmd
}

func newBatchDeploymentDeleteCommand(b *base) *cobra.Command {
	cmd := batchDeployments.deleteCommand(b, "Delete a batch deployment (the default only when it is the last)")
	cmd.Flags().Bool("no-wait", false, "accepted for az compatibility: deletion is immediate")
	return cmd
}
