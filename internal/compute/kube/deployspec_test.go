package kube

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/serving"
)

func TestDeploymentName(t *testing.T) {
	long := strings.Repeat("a", 32)
	for _, tc := range []struct{ ws, ep, name string }{
		{"ws", "svc", "blue"}, {"ws", long, long}, {"other", "svc", "blue"}, {"ws", "Svc-1", "Blue"},
	} {
		n := DeploymentName(tc.ws, tc.ep, tc.name)
		if errs := validation.IsDNS1035Label(n); len(errs) > 0 {
			t.Errorf("%v: %q is not a DNS-1035 label: %v", tc, n, errs)
		}
	}
	if DeploymentName("ws", "svc", "blue") == DeploymentName("other", "svc", "blue") {
		t.Error("two workspaces' deployments share a name")
	}
}

func TestBuildDeployment(t *testing.T) {
	cd := serving.ClusterDeployment{
		ClusterKey: serving.ClusterKey{Workspace: "ws", Endpoint: "svc", Name: "blue"},
		Image:      "localhost/py:1", Instances: 3,
		Trees:     []compute.StagedTree{{Path: "model/m", Digest: "sha256:ab", ReadOnly: true}},
		Env:       []string{"AZUREML_MODEL_DIR=/var/azureml-app/model", "A=b=c"},
		Secret:    map[string]string{serving.EnvInstanceToken: "t"},
		Readiness: serving.ClusterProbe{Period: time.Second, Timeout: 2 * time.Second, Successes: 1, Failures: 30},
		Liveness:  serving.ClusterProbe{Delay: 10 * time.Second, Period: 10 * time.Second, Timeout: 2 * time.Second, Successes: 1, Failures: 30},
		Grace:     15 * time.Second,
	}
	d, err := buildDeployment(cd, deployParams{Namespace: "ml", HelperImage: "ciel.local/ciel-helper:x", BlobURL: "s3://b?endpoint=http://h:1", BlobSecret: "keys", PullSecret: "ciel-pull-x"})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 3 || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 || d.Namespace != "ml" {
		t.Errorf("replicas %d, strategy %+v, namespace %s", *d.Spec.Replicas, d.Spec.Strategy, d.Namespace)
	}
	ps := d.Spec.Template.Spec
	main := ps.Containers[0]
	if main.Image != cd.Image || main.Command[0] != toolsDir+"/ciel" || main.Ports[0].ContainerPort != serving.InstancePort {
		t.Errorf("main container %+v", main)
	}
	if main.ReadinessProbe.HTTPGet.Path != serving.ReadinessPath || main.ReadinessProbe.PeriodSeconds != 1 || main.LivenessProbe.InitialDelaySeconds != 10 {
		t.Errorf("probes: readiness %+v, liveness %+v", main.ReadinessProbe, main.LivenessProbe)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range main.Env {
		env[e.Name] = e
	}
	if env["A"].Value != "b=c" || env[serving.EnvInstanceToken].Value != "" || env[serving.EnvInstanceToken].ValueFrom.SecretKeyRef.Name != d.Name {
		t.Errorf("env: %+v", main.Env)
	}
	for _, e := range ps.InitContainers[0].Env {
		if e.Value != "" && strings.Contains(e.Value, "secret") {
			t.Errorf("a blob key in the spec: %+v", e)
		}
	}
	if len(ps.ImagePullSecrets) != 1 || ps.ImagePullSecrets[0].Name != "ciel-pull-x" {
		t.Errorf("pull secrets %v", ps.ImagePullSecrets)
	}
	if *ps.AutomountServiceAccountToken || *ps.TerminationGracePeriodSeconds != 20 {
		t.Errorf("pod spec: automount %v, grace %d", *ps.AutomountServiceAccountToken, *ps.TerminationGracePeriodSeconds)
	}
	if _, err := buildDeployment(serving.ClusterDeployment{}, deployParams{}); err == nil {
		t.Error("no image: no error")
	}
}

func TestReadyPods(t *testing.T) {
	yes, no := true, false
	port, name := int32(5001), portName
	s := &discoveryv1.EndpointSlice{
		Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.244.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}},
			{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: &no}},
			{Addresses: []string{"10.244.0.8"}},
			{Addresses: []string{"10.244.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}},
		},
	}
	for _, i := range []int{0, 3} {
		s.Endpoints[i].TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: "blue-9"}
	}
	got := readyPods([]*discoveryv1.EndpointSlice{s, {Endpoints: s.Endpoints}})
	if fmt.Sprint(got) != "[{10.244.0.8:5001 } {10.244.0.9:5001 blue-9}]" {
		t.Fatalf("ready pods %v", got)
	}
}
