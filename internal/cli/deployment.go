package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func newDeploymentCommand(b *base) *cobra.Command {
	return newGroup("online-deployment", "Manage online deployments: models served by an endpoint's worker processes",
		newDeploymentCreateCommand(b, false),
		onlineDeployments.showCommand(b, "Show an online deployment: state, settings and instances"),
		onlineDeployments.listCommand(b, "List an endpoint's online deployments"),
		newDeploymentCreateCommand(b, true),
		onlineDeployments.deleteCommand(b, "Delete an online deployment that gets no traffic"),
		newDeploymentLogsCommand(b),
	)
}

// deploymentTable is the table view of deployments.
func deploymentTable(ds ...client.OnlineDeployment) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Endpoint", "State", "Instances", "Model", "Environment")
		for _, d := range ds {
			running := 0
			for _, in := range d.Instances {
				if in.State == "Running" {
					running++
				}
			}
			t.Row(d.Name, d.EndpointName, d.ProvisioningState, fmt.Sprintf("%d/%d", running, d.InstanceCount), d.Model, d.Environment)
		}
		return t
	}
}

// deploymentFileOpts are the options of `ciel online-deployment create`
// and `update`.
type deploymentFileOpts struct {
	scope
	File         string
	Sets         []string
	Name         string
	EndpointName string
	AllTraffic   bool
	NoWait       bool
	update       bool
	output
}

// Validate checks a file is given, or for update, the names and --set.
func (o *deploymentFileOpts) Validate() error {
	if o.File == "" && !o.setOnly() {
		return errors.New("--file is required (a deployment YAML file, managedOnlineDeployment schema); update also takes --name, --endpoint-name and --set alone")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// setOnly reports an update by --set of the stored deployment, with no
// file, as az ml online-deployment update --name --endpoint-name --set.
func (o *deploymentFileOpts) setOnly() bool {
	return o.update && o.File == "" && o.Name != "" && o.EndpointName != "" && len(o.Sets) > 0
}

// deployment parses the file with the flags applied.
func (o *deploymentFileOpts) deployment() (*spec.OnlineDeployment, error) {
	d, err := spec.ParseOnlineDeploymentFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
		{Flag: "--name", Key: "name", Value: o.Name}, {Flag: "--endpoint-name", Key: "endpoint_name", Value: o.EndpointName},
	}})
	if err != nil {
		return nil, usageError(err)
	}
	if d.EndpointName == "" {
		return nil, usageErrorf("%s: no endpoint_name in the file; give --endpoint-name", o.File)
	}
	return d, nil
}

// upload replaces the deployment's local paths (model, code, build
// context) with uploaded references.
func upload(ctx context.Context, up uploadFunc, d *spec.OnlineDeployment) error {
	return uploadDeploymentFiles(ctx, up, d.Model, d.CodeConfiguration, d.Environment)
}

// uploadDeploymentFiles replaces the local paths of an online or batch
// deployment (its model, code and environment's build context) with
// uploaded references.
func uploadDeploymentFiles(ctx context.Context, up uploadFunc, model *spec.DeploymentModel, code *spec.CodeConfiguration, env *spec.EnvRef) error {
	r := newPathRewriter(up)
	if m := model; m != nil && m.Path != "" {
		if err := r.path(ctx, &m.Path, "model.path", m.Pos); err != nil {
			return err
		}
	}
	if c := code; c != nil {
		if err := r.path(ctx, &c.Code, "code_configuration.code", c.Pos); err != nil {
			return err
		}
	}
	return r.envRef(ctx, env)
}

type deploymentCreateCmd struct {
	*base
	update bool
}

