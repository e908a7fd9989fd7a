package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// Model types, as az names them.
const (
	modelTypeCustom = "custom_model"
	modelTypeMLflow = "mlflow_model"
)

func newModelCommand(b *base) *cobra.Command {
	return newGroup("model", "Manage registered models: versions, tags, aliases and lineage",
		newModelCreateCommand(b),
		newModelShowCommand(b),
		newModelListCommand(b),
		newModelUpdateCommand(b),
		newModelArchiveCommand(b, true),
		newModelArchiveCommand(b, false),
		newModelDownloadCommand(b),
	)
}

// modelVersionTable is the table view of model versions.
func modelVersionTable(vs ...client.ModelVersion) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Version", "Type", "Stage", "Aliases", "Job", "Created")
		for _, v := range vs {
			name := v.Name
			if v.Archived {
				name += " (archived)"
			}
			t.Row(name, v.Version, v.Type, v.Stage, strings.Join(v.Aliases, ","), v.JobName, formatTime(v.CreationContext.CreatedAt))
		}
		return t
	}
}

// modelTable is the table view of registered models.
func modelTable(ms ...client.Model) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Latest", "Aliases", "Description")
		for _, m := range ms {
			var aliases []string
			for a, v := range m.Aliases {
				aliases = append(aliases, fmt.Sprintf("%s=%d", a, v))
			}
			slices.Sort(aliases)
			latest := ""
			if m.LatestVersion > 0 {
				latest = strconv.Itoa(m.LatestVersion)
			}
			t.Row(m.Name, latest, strings.Join(aliases, ","), m.Description)
		}
		return t
	}
}

// modelCreateOpts are the options of `ciel model create`.
type modelCreateOpts struct {
	scope
	File        string
	Sets        []string
	Name        string
	Version     string
	Path        string
	Type        string
	Description string
	Tags        []string
	output
}

// Validate checks a file, or a name and path, are given and the flags'
// values.
func (o *modelCreateOpts) Validate() error {
	if len(o.Sets) > 0 && o.File == "" {
		return errors.New("--set needs --file")
	}
	if o.File == "" && (o.Name == "" || o.Path == "") {
		return errors.New("give --file model.yml, or --name and --path (azureml://jobs/<job>/outputs/<output>, runs:/<run_id>/<path>, or a local path)")
	}
	switch o.Type {
	case "", modelTypeCustom, modelTypeMLflow:
	default:
		return fmt.Errorf("--type %q: want %s or %s", o.Type, modelTypeCustom, modelTypeMLflow)
	}
	if o.Version != "" {
		if n, err := strconv.Atoi(o.Version); err != nil || n <= 0 {
			return fmt.Errorf("--version %q: want a positive whole number", o.Version)
		}
	}
	if _, err := parseKeyValues("--tags", o.Tags); err != nil {
		return err
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// model returns the version to register and the stage the file asks for:
// the file's with --set and the flags applied before it is checked, or the
// flags'. A local path is absolute: one from the file is relative to the
// file, a --path to where the command runs.
func (o *modelCreateOpts) model() (client.ModelCreate, string, error) {
	tags, _ := parseKeyValues("--tags", o.Tags)
	path := o.Path
	if path != "" && !isModelURI(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return client.ModelCreate{}, "", usageError(fmt.Errorf("--path: %w", err))
		}
		path = abs
	}
	req := client.ModelCreate{Name: o.Name, Version: o.Version, Path: path, Type: o.Type, Description: o.Description, Tags: tags}
	if o.File == "" {
		return req, "", nil
	}
	m, err := spec.ParseModelFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
		{Flag: "--name", Key: "name", Value: o.Name}, {Flag: "--version", Key: "version", Value: o.Version},
		{Flag: "--path", Key: "path", Value: path}, {Flag: "--type", Key: "type", Value: o.Type},
		{Flag: "--description", Key: "description", Value: o.Description},
	}})
	if err != nil {
		return client.ModelCreate{}, "", usageError(err)
	}
	merged := maps.Clone(m.Tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return client.ModelCreate{Name: m.Name, Version: m.Version, Path: m.Path, Type: m.Type, Description: m.Description, Tags: merged}, m.Stage, nil
}

