package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// rolloutLimit bounds how long Apply waits for a rollout that makes no
// progress.
const rolloutLimit = 10 * time.Minute

var _ serving.Clusters = (*Runner)(nil)

// Cluster implements serving.Clusters: online deployments on compute c run
// as a Deployment and a Service in its namespace.
func (r *Runner) Cluster(c spec.Compute) (serving.Cluster, error) {
	x, err := r.For(c)
	if err != nil {
		return nil, err
	}
	return &deployer{x: x.(*Executor)}, nil
}

// deployer runs the online deployments of one kubernetes compute.
type deployer struct {
	x *Executor
}

// Image implements serving.Cluster: the environment's image, or for a
// conda file one the server builds and serves (Runner.EnvImage).
func (d *deployer) Image(ctx context.Context, s envs.Spec, log io.Writer) (string, error) {
	if s.Image == "" && s.CondaFile == "" {
		return "", errors.New("the environment names no image")
	}
	return d.x.EnvImage(ctx, s, log)
}

// params are what the deployment's objects are built from on this compute.
func (d *deployer) params(ctx context.Context, instanceType, image string) (deployParams, error) {
	p, err := d.x.params(ctx, compute.Task{InstanceType: instanceType, Image: image})
	if err != nil {
		return deployParams{}, err
	}
	res, err := resources(p.InstanceType)
	if err != nil {
		return deployParams{}, err
	}
	return deployParams{Namespace: p.Namespace, HelperImage: p.HelperImage, BlobURL: p.BlobURL, BlobSecret: p.Secret,
		InstanceType: res, NodeSelector: p.InstanceType.NodeSelector, PullSecret: p.PullSecret}, nil
}

// Apply implements serving.Cluster.
func (d *deployer) Apply(ctx context.Context, cd serving.ClusterDeployment, log io.Writer) error {
	p, err := d.params(ctx, cd.InstanceType, cd.Image)
	if err != nil {
		return err
	}
	want, err := buildDeployment(cd, p)
	if err != nil {
		return err
	}
	cs, ns := d.x.cs, p.Namespace
	if err := d.applySecret(ctx, buildInstanceSecret(cd, ns)); err != nil {
		return err
	}
	svc := buildService(cd, ns)
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service %s/%s: %w", ns, svc.Name, err)
	}
	dep, err := d.applyDeployment(ctx, want)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "deployment %s/%s (generation %d): %d instance(s)\n", ns, dep.Name, dep.Generation, *want.Spec.Replicas)
	return d.waitRollout(ctx, ns, dep.Name, dep.Generation, log)
}

