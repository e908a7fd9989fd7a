package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

func newDataFactoryCommand(b *base) *cobra.Command {
	g := newGroup("data-factory", "Run Azure Data Factory pipelines: linked services, datasets, pipelines, triggers",
		newFactoryResourceCommand(b, factoryLinkedService),
		newFactoryResourceCommand(b, factoryDataset),
		newFactoryResourceCommand(b, factoryPipeline),
		newFactoryResourceCommand(b, factoryTrigger),
		newFactoryPipelineRunCommand(b),
		newActivityRunCommand(b),
		newTriggerRunCommand(b),
		newFactoryImportCommand(b),
		newFactorySecretCommand(b),
	)
	g.Long = `Data Factory pipelines in ADF's own JSON, run by ciel against real databases
and files. The nouns and verbs are az datafactory's; files are the
{"name": ..., "properties": {...}} that ADF Studio commits to git.`
	g.Aliases = []string{"datafactory"}
	return g
}

// factoryNoun is one kind of factory resource as the CLI names it.
type factoryNoun struct {
	use, noun string // "linked-service", "linked service"
	kind      factory.Kind
	seg       string // the API's path segment
}

var (
	factoryLinkedService = factoryNoun{"linked-service", "linked service", factory.KindLinkedService, client.FactoryLinkedServices}
	factoryDataset       = factoryNoun{"dataset", "dataset", factory.KindDataset, client.FactoryDatasets}
	factoryPipeline      = factoryNoun{"pipeline", "pipeline", factory.KindPipeline, client.FactoryPipelines}
	factoryTrigger       = factoryNoun{"trigger", "trigger", factory.KindTrigger, client.FactoryTriggers}
)

func newFactoryResourceCommand(b *base, n factoryNoun) *cobra.Command {
	subs := []*cobra.Command{
		newFactoryCreateCommand(b, n), newFactoryShowCommand(b, n), newFactoryListCommand(b, n), newFactoryDeleteCommand(b, n),
	}
	switch n.kind {
	case factory.KindPipeline:
		subs = append(subs, newPipelineCreateRunCommand(b))
	case factory.KindTrigger:
		subs = append(subs, newTriggerStateCommand(b, true), newTriggerStateCommand(b, false), newTriggerWindowsCommand(b))
	}
	return newGroup(n.use, "Manage the factory's "+n.noun+"s", subs...)
}

// factoryScope is the workspace and az datafactory's factory and resource
// group (recorded only: a workspace has one factory).
type factoryScope struct {
	scope
	Factory string
}

func (s *factoryScope) bind(fs *pflag.FlagSet) {
	s.scope.bind(fs)
	fs.StringVar(&s.Factory, "factory-name", "", "ignored: the workspace's factory is the one (accepted for az datafactory compatibility)")
}

// factoryTable is the table view of resources.
func factoryTable(list ...client.FactoryResource) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Type", "Modified (UTC)")
		for _, r := range list {
			var p struct {
				Type         string            `json:"type"`
				Activities   []json.RawMessage `json:"activities"`
				RuntimeState string            `json:"runtimeState"`
			}
			_ = json.Unmarshal(r.Properties, &p)
			typ := p.Type
			if p.Activities != nil {
				typ = fmt.Sprintf("%d activities", len(p.Activities))
			}
			if p.RuntimeState != "" {
				typ += " (" + p.RuntimeState + ")"
			}
			t.Row(r.Name, typ, formatTime(r.SystemData.LastModifiedAt))
		}
		return t
	}
}

// factoryCreateOpts are the options of `ciel data-factory <noun> create`.
type factoryCreateOpts struct {
	factoryScope
	File       string
	Name       string
	Properties string
	IfMatch    string
	output
}

