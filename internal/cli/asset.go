package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// assetKind describes one kind of asset to the commands every kind shares
// (show, list, archive, restore).
type assetKind struct {
	kind      string // client.KindData, ...
	noun      string // "data", "environment", ... as in `ciel <noun> show`
	versioned bool   // compute is not
	columns   []string
	// cells are the table cells of one asset after Name and Version.
	cells func(v assetFields) []string
}

// assetFields is an asset's view (see assetView) for table cells.
type assetFields map[string]any

// str returns the field as text ("" when absent).
func (f assetFields) str(key string) string {
	switch v := f[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// assetView flattens an asset like az prints one: the spec's fields with
// name, version, id and creation_context beside them. Source positions
// (pos) are left out; they mean something only in error messages.
func assetView(a client.Asset) (assetFields, error) {
	view := assetFields{}
	if len(a.Spec) > 0 && !bytes.Equal(a.Spec, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(a.Spec))
		dec.UseNumber()
		if err := dec.Decode(&view); err != nil {
			return nil, fmt.Errorf("decode %s %q: %w", a.Kind, a.Name, err)
		}
	}
	stripPositions(map[string]any(view))
	view["name"] = a.Name
	if a.Version != "" {
		view["version"] = a.Version
	}
	if a.ID != "" {
		view["id"] = a.ID
	}
	if a.Archived {
		view["archived"] = true
	}
	view["creation_context"] = map[string]any{"created_at": a.CreatedAt}
	return view, nil
}

// stripPositions removes "pos" objects ({file, line, col}) at any depth.
func stripPositions(v any) {
	switch t := v.(type) {
	case map[string]any:
		if p, ok := t["pos"].(map[string]any); ok && isPos(p) {
			delete(t, "pos")
		}
		for _, c := range t {
			stripPositions(c)
		}
	case []any:
		for _, c := range t {
			stripPositions(c)
		}
	}
}

func isPos(m map[string]any) bool {
	for k := range m {
		if k != "file" && k != "line" && k != "col" {
			return false
		}
	}
	return true
}

// assetViews is assetView over a list.
func assetViews(as []client.Asset) ([]assetFields, error) {
	out := make([]assetFields, 0, len(as))
	for _, a := range as {
		v, err := assetView(a)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// table returns the table view of assets of this kind.
func (k assetKind) table(views ...assetFields) func() *textTable {
	return func() *textTable {
		lead := []string{"Name"}
		if k.versioned {
			lead = append(lead, "Version")
		}
		t := newTable(append(lead, k.columns...)...)
		for _, v := range views {
			cells := []string{v.str("name")}
			if k.versioned {
				cells = append(cells, v.str("version"))
			}
			t.Row(append(cells, k.cells(v)...)...)
		}
		return t
	}
}

// printAsset prints one asset of this kind in the chosen format.
func (k assetKind) printAsset(b *base, o *output, a client.Asset) error {
	v, err := assetView(a)
	if err != nil {
		return err
	}
	return o.print(b.out, v, k.table(v))
}

// assetShowOpts are the options of `<noun> show`.
type assetShowOpts struct {
	scope
	Name    string
	Version string
	Label   string
	output
}

// Validate checks the name and that at most one of version and label is
// given; the only label is "latest".
func (o *assetShowOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if o.Version != "" && o.Label != "" {
		return errors.New("give --version or --label, not both")
	}
	if o.Label != "" && o.Label != "latest" {
		return fmt.Errorf("--label %q: the only label is latest", o.Label)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type assetShowCmd struct {
	*base
	k assetKind
}

// Run prints one version (the latest unless --version).
func (c *assetShowCmd) Run(ctx context.Context, o *assetShowOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	a, err := cl.GetAsset(ctx, o.Workspace, c.k.kind, o.Name, o.Version)
	if err != nil {
		return fmt.Errorf("show %s %q: %w", c.k.noun, o.Name, err)
	}
	return c.k.printAsset(c.base, &o.output, a)
}

func newAssetShowCommand(b *base, k assetKind) *cobra.Command {
	opts := &assetShowOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a " + k.noun, RunE: runE(b, &assetShowCmd{b, k}, opts)}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.Name, "name", "n", "", k.noun+" name")
	if k.versioned {
		f.StringVarP(&opts.Version, "version", "v", "", "version (default: the latest)")
		f.StringVarP(&opts.Label, "label", "l", "", "label: latest")
	}
	opts.output.bind(f, formatJSON)
	return cmd
}

// assetListOpts are the options of `<noun> list`.
type assetListOpts struct {
	scope
	Name string
	output
}

// Validate checks the workspace and output format.
func (o *assetListOpts) Validate() error {
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type assetListCmd struct {
	*base
	k assetKind
}

// Run lists the latest version of every asset, or every version of --name.
func (c *assetListCmd) Run(ctx context.Context, o *assetListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	as, err := cl.ListAssets(ctx, o.Workspace, c.k.kind, o.Name)
	if err != nil {
		return fmt.Errorf("list %s: %w", c.k.noun, err)
	}
	views, err := assetViews(as)
	if err != nil {
		return err
	}
	return o.print(c.out, views, c.k.table(views...))
}

func newAssetListCommand(b *base, k assetKind) *cobra.Command {
	opts := &assetListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List " + k.noun + " assets", RunE: runE(b, &assetListCmd{b, k}, opts)}
	opts.scope.bind(cmd.Flags())
	if k.versioned {
		cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "list every version of this "+k.noun)
	}
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

// assetArchiveOpts are the options of `<noun> archive` and `restore`.
type assetArchiveOpts struct {
	scope
	Name    string
	Version string
}

// Validate checks the name and workspace.
func (o *assetArchiveOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	return o.scope.validate()
}

type assetArchiveCmd struct {
	*base
	k        assetKind
	archived bool
}

// Run archives or restores one version, or every version without --version.
func (c *assetArchiveCmd) Run(ctx context.Context, o *assetArchiveOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	verb := "archive"
	if !c.archived {
		verb = "restore"
	}
	if err := cl.ArchiveAsset(ctx, o.Workspace, c.k.kind, o.Name, o.Version, c.archived); err != nil {
		return fmt.Errorf("%s %s %q: %w", verb, c.k.noun, o.Name, err)
	}
	return nil
}

func newAssetArchiveCommand(b *base, k assetKind, archived bool) *cobra.Command {
	opts := &assetArchiveOpts{}
	use, short := "archive", "Archive a "+k.noun+" (hide it from lists)"
	if !archived {
		use, short = "restore", "Restore an archived "+k.noun
	}
	cmd := &cobra.Command{Use: use, Short: short, RunE: runE(b, &assetArchiveCmd{b, k, archived}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", k.noun+" name")
	cmd.Flags().StringVarP(&opts.Version, "version", "v", "", "version (default: every version)")
	return cmd
}
