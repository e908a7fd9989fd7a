package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ciel-mlops/ciel/internal/compute/kube"
	"github.com/ciel-mlops/ciel/internal/dbtest"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

// podsReachHost is the host's address on the cluster's pod bridge
// (scripts/cluster.sh): the S3 server listens there so pods and the server
// both reach it.
const podsReachHost = "10.244.0.1"

// kubeCluster is what a kubernetes compute test needs of the cluster that
// scripts/cluster.sh up started under $CIEL_TEST_CLUSTER.
type kubeCluster struct {
	dir, kubeconfig string
	cs              kubernetes.Interface
}

// needKube returns the test cluster's Kubernetes; without one the test is
// skipped, and under CI=true it fails.
func needKube(t *testing.T) kubeCluster {
	t.Helper()
	vars, dir := kubeClusterEnv(t)
	kc := vars["KUBECONFIG"]
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return kubeCluster{dir: dir, kubeconfig: kc, cs: cs}
}

// kubeClusterEnv is clusterEnv for a test that needs the cluster's
// Kubernetes: without one the test is skipped, and under CI=true it fails.
func kubeClusterEnv(t *testing.T) (map[string]string, string) {
	t.Helper()
	vars, dir := clusterEnv(t)
	if vars["KUBECONFIG"] == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("the cluster under " + dir + " has no Kubernetes (started --without kube)")
		}
		t.Skip("the cluster under " + dir + " has no Kubernetes (started --without kube)")
	}
	return vars, dir
}

// ensureBridge makes the pods' bridge, which the first pod's network
// creates, exist: the S3 server listens on it.
func (k kubeCluster) ensureBridge(t *testing.T) {
	t.Helper()
	if _, err := net.InterfaceByName("cielbr0"); err == nil {
		return
	}
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bridge-" + randomSuffix(t), Namespace: "ciel"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "true", Image: "localhost/ciel-busybox:local", ImagePullPolicy: corev1.PullNever, Command: []string{"true"},
		}}},
	}
	if _, err := k.cs.CoreV1().Pods("ciel").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer k.cs.CoreV1().Pods("ciel").Delete(ctx, pod.Name, metav1.DeleteOptions{})
	waitFor(t, "the pods' bridge cielbr0", 2*time.Minute, func() bool {
		_, err := net.InterfaceByName("cielbr0")
		return err == nil
	})
}

// importImage loads an image tarball into the cluster's containerd.
func (k kubeCluster) importImage(t *testing.T, tarPath string) {
	t.Helper()
	out, err := exec.Command("../scripts/cluster.sh", "import-image", k.dir, tarPath).CombinedOutput()
	if err != nil {
		t.Fatalf("import-image %s: %v\n%s", tarPath, err, out)
	}
}

var (
	staticOnce sync.Once
	staticBin  string
	staticErr  error
)

// staticCiel builds ciel and ciel-step statically linked (CGO_ENABLED=0),
// as the helper image needs, once for the package.
func staticCiel(t *testing.T) string {
	t.Helper()
	staticOnce.Do(func() {
		// Its own folder, with the ciel-step beside it that the helper
		// image takes.
		dir := filepath.Join(filepath.Dir(cielBin), "static")
		staticBin = filepath.Join(dir, "ciel")
		if staticErr = os.MkdirAll(dir, 0o755); staticErr != nil {
			return
		}
		for _, b := range [][2]string{{staticBin, "../cmd/ciel"}, {filepath.Join(dir, "ciel-step"), "../cmd/ciel-step"}} {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", b[0], b[1])
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				staticErr = err
				t.Logf("%s", out)
				return
			}
		}
	})
	if staticErr != nil {
		t.Fatalf("build static ciel: %v", staticErr)
	}
	return staticBin
}