// isModelURI reports whether a --path is a URI the server resolves rather
// than a local path to upload.
func isModelURI(p string) bool {
	for _, prefix := range []string{"azureml:", "runs:", "models:", "mlflow-artifacts:", "blob:"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return strings.Contains(p, "://")
}

type modelCreateCmd struct{ *base }

// Run uploads a local path, registers the version, sets the file's stage
// and prints it. The server tells an MLflow model (an MLmodel file at the
// root) from others.
func (c *modelCreateCmd) Run(ctx context.Context, o *modelCreateOpts) error {
	req, stage, err := o.model()
	if err != nil {
		return err
	}
	if req.Tags = c.withLineage(req.Tags); len(req.Tags) == 0 {
		req.Tags = nil
	}
	local := !isModelURI(req.Path)
	if local {
		if _, err := os.Stat(req.Path); err != nil {
			return usageError(fmt.Errorf("--path: %w", err))
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if local {
		from := req.Path
		if req.Path, err = uploadPath(ctx, cl, o.Workspace, from); err != nil {
			return fmt.Errorf("create model %q: upload %s: %w", req.Name, from, err)
		}
		req.Folder = uploadedFolder(from)
	}
	v, err := cl.CreateModelVersion(ctx, o.Workspace, req)
	if err != nil {
		return fmt.Errorf("create model %q: %w", req.Name, err)
	}
	if stage != "" {
		if v, err = cl.UpdateModelVersion(ctx, o.Workspace, v.Name, v.Version, client.ModelVersionUpdate{Stage: &stage}); err != nil {
			return fmt.Errorf("create model %q: set stage %s: %w", req.Name, stage, err)
		}
	}
	return o.print(c.out, v, modelVersionTable(v))
}

func newModelCreateCommand(b *base) *cobra.Command {
	opts := &modelCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Register a model version from a job output, a run or a local path",
		Long: `Register a model version. The files are copied into the registry, so the
version stays whole when the job or run it came from is deleted. An MLflow
model (a folder with an MLmodel file) is registered as mlflow_model unless
--type says otherwise, and loads with mlflow.pyfunc.load_model("models:/<name>/<version>").

With --file, the model YAML file (Azure ML's model schema: name, version,
path, type, description, tags, stage) is read; --set and the flags given
override its values before it is checked.`,
		Example: `  ciel model create --name best_model --version 1 --path azureml://jobs/<job>/outputs/model
  ciel model create --name best_model --path azureml://jobs/<job>/outputs/artifacts/paths/outputs/model
  ciel model create --name best_model --path runs:/<run_id>/model --type mlflow_model
  ciel model create --name best_model --path ./model --tags team=ml stage=dev
  ciel model create --file model.yml --set version=2`,
		RunE: runE(b, &modelCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "model YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "model name")
	f.StringVarP(&opts.Version, "version", "v", "", "version number (default: the next one)")
	f.StringVarP(&opts.Path, "path", "p", "", "azureml://jobs/<job>/outputs/<output>, runs:/<run_id>/<path>, models:/<name>/<version>, or a local path")
	f.StringVarP(&opts.Type, "type", "t", "", "custom_model or mlflow_model (default: mlflow_model when the files have an MLmodel file)")
	f.StringVarP(&opts.Description, "description", "d", "", "description")
	f.StringArrayVar(&opts.Tags, "tags", nil, "tags: key=value ...")
	opts.output.bind(f, formatJSON)
	return cmd
}

// modelRef names one version: --version, or --label (latest or an alias).
type modelRef struct {
	Name    string
	Version string
	Label   string
}

func (r *modelRef) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&r.Name, "name", "n", "", "model name")
	cmd.Flags().StringVarP(&r.Version, "version", "v", "", "version number")
	cmd.Flags().StringVarP(&r.Label, "label", "l", "", "latest, or an alias such as champion")
}

// validate checks the name and that at most one of version and label is
// given; neither means latest.
func (r *modelRef) validate() error {
	if r.Name == "" {
		return errors.New("--name is required")
	}
	if r.Version != "" && r.Label != "" {
		return errors.New("give --version or --label, not both")
	}
	return nil
}

// get fetches the version the reference names.
func (r *modelRef) get(ctx context.Context, cl *client.Client, ws string) (client.ModelVersion, error) {
	var (
		v   client.ModelVersion
		err error
	)
	switch {
	case r.Version != "":
		v, err = cl.GetModelVersion(ctx, ws, r.Name, r.Version)
	case r.Label == "" || r.Label == "latest":
		v, err = cl.GetModelVersion(ctx, ws, r.Name, "latest")
	default:
		v, err = cl.GetModelVersionByAlias(ctx, ws, r.Name, r.Label)
	}
	if err != nil {
		return v, fmt.Errorf("model %q: %w", r.Name, err)
	}
	return v, nil
}

// modelShowOpts are the options of `ciel model show`.
type modelShowOpts struct {
	scope
	modelRef
	output
}

// Validate checks the reference, workspace and format.
func (o *modelShowOpts) Validate() error {
	if err := o.modelRef.validate(); err != nil {
		return err
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type modelShowCmd struct{ *base }

// Run prints one version with its lineage.
func (c *modelShowCmd) Run(ctx context.Context, o *modelShowOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	v, err := o.get(ctx, cl, o.Workspace)
	if err != nil {
		return err
	}
	return o.print(c.out, v, modelVersionTable(v))
}

func newModelShowCommand(b *base) *cobra.Command {
	opts := &modelShowOpts{}
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show a model version with its lineage (default: the latest)",
		Example: "  ciel model show --name best_model --version 1\n  ciel model show --name best_model --label champion",
		RunE:    runE(b, &modelShowCmd{b}, opts),
	}
	opts.scope.bind(cmd.Flags())
	opts.modelRef.bind(cmd)
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}

// modelListOpts are the options of `ciel model list`.
type modelListOpts struct {
	scope
	Name string
	output
}

// Validate checks the workspace and output format.
func (o *modelListOpts) Validate() error {
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type modelListCmd struct{ *base }

// Run lists the registered models, or every version of --name.
func (c *modelListCmd) Run(ctx context.Context, o *modelListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if o.Name != "" {
		vs, err := cl.ListModelVersions(ctx, o.Workspace, o.Name)
		if err != nil {
			return fmt.Errorf("list versions of model %q: %w", o.Name, err)
		}
		return o.print(c.out, vs, modelVersionTable(vs...))
	}
	ms, err := cl.ListModels(ctx, o.Workspace)
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	return o.print(c.out, ms, modelTable(ms...))
}

func newModelListCommand(b *base) *cobra.Command {
	opts := &modelListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List registered models, or the versions of one", RunE: runE(b, &modelListCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "list every version of this model")
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}