// applySecret creates or replaces the deployment's Secret.
func (d *deployer) applySecret(ctx context.Context, sec *corev1.Secret) error {
	api := d.x.cs.CoreV1().Secrets(sec.Namespace)
	_, err := api.Create(ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = api.Update(ctx, sec, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	return nil
}

// applyDeployment creates the Deployment or gives it want's spec; the
// cluster starts a rollout only when the pod template or size changed.
func (d *deployer) applyDeployment(ctx context.Context, want *appsv1.Deployment) (*appsv1.Deployment, error) {
	api := d.x.cs.AppsV1().Deployments(want.Namespace)
	for range 5 {
		got, err := api.Create(ctx, want, metav1.CreateOptions{})
		if err == nil {
			return got, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create deployment %s/%s: %w", want.Namespace, want.Name, err)
		}
		cur, err := api.Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get deployment %s/%s: %w", want.Namespace, want.Name, err)
		}
		cur.Labels, cur.Annotations = want.Labels, want.Annotations
		cur.Spec.Replicas, cur.Spec.Strategy, cur.Spec.Template = want.Spec.Replicas, want.Spec.Strategy, want.Spec.Template
		got, err = api.Update(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update deployment %s/%s: %w", want.Namespace, want.Name, err)
		}
		return got, nil
	}
	return nil, fmt.Errorf("deployment %s/%s kept changing under this update; try again", want.Namespace, want.Name)
}

// waitRollout waits until every pod of the Deployment's generation gen is
// ready and no older one is left, or a pod of it cannot start.
func (d *deployer) waitRollout(ctx context.Context, ns, name string, gen int64, log io.Writer) error {
	api := d.x.cs.AppsV1().Deployments(ns)
	deadline := time.Now().Add(rolloutLimit)
	last := ""
	for {
		dep, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get deployment %s/%s: %w", ns, name, err)
		}
		st, want := dep.Status, *dep.Spec.Replicas
		if st.ObservedGeneration >= gen && st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want {
			fmt.Fprintf(log, "rollout done: %d of %d instance(s) ready\n", st.ReadyReplicas, want)
			return nil
		}
		if line := fmt.Sprintf("%d of %d instance(s) updated, %d ready, %d in all", st.UpdatedReplicas, want, st.ReadyReplicas, st.Replicas); line != last {
			fmt.Fprintln(log, line)
			last = line
		}
		if err := d.podFailure(ctx, ns, dep); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deployment %s/%s: the rollout did not finish within %s (%s)", ns, name, rolloutLimit, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// podFailure reports why a pod of the Deployment's newest revision cannot
// serve: an image it cannot pull, a stage-in that failed, a model that
// does not load (the instance exits, and its log says why), or no node that
// could ever hold it.
func (d *deployer) podFailure(ctx context.Context, ns string, dep *appsv1.Deployment) error {
	pods, err := d.x.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(dep.Spec.Selector.MatchLabels).String()})
	if err != nil {
		return nil // cannot tell now: keep waiting
	}
	rs := d.newestReplicaSet(ctx, ns, dep)
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil || rs == "" || !ownedBy(pod, rs) {
			continue
		}
		for _, c := range append(slices.Clone(pod.Status.InitContainerStatuses), pod.Status.ContainerStatuses...) {
			if w := c.State.Waiting; w != nil && fatalWaiting[w.Reason] {
				return fmt.Errorf("pod %s cannot start %s: %s: %s", pod.Name, c.Name, w.Reason, w.Message)
			}
			t := c.LastTerminationState.Terminated
			if t == nil {
				t = c.State.Terminated
			}
			if t != nil && t.ExitCode != 0 && (c.Name == containerStageIn || c.RestartCount >= 1) {
				return fmt.Errorf("pod %s: %s exited with code %d%s", pod.Name, c.Name, t.ExitCode, d.logTail(ctx, ns, pod.Name, c.Name))
			}
		}
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				nodes, err := d.x.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
				if err == nil && !fitsSomeNode(pod, nodes.Items) {
					return fmt.Errorf("pod %s cannot be scheduled on any node of the cluster: %s", pod.Name, cond.Message)
				}
			}
		}
	}
	return nil
}

// newestReplicaSet is the name of the Deployment's ReplicaSet of its
// current revision ("" when the controller has not made it yet).
func (d *deployer) newestReplicaSet(ctx context.Context, ns string, dep *appsv1.Deployment) string {
	rev := dep.Annotations[annotationRevision]
	list, err := d.x.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(dep.Spec.Selector.MatchLabels).String()})
	if err != nil || rev == "" {
		return ""
	}
	for _, rs := range list.Items {
		if rs.Annotations[annotationRevision] == rev {
			return rs.Name
		}
	}
	return ""
}

// annotationRevision is where the Deployment controller numbers revisions.
const annotationRevision = "deployment.kubernetes.io/revision"

// ownedBy reports whether a pod belongs to the ReplicaSet rs.
func ownedBy(pod *corev1.Pod, rs string) bool {
	for _, o := range pod.OwnerReferences {
		if o.Kind == "ReplicaSet" && o.Name == rs {
			return true
		}
	}
	return false
}