// bashImage writes an image of the host's bash (with the libraries it
// links) and busybox's cat, tr, sleep and ls, and returns its reference:
// the cluster has no registry to pull a real one from.
func bashImage(t *testing.T, out string) string {
	t.Helper()
	files := map[string]string{"bin/bash": "/bin/bash", "bin/busybox": "/bin/busybox"}
	ldd, err := exec.Command("ldd", "/bin/bash").Output()
	if err != nil {
		t.Fatalf("ldd /bin/bash: %v", err)
	}
	for _, m := range regexp.MustCompile(`(/\S+\.so[.\d]*)`).FindAllString(string(ldd), -1) {
		files[strings.TrimPrefix(m, "/")] = m
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	dirs := map[string]bool{}
	for _, n := range names {
		for d := filepath.Dir(n); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	dirList := make([]string, 0, len(dirs))
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range append(dirList, "tmp") {
		tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir})
	}
	for _, n := range names {
		b, err := os.ReadFile(files[n])
		if err != nil {
			t.Fatal(err)
		}
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	for _, applet := range []string{"sh", "cat", "tr", "sleep", "ls", "id"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Linkname: "busybox", Typeflag: tar.TypeSymlink, Mode: 0o777})
	}
	tw.Close()
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerBytes)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/bash"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(layerBytes)
	ref := "localhost/ciel-kube-test-bash:" + hex.EncodeToString(sum[:6])
	tag, _ := name.NewTag(ref)
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// kubeSetup starts a server on an S3 blob store the pods reach, with a
// kubernetes compute k8s on the test cluster (namespace ciel), its helper
// image and a bash image imported, and returns the env and the image;
// vars (KEY=VALUE) go to the server and the CLI.
func kubeSetup(t *testing.T, vars ...string) (*env, kubeCluster, string) {
	t.Helper()
	es, k, image := kubeSetupN(t, 1, vars...)
	return es[0], k, image
}

// kubeSetupN is kubeSetup with n servers; more than one share a fresh
// PostgreSQL database as well as the bucket, as replicas; extra KEY=VALUE
// go to the servers and the CLI, and --flag=value to the compute attach.
func kubeSetupN(t *testing.T, n int, extra ...string) ([]*env, kubeCluster, string) {
	t.Helper()
	k := needKube(t)
	bin := staticCiel(t)
	helperTar := filepath.Join(t.TempDir(), "helper.tar")
	out, err := exec.Command(bin, "compute", "helper-image", "--path", helperTar).Output()
	if err != nil {
		t.Fatalf("helper-image: %v", err)
	}
	helper := strings.TrimSpace(string(out))
	k.importImage(t, helperTar)
	imageTar := filepath.Join(t.TempDir(), "bash.tar")
	image := bashImage(t, imageTar)
	k.importImage(t, imageTar)

	k.ensureBridge(t)
	srv := s3test.StartOn(t, podsReachHost)
	bucket := srv.Bucket(t)
	vars := []string{"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing-secret-key"}
	var attachFlags []string
	for _, x := range extra {
		if strings.HasPrefix(x, "--") {
			attachFlags = append(attachFlags, x)
		} else {
			vars = append(vars, x)
		}
	}
	if n > 1 {
		vars = append(vars, "CIEL_STORE="+dbtest.Postgres(t).URL)
	}
	var es []*env
	for i := range n {
		e := &env{t: t, home: t.TempDir(), dir: t.TempDir(), vars: vars}
		startServerRun(t, e, "--blob", "s3://"+bucket+"?endpoint="+srv.Endpoint)
		if i == 0 {
			e.ok("workspace", "create", "--name", "ws", "--resource-group", "rg", "--location", "eastus")
		}
		e.ok("configure", "--defaults", "workspace=ws")
		es = append(es, e)
	}
	es[0].ok(append([]string{"compute", "attach", "--name", "k8s", "--type", "Kubernetes", "--kubeconfig", k.kubeconfig,
		"--namespace", "ciel", "--helper-image", helper}, attachFlags...)...)
	es[0].ok("compute", "instance-type", "create", "--compute", "k8s", "--cpu", "100m", "--memory", "256Mi")
	return es, k, image
}

// stepJobs lists the Jobs of a ciel job in the namespace ciel, by step.
func (k kubeCluster) stepJobs(t *testing.T, job string) map[string]batchv1.Job {
	t.Helper()
	list, err := k.cs.BatchV1().Jobs("ciel").List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelJob + "=" + job})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]batchv1.Job{}
	for _, j := range list.Items {
		out[j.Labels[kube.LabelStep]] = j
	}
	return out
}

