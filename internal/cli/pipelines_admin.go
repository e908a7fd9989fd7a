package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// newPipelinePoolCommand is `ciel pipelines pool`: the agent pool that runs
// jobs, one per server.
func newPipelinePoolCommand(b *base) *cobra.Command {
	show := &poolOpts{}
	showCmd := &cobra.Command{Use: "show", Short: "Show the agent pool (how many jobs run at once)", RunE: runE(b, &poolShowCmd{b}, show)}
	show.bind(showCmd, false)
	upd := &poolOpts{}
	updCmd := &cobra.Command{Use: "update", Short: "Change how many jobs, of all runs, run at once",
		Example: "  ciel pipelines pool update --parallel 4", RunE: runE(b, &poolUpdateCmd{b}, upd)}
	upd.bind(updCmd, true)
	return newGroup("pool", "Show and size the agent pool that runs pipeline jobs", showCmd, updCmd)
}

// poolOpts are the options of `ciel pipelines pool show|update`.
type poolOpts struct {
	scope
	Parallel int
	update   bool
	output
}

func (o *poolOpts) bind(cmd *cobra.Command, update bool) {
	o.update = update
	if update {
		cmd.Flags().IntVar(&o.Parallel, "parallel", 0, "jobs that run at once, 1 to 64")
	}
	o.scope.bind(cmd.Flags())
	o.output.bind(cmd.Flags(), formatJSON)
}

// Validate checks the workspace and, for update, --parallel.
func (o *poolOpts) Validate() error {
	if o.update && (o.Parallel < 1 || o.Parallel > 64) {
		return errors.New("--parallel is required: a number of jobs from 1 to 64")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func poolTable(p client.AgentPool) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Parallel")
		t.Row(p.Name, strconv.Itoa(p.Parallel))
		return t
	}
}

type poolShowCmd struct{ *base }

// Run prints the pool.
func (c *poolShowCmd) Run(ctx context.Context, o *poolOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	p, err := cl.GetAgentPool(ctx, o.Workspace)
	if err != nil {
		return fmt.Errorf("show the agent pool: %w", err)
	}
	return o.print(c.out, p, poolTable(p))
}

type poolUpdateCmd struct{ *base }

// Run resizes the pool and prints it.
func (c *poolUpdateCmd) Run(ctx context.Context, o *poolOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	p, err := cl.UpdateAgentPool(ctx, o.Workspace, client.AgentPool{Parallel: o.Parallel})
	if err != nil {
		return fmt.Errorf("update the agent pool: %w", err)
	}
	return o.print(c.out, p, poolTable(p))
}

// newVariableGroupCommand is `ciel pipelines variable-group`, as az's.
func newVariableGroupCommand(b *base) *cobra.Command {
	create := &variableGroupOpts{action: "create"}
	createCmd := &cobra.Command{Use: "create", Short: "Create a variable group (- group: <name> in a pipeline's variables)",
		Example: "  ciel pipelines variable-group create --name shared --variables region=eu tier=gold",
		RunE:    runE(b, &variableGroupCmd{b}, create)}
	create.bind(createCmd, formatJSON)
	createCmd.Flags().StringArrayVar(&create.Variables, "variables", nil, "variables: key=value ...")
	createCmd.Flags().StringVar(&create.Description, "description", "", "description")
	list := &variableGroupOpts{action: "list"}
	listCmd := &cobra.Command{Use: "list", Short: "List variable groups", RunE: runE(b, &variableGroupCmd{b}, list)}
	list.scope.bind(listCmd.Flags())
	list.output.bind(listCmd.Flags(), formatTable)
	show := &variableGroupOpts{action: "show"}
	showCmd := &cobra.Command{Use: "show", Short: "Show a variable group", RunE: runE(b, &variableGroupCmd{b}, show)}
	show.bind(showCmd, formatJSON)
	del := &variableGroupOpts{action: "delete"}
	delCmd := &cobra.Command{Use: "delete", Short: "Delete a variable group", RunE: runE(b, &variableGroupCmd{b}, del)}
	del.bind(delCmd, formatJSON)
	delCmd.Flags().BoolVarP(&del.Yes, "yes", "y", false, "do not ask for confirmation")
	return newGroup("variable-group", "Manage variable groups pipelines read with - group: <name>", createCmd, listCmd, showCmd, delCmd)
}

// variableGroupOpts are the options of the variable-group commands.
type variableGroupOpts struct {
	scope
	action      string
	Name        string
	Description string
	Variables   []string
	Yes         bool
	output
}

