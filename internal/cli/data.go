package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// dataKind is data for the shared asset commands.
var dataKind = assetKind{
	kind:      client.KindData,
	noun:      "data",
	versioned: true,
	columns:   []string{"Type", "Path", "Created"},
	cells: func(v assetFields) []string {
		return []string{v.str("type"), v.str("path"), createdAt(v)}
	},
}

// createdAt is an asset view's creation time for tables.
func createdAt(v assetFields) string {
	if cc, ok := v["creation_context"].(map[string]any); ok {
		if t, ok := cc["created_at"].(time.Time); ok {
			return formatTime(t)
		}
	}
	return ""
}

func newDataCommand(b *base) *cobra.Command {
	return newGroup("data", "Manage data assets",
		newDataCreateCommand(b),
		newAssetShowCommand(b, dataKind),
		newAssetListCommand(b, dataKind),
		newAssetArchiveCommand(b, dataKind, true),
		newAssetArchiveCommand(b, dataKind, false),
	)
}

// dataCreateOpts are the options of `ciel data create`.
type dataCreateOpts struct {
	scope
	File        string
	Sets        []string
	Name        string
	Version     string
	Type        string
	Path        string
	Description string
	output
}

// Validate checks a file, or a name, type and path, are given.
func (o *dataCreateOpts) Validate() error {
	if len(o.Sets) > 0 && o.File == "" {
		return errors.New("--set needs --file")
	}
	if o.File == "" && (o.Name == "" || o.Path == "") {
		return errors.New("give --file data.yml, or --name, --path and --type")
	}
	switch o.Type {
	case "", spec.TypeURIFile, spec.TypeURIFolder, spec.TypeMLTable:
	default:
		return fmt.Errorf("--type %q: want uri_file, uri_folder or mltable", o.Type)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// data returns the asset the options describe: the file's, with flags
// given taking precedence. Without a file the type defaults to uri_folder
// like az's.
func (o *dataCreateOpts) data() (*spec.Data, error) {
	path := o.Path
	if path != "" && isLocalPath(path) {
		// A --path is relative to where the command runs, not to the
		// file's folder.
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, usageError(fmt.Errorf("--path: %w", err))
		}
		path = abs
	}
	if o.File == "" {
		d := &spec.Data{Name: o.Name, Version: o.Version, Type: o.Type, Path: path, Description: o.Description}
		if d.Type == "" {
			d.Type = spec.TypeURIFolder
		}
		return d, checkLocalDataPath(d)
	}
	d, err := spec.ParseDataFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
		{Flag: "--name", Key: "name", Value: o.Name}, {Flag: "--version", Key: "version", Value: o.Version},
		{Flag: "--type", Key: "type", Value: o.Type}, {Flag: "--path", Key: "path", Value: path},
		{Flag: "--description", Key: "description", Value: o.Description},
	}})
	if err != nil {
		return nil, usageError(err)
	}
	return d, checkLocalDataPath(d)
}

// checkLocalDataPath checks a local path is what the type says: a file for
// uri_file, a directory otherwise.
func checkLocalDataPath(d *spec.Data) error {
	if !isLocalPath(d.Path) {
		return nil
	}
	info, err := os.Stat(d.Path)
	if err != nil {
		return usageError(fmt.Errorf("%spath: %w", posPrefix(d.Pos), err))
	}
	if d.Type == spec.TypeURIFile && info.IsDir() {
		return usageErrorf("%spath %s is a directory; use --type uri_folder", posPrefix(d.Pos), d.Path)
	}
	if d.Type != spec.TypeURIFile && !info.IsDir() {
		return usageErrorf("%spath %s is a file; use --type uri_file", posPrefix(d.Pos), d.Path)
	}
	return nil
}

type dataCreateCmd struct{ *base }

// Run uploads a local path, registers the version and prints it.
func (c *dataCreateCmd) Run(ctx context.Context, o *dataCreateOpts) error {
	d, err := o.data()
	if err != nil {
		return err
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := newPathRewriter(uploader(cl, o.Workspace)).data(ctx, d); err != nil {
		return err
	}
	a, err := cl.CreateAsset(ctx, o.Workspace, client.KindData, d)
	if err != nil {
		return fmt.Errorf("create data %q: %w", d.Name, err)
	}
	return dataKind.printAsset(c.base, &o.output, a)
}

func newDataCreateCommand(b *base) *cobra.Command {
	opts := &dataCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a data asset version (a local path is uploaded)",
		Example: `  ciel data create --name iris --version 1 --type uri_file --path ./data/iris.csv
  ciel data create --file data.yml --set version=2`,
		RunE: runE(b, &dataCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "data asset YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "data asset name")
	f.StringVarP(&opts.Version, "version", "v", "", "version (default: the next one)")
	f.StringVarP(&opts.Type, "type", "t", "", "uri_file, uri_folder (default) or mltable")
	f.StringVarP(&opts.Path, "path", "p", "", "local path, azureml:// or other URL")
	f.StringVarP(&opts.Description, "description", "d", "", "description")
	opts.output.bind(f, formatJSON)
	return cmd
}
