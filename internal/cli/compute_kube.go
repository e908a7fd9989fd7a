package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/compute/kube"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// kubeFlags are the flags of a kubernetes compute.
type kubeFlags struct {
	Kubeconfig   string
	Namespace    string
	HelperImage  string
	BlobEndpoint string
	ServerURL    string
	Route        string
}

func (k *kubeFlags) bind(f *pflag.FlagSet) {
	f.StringVar(&k.Kubeconfig, "kubeconfig", "", "kubernetes: the kubeconfig file the server reads (default: the server's $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&k.Namespace, "namespace", "", "kubernetes: the namespace steps run in (default: default)")
	f.StringVar(&k.HelperImage, "helper-image", "", "kubernetes: the image with ciel's binary that stages inputs and outputs (see 'ciel compute helper-image')")
	f.StringVar(&k.BlobEndpoint, "blob-endpoint", "", "kubernetes: the S3 endpoint of the blob store as pods reach it, when not the server's (default: CIEL_KUBE_BLOB_ENDPOINT)")
	f.StringVar(&k.ServerURL, "server-url", "", "kubernetes: this server's URL as pods reach it, for their MLflow tracking")
	f.StringVar(&k.Route, "endpoint-route", "", "kubernetes: how the server reaches online deployments' pods: pod (their addresses), "+
		"apiserver (the API server's proxy, which needs pods/proxy rights) or auto, pod's address else the proxy (default: auto)")
}

func (k *kubeFlags) given() bool {
	return k.Kubeconfig != "" || k.Namespace != "" || k.HelperImage != "" || k.BlobEndpoint != "" || k.ServerURL != "" || k.Route != ""
}

// validate checks the values given; typ is --type, if given.
func (k *kubeFlags) validate(typ string) error {
	if typ != "" && typ != spec.ComputeKubernetes && k.given() {
		return fmt.Errorf("--kubeconfig, --namespace, --helper-image, --blob-endpoint, --server-url and --endpoint-route are for --type kubernetes, not %s", typ)
	}
	if k.Namespace != "" {
		if err := spec.ValidateNamespace(k.Namespace); err != nil {
			return fmt.Errorf("--namespace: %w", err)
		}
	}
	if k.BlobEndpoint != "" {
		if err := spec.ValidateBlobEndpoint(k.BlobEndpoint); err != nil {
			return fmt.Errorf("--blob-endpoint: %w", err)
		}
	}
	if k.ServerURL != "" {
		if err := spec.ValidateServerURL(k.ServerURL); err != nil {
			return fmt.Errorf("--server-url: %w", err)
		}
	}
	if err := spec.ValidateEndpointRoute(k.Route); err != nil {
		return fmt.Errorf("--endpoint-route: %w", err)
	}
	return nil
}

// apply returns c (which may be nil) with the flags given set; the
// kubeconfig path is made absolute (~ is the user's home), as the server
// reads it from wherever it runs.
func (k *kubeFlags) apply(c *spec.Kubernetes) *spec.Kubernetes {
	c = c.WithDefaults()
	if k.Kubeconfig != "" {
		p := k.Kubeconfig
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			if home, err := os.UserHomeDir(); err == nil {
				p = filepath.Join(home, rest)
			}
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		c.Kubeconfig = p
	}
	if k.Namespace != "" {
		c.Namespace = k.Namespace
	}
	if k.HelperImage != "" {
		c.HelperImage = k.HelperImage
	}
	if k.BlobEndpoint != "" {
		c.BlobEndpoint = k.BlobEndpoint
	}
	if k.ServerURL != "" {
		c.ServerURL = k.ServerURL
	}
	if k.Route != "" {
		c.EndpointRoute = k.Route
	}
	return c
}

func newInstanceTypeCommand(b *base) *cobra.Command {
	return newGroup("instance-type", "Manage the instance types of a kubernetes compute (Azure's InstanceType)",
		newInstanceTypeCreateCommand(b),
		newInstanceTypeDeleteCommand(b),
	)
}

// instanceTypeOpts are the options of `ciel compute instance-type create`.
type instanceTypeOpts struct {
	scope
	Compute      string
	Name         string
	CPU          string
	Memory       string
	GPU          int
	NodeSelector []string
	output
}

// Validate checks the names and sizes.
func (o *instanceTypeOpts) Validate() error {
	if o.Compute == "" {
		return errors.New("--compute is required: the kubernetes compute the instance type belongs to")
	}
	if o.Name == "" {
		o.Name = spec.DefaultInstanceType
	}
	if err := spec.ValidateInstanceTypeName(o.Name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	it, err := o.instanceType()
	if err != nil {
		return err
	}
	if err := it.Validate(); err != nil {
		return err
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// instanceType is the instance type the flags describe.
func (o *instanceTypeOpts) instanceType() (spec.InstanceType, error) {
	it := spec.InstanceType{CPU: o.CPU, Memory: o.Memory, GPU: o.GPU}
	for _, kv := range o.NodeSelector {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return it, fmt.Errorf("--node-selector %q: expected key=value", kv)
		}
		if it.NodeSelector == nil {
			it.NodeSelector = map[string]string{}
		}
		it.NodeSelector[k] = v
	}
	return it, nil
}

type instanceTypeCreateCmd struct{ *base }

// Run adds (or replaces) the instance type on the compute and prints it.
func (c *instanceTypeCreateCmd) Run(ctx context.Context, o *instanceTypeOpts) error {
	it, _ := o.instanceType()
	return c.updateCompute(ctx, o.Workspace, o.Compute, &o.output, func(k *spec.Kubernetes) error {
		if k.InstanceTypes == nil {
			k.InstanceTypes = map[string]spec.InstanceType{}
		}
		k.InstanceTypes[o.Name] = it
		return nil
	})
}

// updateCompute reads a kubernetes compute, changes it and stores it back.
func (c *instanceTypeCreateCmd) updateCompute(ctx context.Context, ws, name string, out *output, change func(*spec.Kubernetes) error) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	a, err := cl.GetAsset(ctx, ws, client.KindCompute, name, "")
	if err != nil {
		return fmt.Errorf("compute %q: %w", name, err)
	}
	var comp spec.Compute
	if err := json.Unmarshal(a.Spec, &comp); err != nil {
		return fmt.Errorf("compute %q: %w", name, err)
	}
	if comp.Type != spec.ComputeKubernetes {
		return usageErrorf("compute %q is of type %s; instance types belong to a kubernetes compute", name, comp.Type)
	}
	comp.Kubernetes = comp.Kubernetes.WithDefaults()
	if err := change(comp.Kubernetes); err != nil {
		return err
	}
	a, err = cl.CreateAsset(ctx, ws, client.KindCompute, &comp)
	if err != nil {
		return fmt.Errorf("update compute %q: %w", name, err)
	}
	return computeKind.printAsset(c.base, out, a)
}

func newInstanceTypeCreateCommand(b *base) *cobra.Command {
	opts := &instanceTypeOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Add or replace an instance type of a kubernetes compute",
		Example: `  ciel compute instance-type create --compute k8s --name small --cpu 1 --memory 2Gi
  ciel compute instance-type create --compute k8s --name gpu --cpu 4 --memory 16Gi --gpu 1`,
		RunE: runE(b, &instanceTypeCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVar(&opts.Compute, "compute", "", "the kubernetes compute")
	f.StringVarP(&opts.Name, "name", "n", "", "instance type name (default: defaultinstancetype, what a step naming none gets)")
	f.StringVar(&opts.CPU, "cpu", "", "CPU requested and limited: 1, 500m")
	f.StringVar(&opts.Memory, "memory", "", "memory requested and limited: 2Gi")
	f.IntVar(&opts.GPU, "gpu", 0, "nvidia.com/gpu count")
	f.StringArrayVar(&opts.NodeSelector, "node-selector", nil, "key=value a node must be labelled with (repeatable)")
	opts.output.bind(f, formatJSON)
	return cmd
}

type instanceTypeDeleteCmd struct{ *base }

// Run removes the instance type from the compute.
func (c *instanceTypeDeleteCmd) Run(ctx context.Context, o *instanceTypeOpts) error {
	up := &instanceTypeCreateCmd{c.base}
	return up.updateCompute(ctx, o.Workspace, o.Compute, &o.output, func(k *spec.Kubernetes) error {
		if _, ok := k.InstanceTypes[o.Name]; !ok {
			return fmt.Errorf("compute %q has no instance type %q", o.Compute, o.Name)
		}
		delete(k.InstanceTypes, o.Name)
		return nil
	})
}

func newInstanceTypeDeleteCommand(b *base) *cobra.Command {
	opts := &instanceTypeOpts{}
	cmd := &cobra.Command{Use: "delete", Short: "Remove an instance type from a kubernetes compute", RunE: runE(b, &instanceTypeDeleteCmd{b}, opts)}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVar(&opts.Compute, "compute", "", "the kubernetes compute")
	f.StringVarP(&opts.Name, "name", "n", "", "instance type name")
	opts.output.bind(f, formatJSON)
	return cmd
}

// helperImageOpts are the options of `ciel compute helper-image`.
type helperImageOpts struct {
	Output string
	Binary string
}

// Validate checks an output file is given.
func (o *helperImageOpts) Validate() error {
	if o.Output == "" {
		return errors.New("--path is required: the image tarball to write")
	}
	return nil
}

type helperImageCmd struct{ *base }

// Run writes the helper image tarball and prints its reference.
func (c *helperImageCmd) Run(_ context.Context, o *helperImageOpts) error {
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("find ciel's binary: %w", err)
		}
	}
	f, err := os.Create(o.Output)
	if err != nil {
		return err
	}
	ref, err := kube.WriteHelperImage(bin, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(o.Output)
		return err
	}
	fmt.Fprintln(c.out, ref)
	if step, _ := kube.StepBinary(bin); step == "" {
		fmt.Fprintf(c.errOut, "no %s beside %s: steps will copy and start all of ciel in each pod; for faster steps build it there (CGO_ENABLED=0 go build -o %s ./cmd/ciel-step) and write the image again\n",
			kube.StepBinaryName, bin, filepath.Join(filepath.Dir(bin), kube.StepBinaryName))
	}
	fmt.Fprintf(c.errOut, "wrote %s; load it into the cluster's nodes (ctr -n k8s.io image import %s) or push it to a registry the cluster pulls from, then set --helper-image %s on the compute (a server on this same binary uses it by default)\n",
		o.Output, o.Output, ref)
	return nil
}

func newHelperImageCommand(b *base) *cobra.Command {
	opts := &helperImageOpts{}
	cmd := &cobra.Command{
		Use:   "helper-image",
		Short: "Write the image holding ciel's own binary, which stages a kubernetes step's inputs and outputs",
		Long: `Writes an OCI image tarball whose only file is this ciel binary (it must be
statically linked: CGO_ENABLED=0), and prints its reference. A step on a
kubernetes compute starts with this image's binary, which fetches the step's
code and inputs from the S3 blob store, and ends with it storing the outputs.`,
		Example: `  ciel compute helper-image --path ciel-helper.tar`,
		RunE:    runE(b, &helperImageCmd{b}, opts),
	}
	cmd.Flags().StringVar(&opts.Output, "path", "", "the image tarball to write")
	cmd.Flags().StringVar(&opts.Binary, "binary", "", "the ciel binary to put in it (default: this one)")
	return cmd
}
