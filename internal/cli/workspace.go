package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

func newWorkspaceCommand(b *base) *cobra.Command {
	return newGroup("workspace", "Manage workspaces",
		newWorkspaceCreateCommand(b),
		newWorkspaceShowCommand(b),
		newWorkspaceListCommand(b),
		newWorkspaceDeleteCommand(b),
	)
}

// workspaceTable is the table view of workspaces.
func workspaceTable(ws ...client.Workspace) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Resource group", "Location", "Display name", "Created")
		for _, w := range ws {
			t.Row(w.Name, w.ResourceGroup, w.Location, w.DisplayName, formatTime(w.CreatedAt))
		}
		return t
	}
}

// formatTime formats a timestamp for tables, in UTC so output does not
// depend on where it is printed; zero is blank.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// workspaceCreateOpts are the options of `ciel workspace create`.
type workspaceCreateOpts struct {
	Name          string
	ResourceGroup string
	Location      string
	DisplayName   string
	Description   string
	Tags          []string
	output
}

func (o *workspaceCreateOpts) applyDefaults(d defaultValues) {
	if o.ResourceGroup == "" {
		o.ResourceGroup = d["group"]
	}
	if o.Location == "" {
		o.Location = d["location"]
	}
}

// Validate checks the name and tags.
func (o *workspaceCreateOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if _, err := parseKeyValues("--tags", o.Tags); err != nil {
		return err
	}
	return o.output.validate()
}

type workspaceCreateCmd struct{ *base }

// Run creates the workspace and prints it.
func (c *workspaceCreateCmd) Run(ctx context.Context, o *workspaceCreateOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	tags, _ := parseKeyValues("--tags", o.Tags)
	if len(tags) == 0 {
		tags = nil
	}
	w, err := cl.CreateWorkspace(ctx, client.Workspace{
		Name: o.Name, ResourceGroup: o.ResourceGroup, Location: o.Location,
		DisplayName: o.DisplayName, Description: o.Description, Tags: tags,
	})
	if err != nil {
		return fmt.Errorf("create workspace %q: %w", o.Name, err)
	}
	return o.print(c.out, w, workspaceTable(w))
}

func newWorkspaceCreateCommand(b *base) *cobra.Command {
	opts := &workspaceCreateOpts{}
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a workspace",
		Example: "  ciel workspace create --name ml_workspace --resource-group ml_rg --location eastus",
		RunE:    runE(b, &workspaceCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Name, "name", "n", "", "workspace name")
	f.StringVarP(&opts.ResourceGroup, "resource-group", "g", "", "resource group (recorded only)")
	f.StringVarP(&opts.Location, "location", "l", "", "location (recorded only)")
	f.StringVar(&opts.DisplayName, "display-name", "", "display name")
	f.StringVar(&opts.Description, "description", "", "description")
	f.StringArrayVar(&opts.Tags, "tags", nil, "space-separated key=value tags")
	opts.output.bind(f, formatJSON)
	return cmd
}

// workspaceNameOpts are the options of `workspace show` and `delete`: the
// name defaults to the configured workspace, like az.
type workspaceNameOpts struct {
	Name          string
	ResourceGroup string
	Yes           bool
	output
}

func (o *workspaceNameOpts) applyDefaults(d defaultValues) {
	if o.Name == "" {
		o.Name = d["workspace"]
	}
}

// Validate checks a workspace is named.
func (o *workspaceNameOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required (or set a default with `ciel configure --defaults workspace=<name>`)")
	}
	return o.output.validate()
}

func bindWorkspaceName(cmd *cobra.Command, o *workspaceNameOpts) {
	cmd.Flags().StringVarP(&o.Name, "name", "n", "", "workspace name (default: the configured workspace)")
	cmd.Flags().StringVarP(&o.ResourceGroup, "resource-group", "g", "", "resource group (recorded only)")
}

type workspaceShowCmd struct{ *base }

// Run prints the workspace.
func (c *workspaceShowCmd) Run(ctx context.Context, o *workspaceNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	w, err := cl.GetWorkspace(ctx, o.Name)
	if err != nil {
		return fmt.Errorf("show workspace %q: %w", o.Name, err)
	}
	return o.print(c.out, w, workspaceTable(w))
}

func newWorkspaceShowCommand(b *base) *cobra.Command {
	opts := &workspaceNameOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a workspace", RunE: runE(b, &workspaceShowCmd{b}, opts)}
	bindWorkspaceName(cmd, opts)
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}

// workspaceListOpts are the options of `ciel workspace list`.
type workspaceListOpts struct {
	ResourceGroup string
	output
}

// Validate checks the output format.
func (o *workspaceListOpts) Validate() error { return o.output.validate() }

type workspaceListCmd struct{ *base }

// Run prints every workspace.
func (c *workspaceListCmd) Run(ctx context.Context, o *workspaceListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	ws, err := cl.ListWorkspaces(ctx)
	if err != nil {
		return fmt.Errorf("list workspaces: %w", err)
	}
	if ws == nil {
		ws = []client.Workspace{}
	}
	return o.print(c.out, ws, workspaceTable(ws...))
}

func newWorkspaceListCommand(b *base) *cobra.Command {
	opts := &workspaceListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List workspaces", RunE: runE(b, &workspaceListCmd{b}, opts)}
	cmd.Flags().StringVarP(&opts.ResourceGroup, "resource-group", "g", "", "resource group (recorded only)")
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

type workspaceDeleteCmd struct{ *base }

// Run deletes the workspace and everything in it, after asking unless
// --yes. The server stops the workspace's work first.
func (c *workspaceDeleteCmd) Run(ctx context.Context, o *workspaceNameOpts) error {
	if !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete workspace %q: cancel its running jobs and pipeline runs, stop its endpoints, "+
			"and delete all its jobs, assets, repositories and outputs?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeleteWorkspace(ctx, o.Name); err != nil {
		return fmt.Errorf("delete workspace %q: %w", o.Name, err)
	}
	return nil
}

func newWorkspaceDeleteCommand(b *base) *cobra.Command {
	opts := &workspaceNameOpts{output: output{Format: formatJSON}}
	cmd := &cobra.Command{Use: "delete", Short: "Delete a workspace and everything in it; its running jobs, endpoints and pipeline runs stop", RunE: runE(b, &workspaceDeleteCmd{b}, opts)}
	bindWorkspaceName(cmd, opts)
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