func (o *variableGroupOpts) bind(cmd *cobra.Command, format string) {
	cmd.Flags().StringVarP(&o.Name, "name", "n", "", "variable group name")
	o.scope.bind(cmd.Flags())
	o.output.bind(cmd.Flags(), format)
}

// Validate checks the name (all but list) and the variables' key=value.
func (o *variableGroupOpts) Validate() error {
	if o.action != "list" && o.Name == "" {
		return errors.New("--name is required")
	}
	if _, err := parseKeyValues("--variables", o.Variables); err != nil {
		return err
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func variableGroupTable(gs ...client.VariableGroup) func() *textTable {
	return func() *textTable {
		t := newTable("ID", "Name", "Variables")
		for _, g := range gs {
			names := make([]string, 0, len(g.Variables))
			for k := range g.Variables {
				names = append(names, k)
			}
			sort.Strings(names)
			t.Row(strconv.FormatInt(g.ID, 10), g.Name, strings.Join(names, ","))
		}
		return t
	}
}

type variableGroupCmd struct{ *base }

// Run carries out the action.
func (c *variableGroupCmd) Run(ctx context.Context, o *variableGroupOpts) error {
	if o.action == "delete" && !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete variable group %q?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	switch o.action {
	case "create":
		vars, _ := parseKeyValues("--variables", o.Variables) // validated
		g, err := cl.CreateVariableGroup(ctx, o.Workspace, client.VariableGroupCreate{Name: o.Name, Description: o.Description, Variables: vars})
		if err != nil {
			return fmt.Errorf("create variable group %q: %w", o.Name, err)
		}
		return o.print(c.out, g, variableGroupTable(g))
	case "list":
		gs, err := cl.ListVariableGroups(ctx, o.Workspace)
		if err != nil {
			return fmt.Errorf("list variable groups: %w", err)
		}
		if gs == nil {
			gs = []client.VariableGroup{}
		}
		return o.print(c.out, gs, variableGroupTable(gs...))
	case "show":
		g, err := cl.GetVariableGroup(ctx, o.Workspace, o.Name)
		if err != nil {
			return fmt.Errorf("show variable group %q: %w", o.Name, err)
		}
		return o.print(c.out, g, variableGroupTable(g))
	default:
		if err := cl.DeleteVariableGroup(ctx, o.Workspace, o.Name); err != nil {
			return fmt.Errorf("delete variable group %q: %w", o.Name, err)
		}
		return nil
	}
}

// pipelineExpandOpts are the options of `ciel pipelines expand`.
type pipelineExpandOpts struct {
	File       string
	Parameters []string
}

// Validate checks a file is named and the parameters are key=value.
func (o *pipelineExpandOpts) Validate() error {
	if o.File == "" {
		return errors.New("--file is required")
	}
	_, err := parseKeyValues("--parameters", o.Parameters)
	return err
}

type pipelineExpandCmd struct{ *base }

// Run expands the file locally, with the templates beside it, and prints
// the result; a problem in the file is a usage error naming file:line:col.
func (c *pipelineExpandCmd) Run(_ context.Context, o *pipelineExpandOpts) error {
	abs, err := filepath.Abs(o.File)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return usageErrorf("expand %s: %w", o.File, err)
	}
	kv, _ := parseKeyValues("--parameters", o.Parameters) // validated
	params := map[string]any{}
	for k, v := range kv {
		params[k] = v
	}
	// Relative to its folder, so errors name the file as given.
	dir, name := filepath.Split(abs)
	pl, err := azp.Config{Variables: map[string]string{"Build.SourceBranch": "refs/heads/main", "Build.SourceBranchName": "main",
		"Build.Reason": "Manual"}}.Expand(os.DirFS(dir), name, params)
	if err != nil {
		return usageError(err)
	}
	out, err := azp.Render(pl)
	if err != nil {
		return err
	}
	_, err = c.out.Write(out)
	return err
}

func newPipelineExpandCommand(b *base) *cobra.Command {
	opts := &pipelineExpandOpts{}
	cmd := &cobra.Command{
		Use:   "expand",
		Short: "Print a pipeline YAML fully expanded (templates, parameters, ${{ }}), without a server",
		Example: "  ciel pipelines expand --file azure-pipelines.yml\n" +
			"  ciel pipelines expand --file azure-pipelines.yml --parameters env=prod",
		RunE: runE(b, &pipelineExpandCmd{b}, opts),
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", defaultYAMLPath, "the pipeline YAML file")
	cmd.Flags().StringArrayVar(&opts.Parameters, "parameters", nil, "pipeline parameters: key=value ...")
	return cmd
}
