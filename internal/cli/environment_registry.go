package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ciel-mlops/ciel/client"
)

// bindRegistry adds az's --registry-name (and the shorter --registry) to a
// command that can read a registry instead of a workspace.
func bindRegistry(fs *pflag.FlagSet, dst *string) {
	fs.StringVar(dst, "registry-name", "", "read the registry (azureml: Azure's curated environments) instead of a workspace")
	fs.StringVar(dst, "registry", "", "same as --registry-name")
}

// environmentListOpts are the options of `ciel environment list`.
type environmentListOpts struct {
	assetListOpts
	Registry string
}

// Validate checks the workspace, unless a registry is read, and the output.
func (o *environmentListOpts) Validate() error {
	if o.Registry != "" {
		return o.output.validate()
	}
	return o.assetListOpts.Validate()
}

type environmentListCmd struct{ *base }

// Run lists a registry's environments, or a workspace's.
func (c *environmentListCmd) Run(ctx context.Context, o *environmentListOpts) error {
	if o.Registry == "" {
		return (&assetListCmd{c.base, environmentKind}).Run(ctx, &o.assetListOpts)
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	as, err := cl.ListRegistryAssets(ctx, o.Registry, client.KindEnvironment)
	if err != nil {
		return fmt.Errorf("list environments of registry %s: %w", o.Registry, err)
	}
	if o.Name != "" {
		kept := as[:0]
		for _, a := range as {
			if a.Name == o.Name {
				kept = append(kept, a)
			}
		}
		as = kept
	}
	views, err := assetViews(as)
	if err != nil {
		return err
	}
	return o.print(c.out, views, environmentKind.table(views...))
}

func newEnvironmentListCommand(b *base) *cobra.Command {
	opts := &environmentListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List environment assets, or a registry's curated environments",
		Example: `  ciel environment list
  ciel environment list --registry-name azureml`,
		RunE: runE(b, &environmentListCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "list every version of this environment")
	bindRegistry(cmd.Flags(), &opts.Registry)
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

// environmentShowOpts are the options of `ciel environment show`.
type environmentShowOpts struct {
	assetShowOpts
	Registry string
}

// Validate checks the name, and the workspace unless a registry is read.
func (o *environmentShowOpts) Validate() error {
	if o.Registry == "" {
		return o.assetShowOpts.Validate()
	}
	ws := o.Workspace
	o.Workspace = "-" // a registry needs none
	err := o.assetShowOpts.Validate()
	o.Workspace = ws
	return err
}

type environmentShowCmd struct{ *base }

// Run prints one environment of a registry or a workspace.
func (c *environmentShowCmd) Run(ctx context.Context, o *environmentShowOpts) error {
	if o.Registry == "" {
		return (&assetShowCmd{c.base, environmentKind}).Run(ctx, &o.assetShowOpts)
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	a, err := cl.GetRegistryAsset(ctx, o.Registry, client.KindEnvironment, o.Name, o.Version)
	if err != nil {
		return fmt.Errorf("show environment %q of registry %s: %w", o.Name, o.Registry, err)
	}
	return environmentKind.printAsset(c.base, &o.output, a)
}

func newEnvironmentShowCommand(b *base) *cobra.Command {
	opts := &environmentShowOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show an environment, or a registry's curated environment",
		Example: `  ciel environment show --name sklearn-env
  ciel environment show --registry-name azureml --name sklearn-1.5`,
		RunE: runE(b, &environmentShowCmd{b}, opts)}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.Name, "name", "n", "", "environment name")
	f.StringVarP(&opts.Version, "version", "v", "", "version (default: the latest)")
	f.StringVarP(&opts.Label, "label", "l", "", "label: latest")
	bindRegistry(f, &opts.Registry)
	opts.output.bind(f, formatJSON)
	return cmd
}
