package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels on the floor's Jobs and pods.
const (
	labelRun = "bench.ciel.dev/run"
	labelKey = "bench.ciel.dev/key"
)

// ciel's labels on its Jobs and pods (internal/compute/kube).
const (
	cielManagedBy = "app.kubernetes.io/managed-by=ciel"
	cielJobLabel  = "ciel.dev/job"
)

// stepper runs one step to its end.
type stepper interface {
	name() string
	key(kind string, i int) string
	run(ctx context.Context, key string, i int)
	rec() *recorder
}

// runAll runs the steps keys with c of them in flight at once: each worker
// submits a step, waits for its end, then takes the next.
func runAll(ctx context.Context, s stepper, keys []string, c int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(c, len(keys)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(keys) {
					return
				}
				s.run(ctx, keys[i], i)
			}
		})
	}
	wg.Wait()
}

// floor creates each step as a bare Job with kubectl.
type floor struct {
	o *options
	r *recorder
}

func newFloor(ctx context.Context, o *options) (*floor, error) {
	f := &floor{o: o, r: newRecorder(labelKey, true)}
	o.selector = labelRun + "=" + f.runLabel()
	return f, f.r.watch(ctx, o.cs, o.ns, o.selector)
}

// runLabel tells the two floors' Jobs apart.
func (f *floor) runLabel() string {
	if f.o.init {
		return f.o.id + "i"
	}
	return f.o.id
}

func (f *floor) name() string {
	if f.o.init {
		return floorInitName
	}
	return floorName
}
func (f *floor) rec() *recorder { return f.r }
func (f *floor) key(kind string, i int) string {
	p := "bf"
	if f.o.init {
		p = "bi"
	}
	return fmt.Sprintf("%s-%s-%s%05d", p, f.o.id, kind, i)
}

// job is the floor's Job: the step's image and command `true`, with what
// ciel's Jobs also set (no retries, no service account token, no service
// links, IfNotPresent) and no init container; with -init, one init
// container that runs `true` too and an emptyDir volume the two mount, the
// least any Job needs whose init container hands files to its main
// container: the shape of ciel's Jobs (whose init container stages the
// step in) at no cost of its own, the ceiling of that design. (The volume
// is most of its cost: the kubelet starts no container before its volumes
// are mounted, which took ~0.9 s more a pod here, one volume or two.)
func (f *floor) job(key string) *batchv1.Job {
	labels := map[string]string{labelRun: f.runLabel(), labelKey: key}
	no := false
	var zero int32
	j := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: key, Namespace: f.o.ns, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit: &zero,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, AutomountServiceAccountToken: &no, EnableServiceLinks: &no,
					Containers: []corev1.Container{{
						Name: mainContainer, Image: f.o.image, ImagePullPolicy: corev1.PullIfNotPresent,
						Command: []string{"true"},
					}},
				},
			},
		},
	}
	if f.o.init {
		spec := &j.Spec.Template.Spec
		spec.Volumes = []corev1.Volume{{Name: "step", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		mounts := []corev1.VolumeMount{{Name: "step", MountPath: "/step"}}
		spec.InitContainers = []corev1.Container{{
			Name: "stage-in", Image: f.o.image, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"true"},
			VolumeMounts: mounts,
		}}
		spec.Containers[0].VolumeMounts = mounts
	}
	return j
}

func (f *floor) run(ctx context.Context, key string, _ int) {
	manifest, err := json.Marshal(f.job(key))
	if err != nil {
		f.r.end(key, err.Error())
		return
	}
	done := f.r.expect(key)
	cmd := exec.CommandContext(ctx, f.o.kubectl, "--kubeconfig", f.o.kubeconfig, "-n", f.o.ns, "create", "-f", "-")
	cmd.Stdin = bytes.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		f.r.end(key, fmt.Sprintf("kubectl create: %v: %s", err, bytes.TrimSpace(out)))
		return
	}
	select {
	case <-done:
	case <-time.After(f.o.stepTimeout):
		f.r.end(key, "no end within "+f.o.stepTimeout.String())
	}
}

// waitComplete waits (up to a minute) until every step's Job is seen
// Complete, for the figure of how much later than its container's end
// the Job controller marks a Job so.
func (f *floor) waitComplete(keys []string) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		f.r.mu.Lock()
		n := 0
		for _, k := range keys {
			if _, ok := f.r.complete[k]; ok {
				n++
			}
		}
		f.r.mu.Unlock()
		if n == len(keys) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cielRun submits each step as a one-step command job with the ciel CLI,
