package spec

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ComputeKubernetes is the type of a compute whose steps run as Kubernetes
// Jobs (Azure's attached Kubernetes compute, `az ml compute attach --type
// Kubernetes`).
const ComputeKubernetes = "kubernetes"

// DefaultInstanceType is the instance type a step gets when it names none,
// if the compute defines it: Azure's name for it.
const DefaultInstanceType = "defaultinstancetype"

// Kubernetes is what a compute of type kubernetes adds: which cluster, which
// namespace, and the instance types steps may ask for.
type Kubernetes struct {
	// Kubeconfig is the path of the kubeconfig file on the server, read
	// when a step runs (never stored or shown inline); "" means the
	// server's $KUBECONFIG, ~/.kube/config, or in-cluster credentials.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Namespace is where the Jobs go ("default" when unset).
	Namespace string `json:"namespace,omitempty"`
	// InstanceTypes are the sizes a step names with resources.instance_type
	// (Azure's InstanceType resources of a Kubernetes compute).
	InstanceTypes map[string]InstanceType `json:"instance_types,omitempty"`
	// HelperImage is the image holding ciel's own binary, which stages a
	// step's inputs in and its outputs out; "" means the one `ciel compute
	// helper-image` writes for the server's binary.
	HelperImage string `json:"helper_image,omitempty"`
	// BlobEndpoint is the S3 endpoint of the server's blob store as the
	// pods reach it, when that differs from the server's (a store on the
	// server's loopback address); "" means the server's.
	BlobEndpoint string `json:"blob_endpoint,omitempty"`
	// ServerURL is ciel's server as the pods reach it, for the MLflow
	// tracking of a step (MLFLOW_TRACKING_URI); "" keeps the server's own
	// address, which pods reach only if it is not a loopback one.
	ServerURL string `json:"server_url,omitempty"`
	// EndpointRoute is how the server reaches online deployments' pods:
	// "pod" at their addresses (it is on the pods' network: in the
	// cluster, or on a flat network such as Azure CNI's); "apiserver"
	// through the API server's proxy to each pod (needs pods/proxy
	// rights; slower, but from anywhere the API server is reachable);
	// "auto" or "" tries each pod's address and falls back to the proxy.
	EndpointRoute string `json:"endpoint_route,omitempty"`
}

// The values of Kubernetes.EndpointRoute.
const (
	RouteAuto      = "auto"
	RoutePod       = "pod"
	RouteAPIServer = "apiserver"
)

// ValidateEndpointRoute reports whether s is an endpoint_route.
func ValidateEndpointRoute(s string) error {
	switch s {
	case "", RouteAuto, RoutePod, RouteAPIServer:
		return nil
	}
	return fmt.Errorf("endpoint_route %q: expected auto, pod or apiserver", s)
}

// InstanceType is a size of pod: what a step's main container requests and
// is limited to, and where it may be scheduled.
type InstanceType struct {
	// CPU is a Kubernetes quantity of cores ("1", "500m").
	CPU string `json:"cpu,omitempty"`
	// Memory is a Kubernetes quantity of bytes ("2Gi").
	Memory string `json:"memory,omitempty"`
	// GPU is a count of nvidia.com/gpu.
	GPU int `json:"gpu,omitempty"`
	// NodeSelector restricts the nodes a step's pod may run on.
	NodeSelector map[string]string `json:"node_selector,omitempty"`
}

// Validate reports what is wrong with an instance type, as an error naming
// the field.
func (it InstanceType) Validate() error {
	for _, q := range []struct{ field, v string }{{"cpu", it.CPU}, {"memory", it.Memory}} {
		if q.v == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.v)
		if err != nil || v.Sign() <= 0 {
			return fmt.Errorf("%s %q: expected a positive Kubernetes quantity such as 1, 500m, 2Gi", q.field, q.v)
		}
	}
	if it.GPU < 0 {
		return fmt.Errorf("gpu %d: expected a count >= 0", it.GPU)
	}
	for k, v := range it.NodeSelector {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("node_selector key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("node_selector %s value %q: %s", k, v, strings.Join(errs, "; "))
		}
	}
	return nil
}

// ValidateInstanceTypeName reports whether name can name an instance type
// (a Kubernetes object name, as Azure's are).
func ValidateInstanceTypeName(name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("instance type name %q: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// ValidateNamespace reports whether ns can name a Kubernetes namespace.
func ValidateNamespace(ns string) error {
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	return nil
}

// ValidateBlobEndpoint reports whether s is an http(s)://host[:port] URL.
func ValidateBlobEndpoint(s string) error { return validateHostURL("blob_endpoint", s) }

// ValidateServerURL reports whether s is an http(s)://host[:port] URL.
func ValidateServerURL(s string) error { return validateHostURL("server_url", s) }

func validateHostURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("%s %q: expected http(s)://host[:port]", field, s)
	}
	return nil
}

