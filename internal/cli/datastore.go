package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func newDatastoreCommand(b *base) *cobra.Command {
	return newGroup("datastore", "Manage datastores: local folders and S3-compatible buckets jobs read and write",
		newDatastoreCreateCommand(b),
		newDatastoreShowCommand(b),
		newDatastoreListCommand(b),
		newDatastoreDeleteCommand(b),
	)
}

// datastoreTable is the table view of datastores.
func datastoreTable(list ...client.Datastore) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Type", "Location", "Default")
		for _, ds := range list {
			loc := ds.Path
			if ds.Type == "s3" {
				loc = ds.Endpoint + "/" + ds.Bucket
				if ds.Prefix != "" {
					loc += "/" + ds.Prefix
				}
			}
			def := ""
			if ds.IsDefault {
				def = "yes"
			}
			t.Row(ds.Name, ds.Type, loc, def)
		}
		return t
	}
}

// datastoreCreateOpts are the options of `ciel datastore create`.
type datastoreCreateOpts struct {
	scope
	File string
	Sets []string
	Name string
	output
}

// Validate checks a file is given.
func (o *datastoreCreateOpts) Validate() error {
	if o.File == "" {
		return errors.New("--file is required: a datastore YAML file (type: local with path:, or type: s3 with endpoint: and bucket:)")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type datastoreCreateCmd struct{ *base }

// Run creates (or replaces) the datastore and prints it.
func (c *datastoreCreateCmd) Run(ctx context.Context, o *datastoreCreateOpts) error {
	ds, err := spec.ParseDatastoreFile(o.File, spec.Options{Sets: o.Sets})
	if err != nil {
		return usageError(err)
	}
	if o.Name != "" {
		ds.Name = o.Name
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	out, err := cl.CreateDatastore(ctx, o.Workspace, ds)
	if err != nil {
		return fmt.Errorf("create datastore %q: %w", ds.Name, err)
	}
	return o.print(c.out, out, datastoreTable(out))
}

func newDatastoreCreateCommand(b *base) *cobra.Command {
	opts := &datastoreCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create or update a datastore from a YAML file",
		Long: `Create or update a datastore. A local datastore is a folder on the server's
machine (type: local, path: relative to the file or absolute); an s3 datastore
is a bucket of an S3-compatible store (type: s3, endpoint:, bucket:, prefix:,
region:, credentials: {access_key_id_env: VAR, secret_access_key_env: VAR},
the NAMES of the server's environment variables holding the keys).
Jobs then read azureml://datastores/<name>/paths/<path> and write outputs there.`,
		Example: `  ciel datastore create --file datastore.yml
  ciel datastore create --file datastore.yml --set path=/srv/data --name raw`,
		RunE: runE(b, &datastoreCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "datastore YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "datastore name (default: the file's)")
	opts.output.bind(f, formatJSON)
	return cmd
}

// datastoreNameOpts are the options of show.
type datastoreNameOpts struct {
	scope
	Name string
	output
}

// Validate checks the name, workspace and format.
func (o *datastoreNameOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// datastoreDeleteOpts are the options of delete.
type datastoreDeleteOpts struct {
	scope
	Name string
	Yes  bool
}

// Validate checks the name and workspace.
func (o *datastoreDeleteOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	return o.scope.validate()
}

type datastoreShowCmd struct{ *base }

// Run prints one datastore.
func (c *datastoreShowCmd) Run(ctx context.Context, o *datastoreNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	ds, err := cl.GetDatastore(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("show datastore %q: %w", o.Name, err)
	}
	return o.print(c.out, ds, datastoreTable(ds))
}

func newDatastoreShowCommand(b *base) *cobra.Command {
	opts := &datastoreNameOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a datastore", RunE: runE(b, &datastoreShowCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "datastore name")
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}

// datastoreListOpts are the options of `ciel datastore list`.
type datastoreListOpts struct {
	scope
	output
}

// Validate checks the workspace and format.
func (o *datastoreListOpts) Validate() error {
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type datastoreListCmd struct{ *base }

// Run prints the workspace's datastores, the defaults first.
func (c *datastoreListCmd) Run(ctx context.Context, o *datastoreListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	list, err := cl.ListDatastores(ctx, o.Workspace)
	if err != nil {
		return fmt.Errorf("list datastores: %w", err)
	}
	return o.print(c.out, list, datastoreTable(list...))
}

func newDatastoreListCommand(b *base) *cobra.Command {
	opts := &datastoreListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List datastores", RunE: runE(b, &datastoreListCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}

type datastoreDeleteCmd struct{ *base }

// Run deletes the datastore after asking, unless --yes; its files stay.
func (c *datastoreDeleteCmd) Run(ctx context.Context, o *datastoreDeleteOpts) error {
	if !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete datastore %q (its files stay)?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeleteDatastore(ctx, o.Workspace, o.Name); err != nil {
		return fmt.Errorf("delete datastore %q: %w", o.Name, err)
	}
	return nil
}

func newDatastoreDeleteCommand(b *base) *cobra.Command {
	opts := &datastoreDeleteOpts{}
	cmd := &cobra.Command{Use: "delete", Short: "Delete a datastore (not its files)", RunE: runE(b, &datastoreDeleteCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "datastore name")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
