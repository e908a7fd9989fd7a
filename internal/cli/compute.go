package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// computeKind is compute for the shared asset commands.
var computeKind = assetKind{
	kind:    client.KindCompute,
	noun:    "compute",
	columns: []string{"Type", "Size", "Max instances", "Max concurrency"},
	cells: func(v assetFields) []string {
		return []string{v.str("type"), v.str("size"), v.str("max_instances"), v.str("max_concurrency")}
	},
}

func newComputeCommand(b *base) *cobra.Command {
	return newGroup("compute", "Manage compute targets (kubernetes runs steps as Jobs; every other type as local processes)",
		newComputeCreateCommand(b),
		newComputeAttachCommand(b),
		newInstanceTypeCommand(b),
		newHelperImageCommand(b),
		newAssetShowCommand(b, computeKind),
		newAssetListCommand(b, computeKind),
		newComputeDeleteCommand(b),
	)
}

// computeCreateOpts are the options of `ciel compute create`.
type computeCreateOpts struct {
	scope
	File           string
	Sets           []string
	Name           string
	Type           string
	Size           string
	MinInstances   int
	MaxInstances   int
	MaxConcurrency int
	kubeFlags
	output
}

// Validate checks a file or a name and type are given, and the numbers.
func (o *computeCreateOpts) Validate() error {
	if len(o.Sets) > 0 && o.File == "" {
		return errors.New("--set needs --file")
	}
	if o.File == "" {
		if o.Name == "" || o.Type == "" {
			return errors.New("give --file compute.yml, or --name and --type")
		}
		o.Type = strings.ToLower(o.Type) // az ml compute attach --type Kubernetes
		switch o.Type {
		case "local", "amlcompute", "kubernetes":
		default:
			return fmt.Errorf("--type %q: want local, amlcompute or kubernetes", o.Type)
		}
	}
	if err := o.kubeFlags.validate(o.Type); err != nil {
		return err
	}
	if o.MinInstances < 0 || o.MaxInstances < 0 || o.MaxConcurrency < 0 {
		return errors.New("--min-instances, --max-instances and --max-concurrency must not be negative")
	}
	if o.MaxInstances > 0 && o.MinInstances > o.MaxInstances {
		return fmt.Errorf("--min-instances %d is more than --max-instances %d", o.MinInstances, o.MaxInstances)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// compute returns the spec the options describe: the file's, with the
// flags given (non-empty, non-zero) taking precedence.
func (o *computeCreateOpts) compute() (*spec.Compute, error) {
	c := &spec.Compute{Name: o.Name, Type: o.Type, Size: o.Size}
	if o.File != "" {
		var err error
		c, err = spec.ParseComputeFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
			{Flag: "--name", Key: "name", Value: o.Name}, {Flag: "--type", Key: "type", Value: o.Type},
			{Flag: "--size", Key: "size", Value: o.Size},
		}})
		if err != nil {
			return nil, usageError(err)
		}
	}
	if o.MinInstances != 0 {
		c.MinInstances = o.MinInstances
	}
	if o.MaxInstances != 0 {
		c.MaxInstances = o.MaxInstances
	}
	if o.MaxConcurrency != 0 {
		c.MaxConcurrency = o.MaxConcurrency
	}
	if c.Type == spec.ComputeKubernetes {
		c.Kubernetes = o.kubeFlags.apply(c.Kubernetes)
	} else if o.kubeFlags.given() {
		return nil, usageErrorf("--kubeconfig, --namespace, --helper-image, --blob-endpoint, --server-url and --endpoint-route are for --type kubernetes, not %s", c.Type)
	}
	return c, nil
}

type computeCreateCmd struct{ *base }

// Run creates (or replaces) the compute and prints it.
func (c *computeCreateCmd) Run(ctx context.Context, o *computeCreateOpts) error {
	comp, err := o.compute()
	if err != nil {
		return err
	}
	if err := c.defaultBlobEndpoint(comp); err != nil {
		return err
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	a, err := cl.CreateAsset(ctx, o.Workspace, client.KindCompute, comp)
	if err != nil {
		return fmt.Errorf("create compute %q: %w", comp.Name, err)
	}
	return computeKind.printAsset(c.base, &o.output, a)
}

// EnvKubeBlobEndpoint names the variable whose URL a kubernetes compute
// created without blob_endpoint takes as it: the blob store's S3 as pods
// reach it (scripts/cluster.sh env prints it).
const EnvKubeBlobEndpoint = "CIEL_KUBE_BLOB_ENDPOINT"

// defaultBlobEndpoint sets the blob_endpoint of a kubernetes compute that
// has none to $CIEL_KUBE_BLOB_ENDPOINT, when set.
func (c *computeCreateCmd) defaultBlobEndpoint(comp *spec.Compute) error {
	v := c.getenv(EnvKubeBlobEndpoint)
	if comp.Type != spec.ComputeKubernetes || comp.Kubernetes == nil || comp.Kubernetes.BlobEndpoint != "" || v == "" {
		return nil
	}
	if err := spec.ValidateBlobEndpoint(v); err != nil {
		return usageError(fmt.Errorf("%s: %w", EnvKubeBlobEndpoint, err))
	}
	comp.Kubernetes.BlobEndpoint = v
	return nil
}

func newComputeCreateCommand(b *base) *cobra.Command {
	opts := &computeCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create or update a compute target",
		Example: `  ciel compute create --name cpu-cluster --type amlcompute --max-instances 4
  ciel compute create --file compute.yml`,
		RunE: runE(b, &computeCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "compute YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "compute name")
	f.StringVarP(&opts.Type, "type", "t", "", "local, amlcompute or kubernetes")
	f.StringVar(&opts.Size, "size", "", "VM size (recorded only)")
	f.IntVar(&opts.MinInstances, "min-instances", 0, "minimum instances (recorded only)")
	f.IntVar(&opts.MaxInstances, "max-instances", 0, "maximum instances: how many steps run at once on amlcompute")
	f.IntVar(&opts.MaxConcurrency, "max-concurrency", 0, "how many steps run at once (default: max instances, or the CPU count; 32 on kubernetes)")
	opts.kubeFlags.bind(f)
	opts.output.bind(f, formatJSON)
	return cmd
}

// newComputeAttachCommand is `ciel compute attach`, Azure's verb for a
// Kubernetes cluster (az ml compute attach --type Kubernetes): the same as
// create.
func newComputeAttachCommand(b *base) *cobra.Command {
	cmd := newComputeCreateCommand(b)
	cmd.Use = "attach"
	cmd.Short = "Attach a Kubernetes cluster as a compute target (the same as create)"
	cmd.Example = `  ciel compute attach --name k8s --type Kubernetes --kubeconfig ~/.kube/config --namespace ml`
	return cmd
}

// computeDeleteOpts are the options of `ciel compute delete`.
type computeDeleteOpts struct {
	scope
	Name string
	Yes  bool
}

// Validate checks the name and workspace.
func (o *computeDeleteOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	return o.scope.validate()
}

type computeDeleteCmd struct{ *base }

// Run deletes the compute after asking, unless --yes.
func (c *computeDeleteCmd) Run(ctx context.Context, o *computeDeleteOpts) error {
	if !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete compute %q?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeleteAsset(ctx, o.Workspace, client.KindCompute, o.Name); err != nil {
		return fmt.Errorf("delete compute %q: %w", o.Name, err)
	}
	return nil
}

func newComputeDeleteCommand(b *base) *cobra.Command {
	opts := &computeDeleteOpts{}
	cmd := &cobra.Command{Use: "delete", Short: "Delete a compute target", RunE: runE(b, &computeDeleteCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "compute name")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