// withFields returns a with the handlers of b added.
func withFields(a, b map[string]fieldFunc) map[string]fieldFunc {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// kubernetesFields decodes the keys only a kubernetes compute has into
// c.Kubernetes, which the first of them creates.
func kubernetesFields(d *decoder, c *Compute) map[string]fieldFunc {
	k := func() *Kubernetes {
		if c.Kubernetes == nil {
			c.Kubernetes = &Kubernetes{}
		}
		return c.Kubernetes
	}
	return map[string]fieldFunc{
		"kubeconfig": func(p string, v *yaml.Node) {
			if s, ok := d.str(p, v); ok {
				k().Kubeconfig = d.localPath(s)
			}
		},
		"namespace": func(p string, v *yaml.Node) {
			if s, ok := d.str(p, v); ok {
				if err := ValidateNamespace(s); err != nil {
					d.errorf(v, p, "%v", err)
				}
				k().Namespace = s
			}
		},
		"helper_image": func(p string, v *yaml.Node) { d.strInto(&k().HelperImage)(p, v) },
		"blob_endpoint": func(p string, v *yaml.Node) {
			if s, ok := d.str(p, v); ok {
				if err := ValidateBlobEndpoint(s); err != nil {
					d.errorf(v, p, "%v", err)
				}
				k().BlobEndpoint = s
			}
		},
		"instance_types": func(p string, v *yaml.Node) { k().InstanceTypes = d.instanceTypes(p, v) },
		"endpoint_route": func(p string, v *yaml.Node) {
			if s, ok := d.str(p, v); ok {
				if err := ValidateEndpointRoute(s); err != nil {
					d.errorf(v, p, "%v", err)
				}
				k().EndpointRoute = s
			}
		},
		"server_url": func(p string, v *yaml.Node) {
			if s, ok := d.str(p, v); ok {
				if err := ValidateServerURL(s); err != nil {
					d.errorf(v, p, "%v", err)
				}
				k().ServerURL = s
			}
		},
	}
}

// instanceTypes decodes instance_types: a mapping of name to cpu, memory,
// gpu and node_selector.
func (d *decoder) instanceTypes(path string, v *yaml.Node) map[string]InstanceType {
	out := map[string]InstanceType{}
	for _, p := range d.pairs(v, path) {
		at := joinPath(path, p.name)
		if err := ValidateInstanceTypeName(p.name); err != nil {
			d.errorf(p.key, at, "%v", err)
			continue
		}
		var it InstanceType
		var cpu, mem string
		d.fields(p.val, at, "an instance type", map[string]fieldFunc{
			"cpu":           d.quantityInto(&cpu),
			"memory":        d.quantityInto(&mem),
			"gpu":           d.nonNegativeInto(&it.GPU),
			"node_selector": d.mapInto(&it.NodeSelector),
		}, nil)
		it.CPU, it.Memory = cpu, mem
		if err := (InstanceType{NodeSelector: it.NodeSelector}).Validate(); err != nil {
			d.errorf(p.val, at, "%v", err)
		}
		out[p.name] = it
	}
	return out
}

// quantityInto returns a handler storing a positive Kubernetes quantity
// (a string or a number in YAML) in dst.
func (d *decoder) quantityInto(dst *string) fieldFunc {
	return func(path string, v *yaml.Node) {
		v = d.resolve(v)
		if v.Kind != yaml.ScalarNode {
			d.errorf(v, path, "expected a quantity such as 1, 500m or 2Gi, got %s", describe(v))
			return
		}
		q, err := resource.ParseQuantity(v.Value)
		if err != nil || q.Sign() <= 0 {
			d.errorf(v, path, "%q: expected a positive quantity such as 1, 500m or 2Gi", v.Value)
			return
		}
		*dst = v.Value
	}
}

// checkKubernetes refuses kubernetes keys on another type of compute and
// gives a kubernetes compute its defaults.
func (d *decoder) checkKubernetes(n *yaml.Node, c *Compute) {
	if c.Type != ComputeKubernetes {
		if c.Kubernetes != nil && c.Type != "" {
			for _, key := range []string{"kubeconfig", "namespace", "instance_types", "helper_image", "blob_endpoint", "server_url", "endpoint_route"} {
				if v := d.lookup(n, key); v != nil {
					d.errorf(v, key, "only valid for a compute of type kubernetes, not %s", c.Type)
				}
			}
		}
		return
	}
	c.Kubernetes = c.Kubernetes.WithDefaults()
}

// WithDefaults returns a copy of k (which may be nil) with the namespace
// defaulted.
func (k *Kubernetes) WithDefaults() *Kubernetes {
	out := Kubernetes{}
	if k != nil {
		out = *k
	}
	if out.Namespace == "" {
		out.Namespace = "default"
	}
	return &out
}

// InstanceTypeNames lists the instance types of k, sorted.
func (k *Kubernetes) InstanceTypeNames() []string {
	names := make([]string, 0, len(k.InstanceTypes))
	for n := range k.InstanceTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