// runningAfter reads the start latencies the executor logs.
var runningAfter = regexp.MustCompile(`\[ciel\] pod \S+ running after ([0-9.]+)(ms|s)`)

// TestKubeComputePipeline runs a two-step pipeline, written for local
// compute, on the real single-node Kubernetes with only
// --set settings.default_compute=azureml:k8s: each step runs as a Job
// (client-go sees both, labelled with their step, succeeded), the pods'
// logs arrive in the stream, the first step's output reaches the second
// through the S3 blob store, and the result downloads.
func TestKubeComputePipeline(t *testing.T) {
	t.Parallel()
	e, k, image := kubeSetup(t)
	e.write("pipeline.yml", `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
settings:
  default_compute: azureml:local
jobs:
  make:
    type: command
    environment: {image: `+image+`}
    command: >-
      echo "hello from $(id -u) in $PWD" && echo "hello from kubernetes" > ${{outputs.greeting}}/greeting.txt
    outputs:
      greeting: {type: uri_folder}
  shout:
    type: command
    environment: {image: `+image+`}
    inputs:
      text: ${{parent.jobs.make.outputs.greeting}}
    command: >-
      cat ${{inputs.text}}/greeting.txt && tr a-z A-Z < ${{inputs.text}}/greeting.txt > ${{outputs.loud}}/loud.txt
    outputs:
      loud: {type: uri_folder}
    limits: {timeout: 120}
`)
	r := e.ok("job", "create", "--file", "pipeline.yml", "--set", "settings.default_compute=azureml:k8s", "--stream")
	if !strings.Contains(r.out, "hello from kubernetes") || !strings.Contains(r.out, "hello from 0 in ") || !strings.Contains(r.out, "Completed") {
		t.Fatalf("pipeline on k8s:\n%s\n%s", r.out, r.err)
	}
	jobName := firstJobName(t, e)
	e.ok("job", "download", "--name", jobName, "--output-name", "loud", "--download-path", "out")
	if got := readAt(t, filepath.Join(e.dir, "out", "named-outputs", "loud", "loud.txt")); got != "HELLO FROM KUBERNETES\n" {
		t.Errorf("downloaded output %q", got)
	}
	// The step ends with its container; the Job controller records the
	// success a moment later.
	var jobs map[string]batchv1.Job
	waitFor(t, "both Jobs to be marked succeeded", time.Minute, func() bool {
		jobs = k.stepJobs(t, jobName)
		return len(jobs) == 2 && jobs["make"].Status.Succeeded == 1 && jobs["shout"].Status.Succeeded == 1
	})
	for _, step := range []string{"make", "shout"} {
		j, ok := jobs[step]
		if !ok {
			t.Errorf("no Kubernetes Job for step %s (have %d)", step, len(jobs))
			continue
		}
		if j.Status.Succeeded != 1 || *j.Spec.BackoffLimit != 0 {
			t.Errorf("Job %s: succeeded %d, backoffLimit %d", j.Name, j.Status.Succeeded, *j.Spec.BackoffLimit)
		}
		if c := j.Spec.Template.Spec.Containers[0]; c.Image != image || c.Resources.Requests.Cpu().String() != "100m" {
			t.Errorf("Job %s: image %s, cpu request %s", j.Name, c.Image, c.Resources.Requests.Cpu())
		}
	}
	if d := jobs["shout"].Spec.ActiveDeadlineSeconds; d == nil || *d != 120 {
		t.Errorf("shout's activeDeadlineSeconds = %v, want 120 (limits.timeout)", d)
	}
	var lat []float64
	for _, m := range runningAfter.FindAllStringSubmatch(r.out, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		if m[2] == "ms" {
			v /= 1000
		}
		lat = append(lat, v)
	}
	if len(lat) != 2 {
		t.Errorf("%d start latencies in the log, want 2:\n%s", len(lat), r.out)
	}
	t.Logf("pod start latencies (Job created -> main container running): %v s", lat)
}

