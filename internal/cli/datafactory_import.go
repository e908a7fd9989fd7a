package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/jsonpos"
)

// factoryImportOpts are the options of `ciel data-factory import`.
type factoryImportOpts struct {
	factoryScope
	Folder     string
	Template   string
	Parameters string
	output
}

// Validate checks that a folder or a template is given.
func (o *factoryImportOpts) Validate() error {
	switch {
	case o.Folder != "" && o.Template != "":
		return errors.New("give --folder or --template, not both")
	case o.Folder == "" && o.Template == "":
		return errors.New("--folder (a factory as ADF keeps it in git) or --template (an ARM template) is required")
	case o.Parameters != "" && o.Template == "":
		return errors.New("--parameters goes with --template")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type factoryImportCmd struct{ *base }

// Run sends the folder as a tar, or the template and its parameters, and
// prints what was imported; nothing is when anything is refused.
func (c *factoryImportCmd) Run(ctx context.Context, o *factoryImportOpts) error {
	var in client.TemplateImport
	if o.Template != "" {
		var err error
		if in.Template, err = readJSONFile(o.Template); err != nil {
			return usageError(err)
		}
		in.TemplateFile, in.ParametersFile = o.Template, o.Parameters
		if o.Parameters != "" {
			if in.Parameters, err = readJSONFile(o.Parameters); err != nil {
				return usageError(err)
			}
		}
	} else if fi, err := os.Stat(o.Folder); err != nil || !fi.IsDir() {
		return usageErrorf("--folder %s: not a folder", o.Folder)
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	var list []client.FactoryResource
	if o.Template != "" {
		list, err = cl.ImportFactoryTemplate(ctx, o.Workspace, in)
	} else {
		list, err = c.importFolder(ctx, cl, o)
	}
	if err != nil {
		from := o.Folder
		if from == "" {
			from = o.Template
		}
		return fmt.Errorf("import %s: %w", from, err)
	}
	return o.print(c.out, list, factoryTable(list...))
}

// importFolder streams a tar of the folder to the server.
func (c *factoryImportCmd) importFolder(ctx context.Context, cl *client.Client, o *factoryImportOpts) ([]client.FactoryResource, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := writeTar(pw, o.Folder)
		pw.CloseWithError(err)
		done <- err
	}()
	list, err := cl.ImportFactoryFolder(ctx, o.Workspace, pr)
	pr.CloseWithError(errUploadEnded)
	if tarErr := <-done; tarErr != nil && !errors.Is(tarErr, errUploadEnded) {
		return nil, tarErr
	}
	return list, err
}

// readJSONFile reads a file that must hold JSON, naming it when it does
// not.
func readJSONFile(path string) (json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := jsonpos.Parse(data); err != nil {
		return nil, factory.AsError(path, err)
	}
	return data, nil
}

func newFactoryImportCommand(b *base) *cobra.Command {
	opts := &factoryImportOpts{}
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import a factory folder or an ARM template, all or nothing",
		Long: `Import a whole factory: --folder as ADF keeps it in git (linkedService/,
dataset/, pipeline/, trigger/, one JSON file each), or --template, the ARM
template ADF publishes (ARMTemplateForFactory.json) or the template gallery
has, with --parameters. Resources are created or replaced all together:
one bad file or missing reference and nothing is written.`,
		Example: `  ciel data-factory import --folder ./adf
  ciel data-factory import --template ARMTemplateForFactory.json --parameters ARMTemplateParametersForFactory.json`,
		RunE: runE(b, &factoryImportCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.factoryScope.bind(f)
	f.StringVar(&opts.Folder, "folder", "", "the factory folder")
	f.StringVar(&opts.Template, "template", "", "an ARM template file")
	f.StringVar(&opts.Parameters, "parameters", "", "the template's parameters file")
	opts.output.bind(f, formatTable)
	return cmd
}

// secretOpts are the options of the secret commands.
type secretOpts struct {
	factoryScope
	Name  string
	Value string
	File  string
	list  bool
	set   bool
	output
}

// Validate checks the name and, for set, that exactly one of --value and
// --file is given.
func (o *secretOpts) Validate() error {
	if !o.list && o.Name == "" {
		return errors.New("--name is required")
	}
	if o.set && (o.Value == "") == (o.File == "") {
		return errors.New("give the secret with --value or --file (one of them)")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// secretTable is the table view of secrets: names and times only.
func secretTable(list ...client.FactorySecret) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Created (UTC)", "Updated (UTC)")
		for _, s := range list {
			t.Row(s.Name, formatTime(s.CreatedAt), formatTime(s.UpdatedAt))
		}
		return t
	}
}

func newFactorySecretCommand(b *base) *cobra.Command {
	setOpts := &secretOpts{set: true}
	set := &cobra.Command{Use: "set", Short: "Set a secret that AzureKeyVault references resolve to (its value is never shown)",
		Example: `  ciel data-factory secret set --name pg-password --file ./pg-password.txt`,
		RunE: runE(b, runFunc[*secretOpts](func(ctx context.Context, o *secretOpts) error {
			value := o.Value
			if o.File != "" {
				data, err := os.ReadFile(o.File)
				if err != nil {
					return usageError(err)
				}
				value = string(data)
			}
			cl, err := b.client(ctx)
			if err != nil {
				return err
			}
			s, err := cl.SetFactorySecret(ctx, o.Workspace, o.Name, value)
			if err != nil {
				return fmt.Errorf("set secret %q: %w", o.Name, err)
			}
			return o.print(b.out, s, secretTable(s))
		}), setOpts)}
	setOpts.factoryScope.bind(set.Flags())
	set.Flags().StringVarP(&setOpts.Name, "name", "n", "", "secret name")
	set.Flags().StringVar(&setOpts.Value, "value", "", "the value (visible in the shell's history: prefer --file)")
	set.Flags().StringVarP(&setOpts.File, "file", "f", "", "a file holding the value, as it is")
	setOpts.output.bind(set.Flags(), formatJSON)

	listOpts := &secretOpts{list: true}
	list := &cobra.Command{Use: "list", Short: "List the secrets' names",
		RunE: runE(b, runFunc[*secretOpts](func(ctx context.Context, o *secretOpts) error {
			cl, err := b.client(ctx)
			if err != nil {
				return err
			}
			l, err := cl.ListFactorySecrets(ctx, o.Workspace)
			if err != nil {
				return fmt.Errorf("list secrets: %w", err)
			}
			if l == nil {
				l = []client.FactorySecret{}
			}
			return o.print(b.out, l, secretTable(l...))
		}), listOpts)}
	listOpts.factoryScope.bind(list.Flags())
	listOpts.output.bind(list.Flags(), formatTable)

	delOpts := &secretOpts{}
	del := &cobra.Command{Use: "delete", Short: "Delete a secret",
		RunE: runE(b, runFunc[*secretOpts](func(ctx context.Context, o *secretOpts) error {
			cl, err := b.client(ctx)
			if err != nil {
				return err
			}
			if err := cl.DeleteFactorySecret(ctx, o.Workspace, o.Name); err != nil {
				return fmt.Errorf("delete secret %q: %w", o.Name, err)
			}
			return nil
		}), delOpts)}
	delOpts.factoryScope.bind(del.Flags())
	del.Flags().StringVarP(&delOpts.Name, "name", "n", "", "secret name")
	delOpts.output.bind(del.Flags(), formatJSON)
	return newGroup("secret", "Keep the secrets linked services reference (AzureKeyVault secrets)", set, list, del)
}
