package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// environmentKind is environment for the shared asset commands.
var environmentKind = assetKind{
	kind:      client.KindEnvironment,
	noun:      "environment",
	versioned: true,
	columns:   []string{"Image", "Created"},
	cells: func(v assetFields) []string {
		return []string{v.str("image"), createdAt(v)}
	},
}

func newEnvironmentCommand(b *base) *cobra.Command {
	return newGroup("environment", "Manage environments",
		newEnvironmentCreateCommand(b),
		newEnvironmentShowCommand(b),
		newEnvironmentListCommand(b),
		newAssetArchiveCommand(b, environmentKind, true),
		newAssetArchiveCommand(b, environmentKind, false),
	)
}

// environmentCreateOpts are the options of `ciel environment create`.
type environmentCreateOpts struct {
	scope
	File        string
	Sets        []string
	Name        string
	Version     string
	Image       string
	CondaFile   string
	Description string
	output
}

// Validate checks a file, or a name and an image or conda file, are given.
func (o *environmentCreateOpts) Validate() error {
	if len(o.Sets) > 0 && o.File == "" {
		return errors.New("--set needs --file")
	}
	if o.File == "" && (o.Name == "" || (o.Image == "" && o.CondaFile == "")) {
		return errors.New("give --file env.yml, or --name with --image and/or --conda-file")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// environment returns the environment the options describe: the file's,
// with flags given taking precedence; --conda-file is read into the spec.
func (o *environmentCreateOpts) environment() (*spec.Environment, error) {
	e := &spec.Environment{Name: o.Name, Version: o.Version, Image: o.Image, Description: o.Description}
	if o.File != "" {
		var err error
		e, err = spec.ParseEnvironmentFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
			{Flag: "--name", Key: "name", Value: o.Name}, {Flag: "--version", Key: "version", Value: o.Version},
			{Flag: "--image", Key: "image", Value: o.Image}, {Flag: "--description", Key: "description", Value: o.Description},
		}})
		if err != nil {
			return nil, usageError(err)
		}
	}
	if o.CondaFile != "" {
		raw, err := os.ReadFile(o.CondaFile)
		if err != nil {
			return nil, usageError(fmt.Errorf("--conda-file: %w", err))
		}
		e.CondaFile = string(raw)
	}
	return e, nil
}

type environmentCreateCmd struct{ *base }

// Run uploads a local build context, registers the version and prints it.
func (c *environmentCreateCmd) Run(ctx context.Context, o *environmentCreateOpts) error {
	e, err := o.environment()
	if err != nil {
		return err
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := newPathRewriter(uploader(cl, o.Workspace)).environment(ctx, e); err != nil {
		return err
	}
	a, err := cl.CreateAsset(ctx, o.Workspace, client.KindEnvironment, e)
	if err != nil {
		return fmt.Errorf("create environment %q: %w", e.Name, err)
	}
	return environmentKind.printAsset(c.base, &o.output, a)
}

func newEnvironmentCreateCommand(b *base) *cobra.Command {
	opts := &environmentCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an environment version",
		Example: `  ciel environment create --file env.yml
  ciel environment create --name sklearn --version 1 --image python:3.12-slim --conda-file conda.yml`,
		RunE: runE(b, &environmentCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "environment YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "environment name")
	f.StringVarP(&opts.Version, "version", "v", "", "version (default: the next one)")
	f.StringVarP(&opts.Image, "image", "i", "", "base image")
	f.StringVarP(&opts.CondaFile, "conda-file", "c", "", "conda YAML file whose pip section lists the packages")
	f.StringVarP(&opts.Description, "description", "d", "", "description")
	opts.output.bind(f, formatJSON)
	return cmd
}
