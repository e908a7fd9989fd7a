package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// deploymentKind is one kind of endpoint deployment (online, batch) as the
// show, list and delete commands need it: its noun, its client calls and
// its table. Both kinds share those commands' flags and behaviour.
type deploymentKind[D any] struct {
	noun  string // "online deployment"
	get   func(cl *client.Client, ctx context.Context, ws, endpoint, name string) (D, error)
	list  func(cl *client.Client, ctx context.Context, ws, endpoint string) ([]D, error)
	del   func(cl *client.Client, ctx context.Context, ws, endpoint, name string) error
	table func(ds ...D) func() *textTable
}

type deploymentShowCmd[D any] struct {
	*base
	k deploymentKind[D]
}

// Run prints one deployment.
func (c *deploymentShowCmd[D]) Run(ctx context.Context, o *deploymentNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	d, err := c.k.get(cl, ctx, o.Workspace, o.EndpointName, o.Name)
	if err != nil {
		return fmt.Errorf("show %s %q: %w", c.k.noun, o.Name, err)
	}
	return o.print(c.out, d, c.k.table(d))
}

func (k deploymentKind[D]) showCommand(b *base, short string) *cobra.Command {
	opts := &deploymentNameOpts{}
	cmd := &cobra.Command{Use: "show", Short: short, RunE: runE(b, &deploymentShowCmd[D]{b, k}, opts)}
	bindDeploymentName(cmd, opts)
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}

type deploymentListCmd[D any] struct {
	*base
	k deploymentKind[D]
}

// Run lists an endpoint's deployments.
func (c *deploymentListCmd[D]) Run(ctx context.Context, o *deploymentListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	ds, err := c.k.list(cl, ctx, o.Workspace, o.EndpointName)
	if err != nil {
		return fmt.Errorf("list %ss of %q: %w", c.k.noun, o.EndpointName, err)
	}
	return o.print(c.out, ds, c.k.table(ds...))
}

func (k deploymentKind[D]) listCommand(b *base, short string) *cobra.Command {
	opts := &deploymentListOpts{}
	cmd := &cobra.Command{Use: "list", Short: short, RunE: runE(b, &deploymentListCmd[D]{b, k}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.EndpointName, "endpoint-name", "e", "", "endpoint name")
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

type deploymentDeleteCmd[D any] struct {
	*base
	k deploymentKind[D]
}

// Run deletes the deployment after asking, unless --yes.
func (c *deploymentDeleteCmd[D]) Run(ctx context.Context, o *deploymentNameOpts) error {
	if !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete %s %q of endpoint %q?", c.k.noun, o.Name, o.EndpointName))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := c.k.del(cl, ctx, o.Workspace, o.EndpointName, o.Name); err != nil {
		return fmt.Errorf("delete %s %q: %w", c.k.noun, o.Name, err)
	}
	return nil
}

func (k deploymentKind[D]) deleteCommand(b *base, short string) *cobra.Command {
	opts := &deploymentNameOpts{}
	cmd := &cobra.Command{Use: "delete", Short: short, RunE: runE(b, &deploymentDeleteCmd[D]{b, k}, opts)}
	bindDeploymentName(cmd, opts)
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// onlineDeployments and batchDeployments are the two kinds.
var (
	onlineDeployments = deploymentKind[client.OnlineDeployment]{noun: "online deployment",
		get: (*client.Client).GetOnlineDeployment, list: (*client.Client).ListOnlineDeployments,
		del: (*client.Client).DeleteOnlineDeployment, table: deploymentTable}
	batchDeployments = deploymentKind[client.BatchDeployment]{noun: "batch deployment",
		get: (*client.Client).GetBatchDeployment, list: (*client.Client).ListBatchDeployments,
		del: (*client.Client).DeleteBatchDeployment, table: batchDeploymentTable}
)