// Validate checks that a file, or a name and properties, are given.
func (o *factoryCreateOpts) Validate() error {
	switch {
	case o.File != "" && o.Properties != "":
		return errors.New("give --file or --properties, not both")
	case o.File == "" && o.Properties == "":
		return errors.New("--file (the resource's JSON) or --name with --properties is required")
	case o.Properties != "" && o.Name == "":
		return errors.New("--properties needs --name")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type factoryCreateCmd struct {
	*base
	n factoryNoun
}

// Run parses the resource here, so a bad file is named at its line and
// column, then creates or replaces it; a --file is sent as it is, so the
// server's errors (a reference to nothing) are at the file's lines too.
func (c *factoryCreateCmd) Run(ctx context.Context, o *factoryCreateOpts) error {
	d, data, err := readFactoryDocument(c.n.kind, o)
	if err != nil {
		return usageError(err)
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	var r client.FactoryResource
	if o.File != "" {
		r, err = cl.PutFactoryFile(ctx, o.Workspace, c.n.seg, d.Name(), o.File, data, o.IfMatch)
	} else {
		r, err = cl.PutFactoryResource(ctx, o.Workspace, c.n.seg, d.Name(), client.FactoryDocument{Name: d.Name(), Properties: d.Properties}, o.IfMatch)
	}
	if err != nil {
		return fmt.Errorf("create %s %q: %w", c.n.noun, d.Name(), err)
	}
	return o.print(c.out, r, factoryTable(r))
}

// readFactoryDocument reads --file (named by its "name" or --name), or
// --properties (inline JSON or @file) named by --name, and returns the
// file's bytes too.
func readFactoryDocument(kind factory.Kind, o *factoryCreateOpts) (dataflow.Document, []byte, error) {
	if o.File != "" {
		data, err := os.ReadFile(o.File)
		if err != nil {
			return dataflow.Document{}, nil, err
		}
		d, err := dataflow.ParseDocument(kind, o.Name, o.File, data)
		return d, data, err
	}
	file, data := "--properties", []byte(o.Properties)
	if at, ok := strings.CutPrefix(o.Properties, "@"); ok {
		var err error
		if file, data = at, nil; file == "" {
			return dataflow.Document{}, nil, errors.New("--properties @: no file named")
		}
		if data, err = os.ReadFile(file); err != nil {
			return dataflow.Document{}, nil, err
		}
	}
	d, err := dataflow.ParseProperties(kind, o.Name, file, data)
	return d, data, err
}

func newFactoryCreateCommand(b *base, n factoryNoun) *cobra.Command {
	opts := &factoryCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a " + n.noun + ", or replace the one of its name",
		Long: "Create a " + n.noun + ` from Data Factory's JSON, or replace the one of its name:
--file with {"name": ..., "properties": {...}} as ADF Studio writes it to git,
or --name with --properties (the properties object, inline or @file) as
az datafactory takes them.`,
		Example: "  ciel data-factory " + n.use + " create --file " + n.use + ".json\n" +
			"  ciel data-factory " + n.use + " create --name N --properties @properties.json",
		RunE: runE(b, &factoryCreateCmd{b, n}, opts),
	}
	f := cmd.Flags()
	opts.factoryScope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "the "+n.noun+"'s JSON file")
	f.StringVarP(&opts.Name, "name", "n", "", "the "+n.noun+"'s name (default: the file's)")
	f.StringVar(&opts.Properties, "properties", "", "the properties object: JSON, or @file")
	f.StringVar(&opts.IfMatch, "if-match", "", "replace only while the "+n.noun+" still has this etag")
	opts.output.bind(f, formatJSON)
	if n.kind == factory.KindPipeline {
		f.StringVar(&opts.Properties, "pipeline", "", "the pipeline's properties: JSON, or @file (az datafactory pipeline create's name for --properties)")
	}
	return cmd
}

// factoryNameOpts are the options of the commands on one resource.
type factoryNameOpts struct {
	factoryScope
	Name string
	Yes  bool
	output
}

// Validate checks the name and workspace.
func (o *factoryNameOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func bindFactoryName(cmd *cobra.Command, o *factoryNameOpts, what string) {
	o.factoryScope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&o.Name, "name", "n", "", what+" name")
	o.output.bind(cmd.Flags(), formatJSON)
}

type factoryShowCmd struct {
	*base
	n factoryNoun
}

// Run prints the resource.
func (c *factoryShowCmd) Run(ctx context.Context, o *factoryNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	r, err := cl.GetFactoryResource(ctx, o.Workspace, c.n.seg, o.Name)
	if err != nil {
		return fmt.Errorf("show %s %q: %w", c.n.noun, o.Name, err)
	}
	return o.print(c.out, r, factoryTable(r))
}

func newFactoryShowCommand(b *base, n factoryNoun) *cobra.Command {
	opts := &factoryNameOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a " + n.noun, RunE: runE(b, &factoryShowCmd{b, n}, opts)}
	bindFactoryName(cmd, opts, n.noun)
	return cmd
}

// factoryListOpts are the options of list commands.
type factoryListOpts struct {
	factoryScope
	output
}

// Validate checks the workspace.
func (o *factoryListOpts) Validate() error {
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type factoryListCmd struct {
	*base
	n factoryNoun
}

// Run prints the workspace's resources of the noun's kind.
func (c *factoryListCmd) Run(ctx context.Context, o *factoryListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	list, err := cl.ListFactoryResources(ctx, o.Workspace, c.n.seg)
	if err != nil {
		return fmt.Errorf("list %ss: %w", c.n.noun, err)
	}
	if list == nil {
		list = []client.FactoryResource{}
	}
	return o.print(c.out, list, factoryTable(list...))
}

func newFactoryListCommand(b *base, n factoryNoun) *cobra.Command {
	opts := &factoryListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List the factory's " + n.noun + "s", RunE: runE(b, &factoryListCmd{b, n}, opts)}
	opts.factoryScope.bind(cmd.Flags())
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

type factoryDeleteCmd struct {
	*base
	n factoryNoun
}

// Run deletes the resource; one still in use is refused naming its users.
func (c *factoryDeleteCmd) Run(ctx context.Context, o *factoryNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeleteFactoryResource(ctx, o.Workspace, c.n.seg, o.Name); err != nil {
		return fmt.Errorf("delete %s %q: %w", c.n.noun, o.Name, err)
	}
	return nil
}

func newFactoryDeleteCommand(b *base, n factoryNoun) *cobra.Command {
	opts := &factoryNameOpts{}
	cmd := &cobra.Command{Use: "delete", Short: "Delete a " + n.noun + " nothing references", RunE: runE(b, &factoryDeleteCmd{b, n}, opts)}
	bindFactoryName(cmd, opts, n.noun)
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "ignored: delete does not ask (accepted for az compatibility)")
	return cmd
}
