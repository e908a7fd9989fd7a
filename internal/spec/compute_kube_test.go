package spec

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseComputeKubernetes(t *testing.T) {
	t.Parallel()
	c, err := ParseCompute("/cfg/k8s.yml", []byte(`name: k8s
type: kubernetes
kubeconfig: kube/config
namespace: ml
blob_endpoint: http://10.0.0.1:7070
server_url: https://ciel.internal:8443
endpoint_route: apiserver
instance_types:
  defaultinstancetype: {cpu: 100m, memory: 2Gi}
  gpu: {cpu: 4, memory: 16Gi, gpu: 1, node_selector: {accelerator: nvidia}}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Kubernetes{
		Kubeconfig: filepath.FromSlash("/cfg/kube/config"), Namespace: "ml", BlobEndpoint: "http://10.0.0.1:7070", ServerURL: "https://ciel.internal:8443",
		EndpointRoute: "apiserver",
		InstanceTypes: map[string]InstanceType{
			"defaultinstancetype": {CPU: "100m", Memory: "2Gi"},
			"gpu":                 {CPU: "4", Memory: "16Gi", GPU: 1, NodeSelector: map[string]string{"accelerator": "nvidia"}},
		},
	}
	if !reflect.DeepEqual(c.Kubernetes, want) {
		t.Errorf("got %+v\nwant %+v", c.Kubernetes, want)
	}
	c, err = ParseCompute("k.yml", []byte("name: k\ntype: kubernetes\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubernetes == nil || c.Kubernetes.Namespace != "default" {
		t.Errorf("defaults: got %+v", c.Kubernetes)
	}
}

func TestParseComputeKubernetesErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"namespace", "name: k\ntype: kubernetes\nnamespace: Not_A_Namespace\n",
			[]string{`bad.yml:3:12: namespace: namespace "Not_A_Namespace": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{"quantity", "name: k\ntype: kubernetes\ninstance_types:\n  small: {cpu: lots, memory: -1Gi}\n",
			[]string{
				`bad.yml:4:16: instance_types.small.cpu: "lots": expected a positive quantity such as 1, 500m or 2Gi`,
				`bad.yml:4:30: instance_types.small.memory: "-1Gi": expected a positive quantity such as 1, 500m or 2Gi`,
			}},
		{"instance type name", "name: k\ntype: kubernetes\ninstance_types:\n  Big_One: {cpu: 1}\n  x: {gpus: 1}\n",
			[]string{
				`bad.yml:4:3: instance_types.Big_One: instance type name "Big_One": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
				`bad.yml:5:7: instance_types.x: unknown key "gpus" in an instance type; known keys: cpu, gpu, memory, node_selector`,
			}},
		{"endpoint", "name: k\ntype: kubernetes\nblob_endpoint: 10.0.0.1:7070\n",
			[]string{`bad.yml:3:16: blob_endpoint: blob_endpoint "10.0.0.1:7070": expected http(s)://host[:port]`}},
		{"server url", "name: k\ntype: kubernetes\nserver_url: ciel:8443/x\n",
			[]string{`bad.yml:3:13: server_url: server_url "ciel:8443/x": expected http(s)://host[:port]`}},
		{"endpoint route", "name: k\ntype: kubernetes\nendpoint_route: vpn\n",
			[]string{`bad.yml:3:17: endpoint_route: endpoint_route "vpn": expected auto, pod or apiserver`}},
		{"kubernetes keys on local", "name: k\ntype: local\nnamespace: ml\nkubeconfig: x\n",
			[]string{
				"bad.yml:3:12: namespace: only valid for a compute of type kubernetes, not local",
				"bad.yml:4:13: kubeconfig: only valid for a compute of type kubernetes, not local",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCompute("bad.yml", []byte(tc.yaml), Options{})
			checkErrors(t, "bad.yml:", err, tc.want) // "" would strip the // of URLs
		})
	}
}

func TestParseJobResources(t *testing.T) {
	t.Parallel()
	j, err := ParseJob("job.yml", []byte("type: command\ncommand: echo hi\nenvironment: {image: python:3.12}\nresources: {instance_type: gpu, instance_count: 1, shm_size: 2g}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Resources == nil || j.Resources.InstanceType != "gpu" {
		t.Errorf("resources = %+v", j.Resources)
	}
	_, err = ParseJob("bad.yml", []byte("type: command\ncommand: echo hi\nenvironment: {image: python:3.12}\nresources: {instance_type: Big_One, gpus: 2}\n"), Options{})
	checkErrors(t, "bad.yml:", err, []string{
		`bad.yml:4:28: resources.instance_type: instance type name "Big_One"`,
		`bad.yml:4:37: resources: unknown key "gpus" in resources`,
	})
}