// logTail is the end of a container's last log, for an error.
func (d *deployer) logTail(ctx context.Context, ns, pod, container string) string {
	n := int64(20)
	for _, previous := range []bool{true, false} {
		b, err := d.x.cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &n, Previous: previous}).DoRaw(ctx)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return ":\n" + strings.TrimRight(string(b), "\n")
		}
	}
	return ""
}

// Watch implements serving.Cluster: it follows the EndpointSlices of the
// deployment's Service and calls fn with the ready pods, each reached as
// the compute's endpoint_route says (routes.go).
func (d *deployer) Watch(ctx context.Context, k serving.ClusterKey, fn func([]serving.PodTarget)) error {
	ns, name := d.x.k.Namespace, DeploymentName(k.Workspace, k.Endpoint, k.Name)
	f := informers.NewSharedInformerFactoryWithOptions(d.x.cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = discoveryv1.LabelServiceName + "=" + name }))
	slices := f.Discovery().V1().EndpointSlices()
	inf, lister := slices.Informer(), slices.Lister().EndpointSlices(ns)
	r := d.router()
	update := func() {
		list, err := lister.List(labels.Everything())
		if err == nil {
			fn(r.targets(ctx, readyPods(list)))
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { update() }, UpdateFunc: func(any, any) { update() }, DeleteFunc: func(any) { update() },
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), inf.HasSynced) {
		return fmt.Errorf("list the endpoints of service %s/%s: no answer within 30s", ns, name)
	}
	update()
	return nil
}

// readyPod is a ready endpoint of a deployment's Service: its address
// (host:port) and its pod's name.
type readyPod struct {
	addr, pod string
}

// readyPods are the ready endpoints of slices, by address.
func readyPods(list []*discoveryv1.EndpointSlice) []readyPod {
	var out []readyPod
	for _, s := range list {
		port := int32(0)
		for _, p := range s.Ports {
			if p.Port != nil && (p.Name == nil || *p.Name == portName) {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			pod := ""
			if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
				pod = e.TargetRef.Name
			}
			for _, a := range e.Addresses {
				out = append(out, readyPod{addr: net.JoinHostPort(a, strconv.Itoa(int(port))), pod: pod})
			}
		}
	}
	slices.SortFunc(out, func(a, b readyPod) int { return strings.Compare(a.addr, b.addr) })
	return slices.CompactFunc(out, func(a, b readyPod) bool { return a.addr == b.addr })
}

// Delete implements serving.Cluster.
func (d *deployer) Delete(ctx context.Context, k serving.ClusterKey) error {
	ns, name := d.x.k.Namespace, DeploymentName(k.Workspace, k.Endpoint, k.Name)
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	for what, del := range map[string]func() error{
		"deployment": func() error { return d.x.cs.AppsV1().Deployments(ns).Delete(ctx, name, opts) },
		"service":    func() error { return d.x.cs.CoreV1().Services(ns).Delete(ctx, name, opts) },
		"secret":     func() error { return d.x.cs.CoreV1().Secrets(ns).Delete(ctx, name, opts) },
	} {
		if err := del(); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s %s/%s: %w", what, ns, name, err)
		}
	}
	return nil
}

// Logs implements serving.Cluster.
func (d *deployer) Logs(ctx context.Context, k serving.ClusterKey, lines int) (string, error) {
	ns := d.x.k.Namespace
	pods, err := d.x.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(DeploymentLabels(k)).String()})
	if err != nil {
		return "", fmt.Errorf("list pods: %w", err)
	}
	n := int64(lines)
	var b strings.Builder
	for _, pod := range pods.Items {
		out, err := d.x.cs.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: containerMain, TailLines: &n}).DoRaw(ctx)
		if err != nil {
			fmt.Fprintf(&b, "[%s] (no log: %v)\n", pod.Name, err)
			continue
		}
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if l != "" {
				fmt.Fprintf(&b, "[%s] %s\n", pod.Name, l)
			}
		}
	}
	return b.String(), nil
}