// commandJob is a command job file running script in image on k8s.
func commandJob(image, script, extra string) string {
	return "type: command\ncompute: azureml:k8s\nenvironment: {image: " + image + "}\ncommand: " + strconv.Quote(script) + "\n" + extra
}

// TestKubeComputeFailures: a step whose image is absent, one past its
// limits.timeout, one asking for an instance type no node can hold, and a
// canceled one each end promptly and say why; the canceled step's Job is
// deleted.
func TestKubeComputeFailures(t *testing.T) {
	t.Parallel()
	e, k, image := kubeSetup(t)
	e.ok("compute", "instance-type", "create", "--compute", "k8s", "--name", "huge", "--cpu", "1000", "--memory", "1Gi")
	for _, tc := range []struct {
		name, file, want string
		within           time.Duration
	}{
		{"no image", commandJob("localhost/ciel-no-such-image:1", "echo never", ""), "cannot start: Err", time.Minute},
		{"timeout", commandJob(image, "echo started; sleep 120", "limits: {timeout: 3}\n"), "timed out after 3s", 90 * time.Second},
		{"unschedulable", commandJob(image, "echo never", "resources: {instance_type: huge}\n"), "cannot be scheduled on any node", time.Minute},
		{"undefined instance type", commandJob(image, "echo never", "resources: {instance_type: absent}\n"), `instance type "absent" is not defined on compute "k8s"`, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.write(tc.name+".yml", tc.file)
			start := time.Now()
			name := e.submit(tc.name + ".yml")
			j := e.wait(name, tc.within)
			if j.Status != "Failed" || !strings.Contains(j.Error, tc.want) {
				t.Errorf("%s: status %s, error %q; want Failed with %q", tc.name, j.Status, j.Error, tc.want)
			}
			t.Logf("%s: failed in %s: %s", tc.name, time.Since(start).Round(time.Millisecond), j.Error)
		})
	}

	e.write("cancel.yml", commandJob(image, "echo sleeping; sleep 300", ""))
	name := e.submit("cancel.yml")
	var jobName string
	waitFor(t, "the step's pod to run", 2*time.Minute, func() bool {
		for _, j := range k.stepJobs(t, name) {
			jobName = j.Name
			return j.Status.Active == 1 && strings.Contains(readStepLog(e, name), "sleeping")
		}
		return false
	})
	e.ok("job", "cancel", "--name", name)
	if j := e.wait(name, time.Minute); j.Status != "Canceled" {
		t.Errorf("canceled job: %s", j.Status)
	}
	waitFor(t, "the canceled step's Job to be deleted", time.Minute, func() bool {
		_, err := k.cs.BatchV1().Jobs("ciel").Get(context.Background(), jobName, metav1.GetOptions{})
		return err != nil && strings.Contains(err.Error(), "not found")
	})
}

// TestKubeComputePodDeleted: a step whose pod is deleted under it (an
// eviction, a kubectl delete) fails saying the Job failed, rather than
// waiting on a pod that is gone.
func TestKubeComputePodDeleted(t *testing.T) {
	t.Parallel()
	e, k, image := kubeSetup(t)
	e.write("long.yml", commandJob(image, "echo sleeping; sleep 300", ""))
	name := e.submit("long.yml")
	var jobName string
	waitFor(t, "the step's pod to run", 2*time.Minute, func() bool {
		for _, j := range k.stepJobs(t, name) {
			jobName = j.Name
			return j.Status.Active == 1 && strings.Contains(readStepLog(e, name), "sleeping")
		}
		return false
	})
	ctx := context.Background()
	pods, err := k.cs.CoreV1().Pods("ciel").List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + jobName})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of %s: %v, %d", jobName, err, len(pods.Items))
	}
	if err := k.cs.CoreV1().Pods("ciel").Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	j := e.wait(name, 2*time.Minute)
	if j.Status != "Failed" || !strings.Contains(j.Error, "exited with code") && !strings.Contains(j.Error, "failed") {
		t.Errorf("after its pod was deleted: %s, %q", j.Status, j.Error)
	}
	t.Logf("pod deleted: %s", j.Error)
}

