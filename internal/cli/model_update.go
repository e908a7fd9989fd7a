package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// modelUpdateOpts are the options of `ciel model update`.
type modelUpdateOpts struct {
	scope
	modelRef
	Sets          []string
	AddTags       []string
	RemoveTags    []string
	SetAliases    []string
	RemoveAliases []string
	output
}

// Validate checks a version is named and there is something to change.
func (o *modelUpdateOpts) Validate() error {
	if err := o.modelRef.validate(); err != nil {
		return err
	}
	if o.Version == "" && o.Label == "" {
		return errors.New("--version (or --label) is required")
	}
	if len(o.Sets)+len(o.AddTags)+len(o.RemoveTags)+len(o.SetAliases)+len(o.RemoveAliases) == 0 {
		return errors.New("nothing to change: give --set, --add-tag, --remove-tag, --set-alias or --remove-alias")
	}
	if _, err := o.update(); err != nil {
		return err
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// update turns the flags into the change to send.
func (o *modelUpdateOpts) update() (client.ModelVersionUpdate, error) {
	var u client.ModelVersionUpdate
	sets, err := parseKeyValues("--set", o.Sets)
	if err != nil {
		return u, err
	}
	add, err := parseKeyValues("--add-tag", o.AddTags)
	if err != nil {
		return u, err
	}
	for k, v := range sets {
		switch {
		case k == "description":
			u.Description = &v
		case k == "stage":
			u.Stage = &v
		case strings.HasPrefix(k, "tags.") && len(k) > len("tags."):
			add[strings.TrimPrefix(k, "tags.")] = v
		default:
			return u, fmt.Errorf("--set %s: can set description, stage or tags.<key>", k)
		}
	}
	if len(add) > 0 {
		u.SetTags = add
	}
	u.RemoveTags, u.SetAliases, u.RemoveAliases = o.RemoveTags, o.SetAliases, o.RemoveAliases
	return u, nil
}

type modelUpdateCmd struct{ *base }

// Run applies the change and prints the version.
func (c *modelUpdateCmd) Run(ctx context.Context, o *modelUpdateOpts) error {
	u, err := o.update()
	if err != nil {
		return usageError(err)
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	version := o.Version
	if version == "" {
		v, err := o.get(ctx, cl, o.Workspace)
		if err != nil {
			return err
		}
		version = v.Version
	}
	v, err := cl.UpdateModelVersion(ctx, o.Workspace, o.Name, version, u)
	if err != nil {
		return fmt.Errorf("update model %q version %s: %w", o.Name, version, err)
	}
	return o.print(c.out, v, modelVersionTable(v))
}

func newModelUpdateCommand(b *base) *cobra.Command {
	opts := &modelUpdateOpts{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Change a model version's description, stage, tags or aliases",
		Long: `Change a model version. An alias (such as champion) names one version of a
model at a time: setting it here moves it from the version it named before.
MLflow loads the version an alias names with models:/<name>@<alias>.`,
		Example: `  ciel model update --name best_model --version 1 --set description="random forest, 200 trees"
  ciel model update --name best_model --version 1 --add-tag team=ml --remove-tag draft
  ciel model update --name best_model --version 1 --set-alias champion
  ciel model update --name best_model --version 1 --remove-alias champion`,
		RunE: runE(b, &modelUpdateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	opts.modelRef.bind(cmd)
	f.StringArrayVar(&opts.Sets, "set", nil, "description=..., stage=Staging|Production|Archived|None, tags.<key>=<value>")
	f.StringArrayVar(&opts.AddTags, "add-tag", nil, "add or replace a tag: key=value")
	f.StringArrayVar(&opts.RemoveTags, "remove-tag", nil, "remove a tag by key")
	f.StringArrayVar(&opts.SetAliases, "set-alias", nil, "point an alias at this version")
	f.StringArrayVar(&opts.RemoveAliases, "remove-alias", nil, "remove an alias")
	opts.output.bind(f, formatJSON)
	return cmd
}

// modelArchiveOpts are the options of `ciel model archive` and `restore`.
type modelArchiveOpts struct {
	scope
	Name    string
	Version string
}

// Validate checks the name and workspace.
func (o *modelArchiveOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	return o.scope.validate()
}

type modelArchiveCmd struct {
	*base
	archived bool
}

// Run archives or restores one version, or every version without
// --version.
func (c *modelArchiveCmd) Run(ctx context.Context, o *modelArchiveOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	verb := "archive"
	if !c.archived {
		verb = "restore"
	}
	if err := cl.ArchiveModel(ctx, o.Workspace, o.Name, o.Version, c.archived); err != nil {
		return fmt.Errorf("%s model %q: %w", verb, o.Name, err)
	}
	return nil
}

func newModelArchiveCommand(b *base, archived bool) *cobra.Command {
	opts := &modelArchiveOpts{}
	use, short := "archive", "Archive a model version (hide it from latest)"
	if !archived {
		use, short = "restore", "Restore an archived model version"
	}
	cmd := &cobra.Command{Use: use, Short: short, RunE: runE(b, &modelArchiveCmd{b, archived}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "model name")
	cmd.Flags().StringVarP(&opts.Version, "version", "v", "", "version (default: every version)")
	return cmd
}

// modelDownloadOpts are the options of `ciel model download`.
type modelDownloadOpts struct {
	scope
	modelRef
	DownloadPath string
}

// Validate checks the reference and the download path.
func (o *modelDownloadOpts) Validate() error {
	if err := o.modelRef.validate(); err != nil {
		return err
	}
	if o.DownloadPath == "" {
		return errors.New("--download-path must not be empty")
	}
	return o.scope.validate()
}

type modelDownloadCmd struct{ *base }

// Run downloads a version's files into <download-path>/<name>/, as az
// does.
func (c *modelDownloadCmd) Run(ctx context.Context, o *modelDownloadOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	v, err := o.get(ctx, cl, o.Workspace)
	if err != nil {
		return err
	}
	dir, err := joinLocal(o.DownloadPath, v.Name, "model")
	if err != nil {
		return fmt.Errorf("download model version %s: %w", v.Version, err)
	}
	body, err := cl.DownloadModelVersion(ctx, o.Workspace, v.Name, v.Version)
	if err != nil {
		return fmt.Errorf("download model %q version %s: %w", v.Name, v.Version, err)
	}
	defer body.Close()
	n, err := extractTar(body, dir)
	if err != nil {
		return fmt.Errorf("download model %q version %s: %w", v.Name, v.Version, err)
	}
	fmt.Fprintf(c.out, "Downloaded model %s version %s to %s (%s)\n", v.Name, v.Version, dir, plural(n, "file"))
	return nil
}

func newModelDownloadCommand(b *base) *cobra.Command {
	opts := &modelDownloadOpts{}
	cmd := &cobra.Command{
		Use:     "download",
		Short:   "Download a model version's files into <download-path>/<name>/",
		Example: "  ciel model download --name best_model --version 1 --download-path ./out",
		RunE:    runE(b, &modelDownloadCmd{b}, opts),
	}
	opts.scope.bind(cmd.Flags())
	opts.modelRef.bind(cmd)
	cmd.Flags().StringVarP(&opts.DownloadPath, "download-path", "p", ".", "directory to download into")
	return cmd
}