// Run uploads the deployment's files, creates (or updates) it, follows its
// provisioning unless --no-wait, and prints it.
func (c *deploymentCreateCmd) Run(ctx context.Context, o *deploymentFileOpts) error {
	if o.setOnly() {
		return c.set(ctx, o)
	}
	d, err := o.deployment()
	if err != nil {
		return err
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := upload(ctx, uploader(cl, o.Workspace), d); err != nil {
		return err
	}
	d.Tags = c.withLineage(d.Tags)
	verb := "create"
	var got client.OnlineDeployment
	if c.update {
		verb = "update"
		got, err = cl.UpdateOnlineDeployment(ctx, o.Workspace, d.EndpointName, d.Name, d)
	} else {
		got, err = cl.CreateOnlineDeployment(ctx, o.Workspace, d.EndpointName, d, o.AllTraffic)
	}
	if err != nil {
		return fmt.Errorf("%s online deployment %q: %w", verb, d.Name, err)
	}
	return c.finish(ctx, cl, o, got)
}

// set updates the stored deployment by --set alone.
func (c *deploymentCreateCmd) set(ctx context.Context, o *deploymentFileOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	got, err := cl.SetOnlineDeployment(ctx, o.Workspace, o.EndpointName, o.Name, o.Sets)
	if err != nil {
		return fmt.Errorf("update online deployment %q: %w", o.Name, err)
	}
	return c.finish(ctx, cl, o, got)
}

// finish follows the provisioning unless --no-wait and prints the result.
func (c *deploymentCreateCmd) finish(ctx context.Context, cl *client.Client, o *deploymentFileOpts, got client.OnlineDeployment) error {
	var err error
	if !o.NoWait {
		if got, err = c.follow(ctx, cl, o.Workspace, got); err != nil {
			return err
		}
	}
	if err := o.print(c.out, got, deploymentTable(got)); err != nil {
		return err
	}
	if got.ProvisioningState == client.StateFailed {
		return fmt.Errorf("deployment %s failed: %s\nsee its log: ciel online-deployment get-logs --name %s --endpoint-name %s",
			got.Name, got.Error, got.Name, got.EndpointName)
	}
	return nil
}

// follow waits for a deployment's provisioning, telling the user on
// stderr how it goes.
func (c *deploymentCreateCmd) follow(ctx context.Context, cl *client.Client, ws string, d client.OnlineDeployment) (client.OnlineDeployment, error) {
	start := time.Now()
	fmt.Fprintf(c.errOut, "%s deployment %s of endpoint %s (%d instance(s))", d.ProvisioningState, d.Name, d.EndpointName, d.InstanceCount)
	last := time.Now()
	got, err := cl.WaitOnlineDeployment(ctx, ws, d.EndpointName, d.Name, 500*time.Millisecond, func(client.OnlineDeployment) {
		if time.Since(last) >= 2*time.Second {
			fmt.Fprint(c.errOut, ".")
			last = time.Now()
		}
	})
	fmt.Fprintf(c.errOut, " %s in %s\n", got.ProvisioningState, time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		return got, fmt.Errorf("follow online deployment %q: %w", d.Name, err)
	}
	return got, nil
}

func newDeploymentCreateCommand(b *base, update bool) *cobra.Command {
	opts := &deploymentFileOpts{update: update}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an online deployment and wait until its instances serve",
		Example: `  ciel online-deployment create --file blue.yml --all-traffic
  ciel online-deployment create --file green.yml --endpoint-name model-service`,
		RunE: runE(b, &deploymentCreateCmd{b, update}, opts),
	}
	if update {
		cmd.Use, cmd.Short = "update", "Change an online deployment with no downtime: new instances take over once ready"
		cmd.Example = `  ciel online-deployment update --file green.yml --set instance_count=3
  ciel online-deployment update --name blue --endpoint-name svc --set instance_count=3`
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "deployment YAML file (managedOnlineDeployment schema)")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ... (e.g. instance_count=3)")
	f.StringVarP(&opts.Name, "name", "n", "", "deployment name (overrides the file's)")
	f.StringVarP(&opts.EndpointName, "endpoint-name", "e", "", "endpoint name (overrides the file's endpoint_name)")
	f.BoolVar(&opts.NoWait, "no-wait", false, "return once the change is accepted, without waiting for the instances")
	if !update {
		f.BoolVar(&opts.AllTraffic, "all-traffic", false, "give the deployment all the endpoint's traffic once it serves")
	}
	opts.output.bind(f, formatJSON)
	return cmd
}

// deploymentNameOpts are the options of the commands that name one
// deployment.
type deploymentNameOpts struct {
	scope
	Name         string
	EndpointName string
	Yes          bool
	Lines        int
	output
}

// Validate checks the names, workspace and output format.
func (o *deploymentNameOpts) Validate() error {
	if o.Name == "" || o.EndpointName == "" {
		return errors.New("--name and --endpoint-name are required")
	}
	if o.Lines < 0 {
		return errors.New("--lines must not be negative")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	if o.Format == "" {
		return nil
	}
	return o.output.validate()
}

func bindDeploymentName(cmd *cobra.Command, o *deploymentNameOpts) {
	o.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&o.Name, "name", "n", "", "deployment name")
	cmd.Flags().StringVarP(&o.EndpointName, "endpoint-name", "e", "", "endpoint name")
}

// deploymentListOpts are the options of `ciel online-deployment list`.
type deploymentListOpts struct {
	scope
	EndpointName string
	output
}

// Validate checks the endpoint name, workspace and output format.
func (o *deploymentListOpts) Validate() error {
	if o.EndpointName == "" {
		return errors.New("--endpoint-name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type deploymentLogsCmd struct{ *base }

// Run prints the last lines of the deployment's log.
func (c *deploymentLogsCmd) Run(ctx context.Context, o *deploymentNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	text, err := cl.OnlineDeploymentLogs(ctx, o.Workspace, o.EndpointName, o.Name, o.Lines)
	if err != nil {
		return fmt.Errorf("get logs of online deployment %q: %w", o.Name, err)
	}
	_, err = io.WriteString(c.out, text)
	return err
}

func newDeploymentLogsCommand(b *base) *cobra.Command {
	opts := &deploymentNameOpts{}
	cmd := &cobra.Command{
		Use:     "get-logs",
		Short:   "Print the log of a deployment's instances: what the model printed, and what ciel did",
		Example: `  ciel online-deployment get-logs --name green --endpoint-name model-service --lines 100`,
		RunE:    runE(b, &deploymentLogsCmd{b}, opts),
	}
	bindDeploymentName(cmd, opts)
	cmd.Flags().IntVarP(&opts.Lines, "lines", "l", 0, "how many lines from the end (default "+strconv.Itoa(500)+")")
	return cmd
}
