package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// componentKind is component for the shared asset commands.
var componentKind = assetKind{
	kind:      client.KindComponent,
	noun:      "component",
	versioned: true,
	columns:   []string{"Type", "Display name", "Created"},
	cells: func(v assetFields) []string {
		return []string{v.str("type"), v.str("display_name"), createdAt(v)}
	},
}

func newComponentCommand(b *base) *cobra.Command {
	return newGroup("component", "Manage components",
		newComponentCreateCommand(b),
		newAssetShowCommand(b, componentKind),
		newAssetListCommand(b, componentKind),
		newAssetArchiveCommand(b, componentKind, true),
		newAssetArchiveCommand(b, componentKind, false),
	)
}

// componentCreateOpts are the options of `ciel component create`.
type componentCreateOpts struct {
	scope
	File    string
	Sets    []string
	Name    string
	Version string
	output
}

// Validate checks a file is given.
func (o *componentCreateOpts) Validate() error {
	if o.File == "" {
		return errors.New("--file is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// component parses the file with --set and the flags applied before it is
// checked.
func (o *componentCreateOpts) component() (*spec.Component, error) {
	comp, err := spec.ParseComponentFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
		{Flag: "--name", Key: "name", Value: o.Name}, {Flag: "--version", Key: "version", Value: o.Version},
	}})
	if err != nil {
		return nil, usageError(err)
	}
	return comp, nil
}

type componentCreateCmd struct{ *base }

// Run parses the component, uploads its code (and that of a pipeline
// component's steps), registers the version and prints it.
func (c *componentCreateCmd) Run(ctx context.Context, o *componentCreateOpts) error {
	comp, err := o.component()
	if err != nil {
		return err
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := newPathRewriter(uploader(cl, o.Workspace)).component(ctx, comp); err != nil {
		return err
	}
	a, err := cl.CreateAsset(ctx, o.Workspace, client.KindComponent, comp)
	if err != nil {
		return fmt.Errorf("create component %q: %w", comp.Name, err)
	}
	return componentKind.printAsset(c.base, &o.output, a)
}

func newComponentCreateCommand(b *base) *cobra.Command {
	opts := &componentCreateOpts{}
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a component version (its code directory is uploaded)",
		Example: "  ciel component create --file train.yml --version 2",
		RunE:    runE(b, &componentCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "component YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "component name (default: the file's)")
	f.StringVarP(&opts.Version, "version", "v", "", "version (default: the file's, or the next one)")
	opts.output.bind(f, formatJSON)
	return cmd
}