// which follows it to its end (--stream), on replica i mod len(homes).
type cielRun struct {
	o *options
	r *recorder
}

func newCiel(ctx context.Context, o *options) (*cielRun, error) {
	o.selector = cielManagedBy
	c := &cielRun{o: o, r: newRecorder(cielJobLabel, false)}
	return c, c.r.watch(ctx, o.cs, o.ns, o.selector)
}

func (c *cielRun) name() string   { return fmt.Sprintf("ciel x%d", len(c.o.homes)) }
func (c *cielRun) rec() *recorder { return c.r }
func (c *cielRun) key(kind string, i int) string {
	return fmt.Sprintf("b%d-%s-%s%05d", len(c.o.homes), c.o.id, kind, i)
}

func (c *cielRun) run(ctx context.Context, key string, i int) {
	// The command differs per step (its key is an argument to true), so no
	// step can be reused from an earlier run.
	file := filepath.Join(c.o.workdir, key+".yml")
	spec := "type: command\ncompute: azureml:k8s\nenvironment: {image: " + c.o.image + "}\ncommand: true " + key + "\n"
	if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
		c.r.end(key, err.Error())
		return
	}
	defer os.Remove(file)
	c.r.expect(key)
	ctx, cancel := context.WithTimeout(ctx, c.o.stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.o.ciel, "job", "create", "--file", file, "--name", key, "--stream")
	cmd.Env = append(os.Environ(), "CIEL_HOME="+c.o.homes[i%len(c.o.homes)])
	out, err := cmd.CombinedOutput()
	switch {
	case err != nil && ctx.Err() != nil:
		c.r.end(key, fmt.Sprintf("ciel job create: %v: %s (state: %s)", err, tail(out), c.dump(key, i, out)))
	case err != nil:
		c.r.end(key, fmt.Sprintf("ciel job create: %v: %s", err, tail(out)))
	case !bytes.Contains(out, []byte("Status: Completed")):
		c.r.end(key, "ciel job create: no Completed status: "+tail(out))
	default:
		c.r.end(key, "")
	}
}

// dump writes what is known of a step that ran past the limit into
// workdir/stuck-KEY.txt and returns that path: the CLI's whole output, the
// job as its server has it, and the step's Kubernetes Job and pods.
func (c *cielRun) dump(key string, i int, out []byte) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var b bytes.Buffer
	fmt.Fprintf(&b, "== ciel job create --stream output\n%s\n", out)
	show := exec.CommandContext(ctx, c.o.ciel, "job", "show", "--name", key, "-o", "json")
	show.Env = append(os.Environ(), "CIEL_HOME="+c.o.homes[i%len(c.o.homes)])
	so, err := show.CombinedOutput()
	fmt.Fprintf(&b, "== ciel job show (%v)\n%s\n", err, so)
	kc := exec.CommandContext(ctx, c.o.kubectl, "--kubeconfig", c.o.kubeconfig, "-n", c.o.ns,
		"get", "jobs,pods", "-l", cielJobLabel+"="+key, "-o", "yaml")
	ko, err := kc.CombinedOutput()
	fmt.Fprintf(&b, "== kubectl get jobs,pods -l %s=%s (%v)\n%s\n", cielJobLabel, key, err, ko)
	path := filepath.Join(c.o.workdir, "stuck-"+key+".txt")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return "not written: " + err.Error()
	}
	return path
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = "..." + s[len(s)-400:]
	}
	return s
}

// cleanup deletes the variant's Jobs and waits until their pods are gone,
// so the next variant starts on an empty node.
func cleanup(o *options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	sel := metav1.ListOptions{LabelSelector: o.selector}
	if err := o.cs.BatchV1().Jobs(o.ns).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg}, sel); err != nil {
		return fmt.Errorf("delete the %s jobs: %w", o.variant, err)
	}
	for {
		pods, err := o.cs.CoreV1().Pods(o.ns).List(ctx, sel)
		if err == nil && len(pods.Items) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the %s pods were not gone in 5 min", o.variant)
		case <-time.After(time.Second):
		}
	}
}