// readStepLog is the log of a command job's step so far.
func readStepLog(e *env, job string) string {
	b, _ := os.ReadFile(filepath.Join(e.home, "jobs", "ws", job, "main", "std_log.txt"))
	return string(b)
}

// TestKubeComputeServerKilled kills the server (kill -9) while a step runs
// as a Job: the restarted server runs the step again as attempt 2, deletes
// attempt 1's still running Job so the two never run side by side, and the
// job completes with attempt 2's output.
func TestKubeComputeServerKilled(t *testing.T) {
	t.Parallel()
	e, k, image := kubeSetup(t)
	e.write("slow.yml", commandJob(image, `echo "attempt started"; sleep 20; echo done > ${{outputs.o}}/done.txt`,
		"outputs: {o: {type: uri_folder}}\n"))
	name := e.submit("slow.yml")
	var first string
	waitFor(t, "attempt 1's pod to run", 2*time.Minute, func() bool {
		for _, j := range k.stepJobs(t, name) {
			first = j.Name
			return j.Status.Active == 1 && strings.Contains(readStepLog(e, name), "attempt started")
		}
		return false
	})
	_, pid := e.server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killed server to exit", 30*time.Second, func() bool { return !alive(pid) })
	e.ok("server", "start")
	j := e.wait(name, 3*time.Minute)
	if j.Status != "Completed" {
		t.Fatalf("after the restart: status %s (%s)", j.Status, j.Error)
	}
	waitFor(t, "attempt 2's Job to succeed and attempt 1's to be gone", time.Minute, func() bool {
		list, err := k.cs.BatchV1().Jobs("ciel").List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelJob + "=" + name})
		if err != nil {
			t.Fatal(err)
		}
		second := false
		for _, kj := range list.Items {
			switch {
			case kj.Name == first && kj.DeletionTimestamp == nil:
				return false
			case kj.Labels[kube.LabelAttempt] == "2":
				second = kj.Status.Succeeded == 1
			}
		}
		return second
	})
	e.ok("job", "download", "--name", name, "--output-name", "o", "--download-path", "out")
	if got := readAt(t, filepath.Join(e.dir, "out", "named-outputs", "o", "done.txt")); got != "done\n" {
		t.Errorf("output %q", got)
	}
}

// TestKubeComputeFanOut runs ten independent steps at once as Jobs and
// reports how long their pods took to start (Job created -> main container
// running, from the executor's log line) and the pipeline's wall time.
func TestKubeComputeFanOut(t *testing.T) {
	t.Parallel()
	e, _, image := kubeSetup(t)
	const n = 10
	var b strings.Builder
	b.WriteString("type: pipeline\nsettings: {default_compute: azureml:k8s}\njobs:\n")
	for i := range n {
		b.WriteString("  s" + strconv.Itoa(i) + ":\n    type: command\n    environment: {image: " + image + "}\n    command: echo step " + strconv.Itoa(i) + "\n")
	}
	e.write("fan.yml", b.String())
	start := time.Now()
	name := e.submit("fan.yml")
	if j := e.wait(name, 5*time.Minute); j.Status != "Completed" {
		t.Fatalf("fan-out: %s (%s)", j.Status, j.Error)
	}
	wall := time.Since(start)
	var lat []float64
	for i := range n {
		log := readAt(t, filepath.Join(e.home, "jobs", "ws", name, "s"+strconv.Itoa(i), "std_log.txt"))
		if !strings.Contains(log, "step "+strconv.Itoa(i)) {
			t.Errorf("step s%d's log lacks its output:\n%s", i, log)
		}
		for _, m := range runningAfter.FindAllStringSubmatch(log, -1) {
			v, _ := strconv.ParseFloat(m[1], 64)
			if m[2] == "ms" {
				v /= 1000
			}
			lat = append(lat, v)
		}
	}
	if len(lat) != n {
		t.Fatalf("%d start latencies, want %d", len(lat), n)
	}
	sort.Float64s(lat)
	t.Logf("%d steps as Jobs at once: wall %s; pod start p50 %.2fs, p90 %.2fs, max %.2fs", n, wall.Round(time.Millisecond), lat[n/2], lat[n*9/10], lat[n-1])
}
