package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ciel-mlops/ciel/internal/compute/kube"
)

// gpuPath is nvidia.com/gpu as a JSON-pointer segment.
const gpuPath = "nvidia.com~1gpu"

// advertiseGPUs gives every node of the cluster n nvidia.com/gpu, as a
// device plugin would, by patching the nodes' status (Kubernetes'
// "advertise extended resources for a node"), and takes them away when
// the test ends. The scheduler and the kubelet then count GPUs as they do
// on a GPU node; only the device itself is missing, so nothing may read it.
func advertiseGPUs(t *testing.T, k kubeCluster, n int) {
	t.Helper()
	ctx := context.Background()
	nodes, err := k.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	patch := func(node, ops string) error {
		_, err := k.cs.CoreV1().Nodes().Patch(ctx, node, types.JSONPatchType, []byte(ops), metav1.PatchOptions{}, "status")
		return err
	}
	v := strconv.Quote(strconv.Itoa(n))
	for _, node := range nodes.Items {
		if err := patch(node.Name, `[{"op":"add","path":"/status/capacity/`+gpuPath+`","value":`+v+`},
			{"op":"add","path":"/status/allocatable/`+gpuPath+`","value":`+v+`}]`); err != nil {
			t.Fatalf("advertise GPUs on node %s: %v", node.Name, err)
		}
		t.Cleanup(func() {
			if err := patch(node.Name, `[{"op":"remove","path":"/status/capacity/`+gpuPath+`"},
				{"op":"remove","path":"/status/allocatable/`+gpuPath+`"}]`); err != nil {
				t.Errorf("take the GPUs back from node %s: %v", node.Name, err)
			}
		})
	}
	want := resource.MustParse(strconv.Itoa(n))
	waitFor(t, "the nodes to show their GPUs", time.Minute, func() bool {
		nodes, err := k.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, node := range nodes.Items {
			if q, ok := node.Status.Allocatable[corev1.ResourceName("nvidia.com/gpu")]; !ok || q.Cmp(want) != 0 {
				return false
			}
		}
		return true
	})
}

// stepSpan is when a step's script ran, from the "start"/"end" lines it
// echoes with bash's $EPOCHREALTIME.
var stepSpan = regexp.MustCompile(`(start|end) ([0-9]+\.[0-9]+)`)

// TestKubeComputeGPU runs steps whose instance type asks for a GPU on a
// node that has one (advertised as a device plugin would; this machine
// has no GPU device): each step's pod carries the nvidia.com/gpu limit,
// two such steps of one pipeline never hold the GPU at once (the second
// waits for room, saying so, and then runs), and a step asking for more
// GPUs than any node has fails at once saying it cannot be scheduled.
func TestKubeComputeGPU(t *testing.T) {
	t.Parallel()
	e, k, image := kubeSetup(t)
	advertiseGPUs(t, k, 1)
	e.ok("compute", "instance-type", "create", "--compute", "k8s", "--name", "gpu1", "--cpu", "100m", "--memory", "256Mi", "--gpu", "1")
	e.ok("compute", "instance-type", "create", "--compute", "k8s", "--name", "gpu2", "--cpu", "100m", "--memory", "256Mi", "--gpu", "2")

	var b strings.Builder
	b.WriteString("type: pipeline\nsettings: {default_compute: azureml:k8s}\njobs:\n")
	for _, s := range []string{"a", "b"} {
		b.WriteString("  " + s + ":\n    type: command\n    environment: {image: " + image + "}\n" +
			"    resources: {instance_type: gpu1}\n" +
			"    command: echo start $EPOCHREALTIME; sleep 3; echo end $EPOCHREALTIME\n")
	}
	e.write("gpus.yml", b.String())
	name := e.submit("gpus.yml")
	if j := e.wait(name, 4*time.Minute); j.Status != "Completed" {
		t.Fatalf("two GPU steps: %s (%s)", j.Status, j.Error)
	}
	for step, j := range k.stepJobs(t, name) {
		got := j.Spec.Template.Spec.Containers[0].Resources.Limits[kube.GPUResource]
		if got.Cmp(resource.MustParse("1")) != 0 {
			t.Errorf("step %s's main container: nvidia.com/gpu limit %s, want 1", step, got.String())
		}
	}
	spans := map[string][2]float64{}
	waited := 0
	for _, s := range []string{"a", "b"} {
		log := readAt(t, filepath.Join(e.home, "jobs", "ws", name, s, "std_log.txt"))
		var span [2]float64
		for _, m := range stepSpan.FindAllStringSubmatch(log, -1) {
			v, _ := strconv.ParseFloat(m[2], 64)
			span[map[string]int{"start": 0, "end": 1}[m[1]]] = v
		}
		if span[0] == 0 || span[1] == 0 {
			t.Fatalf("step %s's log lacks its start and end:\n%s", s, log)
		}
		spans[s] = span
		if strings.Contains(log, "[ciel] waiting for room on a node") {
			waited++
		}
	}
	first, second := spans["a"], spans["b"]
	if second[0] < first[0] {
		first, second = second, first
	}
	if second[0] < first[1] {
		t.Errorf("both steps held the node's one GPU at once: %v and %v", first, second)
	}
	if waited != 1 {
		t.Errorf("%d steps said they waited for room on a node; want the second one", waited)
	}
	t.Logf("GPU steps ran one after the other: %.2fs apart", second[0]-first[1])

	e.write("too-many.yml", commandJob(image, "echo never", "resources: {instance_type: gpu2}\n"))
	start := time.Now()
	job := e.wait(e.submit("too-many.yml"), time.Minute)
	if job.Status != "Failed" || !strings.Contains(job.Error, "cannot be scheduled on any node") || !strings.Contains(job.Error, "nvidia.com/gpu") {
		t.Errorf("two GPUs on a node with one: status %s, error %q; want Failed, cannot be scheduled, naming nvidia.com/gpu", job.Status, job.Error)
	}
	t.Logf("two GPUs: failed in %s: %s", time.Since(start).Round(time.Millisecond), job.Error)
}
